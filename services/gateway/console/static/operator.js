// The operator's name recorded with every correction: remembered in this browser (localStorage), prefilled
// with the token's name on sign-in, and optional while signed in (the gateway then records the token's name).
import {$} from "./dom.js";

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

// tokenName: the name of the token signed in with (the field is then optional), or null (required).
export function showOperatorRequired(tokenName) {
  $("operator-label").textContent = "Operator name (for corrections)" + (tokenName ? "" : " *");
  operatorInput.placeholder = tokenName || "";
}
