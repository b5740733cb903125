// The small boxes every section shows: errors, warnings, notes and status pills.
import {el} from "./dom.js";
import {fmt} from "./format.js";

export function errorBox(err) {
  const where = err.status ? "HTTP " + err.status + " · " : "";
  return el("div", {class: "error", role: "alert"},
            el("strong", {}, "Error: "), fmt(err.message), " ", el("small", {}, "(" + where + fmt(err.code) + ")"));
}

// A warning: the request worked, but the outcome needs the operator's attention.
export const warning = (...children) => el("div", {class: "warning", role: "alert"}, el("strong", {}, "Warning: "), ...children);

export const note = (text) => el("p", {class: "note"}, text);

// An attendance or session status (present, late, absent, open, closed) as a coloured pill.
export const pill = (status, text) => el("span", {class: "pill " + status}, text === undefined ? fmt(status) : text);
