// Matching thresholds (admin): those in force per model, set them, or run a calibration over the enrolled
// photos and apply what it suggests. Every matcher uses a change at once.
import {ApiError, call, sendJson} from "./api.js";
import {$, busy, el, show} from "./dom.js";
import {fmt, sim} from "./format.js";
import {done, errorBox, note, warning} from "./messages.js";
import {loadTable, tableOf} from "./tables.js";

const table = tableOf("thresholds"), form = $("thresholds-form"), calibration = $("calibration-form");
const out = $("calibration-result"), modelSelect = form.elements.model;
const IN_USE = "";  // the model with the most enrolled photos, as the API chooses it without one
let thresholds = {};

export function loadThresholds() {
  return loadTable(table, {
    url: () => "api/v1/settings/thresholds",
    items: (data) => Object.entries(data.thresholds || {}).map(([model, t]) => Object.assign({model}, t)),
    row: (t) => el("tr", {"data-model": t.model}, el("th", {scope: "row"}, t.model), el("td", {}, sim(t.match_threshold)),
                    el("td", {}, sim(t.review_floor)), el("td", {}, fmt(t.source))),
    caption: () => "",
    loaded: (data) => { thresholds = data.thresholds || {}; fillModels(); },
  });
}

function fillModels() {
  const chosen = modelSelect.value;
  show(modelSelect, el("option", {value: IN_USE}, "the model in use (most enrolled photos)"),
       ...Object.keys(thresholds).map((m) => el("option", {value: m}, m)));
  modelSelect.value = chosen in thresholds ? chosen : IN_USE;
  prefill();
}

function prefill() {
  const t = thresholds[modelSelect.value];
  form.elements.match_threshold.value = t ? t.match_threshold : "";
  form.elements.review_floor.value = t ? t.review_floor : "";
}
modelSelect.addEventListener("change", prefill);

async function setThresholds(body, container) {
  const data = await call("api/v1/settings/thresholds", sendJson("PUT", body));
  show(table.message, done("Thresholds of " + data.model + " now: match " + sim(data.match_threshold) + ", review from " +
                           sim(data.review_floor) + ". Every matcher uses them within a second or so, without a restart."));
  await loadThresholds();
  modelSelect.value = data.model;
  prefill();
  return data;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = form.elements, body = {match_threshold: Number(f.match_threshold.value)};
  if (f.model.value) body.model = f.model.value;
  if (f.review_floor.value !== "") body.review_floor = Number(f.review_floor.value);
  try {
    if (body.review_floor > body.match_threshold) throw new ApiError(0, "bad_field", "the review floor must not be above the match threshold");
    await busy(form, "Setting…", () => setThresholds(body));
  } catch (err) { show(table.message, errorBox(err)); }
});

calibration.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {target_false_match_rate: Number(calibration.elements.rate.value)};
  if (modelSelect.value) body.model = modelSelect.value;
  show(out, note("Calibrating over the enrolled photos…"));
  try {
    const data = await busy(calibration, "Calibrating…", () => call("api/v1/calibration", sendJson("POST", body)));
    show(out, suggestion(data));
  } catch (err) { show(out, errorBox(err)); }
});

function suggestion(data) {
  const s = data.suggested, c = data.current || {};
  const stats = (x) => x ? "min " + sim(x.min) + ", median " + sim(x.median) + ", max " + sim(x.max) + " (" + x.count + ")" : "—";
  const apply = el("button", {type: "button", class: "primary", onclick: async () => {
    apply.disabled = true;
    try {
      await setThresholds({model: data.model, match_threshold: s.match_threshold, review_floor: s.review_floor});
      apply.textContent = "Applied";
    } catch (err) { show(table.message, errorBox(err)); apply.disabled = false; }
  }}, "Apply these thresholds");
  // A suggestion that would miss many genuine matches: usually two enrolled people who look alike, or one
  // person enrolled under two roll numbers (impostor scores as high as genuine ones).
  const missing = typeof s.false_non_match_rate === "number" && s.false_non_match_rate > 0.05;
  return el("div", {class: "box"},
    missing ? warning("these thresholds would miss " + rate(s.false_non_match_rate) + " of genuine matches. The highest " +
                      "impostor score is " + sim(s.impostor && s.impostor.max) + ": two enrolled people may look alike, or " +
                      "one person may be enrolled twice (photos enrolled with “Enroll anyway”). Check them before applying.") : null,
    el("p", {}, el("strong", {}, "Suggested for " + data.model + ": match " + sim(s.match_threshold) + ", review from " +
                                  sim(s.review_floor)), " (now: match " + sim(c.match_threshold) + ", review from " + sim(c.review_floor) + ")."),
    el("dl", {},
      el("dt", {}, "Measured on"), el("dd", {}, fmt(s.photos) + " photos of " + fmt(s.people) + " people, each against all the others"),
      el("dt", {}, "False matches"), el("dd", {}, rate(s.false_match_rate) + " of impostor pairs (target " + rate(s.target_false_match_rate) + ")"),
      el("dt", {}, "Missed matches"), el("dd", {}, rate(s.false_non_match_rate) + " of genuine pairs"),
      el("dt", {}, "Genuine scores"), el("dd", {}, stats(s.genuine)),
      el("dt", {}, "Impostor scores"), el("dd", {}, stats(s.impostor))),
    el("div", {class: "row flush"}, apply,
       el("span", {class: "note"}, "Few people or photos make a rough estimate; re-run after enrolling more.")));
}

const rate = (r) => typeof r === "number" ? (100 * r).toFixed(2) + " %" : "—";
