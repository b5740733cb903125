// The dialog that edits a person's record: only the fields changed are sent.
import {call, personUrl, sendJson} from "./api.js";
import {$, busy, show, trapFocus} from "./dom.js";
import {errorBox} from "./messages.js";

const EDITABLE = ["name", "fatherName", "department", "contact"];
const dialog = $("edit-dialog"), form = $("edit-form");
let editing = null;  // {person, saved}: the person in the dialog, and what to do once saved
trapFocus(dialog);

// saved(person): called with the record as the gateway has it after the change.
export function openEdit(person, saved) {
  editing = {person, saved};
  $("edit-title").textContent = "Edit " + person.rollNo;
  for (const key of EDITABLE) form.elements[key].value = person[key] || "";
  show($("edit-error"));
  dialog.showModal();
}

$("edit-cancel").addEventListener("click", () => dialog.close());
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const {person, saved} = editing, changes = {};
  for (const key of EDITABLE) {
    const value = form.elements[key].value.trim();
    if (value !== (person[key] || "")) changes[key] = value;
  }
  if (!Object.keys(changes).length) { dialog.close(); return; }
  show($("edit-error"));
  try {
    const updated = await busy(form, "Saving…", () => call(personUrl(person.rollNo), sendJson("PATCH", changes)));
    dialog.close();
    saved(updated);
  } catch (err) { show($("edit-error"), errorBox(err)); }
});
