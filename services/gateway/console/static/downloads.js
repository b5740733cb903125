// Links to API files (CSV, the printable register). Plain links while no token is set. With a token, a click
// fetches the file with the Authorization header (a link cannot carry one, and the token never goes into a
// URL), then saves it ("save": CSV, named as the gateway names it) or opens it in a new window ("open").
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
      const objectUrl = URL.createObjectURL(blob);
      if (kind === "open") {
        if (win) win.location.replace(objectUrl);
        else win = window.open(objectUrl, "_blank");
        setTimeout(() => URL.revokeObjectURL(objectUrl), 60000);  // long after the window has read it
        if (!win) throw new ApiError(0, "popup_blocked", "the browser blocked the new window: allow pop-ups for this page");
      } else {
        const save = el("a", {href: objectUrl, download: fileName(res, url), hidden: ""});
        document.body.append(save);
        save.click();
        save.remove();
        setTimeout(() => URL.revokeObjectURL(objectUrl), 10000);
      }
    } catch (err) {
      if (win && !win.closed) win.close();
      show(out, errorBox(err));
    } finally {
      link.removeAttribute("aria-busy");
    }
  });
}

// The file name from Content-Disposition, else from the URL's path.
function fileName(res, url) {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(res.headers.get("Content-Disposition") || "");
  if (m) { try { return decodeURIComponent(m[1]); } catch (e) { return m[1]; } }
  const path = url.split("?")[0].split("/").filter(Boolean);
  return (path.slice(-2).join("-") || "download") + ".csv";
}
