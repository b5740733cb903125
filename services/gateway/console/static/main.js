// The console's entry point: loads every section (each wires its own part of the page) and does what
// concerns them all — the first load, reloading after an outage or a sign-in, clearing after a sign-out.
import {getToken} from "./api.js";
import {authState, checkAuth, onSignIn, onSignOut} from "./auth.js";
import {currentSession} from "./current.js";
import {$, show} from "./dom.js";
import "./enroll.js";
import {hidePanel} from "./panel.js";
import {loadPersons} from "./persons.js";
import {clearRangeReport} from "./range-report.js";
import "./recognize.js";
import {loadReport, refreshAfterChange} from "./report.js";
import "./session-form.js";
import {loadSessions} from "./sessions.js";
import {startStatus} from "./status.js";
import {failedToLoad} from "./tables.js";

// Back to ready (or ready while a list still shows a failed load): load the lists again — once it is known
// whether the gateway wants a token (and not while it wants one that is not given: the lists wait for sign-in).
function recovered(afterOutage) {
  if (authState() === "unknown") {
    checkAuth().then((open) => { if (open && authState() !== "unknown") reloadFailed(afterOutage); });
    return;
  }
  reloadFailed(afterOutage);
}

// After an outage every list is loaded again (and its errors go); otherwise only those that failed to load.
function reloadFailed(afterOutage) {
  if (authState() === "required" && !getToken()) return;
  const retry = (id, load, always) => {
    const failed = failedToLoad($(id), afterOutage);
    if (always || failed) {
      if (failed) show($(id));
      load();
    }
  };
  retry("persons-message", loadPersons, afterOutage);
  retry("sessions-message", loadSessions, afterOutage);
  if (currentSession()) retry("report-message", loadReport, false);
}

// After sign-in: everything shown is loaded again.
onSignIn(() => {
  loadPersons();
  loadSessions();
  if (currentSession()) refreshAfterChange();
});

// After sign-out: nothing fetched with the token stays on screen.
onSignOut(() => {
  hidePanel();
  for (const id of ["enroll-result", "recognize-result", "persons-message", "persons-body", "session-result",
                    "sessions-message", "sessions-body", "range-message"]) show($(id));
  $("persons-caption").textContent = "";
  $("sessions-caption").textContent = "";
  clearRangeReport();
});

startStatus(recovered);
checkAuth().then((open) => {
  if (open) { loadPersons(); loadSessions(); }
});
