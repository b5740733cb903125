// DOM building without HTML strings: text is always inserted as text, handlers always as listeners.

export const $ = (id) => document.getElementById(id);

// Build an element; children are nodes or strings (always inserted as text); "on<event>" attributes
// become event listeners (never inline handlers, which a Content-Security-Policy would refuse).
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Replace what target shows (nothing: empty it); nodes may be nested in arrays, and null or undefined are skipped.
export function show(target, ...nodes) { target.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined)); }

// Disable a form's buttons while a request runs; the submit button says what is going on.
export async function busy(form, label, work) {
  const buttons = [...form.querySelectorAll("button")];
  const submit = form.querySelector("button[type=submit]");
  const original = submit ? submit.textContent : "";
  buttons.forEach((b) => { b.disabled = true; });
  if (submit) submit.textContent = label;
  try { return await work(); }
  finally { buttons.forEach((b) => { b.disabled = false; }); if (submit) submit.textContent = original; }
}

// Keep the keyboard inside a modal <dialog>: Tab from its last control goes to its first, Shift+Tab from the
// first to the last (a modal dialog makes the page behind it inert, but Tab could still leave for the browser).
export function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const stops = [...dialog.querySelectorAll("button, input, select, textarea, a[href], [tabindex='0']")]
      .filter((e) => !e.disabled && e.getClientRects().length);
    if (!stops.length) return;
    const first = stops[0], last = stops[stops.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  });
}
