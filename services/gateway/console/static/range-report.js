// Reports over a period: one person's attendance, or a whole department's, with its CSV.
import {ApiError, call, personUrl} from "./api.js";
import {$, busy, el, show} from "./dom.js";
import {apiLink} from "./downloads.js";
import {fmt, percent, when} from "./format.js";
import {errorBox, note} from "./messages.js";
import {HISTORY_COLUMNS, historyCaption, historyRow, historySummary} from "./person-history.js";
import {setRange, TZ} from "./times.js";

const form = $("range-form"), csvLink = $("range-csv");
const summary = $("range-summary"), head = $("range-head"), body = $("range-body"), caption = $("range-caption");
const headRow = (...titles) => el("tr", {}, titles.map((t) => el("th", {scope: "col"}, t)));

function kindChanged() {
  const person = form.elements.kind.value === "person";
  $("range-key-label").textContent = person ? "Roll no. *" : "Department *";
  form.elements.key.placeholder = person ? "21CSD6749" : "CSD";
}
form.elements.kind.addEventListener("change", kindChanged);
// The CSV link belongs to the report shown: hidden as soon as the form asks for another.
form.addEventListener("input", () => { csvLink.hidden = true; });
kindChanged();

export function clearRangeReport() {
  for (const box of [summary, head, body]) show(box);
  caption.textContent = "";
  csvLink.hidden = true;
}

function renderPersonReport(data) {
  show(summary, ...historySummary(data));
  show(head, headRow(...HISTORY_COLUMNS));
  show(body, ...(data.history || []).map(historyRow));
  caption.textContent = historyCaption(data);
}

function renderDepartmentReport(data) {
  const rows = data.rows || [];
  show(summary, el("strong", {}, "Department " + fmt(data.department) + ":"),
       " " + fmt(data.sessions) + " session(s), " + rows.length + " person(s)");
  show(head, headRow("Roll no.", "Name", "Sessions", "Present", "Late", "Absent", "Attended"));
  show(body, ...rows.map((r) => el("tr", {},
    el("td", {}, fmt(r.rollNo)), el("td", {}, fmt(r.name)), el("td", {}, fmt(r.sessions)), el("td", {}, fmt(r.present)),
    el("td", {}, fmt(r.late)), el("td", {}, fmt(r.absent)), el("td", {}, percent(r.percentage)))));
  caption.textContent = (rows.length ? "" : "Nobody enrolled in the department; ") +
                        when(data.from) + " up to " + when(data.to) + " (excluded).";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = form.elements, person = f.kind.value === "person", key = f.key.value.trim(), out = $("range-message");
  try {
    if (!key) throw new ApiError(0, "missing_field", person ? "enter a roll number" : "enter a department");
    const params = new URLSearchParams();
    setRange(params, f);
    if (TZ) params.set("tz", TZ);
    const base = (person ? personUrl(key) : "api/v1/departments/" + encodeURIComponent(key)) + "/report";
    clearRangeReport();
    show(out, note("Loading the report…"));
    const data = await busy(form, "Loading…", () => call(base + "?" + params, {cache: "no-store"}));
    show(out);
    (person ? renderPersonReport : renderDepartmentReport)(data);
    params.set("format", "csv");
    csvLink.href = base + "?" + params;
    csvLink.hidden = false;
  } catch (err) {
    clearRangeReport();
    show(out, errorBox(err));
  }
});

apiLink(csvLink, "save", $("range-message"));
