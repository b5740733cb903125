// Check in photos for the current session, one request per photo with a progress bar: everybody recognized
// on the roster is marked present or late as each photo is processed (the report's counts follow), near
// misses go to the review queue. Photos that failed stay chosen, to try again.
import {ApiError, call, sessionUrl} from "./api.js";
import {rememberPhoto} from "./checkin-photos.js";
import {currentSession, stillCurrent} from "./current.js";
import {$, el, show} from "./dom.js";
import {fmt, sim, when} from "./format.js";
import {errorBox, note, pill} from "./messages.js";
import {photoPicker} from "./photo-picker.js";
import {refreshAfterChange} from "./report.js";
import {loadReviews} from "./reviews.js";
import {isoFromLocal} from "./times.js";

const form = $("checkin-form"), out = $("checkin-result"), details = $("checkin-details");
const submit = form.querySelector("button[type=submit]"), stopButton = $("checkin-stop");
const progressBox = $("checkin-progress-box"), progress = $("checkin-progress"), progressLabel = $("checkin-progress-label");
const picker = photoPicker($("checkin-picker"));
let running = false, stopping = false, sessionOpen = true;

// A new session in the panel: no photos, no result.
export function resetCheckin() {
  stopping = running;  // a check-in of the last session still running stops after its photo
  form.reset();
  picker.clear();
  show(out);
  show(details);
  progressBox.hidden = true;
}

// A closed session takes no more photo check-ins.
export function enableCheckin(open) {
  sessionOpen = open;
  submit.disabled = !open || running;
}

stopButton.addEventListener("click", () => { stopping = true; stopButton.disabled = true; stopButton.textContent = "Stopping…"; });

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const current = currentSession();
  if (!current || running) return;
  const id = current.id, files = picker.files();
  let at;
  try {
    if (!files.length) throw new ApiError(0, "missing_image", "add the photos first: drop them, choose them, or use the camera");
    at = isoFromLocal(form.elements.at.value, "Taken at");
  } catch (err) { show(out, errorBox(err)); return; }
  const force = form.elements.force.checked;
  const tally = {marked: [], already: [], off: [], unknown: 0, review: 0, lines: []};
  const failed = [];
  let stopped = null;  // the error that stops the whole check-in
  running = true; stopping = false;
  submit.disabled = true;
  Object.assign(stopButton, {hidden: false, disabled: false, textContent: "Stop after this photo"});
  progressBox.hidden = false;
  progress.max = files.length;
  progress.value = 0;
  progressLabel.textContent = "Checking in 0 of " + files.length + " photo(s)…";
  show(details);
  let attempted = 0;
  for (const file of files) {
    if (stopping || stopped || !stillCurrent(id)) break;
    const i = attempted++, body = new FormData();
    body.append("images", file, file.name);
    if (at) body.append("at", at);
    if (force) body.append("force", "true");
    rememberPhoto(id, file);
    try {
      const data = await call(sessionUrl(id) + "/checkins", {method: "POST", body});
      add(tally, data);
      if ((data.needs_review || []).length) loadReviews();
    } catch (err) {
      failed.push(file);
      tally.lines.push(el("li", {class: "refused"}, "✗ " + file.name + " — " + fmt(err.message) + " (" + fmt(err.code) + ")"));
      if (["outside_window", "session_closed", "unknown_session"].includes(err.code) || [401, 403].includes(err.status)) stopped = err;
    }
    progress.value = i + 1;
    progressLabel.textContent = "Checked in " + (i + 1) + " of " + files.length + " photo(s)" + (i + 1 < files.length ? "…" : ".");
    if (!stillCurrent(id)) break;
    render(tally, files.length, stopped);
    refreshAfterChange();  // present / late / absent follow each photo
  }
  running = false;
  stopButton.hidden = true;
  submit.disabled = !sessionOpen;
  if (!stillCurrent(id)) return;
  picker.keep([...failed, ...files.slice(attempted)]);
  if (attempted < files.length) {
    progressLabel.textContent = "Stopped after " + attempted + " of " + files.length + " photo(s); the others stay chosen.";
  }
  form.elements.at.value = "";
  form.elements.force.checked = false;
});

function add(tally, data) {
  tally.marked.push(...(data.marked || []));
  tally.already.push(...(data.already_marked || []));
  tally.off.push(...(data.not_on_roster || []));
  tally.unknown += data.unknown_faces || 0;
  tally.review += (data.needs_review || []).length;
  const reviews = (p) => (data.needs_review || []).filter((r) => r.photo === p.filename).length;
  tally.lines.push(...(data.photos || []).map((p) => photoLine(p, data.at, reviews(p))));
}

function render(tally, total, stopped) {
  show(out, el("p", {class: "tally"}, el("strong", {},
    tally.marked.length + " marked, " + tally.already.length + " already marked, " + tally.off.length + " not on the roster, " +
    tally.unknown + " unknown face(s)" + (tally.review ? " — " + tally.review + " of them near miss(es) to review below" : ""))),
    stopped ? errorBox(stopped) : null,
    stopped && stopped.code === "outside_window" ? note("Tick “Record even outside the session window” to record these photos anyway.") : null);
  show(details,
    tally.marked.length ? [el("strong", {}, "Marked"), el("ul", {class: "photos"}, tally.marked.map((m) => el("li", {},
      fmt(m.rollNo) + " · " + fmt(m.name) + " · ", pill(m.status), " · similarity " + sim(m.similarity), m.photo ? " · " + m.photo : "")))] : null,
    tally.already.length ? [el("strong", {}, "Already marked (no second mark)"), el("p", {class: "names"}, tally.already.map(fmt).join(", "))] : null,
    tally.off.length ? [el("strong", {}, "Recognized, not on the roster (not marked)"), el("ul", {class: "photos"}, tally.off.map((p) =>
      el("li", {}, fmt(p.rollNo) + " · " + fmt(p.name) + " · similarity " + sim(p.similarity))))] : null,
    el("strong", {}, "Photos (" + tally.lines.length + " of " + total + ")"), el("ul", {class: "photos"}, tally.lines));
}

function photoLine(p, at, reviews) {
  if (p.error) {
    return el("li", {class: "refused"}, "✗ " + fmt(p.filename) + " — " + fmt(p.error.message) + " (" + fmt(p.error.code) + ")");
  }
  const parts = [fmt(p.faces) + " face(s)"];
  if ((p.recognized || []).length) parts.push("on the roster: " + p.recognized.join(", "));
  if ((p.not_on_roster || []).length) parts.push("not on the roster: " + p.not_on_roster.join(", "));
  if (p.unknown_faces) parts.push(p.unknown_faces + " unknown" + (reviews ? " (" + reviews + " a near miss, to review)" : ""));
  return el("li", {class: "accepted"}, "✓ " + fmt(p.filename) + " — " + parts.join("; ") + " · taken " + when(at));
}
