"""Prometheus config and alerts (deploy/prometheus/), checked by Prometheus's own
promtool (Debian's prometheus package, installed by scripts/setup.sh)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.config import DEFAULT_HEALTH_PORTS, Settings
from shared.contracts import DEAD_LETTER_QUEUE, WORK_QUEUES

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is not installed: run scripts/setup.sh", pytrace=False)
    return subprocess.run([exe, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


def test_config_and_rules_are_valid():
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_alerts_fire_when_they_should_and_not_before():
    done = promtool("test", "rules", "alerts_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_service_copy_is_scraped_on_its_real_port():
    jobs = {j["job_name"]: j for j in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]}
    ports = dict(DEFAULT_HEALTH_PORTS, gateway=Settings().gateway_port)
    for service, port in ports.items():
        (sd,) = jobs[service]["dns_sd_configs"]  # DNS: all copies of a scaled service
        assert sd == {"names": [service], "type": "A", "port": port}


def test_queue_depths_are_scraped_and_alerted_on():
    """The alerts name the queues of shared/contracts.py: renaming a queue there
    without updating alerts.yml would silence them."""
    jobs = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]
    queues = next(j for j in jobs if j["job_name"] == "rabbitmq-queues")
    assert queues["metrics_path"] == "/metrics/detailed"
    assert set(queues["params"]["family"]) == {"queue_coarse_metrics", "queue_consumer_count"}
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
             for r in g["rules"]}
    for alert in ("AttendanceStageWithoutWorkers", "AttendanceQueueBacklog"):
        regex = re.search(r'queue=~"([^"]+)"', rules[alert]).group(1).replace("\\\\", "\\")
        assert [q for q in (*WORK_QUEUES, DEAD_LETTER_QUEUE) if re.fullmatch(regex, q)] == list(WORK_QUEUES), alert
    assert f'queue="{DEAD_LETTER_QUEUE}"' in rules["AttendanceDeadLetters"]


def test_compose_mounts_this_config():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in service["volumes"]
