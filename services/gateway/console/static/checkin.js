// Check in photos for the current session: everybody recognized on the roster is marked present or late.
import {call, sessionUrl} from "./api.js";
import {currentSession} from "./current.js";
import {$, busy, el, show} from "./dom.js";
import {fmt, sim, when} from "./format.js";
import {errorBox, note, pill} from "./messages.js";
import {refreshAfterChange} from "./report.js";
import {isoFromLocal} from "./times.js";

const form = $("checkin-form"), out = $("checkin-result");

// A new session in the panel: an empty form, no result.
export function resetCheckin() {
  form.reset();
  show(out);
}

// A closed session takes no more photo check-ins.
export function enableCheckin(open) { form.querySelector("button[type=submit]").disabled = !open; }

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const current = currentSession();
  if (!current) return;
  const id = current.id;
  try {
    const body = new FormData();
    for (const file of form.elements.images.files) body.append("images", file);
    const at = isoFromLocal(form.elements.at.value, "Taken at");
    if (at) body.append("at", at);
    if (form.elements.force.checked) body.append("force", "true");
    show(out, note("Checking in " + form.elements.images.files.length + " photo(s) — each goes through face recognition…"));
    const data = await busy(form, "Checking in…", () => call(sessionUrl(id) + "/checkins", {method: "POST", body}));
    show(out, ...checkinResult(data));
    form.reset();  // photos, "Taken at" and the force box: the next check-in starts afresh
    refreshAfterChange();
  } catch (err) {
    const nodes = [errorBox(err)];
    if (err.code === "outside_window") nodes.push(note("Tick “Record even outside the session window” to record these photos anyway."));
    show(out, ...nodes);
  }
});

function checkinResult(data) {
  const marked = data.marked || [], already = data.already_marked || [], off = data.not_on_roster || [];
  const photos = data.photos || [], unknown = data.unknown_faces || 0;
  const nodes = [
    el("p", {class: "tally"}, el("strong", {}, marked.length + " marked, " + already.length + " already marked, " +
                                     off.length + " not on the roster, " + unknown + " unknown face(s)")),
    note(photos.length + " photo(s), taken at " + when(data.at) + ".")];
  if (marked.length) {
    nodes.push(el("strong", {}, "Marked"), el("ul", {class: "photos"}, marked.map((m) => el("li", {},
      fmt(m.rollNo) + " · " + fmt(m.name) + " · ", pill(m.status), " · similarity " + sim(m.similarity),
      m.photo ? " · " + m.photo : ""))));
  }
  if (already.length) {
    nodes.push(el("strong", {}, "Already marked (no second mark)"), el("p", {class: "names"}, already.map(fmt).join(", ")));
  }
  if (off.length) {
    nodes.push(el("strong", {}, "Recognized, not on the roster (not marked)"), el("ul", {class: "photos"}, off.map((p) =>
      el("li", {}, fmt(p.rollNo) + " · " + fmt(p.name) + " · similarity " + sim(p.similarity)))));
  }
  if (unknown) nodes.push(el("p", {class: "refused"}, unknown + " face(s) of nobody enrolled."));
  nodes.push(el("strong", {}, "Photos"), el("ul", {class: "photos"}, photos.map(photoLine)));
  return nodes;
}

function photoLine(p) {
  if (p.error) {
    return el("li", {class: "refused"}, "✗ " + fmt(p.filename) + " — " + fmt(p.error.message) + " (" + fmt(p.error.code) + ")");
  }
  const parts = [fmt(p.faces) + " face(s)"];
  if ((p.recognized || []).length) parts.push("on the roster: " + p.recognized.join(", "));
  if ((p.not_on_roster || []).length) parts.push("not on the roster: " + p.not_on_roster.join(", "));
  if (p.unknown_faces) parts.push(p.unknown_faces + " unknown");
  return el("li", {class: "accepted"}, "✓ " + fmt(p.filename) + " — " + parts.join("; "));
}
