// The outcome of each enrollment photo: accepted, or refused and why. A photo refused because it looks like
// somebody else already enrolled (code "lookalike": one person under two roll numbers, or two people the
// model cannot tell apart) offers "Enroll anyway", which sends that photo again with force=true.
import {call, personUrl} from "./api.js";
import {el} from "./dom.js";
import {fmt, sim} from "./format.js";
import {errorBox} from "./messages.js";

const looksLike = (l) => fmt(l.name || l.rollNo) + " (" + fmt(l.rollNo) + "), similarity " + sim(l.similarity);

// images: the answer's per-photo list; files: the photos sent, in the same order; forced(person): after a
// photo was enrolled anyway, with the person's record as it is now.
export function photoResults(images, {rollNo, files = [], forced = () => {}} = {}) {
  return el("ul", {class: "photos"}, (images || []).map((img, i) => photoLine(img, rollNo, files[i], forced)));
}

function photoLine(img, rollNo, file, forced) {
  if (img.accepted) {
    return el("li", {class: "accepted"}, "✓ accepted: " + fmt(img.filename),
      img.reason ? " — " + img.reason : "",
      img.lookalike ? " — enrolled although it looks like " + looksLike(img.lookalike) : "");
  }
  const lookalike = img.code === "lookalike" && img.lookalike;
  const line = el("li", {class: "refused"}, "✗ refused: " + fmt(img.filename) + " — " + fmt(img.reason),
                  img.detail && !lookalike ? " (" + img.detail + ")" : "");
  if (lookalike && file && rollNo) {
    line.append(el("br"), "Looks like " + looksLike(img.lookalike) + ". If this really is " + rollNo + " (e.g. twins), ",
      el("button", {type: "button", class: "mini", "aria-label": "Enroll anyway: " + fmt(img.filename),
                    onclick: (e) => force(line, e.target, rollNo, file, forced)}, "Enroll anyway"));
  }
  return line;
}

async function force(line, button, rollNo, file, forced) {
  button.disabled = true;
  const body = new FormData();
  body.append("force", "true");
  body.append("images", file, file.name);
  try {
    const data = await call(personUrl(rollNo) + "/images", {method: "POST", body});
    line.replaceWith(photoLine(data.images[0], rollNo, file, forced));
    forced(data.person);
  } catch (err) {
    button.disabled = false;
    line.append(errorBox(err));
  }
}
