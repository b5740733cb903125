// Create an attendance session: a name, a window and a roster (a department, or roll numbers).
import {ApiError, call, sendJson} from "./api.js";
import {$, busy, show} from "./dom.js";
import {when} from "./format.js";
import {done, errorBox, note} from "./messages.js";
import {openSession} from "./panel.js";
import {loadSessions} from "./sessions.js";
import {isoFromLocal, localInputValue} from "./times.js";

const form = $("session-form");

// Offer "now, for an hour" as the window of a new session.
function prefillWindow() {
  const start = new Date();
  start.setMinutes(Math.floor(start.getMinutes() / 5) * 5, 0, 0);
  form.elements.starts_at.value = localInputValue(start);
  form.elements.ends_at.value = localInputValue(new Date(start.getTime() + 60 * 60 * 1000));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = form.elements, out = $("session-result");
  show(out);
  try {
    const body = {name: f.name.value.trim(),
                  starts_at: isoFromLocal(f.starts_at.value, "Starts"), ends_at: isoFromLocal(f.ends_at.value, "Ends")};
    const department = f.department.value.trim();
    const roster = f.roster.value.split(/[\s,]+/).filter(Boolean);
    if (department) body.department = department;
    if (roster.length) body.roster = roster;
    if (!department && !roster.length) throw new ApiError(0, "missing_field", "give the roster: a department or roll numbers");
    if (f.grace_minutes.value !== "") body.grace_minutes = Number(f.grace_minutes.value);
    show(out, note("Creating the session…"));
    const s = await busy(form, "Creating…", () => call("api/v1/sessions", sendJson("POST", body)));
    show(out, done("Created " + s.name + " — " + (s.roster || []).length + " person(s) on the roster, " +
                   when(s.starts_at) + " to " + when(s.ends_at) + "."));
    form.reset();
    prefillWindow();
// On a phone the form starts folded: the sessions (and check-in) come first.
if (window.matchMedia("(max-width: 700px)").matches) $("new-session").open = false;
    loadSessions();
    openSession(s);
  } catch (err) { show(out, errorBox(err)); }
});

prefillWindow();
// On a phone the form starts folded: the sessions (and check-in) come first.
if (window.matchMedia("(max-width: 700px)").matches) $("new-session").open = false;
