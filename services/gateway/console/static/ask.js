// The one question dialog (a native modal <dialog>: the rest of the page is inert while it is open, Escape
// cancels, the focus returns where it was): a title, a text, and the fields the question needs — a reason
// (required), a choice of status, check boxes. Resolves to the answers, or null when cancelled.
import {$, el, show, trapFocus} from "./dom.js";

const dialog = $("ask-dialog"), form = $("ask-form"), fields = $("ask-fields"), okButton = $("ask-ok");
let settle = null;
trapFocus(dialog);

//   title, text:  what is asked;  ok: the confirming button's text;  danger: it destroys something
//   reason:       a label for a required reason field (omitted: none)
//   status:       offer present / late (the default: present)
//   checks:       [{name, label, checked}] check boxes
export function ask({title, text = "", ok = "OK", danger = false, reason = null, status = false, checks = []}) {
  if (settle) settle(null);  // (one question at a time)
  $("ask-title").textContent = title;
  $("ask-text").textContent = text;
  okButton.textContent = ok;
  okButton.className = danger ? "danger-solid" : "primary";
  show($("ask-error"));
  show(fields,
    reason ? el("label", {}, reason + " *", el("input", {name: "reason", required: "", maxlength: "500", autocomplete: "off"})) : null,
    status ? el("label", {}, "Mark as", el("select", {name: "status"},
                el("option", {value: "present"}, "present"), el("option", {value: "late"}, "late"))) : null,
    ...checks.map((c) => el("label", {class: "check"},
      el("input", Object.assign({type: "checkbox", name: c.name}, c.checked ? {checked: ""} : {})), c.label)));
  dialog.showModal();
  (form.elements.reason || okButton).focus();
  return new Promise((resolve) => { settle = resolve; });
}

function finish(answer) {
  const resolve = settle;
  settle = null;
  if (dialog.open) dialog.close();
  if (resolve) resolve(answer);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const f = form.elements, answer = {checks: {}};
  if (f.reason) {
    answer.reason = f.reason.value.trim();
    if (!answer.reason) { f.reason.focus(); return; }
  }
  if (f.status) answer.status = f.status.value;
  for (const box of fields.querySelectorAll("input[type=checkbox]")) answer.checks[box.name] = box.checked;
  finish(answer);
});
$("ask-cancel").addEventListener("click", () => finish(null));
dialog.addEventListener("close", () => { if (!dialog.open) finish(null); });  // Escape (not a question asked since)
