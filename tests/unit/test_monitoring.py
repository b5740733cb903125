"""Prometheus config and alerts (deploy/prometheus/), checked by Prometheus's own
promtool (Debian's prometheus package, installed by scripts/setup.sh) and against
the pipeline declaration (shared/pipeline.py)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.pipeline import DEAD_LETTER_QUEUE, SERVICES, WORK_QUEUES

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


def _jobs() -> dict[str, dict]:
    return {j["job_name"]: j for j in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]}


def _alerts() -> dict[str, str]:
    return {r["alert"]: r["expr"] for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
            for r in g["rules"]}


def _matchers(expr: str, metric: str) -> list[tuple[str, str, str]]:
    """(label, operator, value) of the selector of ``metric`` in a PromQL expression."""
    (selector,) = re.findall(re.escape(metric) + r"\{([^}]*)\}", expr)
    found = re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', selector)
    assert found and re.sub(r'\s|(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"|,', "", selector) == "", selector
    return [(label, op, re.sub(r"\\(.)", r"\1", value)) for label, op, value in found]  # PromQL unescaping


def _selects(matchers: list[tuple[str, str, str]], labels: dict[str, str]) -> bool:
    """Prometheus's label matching (regular expressions anchored at both ends)."""
    checks = {"=": lambda v, x: v == x, "!=": lambda v, x: v != x,
              "=~": lambda v, x: re.fullmatch(x, v) is not None, "!~": lambda v, x: re.fullmatch(x, v) is None}
    return all(checks[op](labels.get(label, ""), value) for label, op, value in matchers)


def test_every_service_copy_is_scraped_on_its_real_port():
    jobs = _jobs()
    for service in SERVICES:
        assert service.name in jobs, f"no scrape job for {service.name}"
        (sd,) = jobs[service.name]["dns_sd_configs"]  # DNS: all copies of a scaled service
        assert sd == {"names": [service.name], "type": "A", "port": service.port}
    scraped_by_dns = {name for name, job in jobs.items() if "dns_sd_configs" in job}
    assert scraped_by_dns == {s.name for s in SERVICES}


def test_service_down_alert_covers_exactly_the_services():
    """Every scrape job of a service of shared/pipeline.py, and not the broker's."""
    matchers = _matchers(_alerts()["AttendanceServiceDown"], "up")
    assert {name for name in _jobs() if _selects(matchers, {"job": name})} == {s.name for s in SERVICES}


def test_queue_depths_are_scraped_and_alerted_on():
    """The alerts select the stage queues of shared/pipeline.py, and not the
    dead-letter queue: a stage queue outside the faces.* convention would be missed."""
    jobs = _jobs()
    queues = jobs["rabbitmq-queues"]
    assert queues["metrics_path"] == "/metrics/detailed"
    assert set(queues["params"]["family"]) == {"queue_coarse_metrics", "queue_consumer_count"}
    rules = _alerts()
    for alert, metric in (("AttendanceStageWithoutWorkers", "rabbitmq_detailed_queue_consumers"),
                          ("AttendanceQueueBacklog", "rabbitmq_detailed_queue_messages_ready")):
        matchers = _matchers(rules[alert], metric)
        selected = [q for q in (*WORK_QUEUES, DEAD_LETTER_QUEUE) if _selects(matchers, {"queue": q})]
        assert selected == list(WORK_QUEUES), alert
        # RabbitMQ names the gateway's and matchers' private queues amq.gen-*.
        assert not _selects(matchers, {"queue": "amq.gen-JzTY20BRgKO-HjmUJj0wLg"}), alert
    assert _matchers(rules["AttendanceDeadLetters"], "rabbitmq_detailed_queue_messages") == [
        ("queue", "=", DEAD_LETTER_QUEUE)]


def test_compose_mounts_this_config():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in service["volumes"]
