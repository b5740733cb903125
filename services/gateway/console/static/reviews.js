// The current session's review queue: near misses of its check-ins (a face that resembles somebody on the
// roster, not closely enough to mark them). Confirm marks the person (optionally adding the face to their
// photos), reject records that it was somebody else; both with a reason, both in the audit trail.
import {call, sendJson, sessionUrl} from "./api.js";
import {ask} from "./ask.js";
import {photoFor} from "./checkin-photos.js";
import {currentSession, stillCurrent} from "./current.js";
import {$, el, show} from "./dom.js";
import {faceCrop, loadImage} from "./face-boxes.js";
import {fmt, sim, when} from "./format.js";
import {done, errorBox, note} from "./messages.js";
import {byWhom, recordedBy} from "./operator.js";
import {refreshAfterChange} from "./report.js";
import {loadTable, tableOf} from "./tables.js";

const table = tableOf("reviews"), count = $("reviews-count");
const who = (r) => fmt(r.name) + " (" + fmt(r.rollNo) + ")";

export function resetReviews() {
  show(table.message);
  show(table.body);
  table.caption.textContent = "";
  setCount(0);
}

function setCount(n) {
  count.textContent = String(n);
  count.className = "pill " + (n ? "late" : "closed");
}

export function loadReviews() {
  const current = currentSession();
  if (!current) return;
  const id = current.id;
  return loadTable(table, {
    url: () => sessionUrl(id) + "/reviews",
    items: (data) => data.reviews || [],
    row: (r) => reviewRow(id, r),
    caption: (list) => list.length ? list.length + " to decide, oldest first." : "Nothing to review.",
    stale: () => !stillCurrent(id),
    loaded: (data) => setCount((data.reviews || []).length),
  });
}

function reviewRow(id, r) {
  const face = el("td", {class: "face-cell"}, el("span", {class: "note"}, "photo not in this browser"));
  const file = photoFor(id, r.photo);
  if (file) {
    loadImage(file).then((img) => show(face, faceCrop(img, r.box, "The face in " + r.photo + " that looks like " + r.name)))
                   .catch(() => {});
  }
  const action = (text, decide, cls) => el("button", {type: "button", class: "mini" + (cls ? " " + cls : ""),
    "aria-label": text + " " + who(r), onclick: (e) => decide(id, r, e.target)}, text);
  return el("tr", {"data-review": r.id},
    face, el("td", {}, el("strong", {}, fmt(r.name)), el("br"), fmt(r.rollNo)), el("td", {}, sim(r.similarity)),
    el("td", {}, fmt(r.photo)), el("td", {}, when(r.created_at, true)),
    el("td", {class: "actions"}, action("Confirm", confirmReview), action("Reject", rejectReview, "danger")));
}

async function confirmReview(id, r, button) {
  let by;
  try { by = recordedBy(); } catch (err) { show(table.message, errorBox(err)); return; }
  const answer = await ask({
    title: "Confirm: is this " + who(r) + "?",
    text: "They are marked as chosen below; your reason and name go into the audit trail.",
    reason: "Reason", status: true, ok: "Confirm",
    checks: [{name: "enroll", label: "Also add this face to " + fmt(r.name) + "’s photos (helps recognize them next time)"}]});
  if (!answer) return;
  await decide(id, r, button, "confirm", Object.assign({reason: answer.reason, status: answer.status, enroll: !!answer.checks.enroll}, by),
    (data) => who(r) + " marked " + answer.status + " by " + byWhom(by) + " (review confirmed)" +
              (data.enrolled ? "; the face was added to their photos." : data.enroll_refused ? "; the face was not added: " + data.enroll_refused + "." : "."));
}

async function rejectReview(id, r, button) {
  let by;
  try { by = recordedBy(); } catch (err) { show(table.message, errorBox(err)); return; }
  const answer = await ask({title: "Reject: this is not " + who(r) + "?", text: "Nobody is marked; your reason and name go into the audit trail.",
                            reason: "Reason", ok: "Reject", danger: true});
  if (!answer) return;
  await decide(id, r, button, "reject", Object.assign({reason: answer.reason}, by),
               () => "Rejected: the face was not " + who(r) + " (by " + byWhom(by) + ").");
}

async function decide(id, r, button, verb, body, said) {
  button.disabled = true;
  show(table.message, note((verb === "confirm" ? "Confirming" : "Rejecting") + "…"));
  try {
    const data = await call(sessionUrl(id) + "/reviews/" + encodeURIComponent(r.id) + "/" + verb, sendJson("POST", body));
    show(table.message, done(said(data)));
  } catch (err) {
    show(table.message, errorBox(err));
    button.disabled = false;
  }
  loadReviews();
  refreshAfterChange();
}
