"""``python -m launcher.prometheus``: the local Prometheus of ``MONITORING=1 make run``.

The launcher's plan (``launcher/plan.py``, :func:`~launcher.plan.prometheus_spec`)
runs this as one more supervised process, restarted like the services. It writes
a Prometheus config for the plan's service copies - static targets, since there is
no Docker DNS here: ``PROMETHEUS_TARGETS``, a JSON list of ``{job, copy, target}``
- with the project's alert rules (``deploy/prometheus/alerts.yml``) and RabbitMQ's
per-queue metrics (the broker's ``rabbitmq_prometheus`` plugin, enabled by
``scripts/infra.sh``), then runs Debian's ``prometheus`` on
``127.0.0.1:PROMETHEUS_PORT`` with its data in ``$VAR_DIR/prometheus/``. A change
of the plan (another copy, another port) changes this process's spec, so the
supervisor restarts it with the new targets; the data stays.

The job names are those of ``deploy/prometheus/prometheus.yml`` (one per service,
``rabbitmq``, ``rabbitmq-queues``), so the same alerts and dashboard queries apply.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

import yaml

from shared.metrics import RABBITMQ_QUEUE_FAMILIES
from shared.pipeline import SERVICES

ROOT = Path(__file__).resolve().parents[1]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DEFAULT_SCRAPE_INTERVAL = "15s"
DEFAULT_RETENTION = "15d"


def config(targets: Sequence[Mapping[str, str]], rabbitmq: str, vhost: str,
           scrape_interval: str = DEFAULT_SCRAPE_INTERVAL, rules: Path = ALERTS) -> dict:
    """The Prometheus config: a job per service with a copy (label ``copy``: its
    name in the plan), the broker, and the broker's per-queue metrics of ``vhost``."""
    jobs = []
    for service in SERVICES:
        copies = [t for t in targets if t["job"] == service.name]
        if copies:
            jobs.append({"job_name": service.name, "static_configs": [
                {"targets": [t["target"]], "labels": {"copy": t["copy"]}} for t in copies]})
    jobs.append({"job_name": "rabbitmq", "static_configs": [{"targets": [rabbitmq]}]})
    jobs.append({"job_name": "rabbitmq-queues", "metrics_path": "/metrics/detailed",
                 "params": {"vhost": [vhost], "family": list(RABBITMQ_QUEUE_FAMILIES)},
                 "static_configs": [{"targets": [rabbitmq]}]})
    return {"global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
            "rule_files": [str(rules)], "scrape_configs": jobs}


def command(exe: str, config_file: Path, data: Path, port: int, retention: str) -> list[str]:
    return [exe, f"--config.file={config_file}", f"--storage.tsdb.path={data}",
            f"--storage.tsdb.retention.time={retention}", f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url=http://127.0.0.1:{port}/"]


def main(environ: Mapping[str, str] = os.environ) -> int:
    exe = shutil.which("prometheus")
    if exe is None:
        print("prometheus is not installed: run scripts/setup.sh (Debian's package prometheus)", file=sys.stderr)
        return 1
    home = Path(environ.get("VAR_DIR") or ROOT / "var").resolve() / "prometheus"
    (home / "data").mkdir(parents=True, exist_ok=True)
    settings = config(json.loads(environ.get("PROMETHEUS_TARGETS", "[]")), environ["RABBITMQ_METRICS"],
                      environ.get("RABBITMQ_VHOST", "/"), environ.get("PROMETHEUS_SCRAPE_INTERVAL")
                      or DEFAULT_SCRAPE_INTERVAL)
    config_file = home / "prometheus.yml"
    config_file.write_text("# Written by launcher/prometheus.py from the launcher's plan: edits are lost.\n"
                           + yaml.safe_dump(settings, sort_keys=False))
    argv = command(exe, config_file, home / "data", int(environ["PROMETHEUS_PORT"]),
                   environ.get("PROMETHEUS_RETENTION") or DEFAULT_RETENTION)
    print("running " + " ".join(argv), file=sys.stderr, flush=True)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)

    def forward(signum, frame):  # the supervisor's SIGTERM: Prometheus shuts down cleanly
        proc.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
