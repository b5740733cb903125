// System health as the gateway knows it: its readiness (broker: its consumers attached; database: it answers)
// and whether the API needs keys. The workers' own health pages are not reachable from a browser (the page
// says so); `make status` on the server shows them.
import {$, el, show} from "./dom.js";
import {note, pill} from "./messages.js";
import {readiness} from "./status.js";
import {principal} from "./whoami.js";

const out = $("health-result");
const WHAT = {broker: "Broker (RabbitMQ): the gateway's connection and reply queue",
              database: "Database (MongoDB / FerretDB): answers, indexes in place"};

export async function loadHealth() {
  show(out, note("Checking…"));
  const r = await readiness(), p = principal(), checked = new Date().toLocaleTimeString();
  show(out, el("dl", {},
    el("dt", {}, "Gateway"), el("dd", {}, r.error ? pill("absent", "unreachable") : pill("present", "running"),
                                   r.error ? " " + r.error : ""),
    el("dt", {}, "Ready for work"), el("dd", {}, pill(r.ready ? "present" : "absent", r.ready ? "yes" : "no")),
    ...Object.entries(r.checks).flatMap(([name, ok]) => [el("dt", {}, WHAT[name] || name), el("dd", {}, pill(ok ? "present" : "absent", ok ? "ok" : "down"))]),
    el("dt", {}, "API keys"), el("dd", {}, p.auth === "off" ? "not required: the API is open (fine on a private machine only)"
                                                        : "required" + (p.name ? "; you are signed in as " + p.name + " (" + p.scope + ")" : "")),
    el("dt", {}, "Checked"), el("dd", {}, checked)));
}

$("health-refresh").addEventListener("click", loadHealth);
