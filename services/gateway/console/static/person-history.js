// A person's attendance report (GET persons/<rollNo>/report) as the person page and the reports over a
// period show it: the percentage and counts, a row per session.
import {el} from "./dom.js";
import {fmt, percent, when} from "./format.js";
import {pill} from "./messages.js";

export const HISTORY_COLUMNS = ["Session", "Starts", "Status", "Marked at"];

export function historySummary(data) {
  const p = data.person || {};
  const attended = typeof data.percentage === "number" ? percent(data.percentage) + " attended" : "no session yet";
  return [el("strong", {}, fmt(data.rollNo) + (p.name ? " (" + p.name + ")" : "") + ": " + attended),
          " — " + fmt(data.sessions) + " session(s):",
          pill("present", fmt(data.present) + " present"), pill("late", fmt(data.late) + " late"),
          pill("absent", fmt(data.absent) + " absent")];
}

export const historyRow = (h) => el("tr", {},
  el("td", {}, fmt(h.name)), el("td", {}, when(h.starts_at, true)), el("td", {}, pill(h.status)),
  el("td", {}, when(h.marked_at, true)));

export function historyCaption(data) {
  const history = data.history || [];
  return (history.length ? history.length + " session(s), oldest first" : "No session with " + fmt(data.rollNo) + " on the roster") +
         "; " + when(data.from) + " up to " + when(data.to) + " (excluded).";
}
