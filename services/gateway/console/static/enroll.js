// Enroll a person: the record and their photos in one request; each photo's outcome is shown.
import {call} from "./api.js";
import {$, busy, el, show} from "./dom.js";
import {errorBox, warning} from "./messages.js";
import {loadPersons} from "./persons.js";
import {photoResults, recordList} from "./records.js";

$("enroll-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target, out = $("enroll-result");
  show(out, el("p", {class: "note"}, "Enrolling — each photo goes through face detection…"));
  try {
    const data = await busy(form, "Enrolling…", () => call("api/v1/persons", {method: "POST", body: new FormData(form)}));
    const accepted = data.images.filter((i) => i.accepted).length;
    show(out, el("h3", {}, "Enrolled " + data.person.rollNo + " — " + accepted + " of " + data.images.length + " photos accepted"),
         accepted ? null : warning("No photo was accepted — " + data.person.rollNo + " cannot be recognized until a photo " +
                                   "with one clear face is added (Persons → Add photos)."),
         recordList(data.person), photoResults(data.images));
    form.reset();
    loadPersons();
  } catch (err) { show(out, errorBox(err)); }
});
