// The gateway's readiness (broker and database): the header's status line, checked every 15 s and on demand,
// and the System health section of Administration.
import {$} from "./dom.js";

let wasReady = null;      // the previous check's answer; null before the first
let whenReady = () => {};

// GET readyz: {ready, checks: {broker, database}}, or {ready: false, error} when the gateway cannot be reached.
export async function readiness() {
  try {
    const res = await fetch("readyz", {cache: "no-store"});
    const data = await res.json();
    return {ready: !!data.ready, checks: data.checks || {}, status: res.status};
  } catch (e) {
    return {ready: false, checks: {}, error: e.message};
  }
}

async function checkReady() {
  const dot = $("ready-dot"), text = $("ready-text");
  const r = await readiness();
  const down = Object.entries(r.checks).filter(([, ok]) => !ok).map(([name]) => name + " down").join(", ");
  dot.className = "dot " + (r.ready ? "ok" : "bad");
  const said = r.error ? "Gateway unreachable (" + r.error + ")" : r.ready ? "Ready" : "Not ready" + (down ? ": " + down : "");
  if (text.textContent !== said) text.textContent = said;  // (the same words are not announced again)
  if (r.ready) whenReady(wasReady === false);
  wasReady = r.ready;
}

// Start checking; ready(afterOutage) runs on every ready answer (afterOutage: the previous one was not).
export function startStatus(ready) {
  whenReady = ready;
  $("ready-refresh").addEventListener("click", checkReady);
  checkReady();
  setInterval(checkReady, 15000);
}
