// API keys (admin): create one with a scope (the key is shown this once, with a Copy button), list them,
// revoke one (refused at once).
import {call, sendJson} from "./api.js";
import {ask} from "./ask.js";
import {$, busy, el, show} from "./dom.js";
import {fmt, when} from "./format.js";
import {done, errorBox, note, pill} from "./messages.js";
import {loadTable, tableOf} from "./tables.js";
import {principal} from "./whoami.js";

const table = tableOf("keys"), form = $("key-form"), created = $("key-created");
const keyUrl = (name) => "api/v1/keys/" + encodeURIComponent(name);

export function loadKeys() {
  return loadTable(table, {
    url: () => "api/v1/keys",
    items: (data) => (data.keys || []).slice().sort((a, b) => (a.revoked_at ? 1 : 0) - (b.revoked_at ? 1 : 0)),
    row: keyRow,
    caption: (keys) => {
      const active = keys.filter((k) => !k.revoked_at).length;
      return active + " active key(s), " + (keys.length - active) + " revoked.";
    },
  });
}

export function clearKeys() { show(created); show(table.body); table.caption.textContent = ""; }

function keyRow(k) {
  const mine = principal().name === k.name;
  return el("tr", {"data-key": k.name, class: k.revoked_at ? "revoked" : ""},
    el("td", {}, fmt(k.name), mine && !k.revoked_at ? el("small", {}, " (yours)") : ""), el("td", {}, fmt(k.scope)),
    el("td", {}, when(k.created_at, true)),
    el("td", {}, k.revoked_at ? [pill("closed", "revoked"), " " + when(k.revoked_at, true)] : pill("open", "active")),
    el("td", {class: "actions"}, k.revoked_at ? "" :
      el("button", {type: "button", class: "mini danger", "aria-label": "Revoke the key " + k.name,
                    onclick: (e) => revoke(k, e.target)}, "Revoke")));
}

async function revoke(k, button) {
  const answer = await ask({title: "Revoke the key " + k.name + "?", ok: "Revoke", danger: true,
    text: "Whatever uses it (" + k.scope + " scope) is refused from now on." +
          (principal().name === k.name ? " It is the key you are signed in with: you will be signed out." : "")});
  if (!answer) return;
  button.disabled = true;
  try {
    await call(keyUrl(k.name), {method: "DELETE"});
    show(table.message, done("Revoked the key " + k.name + "."));
    const text = created.textContent;
    if (text.includes("“" + k.name + "”")) show(created);
  } catch (err) { show(table.message, errorBox(err)); button.disabled = false; }
  loadKeys();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = form.elements.name.value.trim(), scope = form.elements.scope.value;
  show(created, note("Creating…"));
  try {
    const k = await busy(form, "Creating…", () => call("api/v1/keys", sendJson("POST", {name, scope})));
    show(created, shownOnce(k));
    form.reset();
    loadKeys();
    created.querySelector("input").focus();
  } catch (err) { show(created, errorBox(err)); }
});

// The new key, shown this once: the gateway keeps only its hash.
function shownOnce(k) {
  const field = el("input", {type: "text", readonly: "", value: k.key, id: "new-key", spellcheck: "false", class: "key",
                             onfocus: (e) => e.target.select()});
  const status = el("span", {class: "note", "aria-live": "polite"});
  const copy = el("button", {type: "button", onclick: async () => {
    field.select();
    try { await navigator.clipboard.writeText(k.key); status.textContent = "Copied."; }
    catch (e) { status.textContent = "The browser refused to copy: the key is selected, copy it with Ctrl+C (⌘C)."; }
  }}, "Copy");
  return el("div", {class: "success"},
    el("p", {}, el("strong", {}, "Key “" + k.name + "” (" + k.scope + ") created. "),
       "Copy it now: it is shown this once and cannot be shown again."),
    el("div", {class: "row flush"}, el("label", {class: "grow"}, "The new key", field), copy, status));
}
