// Enroll a person: the record and their photos (dropped, chosen or taken with the camera) in one request;
// each photo's outcome is shown, lookalikes with "Enroll anyway".
import {ApiError, call} from "./api.js";
import {$, busy, el, show} from "./dom.js";
import {errorBox, note, warning} from "./messages.js";
import {forgetPersons} from "./persons.js";
import {photoPicker} from "./photo-picker.js";
import {photoResults} from "./photo-results.js";
import {recordList} from "./records.js";
import {personHash} from "./router.js";

const form = $("enroll-form"), out = $("enroll-result");
const picker = photoPicker($("enroll-picker"));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = picker.files();
  if (!files.length) {
    show(out, errorBox(new ApiError(0, "missing_image", "add at least one photo: drop it, choose it, or use the camera")));
    picker.input.focus();
    return;
  }
  const body = new FormData(form);
  files.forEach((file) => body.append("images", file, file.name));
  show(out, note("Enrolling — " + files.length + " photo(s) go through face detection…"));
  try {
    const data = await busy(form, "Enrolling…", () => call("api/v1/persons", {method: "POST", body}));
    const person = data.person, accepted = data.images.filter((i) => i.accepted).length;
    const count = el("span", {}, accepted + " of " + data.images.length + " photos accepted");
    const alarm = accepted ? null : warning("No photo was accepted — " + person.rollNo + " cannot be recognized until a " +
                                            "photo with one clear face is added.");
    let record = recordList(person);
    // A photo enrolled anyway (a lookalike): the count and the record follow.
    const forced = (p) => {
      count.textContent = p.images_count + " photo(s) enrolled now";
      const now = recordList(p);
      record.replaceWith(now);
      record = now;
      if (alarm && p.images_count) alarm.remove();
      forgetPersons();
    };
    show(out, el("h3", {}, "Enrolled " + person.rollNo + " — ", count), alarm, record,
         photoResults(data.images, {rollNo: person.rollNo, files, forced}),
         el("p", {}, el("a", {href: personHash(person.rollNo)}, "Open " + person.name + "’s page")));
    form.reset();
    picker.clear();
    forgetPersons();
  } catch (err) { show(out, errorBox(err)); }
});
