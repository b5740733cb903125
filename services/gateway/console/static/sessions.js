// The sessions list: filter by status, department and dates; open, close, delete.
import {call, sessionUrl} from "./api.js";
import {ask} from "./ask.js";
import {canLoad} from "./auth.js";
import {currentSession, onCurrentChange} from "./current.js";
import {$, el, show} from "./dom.js";
import {fmt, when} from "./format.js";
import {done, errorBox, note, pill} from "./messages.js";
import {hidePanel, openSession} from "./panel.js";
import {loadReport} from "./report.js";
import {onShow} from "./router.js";
import {makePager} from "./pager.js";
import {fillTable, loadTable, tableOf} from "./tables.js";
import {setRange} from "./times.js";

const table = tableOf("sessions");
const filter = $("sessions-filter");
let all = [];  // the sessions found, newest first; shown a page at a time
const pager = makePager($("sessions-pager"), () => fillTable(table, pager.slice(all), sessionRow, caption));
pager.setSize(10);

const caption = (shown) => all.length + " session(s), newest first" +
  (filter.elements.from.value || filter.elements.to.value ? "" : " (all dates)") +
  (all.length > shown.length ? "; " + pager.range(all.length) + " shown" : "") + ".";

export function loadSessions() {
  const f = filter.elements;
  return loadTable(table, {
    url: () => {
      const params = new URLSearchParams();
      for (const key of ["status", "department"]) {
        const value = f[key].value.trim();
        if (value) params.set(key, value);
      }
      setRange(params, f);
      const query = params.toString();
      return "api/v1/sessions" + (query ? "?" + query : "");
    },
    loaded: (data) => { all = (data.sessions || []).slice().reverse(); },  // newest first
    items: () => pager.slice(all),
    row: sessionRow,
    caption,
    failed: () => { all = []; $("sessions-pager").hidden = true; },
  });
}

function sessionRow(s) {
  const label = s.name + " (" + s.id + ")", closed = s.status === "closed";
  const roster = s.roster || [], current = currentSession();
  return el("tr", {"data-id": s.id, class: current && current.id === s.id ? "current" : ""},
    el("td", {}, el("button", {type: "button", class: "link", "aria-label": "Open " + label, onclick: () => openSession(s)}, fmt(s.name))),
    el("td", {}, fmt(s.department)),
    el("td", {}, when(s.starts_at, true)), el("td", {}, when(s.ends_at, true)),
    el("td", {}, fmt(s.grace_minutes) + " min"), el("td", {title: roster.join(", ")}, roster.length),
    el("td", {}, pill(s.status)),
    el("td", {class: "actions"},
      el("button", {type: "button", "aria-label": "Open " + label, onclick: () => openSession(s)}, "Open"),
      el("button", Object.assign({type: "button", "aria-label": "Close " + label, onclick: (e) => closeSession(s, e.target)},
                                 closed ? {disabled: "", title: "already closed"} : {}), "Close"),
      el("button", {type: "button", class: "danger", "aria-label": "Delete " + label,
                    onclick: (e) => removeSession(s, e.target)}, "Delete")));
}

// The row of the session shown in the panel is highlighted.
onCurrentChange((current) => {
  for (const tr of table.body.rows) tr.classList.toggle("current", !!current && tr.dataset.id === current.id);
});

async function closeSession(s, button) {
  const out = table.message;
  button.disabled = true;
  show(out, note("Closing " + s.name + "…"));
  try {
    const closed = await call(sessionUrl(s.id) + "/close", {method: "POST"});
    show(out, done("Closed " + closed.name + ": photo check-ins are refused from now on; corrections by hand still work."));
    loadSessions();
    const current = currentSession();
    if (current && current.id === s.id) loadReport();
  } catch (err) { show(out, errorBox(err)); button.disabled = false; }
}

async function removeSession(s, button) {
  const answer = await ask({title: "Delete session " + s.name + "?", ok: "Delete", danger: true,
                            text: "The session of " + when(s.starts_at) + " is deleted with its marks and audit trail. This cannot be undone."});
  if (!answer) return;
  const out = table.message;
  button.disabled = true;
  show(out, note("Deleting session " + s.name + "…"));
  try {
    await call(sessionUrl(s.id), {method: "DELETE"});
    show(out, done("Deleted session " + s.name + "."));
    const current = currentSession();
    if (current && current.id === s.id) hidePanel();
    loadSessions();
  } catch (err) { show(out, errorBox(err)); button.disabled = false; }
}

filter.addEventListener("submit", (event) => { event.preventDefault(); show(table.message); pager.first(); loadSessions(); });

onShow("attendance", () => { if (canLoad()) loadSessions(); });
