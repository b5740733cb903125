// The console's pages: one <section data-page> shown at a time, chosen by the URL's hash (#people,
// #person/<rollNo>, #enroll, #recognize, #attendance, #admin), so that the browser's back button and
// bookmarks work. Each page module registers what to do when it is shown (load its data).
import {isAdmin} from "./whoami.js";

const DEFAULT = "people";
const TITLES = {people: "People", person: "Person", enroll: "Enroll a person", recognize: "Recognize",
                attendance: "Attendance", admin: "Administration"};
const shown = {};  // page name -> show(param)
let current = {name: null, param: null};

export function onShow(name, handler) { shown[name] = handler; }
export const currentPage = () => current;
export const go = (hash) => { location.hash = hash; };
export const personHash = (rollNo) => "#person/" + encodeURIComponent(rollNo);

function parse() {
  const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
  let param = rest.join("/");
  try { param = decodeURIComponent(param); } catch (e) { /* as it is */ }
  return {name: TITLES[name] ? name : DEFAULT, param: param || null};
}

// Show the page the hash names (focus: move the keyboard focus to its heading, as after a click on a link).
function route(focus) {
  const next = parse();
  current = next;
  for (const section of document.querySelectorAll("section[data-page]")) {
    section.hidden = section.dataset.page !== next.name;
  }
  const navPage = next.name === "person" || next.name === "enroll" ? "people" : next.name;
  for (const link of document.querySelectorAll("nav a[data-nav]")) {
    if (link.dataset.nav === navPage) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = TITLES[next.name] + " — Attendance Tracker";
  if (focus) {
    const heading = document.querySelector("section[data-page='" + next.name + "'] h2");
    if (heading) heading.focus();
  }
  reload();
}

// Load the shown page's data again (after a sign-in, or when the page is shown).
export function reload() {
  const handler = shown[current.name];
  if (handler) handler(current.param);
}

// The admin-only parts of every page follow the key's scope (the API refuses them anyway: this spares a 403).
export function applyScope() {
  const admin = isAdmin();
  document.body.classList.toggle("not-admin", !admin);
  document.getElementById("nav-admin").hidden = !admin;
}

export function startRouter() {
  window.addEventListener("hashchange", () => route(true));
  const skip = document.getElementById("skip-link");
  skip.addEventListener("click", (event) => {  // the hash names pages: the skip link only moves the focus
    event.preventDefault();
    document.getElementById("main").focus();
  });
  route(false);
}
