// A photo with each face outlined (green: recognized, red: unknown) and labelled "#n name"; a face cut out.
import {el} from "./dom.js";

// A photo file as a loaded image (its object URL is revoked once the image is decoded).
export function loadImage(file) {
  const url = URL.createObjectURL(file);
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.addEventListener("load", () => { resolve(img); setTimeout(() => URL.revokeObjectURL(url), 1000); });
    img.addEventListener("error", () => { URL.revokeObjectURL(url); reject(new Error("the browser cannot display this file")); });
    img.src = url;
  });
}

// One face of a photo (box: x, y, width, height), with a margin, on a small canvas.
export function faceCrop(img, box, label, side = 96) {
  const [x, y, w, h] = box, margin = 0.25 * Math.max(w, h), size = Math.max(w, h) + 2 * margin;
  const canvas = el("canvas", {role: "img", "aria-label": label, class: "crop"});
  canvas.width = side; canvas.height = side;
  canvas.getContext("2d").drawImage(img, x + w / 2 - size / 2, y + h / 2 - size / 2, size, size, 0, 0, side, side);
  return canvas;
}

export function drawFaces(img, faces) {
  const names = faces.map((f, i) => "#" + (i + 1) + " " + (f.match ? f.match.name : "unknown")).join(", ");
  const canvas = el("canvas", {role: "img", "aria-label": "The photo with " + faces.length + " face(s) outlined" + (names ? ": " + names : "")});
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const scale = Math.max(1, img.naturalWidth / 800);
  const color = (face) => face.match ? "#1a7f37" : "#cf222e";
  ctx.lineWidth = 3 * scale;
  faces.forEach((face) => { ctx.strokeStyle = color(face); ctx.strokeRect(...face.box); });
  // Labels: small, about as wide as their box (the name is cut short, the number kept), placed above
  // the box, else below it, else inside it — wherever they cover least of the other boxes and labels.
  ctx.font = "bold " + Math.round(12 * scale) + "px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  const pad = 3 * scale, th = Math.round(16 * scale), half = ctx.lineWidth / 2;
  const rect = (x, y, w, h) => ({x, y, w, h});
  const boxes = faces.map(({box: [x, y, w, h]}) => rect(x - half, y - half, w + 2 * half, h + 2 * half));
  const shared = (a, b) => Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) *
                           Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const placed = [];
  faces.forEach((face, i) => {
    const [x, y, w, h] = face.box;
    const room = Math.max(w + 2 * half, 40 * scale);
    const number = "#" + (i + 1), name = face.match ? face.match.name : "unknown";
    const fits = (t) => ctx.measureText(t).width + 2 * pad <= room;
    let label = number + " " + name;
    for (let n = name.length - 1; n > 0 && !fits(label); n--) label = number + " " + name.slice(0, n) + "…";
    if (!fits(label)) label = number;
    const tw = Math.min(room, ctx.measureText(label).width + 2 * pad);
    const clampX = (tx) => Math.max(0, Math.min(tx, canvas.width - tw));
    const clampY = (ty) => Math.max(0, Math.min(ty, canvas.height - th));
    const xs = [clampX(x - half), clampX(x + w + half - tw)];  // left- or right-aligned with the box
    const spots = [y - half - th, y + h + half, y + half, y + h - half - th].flatMap((ty) => xs.map((tx) => rect(tx, clampY(ty), tw, th)));
    const cost = (r) => boxes.reduce((sum, b, j) => sum + (j === i ? 0 : shared(r, b)), 0) +
                        placed.reduce((sum, p) => sum + shared(r, p), 0);
    const spot = spots.reduce((best, r) => cost(r) < cost(best) ? r : best);
    placed.push(spot);
    ctx.fillStyle = color(face);
    ctx.fillRect(spot.x, spot.y, spot.w, spot.h);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, spot.x + pad, spot.y + th / 2, tw - 2 * pad);
  });
  return canvas;
}
