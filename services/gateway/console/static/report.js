// The current session's report (everybody on the roster and their mark) and its corrections by hand.
import {ApiError, call, sendJson, sessionUrl} from "./api.js";
import {auditShown, loadAudit} from "./audit.js";
import {signedIn, tokenName} from "./auth.js";
import {currentSession, setCurrent, stillCurrent} from "./current.js";
import {$, el, show} from "./dom.js";
import {apiLink} from "./downloads.js";
import {fmt, sim, when} from "./format.js";
import {errorBox, note, pill} from "./messages.js";
import {operatorInput} from "./operator.js";
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
           pill("present", fmt(c.present) + " present"), pill("late", fmt(c.late) + " late"), pill("absent", fmt(c.absent) + " absent"));
    },
    failed: () => show(counts),
  });
}

function reportRow(r) {
  const action = (text, status, disabled) => el("button", Object.assign(
    {type: "button", class: "mini", "aria-label": text + ": " + who(r), onclick: (e) => correct(r, status, e.target)},
    disabled ? {disabled: ""} : {}), text);
  return el("tr", {},
    el("td", {}, fmt(r.rollNo)), el("td", {}, fmt(r.name)), el("td", {}, fmt(r.department)), el("td", {}, pill(r.status)),
    el("td", {}, when(r.marked_at, true)), el("td", {}, sim(r.similarity)), el("td", {}, fmt(r.source)),
    el("td", {class: "actions"},
      action("Mark present", "present", r.status === "present"),
      action("Mark late", "late", r.status === "late"),
      action("Unmark", null, r.status === "absent")));
}

// Mark present/late (status) or remove the mark (status null), with a reason and the operator's name.
async function correct(r, status, button) {
  const out = table.message, by = operatorInput.value.trim(), id = currentSession().id;
  if (!by && !signedIn()) {
    show(out, errorBox(new ApiError(0, "missing_operator", "enter your name as Operator name first: every correction records who made it")));
    operatorInput.focus();
    return;
  }
  const what = status ? "mark " + who(r) + " " + status : "remove the mark of " + who(r);
  const answer = prompt("Reason to " + what + ":");
  if (answer === null) return;
  const reason = answer.trim();
  if (!reason) { show(out, errorBox(new ApiError(0, "missing_field", "a correction needs a reason"))); return; }
  button.disabled = true;
  show(out, note(status ? "Marking " + who(r) + " " + status + "…" : "Removing the mark of " + who(r) + "…"));
  try {
    if (status) {
      const data = await call(sessionUrl(id) + "/marks", sendJson("POST", Object.assign({rollNo: r.rollNo, status, reason}, by ? {by} : {})));
      show(out, note(who(r) + " marked " + data.mark.status + (data.replaced ? " (was " + data.replaced.status + ")" : "") + " by " + byWhom(by) + "."));
    } else {
      const data = await call(sessionUrl(id) + "/marks/" + encodeURIComponent(r.rollNo), sendJson("DELETE", Object.assign({reason}, by ? {by} : {})));
      show(out, note("Removed the " + data.removed.status + " mark of " + who(r) + "; by " + byWhom(by) + "."));
    }
  } catch (err) { show(out, errorBox(err)); }
  button.disabled = false;
  refreshAfterChange();
}

// Who a correction is recorded for: the name given, else (signed in) the token's name.
const byWhom = (by) => by || fmt(tokenName()) + " (token)";

// After a change to the marks: the report, and the audit trail when it is shown.
export function refreshAfterChange() {
  loadReport();
  if (auditShown()) loadAudit();
}
$("report-refresh").addEventListener("click", () => { show(table.message); refreshAfterChange(); });

apiLink(csvLink, "save", table.message);
apiLink(printLink, "open", table.message);
