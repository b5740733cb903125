// The Administration page: API keys, thresholds and calibration, system health. For admin keys, and for
// everybody while the API is open; others are told what it needs.
import {clearKeys, loadKeys} from "./admin-keys.js";
import {loadHealth} from "./admin-health.js";
import {loadThresholds} from "./admin-thresholds.js";
import {canLoad} from "./auth.js";
import {$, show} from "./dom.js";
import {errorBox} from "./messages.js";
import {ApiError} from "./api.js";
import {onShow} from "./router.js";
import {isAdmin, principal} from "./whoami.js";

onShow("admin", () => {
  loadHealth();
  if (!canLoad()) return;
  if (!isAdmin()) {
    clearKeys();
    show($("admin-message"), errorBox(new ApiError(403, "forbidden", "Administration needs a key with the admin scope; " +
                                                   "this one has " + (principal().scope || "none"))));
    return;
  }
  show($("admin-message"));
  loadKeys();
  loadThresholds();
});
