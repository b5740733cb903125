// The audit trail of the current session: every change to its marks, oldest first, shown on demand.
import {sessionUrl} from "./api.js";
import {currentSession, stillCurrent} from "./current.js";
import {$, el, show} from "./dom.js";
import {fmt, when} from "./format.js";
import {pill} from "./messages.js";
import {loadTable, tableOf} from "./tables.js";

const table = tableOf("audit"), box = $("audit-box"), toggle = $("audit-toggle");

export const auditShown = () => !box.hidden;

// A new session in the panel: the trail is closed and empty.
export function resetAudit() {
  show(table.message);
  show(table.body);
  box.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
}

export function loadAudit() {
  const current = currentSession();
  if (!current) return;
  const id = current.id;
  show(table.message);  // only ever holds the last load's error
  return loadTable(table, {
    url: () => sessionUrl(id) + "/audit",
    items: (data) => data.entries || [],
    row: auditRow,
    caption: (entries) => entries.length ? entries.length + " change(s), oldest first" : "No changes yet.",
    stale: () => !stillCurrent(id),
  });
}

function auditRow(e) {
  const state = (m) => m ? pill(m.status) : "—";
  return el("tr", {},
    el("td", {}, when(e.at, true)), el("td", {}, fmt(e.action)), el("td", {}, fmt(e.rollNo)),
    el("td", {}, fmt(e.by) + (e.token ? " (token " + e.token + ")" : "")),
    el("td", {}, fmt(e.reason)), el("td", {}, state(e.before), " → ", state(e.after)));
}

toggle.addEventListener("click", () => {
  const opening = box.hidden;
  box.hidden = !opening;
  toggle.setAttribute("aria-expanded", String(opening));
  if (opening) loadAudit();
});
