// The small boxes every section shows: errors, warnings, notes and status pills.
import {$, el} from "./dom.js";
import {fmt} from "./format.js";
import {principal} from "./whoami.js";

// What an operator can do about some errors, by the API's status (the API's own message is shown too).
const HINTS = {
  413: "Send fewer or smaller photos at a time.",
  503: "The recognition pipeline or the database is down or restarting: try again in a moment " +
       "(Administration → System health shows what the gateway knows).",
  504: "The recognition pipeline took too long — it may be busy: try again, or send fewer photos at a time.",
};

// An error as the operator reads it: what happened in words, the API's message, and its status and code.
// 401: a sign-in prompt (signIn: false where the sign-in box itself reports it); 403: the key and its scope.
export function errorBox(err, {signIn = true} = {}) {
  const where = err.status ? "HTTP " + err.status + " · " : "";
  const code = el("small", {}, " (" + where + fmt(err.code) + ")");
  if (err.status === 401 && signIn) {
    return el("div", {class: "error", role: "alert"}, el("strong", {}, "Sign in needed: "),
      "this gateway needs an API key. ", el("button", {type: "button", class: "mini", onclick: focusSignIn}, "Sign in"), code);
  }
  if (err.status === 403) {
    const p = principal();
    const key = p.name ? "your key “" + p.name + "”" + (p.scope ? " (scope " + p.scope + ")" : "") : "your key";
    const needs = /this needs (\w+)/.exec(err.message || "");
    return el("div", {class: "error", role: "alert"}, el("strong", {}, "Not allowed: "),
      key + " may not do this" + (needs ? ": it needs the " + needs[1] + " scope" : " — " + fmt(err.message)) +
      ". Sign in with such a key, or ask an administrator for one.", code);
  }
  if (err.status === 0 && err.code === "unreachable") {
    return el("div", {class: "error", role: "alert"}, el("strong", {}, "No connection: "),
      fmt(err.message) + ". Check the network, or whether the gateway runs.", code);
  }
  return el("div", {class: "error", role: "alert"}, el("strong", {}, "Error: "), fmt(err.message),
            HINTS[err.status] ? " " + HINTS[err.status] : "", code);
}

function focusSignIn() {
  const box = $("signin");
  box.hidden = false;
  box.scrollIntoView({block: "start"});
  $("signin-form").elements.token.focus();
}

// A warning: the request worked, but the outcome needs the operator's attention.
export const warning = (...children) => el("div", {class: "warning", role: "alert"}, el("strong", {}, "Warning: "), ...children);

// A success: what was done.
export const done = (...children) => el("div", {class: "success"}, ...children);

export const note = (text) => el("p", {class: "note"}, text);

// An attendance or session status (present, late, absent, open, closed) as a coloured pill.
export const pill = (status, text) => el("span", {class: "pill " + status}, text === undefined ? fmt(status) : text);
