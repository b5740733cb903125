// The operator's name recorded with every correction and review decision: remembered in this browser
// (localStorage), prefilled with the key's name on sign-in, and optional while signed in (the gateway then
// records the key's name).
import {ApiError} from "./api.js";
import {$} from "./dom.js";
import {principal} from "./whoami.js";

const OPERATOR_KEY = "console.operator";
export const operatorInput = $("operator");

try { operatorInput.value = localStorage.getItem(OPERATOR_KEY) || ""; } catch (e) { /* storage unavailable */ }
operatorInput.addEventListener("input", () => {
  try { localStorage.setItem(OPERATOR_KEY, operatorInput.value.trim()); } catch (e) { /* storage unavailable */ }
});

export function prefillOperator(name) {
  operatorInput.value = name;
  try { localStorage.setItem(OPERATOR_KEY, name); } catch (e) { /* storage unavailable */ }
}

export function forgetOperator() {
  operatorInput.value = "";
  try { localStorage.removeItem(OPERATOR_KEY); } catch (e) { /* storage unavailable */ }
}

// tokenName: the name of the key signed in with (the field is then optional), or null (required).
export function showOperatorRequired(tokenName) {
  $("operator-label").textContent = "Your name (recorded with corrections and decisions)" + (tokenName ? "" : " *");
  operatorInput.placeholder = tokenName || "";
}

// The "by" of a correction or decision: {by} with the name given; {} while signed in (the gateway records
// the key's name); an ApiError without either (the field is focused).
export function recordedBy() {
  const by = operatorInput.value.trim();
  if (by) return {by};
  if (principal().auth === "required" && principal().name) return {};
  operatorInput.focus();
  throw new ApiError(0, "missing_operator", "enter your name in “Your name” first: every correction and decision records who made it");
}

// Who a change is recorded for, in words.
export const byWhom = (recorded) => recorded.by || (principal().name || "?") + " (key)";
