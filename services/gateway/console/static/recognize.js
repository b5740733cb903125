// Recognize: one photo in (dropped, chosen or taken with the camera), every face found with its match (or
// "unknown") and the candidates, each face outlined and named on the photo.
import {ApiError, call} from "./api.js";
import {$, busy, el, show} from "./dom.js";
import {drawFaces, loadImage} from "./face-boxes.js";
import {fmt, sim} from "./format.js";
import {errorBox, note} from "./messages.js";
import {photoPicker} from "./photo-picker.js";
import {recordRows} from "./records.js";

const form = $("recognize-form"), out = $("recognize-result");
const picker = photoPicker($("recognize-picker"), {multiple: false});

function faceCard(face, i) {
  const m = face.match;
  const candidates = (face.candidates || []).map((c) => el("li", {}, fmt(c.rollNo) + " · " + fmt(c.name) + " · " + sim(c.similarity)));
  return el("li", {class: "face" + (m ? " matched" : ""), "data-face": String(i + 1), "data-box": (face.box || []).join(",")},
    el("h3", {}, "Face #" + (i + 1) + ": ", el("span", {class: "face-name"}, m ? fmt(m.name) : "unknown")),
    m ? null : el("p", {class: "refused"}, "Nobody enrolled matches this face" +
                  (face.review ? " — closest: " + fmt(face.review.name) + " (" + sim(face.review.similarity) + "), a near miss" : "") + "."),
    el("dl", {}, m ? recordRows(m) : [], el("dt", {}, "Similarity"), el("dd", {}, sim(face.similarity)),
                 typeof face.threshold === "number" ? [el("dt", {}, "Threshold"), el("dd", {}, sim(face.threshold))] : [],
                 el("dt", {}, "Detection"), el("dd", {}, sim(face.confidence))),
    el("strong", {}, "Candidates"),
    candidates.length ? el("ol", {}, candidates) : el("p", {class: "note"}, "none"));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const [file] = picker.files();
  if (!file) {
    show(out, errorBox(new ApiError(0, "missing_image", "add a photo first: drop it, choose it, or use the camera")));
    picker.input.focus();
    return;
  }
  const body = new FormData();
  body.append("image", file, file.name);
  show(out, note("Recognizing…"));
  try {
    const data = await busy(form, "Recognizing…", () => call(form.getAttribute("action"), {method: "POST", body}));
    const faces = data.faces || [];
    const summary = el("p", {class: "tally"}, faces.length
      ? faces.length + " face(s) found, " + faces.filter((f) => f.match).length + " recognized: " +
        faces.map((f, i) => "#" + (i + 1) + " " + (f.match ? f.match.name : "unknown")).join(", ") + "."
      : "No face found in this photo.", " ", el("small", {class: "note"}, "request " + fmt(data.request_id)));
    let picture;
    try { picture = drawFaces(await loadImage(file), faces); }
    catch (e) { picture = note("Preview unavailable: " + e.message); }
    show(out, summary, el("div", {class: "recognized"}, picture, el("ol", {class: "faces", "aria-label": "Faces found"}, faces.map(faceCard))));
  } catch (err) { show(out, errorBox(err)); }
});
