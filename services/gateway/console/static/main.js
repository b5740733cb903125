// The console's entry point: loads every page's module (each wires its own part of the page) and does what
// concerns them all — the first load, reloading after an outage or a sign-in, clearing after a sign-out.
import "./admin-page.js";
import {clearKeys} from "./admin-keys.js";
import {checkAuth, canLoad, onSignIn, onSignOut} from "./auth.js";
import {forgetPhotos} from "./checkin-photos.js";
import {currentSession} from "./current.js";
import {$, show} from "./dom.js";
import "./enroll.js";
import {hidePanel, refreshPanel} from "./panel.js";
import "./person-page.js";
import {clearPersons} from "./persons.js";
import {clearRangeReport} from "./range-report.js";
import "./recognize.js";
import {applyScope, reload, startRouter} from "./router.js";
import "./session-form.js";
import "./sessions.js";
import {startStatus} from "./status.js";
import {onPrincipalChange} from "./whoami.js";

onPrincipalChange(applyScope);

// Back to ready: the page shown is loaded again — once it is known whether the gateway wants a key (and not
// while it wants one that is not given: the page waits for sign-in). After an outage, everything shown.
function recovered(afterOutage) {
  checkAuth().then(() => {
    if (!canLoad()) return;
    if (afterOutage || document.querySelector("[data-load-error]")) {
      reload();
      if (currentSession()) refreshPanel();
    }
  });
}

// After sign-in: everything shown is loaded again, as the new key may see it.
onSignIn(() => {
  applyScope();
  reload();
  if (currentSession()) refreshPanel();
});

// After sign-out: nothing fetched with the key stays on screen.
onSignOut(() => {
  hidePanel();
  forgetPhotos();
  clearPersons();
  clearKeys();
  clearRangeReport();
  for (const id of ["enroll-result", "recognize-result", "persons-message", "person-message", "session-result",
                    "sessions-message", "sessions-body", "range-message", "admin-message", "thresholds-body",
                    "calibration-result", "person-photos-result"]) show($(id));
  $("person-body").hidden = true;
  $("sessions-caption").textContent = "";
  applyScope();
});

applyScope();
checkAuth().then(() => {
  applyScope();
  startRouter();
  startStatus(recovered);
});
