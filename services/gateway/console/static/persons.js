// The persons list: filter by department, add photos, edit, delete.
import {call, personUrl} from "./api.js";
import {$, el, show} from "./dom.js";
import {fmt} from "./format.js";
import {errorBox, note, warning} from "./messages.js";
import {openEdit} from "./person-edit.js";
import {FIELDS, photoResults} from "./records.js";
import {loadTable, tableOf} from "./tables.js";

const table = tableOf("persons");
const filter = $("persons-filter");

export function loadPersons() {
  const dept = filter.elements.department.value.trim();
  return loadTable(table, {
    url: () => "api/v1/persons" + (dept ? "?department=" + encodeURIComponent(dept) : ""),
    items: (data) => data.persons || [],
    row: personRow,
    caption: (persons) => persons.length + " person(s)" + (dept ? " in " + dept : ""),
  });
}

function personRow(p) {
  const label = p.rollNo + " (" + p.name + ")";
  const upload = el("input", {type: "file", accept: document.querySelector("#enroll-form input[type=file]").accept, multiple: "",
                              "aria-label": "Add photos for " + label, onchange: (e) => addPhotos(p, e.target)});
  return el("tr", {},
    FIELDS.map(([key]) => el("td", {}, fmt(p[key]))),
    el("td", {class: "actions"},
      el("label", {class: "filebtn"}, "Add photos", upload),
      el("button", {type: "button", "aria-label": "Edit " + label, onclick: () => openEdit(p, saved)}, "Edit"),
      el("button", {type: "button", class: "danger", "aria-label": "Delete " + label, onclick: (e) => removePerson(p, e.target)}, "Delete")));
}

function saved(person) {
  show(table.message, note("Saved " + person.rollNo + "."));
  loadPersons();
}

async function addPhotos(p, input) {
  const out = table.message;
  if (!input.files.length) return;
  const body = new FormData();
  for (const f of input.files) body.append("images", f);
  input.disabled = true;
  show(out, note("Adding " + input.files.length + " photo(s) for " + p.rollNo + "…"));
  try {
    const data = await call(personUrl(p.rollNo) + "/images", {method: "POST", body});
    const accepted = (data.images || []).filter((i) => i.accepted).length;
    show(out, el("h3", {}, "Photos for " + data.person.rollNo + " — now " + data.person.images_count + " enrolled"),
         accepted ? null : warning("No photo was accepted" + (data.person.images_count ? "." :
                                   " — " + data.person.rollNo + " cannot be recognized until a photo with one clear face is added.")),
         photoResults(data.images));
    loadPersons();
  } catch (err) { show(out, errorBox(err)); }
  finally { input.disabled = false; input.value = ""; }
}

async function removePerson(p, button) {
  if (!confirm("Delete " + p.rollNo + " (" + p.name + ")? Their enrolled faces are removed too.")) return;
  button.disabled = true;
  show(table.message, note("Deleting " + p.rollNo + "…"));
  try {
    await call(personUrl(p.rollNo), {method: "DELETE"});
    show(table.message, note("Deleted " + p.rollNo + "."));
    loadPersons();
  } catch (err) { show(table.message, errorBox(err)); button.disabled = false; }
}

filter.addEventListener("submit", (event) => { event.preventDefault(); show(table.message); loadPersons(); });
