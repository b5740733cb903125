// Recognize: one photo in, every face found with its match (or none) and the candidates, drawn on the photo.
import {call} from "./api.js";
import {$, busy, el, show} from "./dom.js";
import {drawFaces} from "./face-boxes.js";
import {fmt, sim} from "./format.js";
import {errorBox} from "./messages.js";
import {recordRows} from "./records.js";

let previewUrl = null;  // object URL of the photo last previewed; revoked when replaced

function loadImage(file) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  const url = previewUrl;
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.addEventListener("load", () => resolve(img));
    img.addEventListener("error", () => reject(new Error("the browser cannot display this file")));
    img.src = url;
  });
}

function faceCard(face, i) {
  const m = face.match;
  const candidates = (face.candidates || []).map((c) => el("li", {}, fmt(c.rollNo) + " · " + fmt(c.name) + " · " + sim(c.similarity)));
  return el("div", {class: "face" + (m ? " matched" : "")},
    el("h3", {}, "Face #" + (i + 1) + ": " + (m ? fmt(m.name) : "unknown")),
    m ? null : el("p", {class: "refused"}, "Nobody enrolled matches this face."),
    el("dl", {}, m ? recordRows(m) : [], el("dt", {}, "Similarity"), el("dd", {}, sim(face.similarity)),
                 el("dt", {}, "Detection"), el("dd", {}, sim(face.confidence))),
    el("strong", {}, "Candidates"),
    candidates.length ? el("ol", {}, candidates) : el("p", {class: "note"}, "none"));
}

$("recognize-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target, out = $("recognize-result");
  const file = form.elements.image.files[0];
  if (!file) return;
  show(out, el("p", {class: "note"}, "Recognizing…"));
  try {
    const data = await busy(form, "Recognizing…", () => call(form.getAttribute("action"), {method: "POST", body: new FormData(form)}));
    const faces = data.faces || [];
    const summary = el("p", {}, faces.length ? faces.length + " face(s) found, " + faces.filter((f) => f.match).length + " recognized."
                                             : "No face found in this photo.", " ", el("small", {class: "note"}, "request " + fmt(data.request_id)));
    let picture;
    try { picture = drawFaces(await loadImage(file), faces); }
    catch (e) { picture = el("p", {class: "note"}, "Preview unavailable: " + e.message); }
    show(out, summary, picture, el("div", {class: "faces"}, faces.map(faceCard)));
  } catch (err) { show(out, errorBox(err)); }
});
