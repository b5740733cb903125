// The camera (getUserMedia): a live picture in a dialog; "Take photo" draws the current frame on a canvas
// and keeps it as a JPEG file, which the photo picker that opened the camera receives when it closes.
import {$, trapFocus} from "./dom.js";

const dialog = $("camera-dialog"), video = $("camera-video"), message = $("camera-message");
const takeButton = $("camera-take"), doneButton = $("camera-done");
let stream = null, shots = [], single = false, settle = null, taken = 0;
trapFocus(dialog);

// Open the camera; resolves to the photos taken (single: closes after the first one).
export function openCamera({multiple = true} = {}) {
  single = !multiple;
  shots = [];
  takeButton.textContent = single ? "Take photo" : "Take a photo";
  dialog.showModal();
  doneButton.focus();
  start();
  return new Promise((resolve) => { settle = resolve; });
}

function say(text) { message.textContent = text; }

async function start() {
  takeButton.disabled = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say("This browser offers no camera to this page (a camera needs HTTPS, or the address 127.0.0.1 / localhost). " +
        "Choose photo files instead.");
    return;
  }
  say("Starting the camera… the browser may ask whether this page may use it.");
  try {
    const s = await navigator.mediaDevices.getUserMedia({video: {width: {ideal: 1280}, height: {ideal: 960}}, audio: false});
    if (!dialog.open) { s.getTracks().forEach((t) => t.stop()); return; }  // closed while starting
    stream = s;
    video.srcObject = stream;
    await video.play().catch(() => {});
    takeButton.disabled = false;
    takeButton.focus();
    say("The camera is on. One face, well lit, looking at the camera; then " + takeButton.textContent + ".");
  } catch (err) {
    const why = {NotAllowedError: "the browser (or you) refused this page the camera — allow it in the address bar's site settings",
                 NotFoundError: "no camera was found", NotReadableError: "the camera is in use by another program",
                 OverconstrainedError: "the camera cannot give a picture of a usable size"}[err.name];
    say("No camera: " + (why || err.message) + ". Choose photo files instead.");
  }
}

takeButton.addEventListener("click", () => {
  if (!stream || !video.videoWidth) { say("The camera has no picture yet: wait a moment."); return; }
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  takeButton.disabled = true;
  canvas.toBlob((blob) => {
    takeButton.disabled = false;
    if (!blob) { say("The frame could not be saved: try again."); return; }
    taken += 1;
    shots.push(new File([blob], "camera-" + new Date().toISOString().replace(/[:.]/g, "-") + "-" + taken + ".jpg",
                        {type: "image/jpeg"}));
    if (single) { dialog.close(); return; }
    say(shots.length + " photo(s) taken. Take another (turn the head a little), or Done.");
  }, "image/jpeg", 0.92);
});

doneButton.addEventListener("click", () => dialog.close());

// However it closes (Done, Escape): the camera is switched off and the photos go to the picker.
dialog.addEventListener("close", () => {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  video.srcObject = null;
  const resolve = settle;
  settle = null;
  if (resolve) resolve(shots);
});
