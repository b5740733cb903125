// The session panel: the session opened from the list (or just created), with its check-in, review queue,
// report and audit trail.
import {resetAudit} from "./audit.js";
import {enableCheckin, resetCheckin} from "./checkin.js";
import {onCurrentChange, setCurrent} from "./current.js";
import {$, el, show} from "./dom.js";
import {fmt, when} from "./format.js";
import {pill} from "./messages.js";
import {openReport, refreshAfterChange} from "./report.js";
import {loadReviews, resetReviews} from "./reviews.js";

const panel = $("session-panel");

export function openSession(s) {
  setCurrent(s);  // shows the panel (below) and marks the session's row in the list
  resetCheckin();
  resetAudit();
  resetReviews();
  openReport(s);
  loadReviews();
  panel.scrollIntoView({behavior: "smooth", block: "start"});
  $("panel-title").focus({preventScroll: true});
}

export const hidePanel = () => setCurrent(null);
$("panel-hide").addEventListener("click", hidePanel);

// Everything the panel shows, again (after a sign-in, or on Refresh).
export function refreshPanel() {
  refreshAfterChange();
  loadReviews();
}
$("report-refresh").addEventListener("click", () => { show($("report-message")); refreshPanel(); });

// The panel follows the current session, also when a report brings a newer copy of it (e.g. now closed).
onCurrentChange((s) => {
  panel.hidden = !s;
  if (s) renderSession(s);
});

function renderSession(s) {
  const closed = s.status === "closed";
  $("panel-title").textContent = "Session: " + s.name;
  show($("panel-info"),
    el("dt", {}, "Status"), el("dd", {}, pill(s.status), closed ? " — no more photo check-ins; corrections still allowed" : ""),
    el("dt", {}, "Window"), el("dd", {}, when(s.starts_at) + " to " + when(s.ends_at) + ", " + fmt(s.grace_minutes) + " min grace"),
    el("dt", {}, "Department"), el("dd", {}, fmt(s.department)),
    el("dt", {}, "Roster"), el("dd", {}, (s.roster || []).length + " person(s)"),
    el("dt", {}, "Id"), el("dd", {}, fmt(s.id)));
  enableCheckin(!closed);
}
