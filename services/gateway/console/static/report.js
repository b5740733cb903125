// The current session's report (everybody on the roster and their mark) and its corrections by hand, each
// with a reason and the operator's name.
import {call, sendJson, sessionUrl} from "./api.js";
import {auditShown, loadAudit} from "./audit.js";
import {ask} from "./ask.js";
import {currentSession, setCurrent, stillCurrent} from "./current.js";
import {$, el, show} from "./dom.js";
import {apiLink} from "./downloads.js";
import {fmt, sim, when} from "./format.js";
import {done, errorBox, note, pill} from "./messages.js";
import {byWhom, recordedBy} from "./operator.js";
import {loadTable, tableOf} from "./tables.js";
import {withTz} from "./times.js";

const table = tableOf("report"), counts = $("report-counts");
const csvLink = $("report-csv"), printLink = $("report-print");
const who = (r) => r.rollNo + " (" + r.name + ")";

// A new session in the panel: the last one's report goes, the download links point at this one's.
export function openReport(s) {
  for (const box of [table.message, counts, table.body]) show(box);
  table.caption.textContent = "";
  csvLink.href = withTz(sessionUrl(s.id) + "/report?format=csv");
  printLink.href = withTz(sessionUrl(s.id) + "/report?format=print");
  loadReport();
}

export function loadReport() {
  const current = currentSession();
  if (!current) return;
  const id = current.id;
  return loadTable(table, {
    url: () => withTz(sessionUrl(id) + "/report"),
    items: (data) => data.rows || [],
    row: reportRow,
    caption: (rows) => rows.length ? "" : "Nobody on the roster.",
    stale: () => !stillCurrent(id),
    loaded: (data) => {
      setCurrent(data.session);  // the session as it is now (e.g. closed meanwhile)
      const c = data.counts || {};
      show(counts, "Roster of " + fmt(data.roster_size) + ":",
           pill("present", fmt(c.present) + " present"), pill("late", fmt(c.late) + " late"), pill("absent", fmt(c.absent) + " absent"),
           data.open_reviews ? pill("review", data.open_reviews + " to review") : null);
    },
    failed: () => show(counts),
  });
}

function reportRow(r) {
  const action = (text, status, disabled) => el("button", Object.assign(
    {type: "button", class: "mini", "aria-label": text + ": " + who(r), onclick: (e) => correct(r, status, e.target)},
    disabled ? {disabled: ""} : {}), text);
  return el("tr", {"data-roll": r.rollNo},
    el("td", {}, fmt(r.rollNo)), el("td", {}, fmt(r.name)), el("td", {}, pill(r.status)),
    el("td", {}, when(r.marked_at, true)), el("td", {}, sim(r.similarity)), el("td", {}, fmt(r.source)), el("td", {}, fmt(r.department)),
    el("td", {class: "actions"},
      action("Mark present", "present", r.status === "present"),
      action("Mark late", "late", r.status === "late"),
      action("Unmark", null, r.status === "absent")));
}

// Mark present/late (status) or remove the mark (status null), with a reason and the operator's name.
async function correct(r, status, button) {
  const out = table.message, id = currentSession().id;
  let by;
  try { by = recordedBy(); } catch (err) { show(out, errorBox(err)); return; }
  const answer = await ask({
    title: status ? "Mark " + who(r) + " " + status + "?" : "Remove the mark of " + who(r) + "?",
    text: "A correction by hand: your reason and name go into the audit trail.",
    reason: "Reason", ok: status ? "Mark " + status : "Remove the mark", danger: !status});
  if (!answer) return;
  button.disabled = true;
  show(out, note(status ? "Marking " + who(r) + " " + status + "…" : "Removing the mark of " + who(r) + "…"));
  try {
    if (status) {
      const data = await call(sessionUrl(id) + "/marks", sendJson("POST", Object.assign({rollNo: r.rollNo, status, reason: answer.reason}, by)));
      show(out, done(who(r) + " marked " + data.mark.status + (data.replaced ? " (was " + data.replaced.status + ")" : "") + " by " + byWhom(by) + "."));
    } else {
      const data = await call(sessionUrl(id) + "/marks/" + encodeURIComponent(r.rollNo), sendJson("DELETE", Object.assign({reason: answer.reason}, by)));
      show(out, done("Removed the " + data.removed.status + " mark of " + who(r) + "; by " + byWhom(by) + "."));
    }
  } catch (err) { show(out, errorBox(err)); }
  button.disabled = false;
  refreshAfterChange();
}

// After a change to the marks: the report, and the audit trail when it is shown.
export function refreshAfterChange() {
  loadReport();
  if (auditShown()) loadAudit();
}

apiLink(csvLink, "save", table.message);
apiLink(printLink, "open", table.message);
