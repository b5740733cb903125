// Files from the API (CSV, the printable register, a person's export). Links stay plain links while no key
// is set. With a key, a click fetches the file with the Authorization header (a link cannot carry one, and
// the key never goes into a URL), then saves it ("save": named as the gateway names it) or opens it in a
// new window ("open").
import {ApiError, getToken, request} from "./api.js";
import {el, show} from "./dom.js";
import {errorBox} from "./messages.js";

export function apiLink(link, kind, out) {
  link.addEventListener("click", async (event) => {
    if (!getToken()) return;
    event.preventDefault();
    const url = link.getAttribute("href");
    if (!url || url === "#" || link.getAttribute("aria-busy") === "true") return;
    // The window is opened now, while the click counts as the user's: opened after the download, it may be blocked.
    let win = kind === "open" ? window.open("", "_blank") : null;
    if (win) {
      try { win.opener = null; win.document.title = "Loading…"; win.document.body.textContent = "Loading…"; }
      catch (e) { /* the window is not ours to write */ }
    }
    link.setAttribute("aria-busy", "true");
    try {
      const res = await request(url, {cache: "no-store"});
      const blob = await res.blob();
      if (kind === "open") {
        const objectUrl = URL.createObjectURL(blob);
        if (win) win.location.replace(objectUrl);
        else win = window.open(objectUrl, "_blank");
        setTimeout(() => URL.revokeObjectURL(objectUrl), 60000);  // long after the window has read it
        if (!win) throw new ApiError(0, "popup_blocked", "the browser blocked the new window: allow pop-ups for this page");
      } else {
        saveBlob(blob, fileName(res, url, ".csv"));
      }
    } catch (err) {
      if (win && !win.closed) win.close();
      show(out, errorBox(err));
    } finally {
      link.removeAttribute("aria-busy");
    }
  });
}

// Fetch url (with the key, if any) and save what it answers as a file; name: when the answer names none.
export async function download(url, name) {
  const res = await request(url, {cache: "no-store"});
  saveBlob(await res.blob(), fileName(res, url, "", name));
}

// Save a blob as a file the browser downloads.
function saveBlob(blob, name) {
  const objectUrl = URL.createObjectURL(blob);
  const save = el("a", {href: objectUrl, download: name, hidden: ""});
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(objectUrl), 10000);
}

// The file name from Content-Disposition, else the one given, else from the URL's path.
function fileName(res, url, ext, given) {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(res.headers.get("Content-Disposition") || "");
  if (m) { try { return decodeURIComponent(m[1]); } catch (e) { return m[1]; } }
  if (given) return given;
  const path = url.split("?")[0].split("/").filter(Boolean);
  return (path.slice(-2).join("-") || "download") + ext;
}
