// The status line: whether the gateway is ready (broker and database), checked every 15 s and on demand.
import {$} from "./dom.js";

let wasReady = null;      // the previous check's answer; null before the first
let whenReady = () => {};

async function checkReady() {
  const dot = $("ready-dot"), text = $("ready-text");
  let ready = false;
  try {
    const res = await fetch("readyz", {cache: "no-store"});
    const data = await res.json();
    const checks = Object.entries(data.checks || {}).map(([k, v]) => k + ": " + (v ? "ok" : "down")).join(", ");
    ready = !!data.ready;
    dot.className = "dot " + (ready ? "ok" : "bad");
    text.textContent = (ready ? "Ready" : "Not ready") + (checks ? " — " + checks : "");
  } catch (e) {
    dot.className = "dot bad";
    text.textContent = "Gateway unreachable (" + e.message + ")";
  }
  if (ready) whenReady(wasReady === false);
  wasReady = ready;
}

// Start checking; ready(afterOutage) runs on every ready answer (afterOutage: the previous one was not).
export function startStatus(ready) {
  whenReady = ready;
  $("ready-refresh").addEventListener("click", checkReady);
  checkReady();
  setInterval(checkReady, 15000);
}
