// The people list: GET api/v1/persons once, then searched (name, roll no., department) and paged in the
// browser; each roll number opens the person's page.
import {canLoad} from "./auth.js";
import {$, el, show} from "./dom.js";
import {fmt} from "./format.js";
import {note} from "./messages.js";
import {makePager} from "./pager.js";
import {onShow, personHash} from "./router.js";
import {fillTable, loadTable, tableOf} from "./tables.js";

const table = tableOf("persons"), search = $("people-search");
let all = null;  // the list as last fetched; null: fetch it when the page is shown
const pager = makePager($("persons-pager"), render);

// The list changed (enrolled, edited, deleted): fetch it again next time it is shown.
export function forgetPersons() { all = null; }

// A message on the people page (e.g. "Deleted …" after leaving a person's page).
export const flashPersons = (text) => show(table.message, note(text));

function loadPersons() {
  return loadTable(table, {
    url: () => "api/v1/persons",
    items: (data) => visible(),
    loaded: (data) => { all = data.persons || []; fillDepartments(); },
    row: personRow,
    caption,
    failed: () => { all = null; $("persons-pager").hidden = true; },
  });
}

export function clearPersons() {
  all = null;
  show(table.body);
  table.caption.textContent = "";
  $("persons-pager").hidden = true;
}

function fillDepartments() {
  const select = search.elements.department, chosen = select.value;
  const departments = [...new Set(all.map((p) => p.department).filter(Boolean))].sort((a, b) => a.localeCompare(b));
  show(select, el("option", {value: ""}, "all departments"), ...departments.map((d) => el("option", {value: d}, d)));
  select.value = departments.includes(chosen) ? chosen : "";
}

function matching() {
  const q = search.elements.q.value.trim().toLowerCase(), dept = search.elements.department.value;
  return (all || []).filter((p) => (!dept || p.department === dept) &&
    (!q || [p.rollNo, p.name, p.department].some((v) => (v || "").toLowerCase().includes(q))));
}

function visible() { return pager.slice(matching()); }

function caption() {
  const found = matching().length, total = (all || []).length;
  if (!total) return "Nobody is enrolled yet.";
  if (!found) return "Nobody matches the search (" + total + " people in all).";
  return "Showing " + pager.range(found) + " of " + found + (found < total ? " matching (" + total + " in all)" : " people") + ".";
}

function render() {
  if (all) fillTable(table, visible(), personRow, caption);
}

function personRow(p) {
  return el("tr", {},
    el("td", {}, el("a", {href: personHash(p.rollNo)}, p.rollNo)), el("td", {}, fmt(p.name)),
    el("td", {}, fmt(p.department)),
    el("td", {}, p.images_count ? String(p.images_count) : el("span", {class: "refused"}, "0 — not recognizable")),
    el("td", {}, fmt(p.contact)));
}

search.addEventListener("input", (event) => {
  if (event.target.name === "size") pager.setSize(Number(event.target.value));
  else pager.first();
  render();
});
search.addEventListener("submit", (event) => event.preventDefault());
$("people-reload").addEventListener("click", () => { show(table.message); loadPersons(); });
pager.setSize(Number(search.elements.size.value));

onShow("people", () => { if (canLoad()) (all ? render() : loadPersons()); });
