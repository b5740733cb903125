// A person's page (#person/<rollNo>): the record and photo count, edit, add photos, export, delete, and
// their attendance history with its percentage.
import {ApiError, call, personUrl} from "./api.js";
import {ask} from "./ask.js";
import {canLoad} from "./auth.js";
import {$, busy, el, show} from "./dom.js";
import {apiLink, download} from "./downloads.js";
import {done, errorBox, note, warning} from "./messages.js";
import {openEdit} from "./person-edit.js";
import {historyCaption, historyRow, historySummary} from "./person-history.js";
import {flashPersons, forgetPersons} from "./persons.js";
import {photoPicker} from "./photo-picker.js";
import {photoResults} from "./photo-results.js";
import {recordRows} from "./records.js";
import {currentPage, go, onShow} from "./router.js";
import {loadTable, tableOf} from "./tables.js";
import {setRange, TZ} from "./times.js";

const message = $("person-message"), page = $("person-body"), title = $("person-title");
const photosForm = $("person-photos"), photosOut = $("person-photos-result");
const historyForm = $("history-form"), csvLink = $("history-csv"), summary = $("history-summary");
const history = tableOf("history");
const picker = photoPicker($("person-picker"));
let person = null;  // the record shown

onShow("person", (rollNo) => { if (canLoad() && rollNo) loadPerson(rollNo); });

async function loadPerson(rollNo) {
  if (!person || person.rollNo !== rollNo) {
    person = null;
    page.hidden = true;
    title.textContent = "Person " + rollNo;
    picker.clear();
    show(photosOut);
    historyForm.reset();
  }
  show(message, note("Loading…"));
  try {
    const p = await call(personUrl(rollNo), {cache: "no-store"});
    if (currentPage().param !== rollNo) return;  // another page was opened meanwhile
    render(p);
    show(message);
    page.hidden = false;
    loadHistory();
  } catch (err) {
    show(message, errorBox(err), err.status === 404 ? el("p", {}, el("a", {href: "#people"}, "Back to the list of people")) : null);
  }
}

function render(p) {
  person = p;
  title.textContent = p.name + " (" + p.rollNo + ")";
  show($("person-details"), recordRows(p));
  show($("person-warning"), p.images_count ? null :
       warning("No enrolled photo: " + p.rollNo + " cannot be recognized until a photo with one clear face is added."));
}

$("person-edit").addEventListener("click", () => openEdit(person, (updated) => {
  render(updated);
  show(message, done("Saved the changes to " + updated.rollNo + "."));
  forgetPersons();
}));

$("person-export").addEventListener("click", async (event) => {
  const button = event.target, p = person;
  button.disabled = true;
  show(message, note("Exporting everything held about " + p.rollNo + "…"));
  try {
    await download(personUrl(p.rollNo) + "/export", p.rollNo + "-export.json");
    show(message, done("Saved " + p.rollNo + "-export.json: the record, every stored face (with its vector) and their " +
                       "attendance. It holds biometric data: keep it safe."));
  } catch (err) { show(message, errorBox(err)); }
  button.disabled = false;
});

$("person-delete").addEventListener("click", async () => {
  const p = person;
  const answer = await ask({
    title: "Delete " + p.name + " (" + p.rollNo + ")?",
    text: "The record and every enrolled face are erased from the database and from every matcher. This cannot be undone.",
    checks: [{name: "erase", label: "Also erase their attendance (marks, audit entries; their roll number leaves the rosters)"}],
    ok: "Delete", danger: true});
  if (!answer) return;
  show(message, note("Deleting " + p.rollNo + "…"));
  try {
    await call(personUrl(p.rollNo) + (answer.checks.erase ? "?erase_attendance=true" : ""), {method: "DELETE"});
    forgetPersons();
    person = null;
    flashPersons("Deleted " + p.rollNo + " (" + p.name + ")" + (answer.checks.erase ? " and their attendance." : "; their attendance records stay."));
    go("#people");
  } catch (err) { show(message, errorBox(err)); }
});

photosForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = picker.files(), p = person;
  if (!files.length) {
    show(photosOut, errorBox(new ApiError(0, "missing_image", "add at least one photo: drop it, choose it, or use the camera")));
    return;
  }
  const body = new FormData();
  files.forEach((file) => body.append("images", file, file.name));
  show(photosOut, note("Adding " + files.length + " photo(s)…"));
  try {
    const data = await busy(photosForm, "Adding…", () => call(personUrl(p.rollNo) + "/images", {method: "POST", body}));
    const accepted = data.images.filter((i) => i.accepted).length;
    render(data.person);
    show(photosOut, el("p", {}, el("strong", {}, accepted + " of " + data.images.length + " photo(s) accepted")),
         photoResults(data.images, {rollNo: p.rollNo, files, forced: (updated) => render(updated)}));
    picker.clear();
    forgetPersons();
  } catch (err) { show(photosOut, errorBox(err)); }
});

let report = null;  // the history shown
function loadHistory() {
  const rollNo = person.rollNo;
  return loadTable(history, {
    url: () => {
      const params = new URLSearchParams();
      setRange(params, historyForm.elements);
      if (TZ) params.set("tz", TZ);
      const base = personUrl(rollNo) + "/report?";
      csvLink.href = base + params + "&format=csv";
      return base + params;
    },
    items: (data) => data.history || [],
    row: historyRow,
    caption: () => historyCaption(report),
    stale: () => !person || person.rollNo !== rollNo,
    loaded: (data) => { report = data; show(summary, ...historySummary(data)); },
    failed: () => show(summary),
  });
}

historyForm.addEventListener("submit", (event) => { event.preventDefault(); loadHistory(); });
apiLink(csvLink, "save", $("history-message"));
