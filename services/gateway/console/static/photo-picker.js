// Choosing photos: drag and drop, a file chooser, or the camera; the photos chosen are listed with a small
// preview and a Remove button. One picker per form (enroll, add photos, recognize, check-in); the form
// sends picker.files() itself.
import {openCamera} from "./camera.js";
import {el, show} from "./dom.js";

const ACCEPT = "image/jpeg,image/png,image/webp,image/gif,image/bmp,image/tiff,image/heic,image/heif,image/avif," +
                      ".heic,.heif,.avif";
const PHOTO = /\.(jpe?g|png|webp|gif|bmp|tiff?|heic|heif|avif)$/i;
const isPhoto = (file) => file.type.startsWith("image/") || PHOTO.test(file.name);
const size = (bytes) => bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " kB";

// container: an empty <div class="picker">; multiple: several photos (else choosing one replaces the last).
export function photoPicker(container, {multiple = container.hasAttribute("data-multiple")} = {}) {
  let chosen = [];  // [{file, url}]
  const listeners = [];
  const noun = multiple ? "photos" : "a photo";
  const input = el("input", Object.assign({type: "file", accept: ACCEPT, onchange: () => { add([...input.files]); input.value = ""; }},
                                          multiple ? {multiple: ""} : {}));
  const camera = el("button", {type: "button", onclick: async () => add(await openCamera({multiple}))}, "Use the camera");
  const count = el("p", {class: "picker-count", "aria-live": "polite"});
  const list = el("ul", {class: "thumbs"});
  const zone = el("div", {class: "drop"},
    el("span", {class: "drop-hint"}, "Drag " + noun + " here, or"),
    el("label", {class: "filebtn"}, "Choose " + noun, input), camera);
  show(container, zone, count, list);

  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    add([...(event.dataTransfer ? event.dataTransfer.files : [])]);
  });

  function add(files) {
    const photos = files.filter(isPhoto), skipped = files.length - photos.length;
    if (!multiple && photos.length) clear(true);
    for (const file of multiple ? photos : photos.slice(0, 1)) chosen.push({file, url: URL.createObjectURL(file)});
    render(skipped ? skipped + " file(s) skipped: not a photo." : "");
  }

  function remove(item) {
    URL.revokeObjectURL(item.url);
    chosen = chosen.filter((c) => c !== item);
    render("");
  }

  function clear(quiet) {
    chosen.forEach((c) => URL.revokeObjectURL(c.url));
    chosen = [];
    if (!quiet) render("");
  }

  function render(extra) {
    show(list, ...chosen.map((item) => {
      const img = el("img", {src: item.url, alt: ""});
      img.addEventListener("error", () => img.replaceWith(el("span", {class: "noimg"}, "no preview")));
      return el("li", {}, img, el("span", {class: "name"}, item.file.name), el("small", {}, size(item.file.size)),
        el("button", {type: "button", class: "mini", "aria-label": "Remove " + item.file.name, onclick: () => remove(item)}, "Remove"));
    }));
    count.textContent = (chosen.length ? chosen.length + " photo(s) chosen." : "No photo chosen.") + (extra ? " " + extra : "");
    listeners.forEach((listener) => listener(chosen.length));
  }
  render("");

  return {
    files: () => chosen.map((c) => c.file),
    add,
    clear: () => clear(false),
    // Keep only these (e.g. the photos that failed, to try again).
    keep(files) { for (const item of [...chosen]) if (!files.includes(item.file)) { URL.revokeObjectURL(item.url); chosen = chosen.filter((c) => c !== item); } render(""); },
    onChange: (listener) => { listeners.push(listener); },
    input,
  };
}
