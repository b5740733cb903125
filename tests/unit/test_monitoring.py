"""Prometheus config and alerts (deploy/prometheus/), checked by Prometheus's own
promtool (Debian's prometheus package, installed by scripts/setup.sh) and against
the pipeline declaration (shared/pipeline.py); the local Prometheus of
``MONITORING=1 make run`` (launcher/prometheus.py); the metrics the worker loop,
the matcher and the gateway observe, their names and labels (no personal data);
and the gateway's multiprocess mode (``GATEWAY_PROCESSES``)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pika
import pytest
import yaml
from prometheus_client import REGISTRY

from launcher import prometheus as local_prometheus
from launcher.plan import PROMETHEUS as PROMETHEUS_PROCESS, plan
from shared import metrics
from shared.broker import ENQUEUED_AT, publish, to_queue
from shared.contracts import ENROLL, RECOGNIZE, ErrorCode, Job
from shared.metrics import RABBITMQ_QUEUE_FAMILIES
from shared.pipeline import DEAD_LETTER_QUEUE, SERVICES, STAGES, WORK_QUEUES
from shared.worker import ACK, Decision, Delivery, Metrics, to_dead_letters
from tests.unit.stub_channel import StubChannel

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
    assert "SUCCESS: 6 rules found" in done.stdout


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


# --- the local Prometheus of `MONITORING=1 make run` (launcher/prometheus.py) ----------------


def _local_config(environ: dict) -> tuple[dict, dict]:
    (spec,) = [s for s in plan(environ) if s.name == PROMETHEUS_PROCESS]
    env = spec.environment
    return env, local_prometheus.config(json.loads(env["PROMETHEUS_TARGETS"]), env["RABBITMQ_METRICS"],
                                        env["RABBITMQ_VHOST"])


def test_monitoring_adds_a_prometheus_to_the_plan_on_request_only():
    assert PROMETHEUS_PROCESS not in [s.name for s in plan({})]
    specs = {s.name: s for s in plan({"MONITORING": "1", "PROMETHEUS_PORT": "19090"})}
    spec = specs[PROMETHEUS_PROCESS]
    assert (spec.module, spec.port, spec.ready_url) == ("launcher.prometheus", 19090, "http://127.0.0.1:19090/-/ready")
    # A copy more is a change of its spec: the supervisor restarts it with the new targets.
    assert plan({"MONITORING": "1", "EMBEDDERS": "2"})[-1] != plan({"MONITORING": "1"})[-1]
    with pytest.raises(ValueError, match="9090"):
        plan({"MONITORING": "1", "GATEWAY_PORT": "9090"})


def test_the_local_config_scrapes_every_copy_and_is_valid(tmp_path):
    env, config = _local_config({"MONITORING": "1", "EMBEDDERS": "2", "GATEWAY_PORT": "18080",
                                 "AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/attendance-e2e-1"})
    assert "guest" not in json.dumps(env), "the broker's credentials are not Prometheus's business"
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    targets = {name: [(c["targets"], c["labels"]["copy"]) for c in job["static_configs"]]
               for name, job in jobs.items() if name in {s.name for s in SERVICES}}
    assert targets == {"detector": [(["127.0.0.1:9101"], "detector")],
                       "embedder": [(["127.0.0.1:9102"], "embedder"), (["127.0.0.1:9112"], "embedder-2")],
                       "matcher": [(["127.0.0.1:9103"], "matcher")], "gateway": [(["127.0.0.1:18080"], "gateway")]}
    # The jobs of the compose config, so that its alerts and the dashboard apply as they are.
    assert set(jobs) == set(_jobs())
    assert jobs["rabbitmq-queues"]["params"] == {"vhost": ["attendance-e2e-1"], "family": list(RABBITMQ_QUEUE_FAMILIES)}
    assert jobs["rabbitmq-queues"]["metrics_path"] == _jobs()["rabbitmq-queues"]["metrics_path"]
    assert config["rule_files"] == [str(PROMETHEUS / "alerts.yml")]
    matchers = _matchers(_alerts()["AttendanceServiceDown"], "up")
    assert {name for name in jobs if _selects(matchers, {"job": name})} == {s.name for s in SERVICES}
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    done = promtool("check", "config", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


def test_the_local_prometheus_listens_on_loopback_only():
    argv = local_prometheus.command("/usr/bin/prometheus", Path("/v/prometheus.yml"), Path("/v/data"), 9090, "15d")
    assert "--web.listen-address=127.0.0.1:9090" in argv
    assert _local_config({"MONITORING": "1"})[0]["RABBITMQ_VHOST"] == "/"  # the default AMQP_URL's %2F


def test_the_scrape_configs_ask_rabbitmq_for_the_shared_families():
    assert _jobs()["rabbitmq-queues"]["params"]["family"] == list(RABBITMQ_QUEUE_FAMILIES)


# --- the metrics themselves -----------------------------------------------------------------


# Labels may say where and what (service, stage, kind, model, route template, code),
# never who: no rollNo, name or path can become a label value.
ALLOWED_LABELS = {"service", "kind", "outcome", "model", "dimensions", "runtime", "method", "endpoint", "status",
                  "result", "reason"}


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metric_names_follow_prometheus_conventions_and_labels_name_nobody():
    import services.detector.main  # noqa: F401 - the modules that observe metrics
    import services.embedder.main  # noqa: F401
    import services.gateway.api  # noqa: F401
    import services.matcher.matcher  # noqa: F401

    ours = [m for m in vars(metrics).values() if hasattr(m, "_labelnames") and m._name.startswith("attendance_")]
    assert len(ours) >= 15
    for metric in ours:
        assert set(metric._labelnames) <= ALLOWED_LABELS, (metric._name, metric._labelnames)
        kind = metric._type
        if kind == "histogram" and "similarity" not in metric._name and "per_image" not in metric._name:
            assert metric._name.endswith("_seconds"), metric._name
        if kind == "gauge" and "seconds" in metric._name:
            assert metric._name.endswith("_seconds"), metric._name


def test_every_published_message_says_when_it_was_published():
    channel = StubChannel()
    job = Job(kind=RECOGNIZE, reply_to="amq.gen-r", correlation_id="c", deadline=time.time() + 60,
              image=b"\xff\xd8\xff")
    before = time.time()
    publish(channel, to_queue("faces.detect", job))
    dead = to_dead_letters(Delivery(b"x", 1), STAGES[0], "why")
    publish(channel, dead)
    first, second = channel.published
    assert int(before * 1000) <= first.props.headers[ENQUEUED_AT] <= time.time() * 1000
    assert first.props.encode() and second.props.encode()  # pika can put it on the wire (it encodes no floats)
    assert second.props.headers["x-failed-queue"] == STAGES[0].queue and ENQUEUED_AT in second.props.headers
    assert dead.headers == {"x-failed-queue": STAGES[0].queue, "x-deliveries": 0, "x-reason": "why"}  # not changed


def test_a_delivery_reads_its_publishing_time():
    class Method:
        delivery_tag = 3

    headers = {"x-delivery-count": 1, ENQUEUED_AT: 1700000000250}
    d = Delivery.from_pika(Method(), pika.BasicProperties(headers=headers), b"{}")
    assert (d.deliveries, d.enqueued_at) == (1, 1700000000.25)
    for odd in ({}, {ENQUEUED_AT: "yesterday"}, {ENQUEUED_AT: True}):
        assert Delivery.from_pika(Method(), pika.BasicProperties(headers=odd), b"{}").enqueued_at is None
    assert Delivery.from_pika(Method(), pika.BasicProperties(), b"{}").enqueued_at is None


def test_the_metrics_policy_observes_queue_wait_redeliveries_and_dead_letters():
    stage = STAGES[1]
    policy = Metrics(stage, clock=lambda: 1000.0)
    wait_sum = sample("attendance_queue_wait_seconds_sum", service=stage.name, kind=RECOGNIZE)
    redelivered = sample("attendance_redeliveries_total", service=stage.name, kind=RECOGNIZE)
    # Published at 990, received 2 s before the ack at 1000: it waited 8 s.
    policy.after(Delivery(b"{}", 1, deliveries=1, enqueued_at=990.0), Decision("ok", RECOGNIZE), 2.0)
    assert sample("attendance_queue_wait_seconds_sum", service=stage.name, kind=RECOGNIZE) == wait_sum + 8.0
    assert sample("attendance_redeliveries_total", service=stage.name, kind=RECOGNIZE) == redelivered + 1
    # A publisher's clock ahead of ours: no negative wait.
    policy.after(Delivery(b"{}", 2, enqueued_at=1005.0), Decision("ok", RECOGNIZE), 1.0)
    assert sample("attendance_queue_wait_seconds_sum", service=stage.name, kind=RECOGNIZE) == wait_sum + 8.0

    limit = sample("attendance_dead_letters_total", service=stage.name, reason="delivery_limit")
    unreadable = sample("attendance_dead_letters_total", service=stage.name, reason="unreadable")
    delivery = Delivery(b"{}", 3, deliveries=3)
    policy.after(delivery, Decision("dead_lettered", RECOGNIZE, ACK, (to_dead_letters(delivery, stage, "x"),)), 0.1)
    policy.after(delivery, Decision(ErrorCode.BAD_MESSAGE, "unknown", ACK, (to_dead_letters(delivery, stage, "x"),)),
                 0.1)
    policy.after(delivery, Decision(ErrorCode.BAD_MESSAGE, RECOGNIZE), 0.1)  # answered, not parked
    assert sample("attendance_dead_letters_total", service=stage.name, reason="delivery_limit") == limit + 1
    assert sample("attendance_dead_letters_total", service=stage.name, reason="unreadable") == unreadable + 1


def test_enrollment_photos_are_counted_where_they_are_refused_or_accepted():
    first, last = STAGES[0], STAGES[-1]
    refused = lambda code: sample("attendance_enrollment_photos_total", result="refused", reason=code)  # noqa: E731
    accepted = lambda: sample("attendance_enrollment_photos_total", result="accepted", reason="none")  # noqa: E731
    before = {code: refused(code) for code in (ErrorCode.NO_FACE, ErrorCode.LOOKALIKE)}
    was_accepted = accepted()
    Metrics(first).after(Delivery(b"{}", 1), Decision(ErrorCode.NO_FACE, ENROLL), 0.1)
    Metrics(first).after(Delivery(b"{}", 1), Decision("ok", ENROLL), 0.1)  # on to the next stage: not yet
    Metrics(last).after(Delivery(b"{}", 1), Decision(ErrorCode.LOOKALIKE, ENROLL), 0.1)
    Metrics(last).after(Delivery(b"{}", 1), Decision("ok", ENROLL), 0.1)
    Metrics(last).after(Delivery(b"{}", 1), Decision("ok", RECOGNIZE), 0.1)
    Metrics(last).after(Delivery(b"{}", 1), Decision(ErrorCode.DEADLINE_EXCEEDED, ENROLL), 0.1)  # not the photo's fault
    assert refused(ErrorCode.NO_FACE) == before[ErrorCode.NO_FACE] + 1
    assert refused(ErrorCode.LOOKALIKE) == before[ErrorCode.LOOKALIKE] + 1
    assert accepted() == was_accepted + 1
    assert sample("attendance_enrollment_photos_total", result="refused", reason=ErrorCode.DEADLINE_EXCEEDED) == 0


def test_the_refusal_codes_are_the_gateways():
    from services.gateway.persons_api import REFUSALS
    from shared.worker import ENROLLMENT_REFUSALS

    assert ENROLLMENT_REFUSALS == set(REFUSALS)


def test_the_matcher_counts_unknown_faces_and_observes_similarities():
    from services.matcher.matcher import observe

    model = "test-model"
    person = {"rollNo": "R1", "name": "N"}
    faces = [
        {"match": person, "similarity": 0.81, "candidates": [{"similarity": 0.81}, {"similarity": 0.3}]},
        {"match": None, "similarity": 0.3, "candidates": [{"similarity": 0.3}]},
        {"match": None, "similarity": None, "candidates": []},  # an empty gallery
    ]
    observe(model, faces)
    assert sample("attendance_unknown_faces_total", model=model) == 2
    assert sample("attendance_match_similarity_count", model=model) == 1
    assert sample("attendance_match_similarity_sum", model=model) == pytest.approx(0.81)
    assert sample("attendance_match_best_similarity_count", model=model) == 2
    assert sample("attendance_match_best_similarity_sum", model=model) == pytest.approx(1.11)


# --- several gateway processes: prometheus-client's multiprocess mode --------------------------


def test_the_gateway_module_leaves_the_metrics_mode_to_main():
    """prometheus-client picks its mode when first imported: importing the gateway's
    entry point must not import it (main sets PROMETHEUS_MULTIPROC_DIR first)."""
    code = "import sys, services.gateway.main; assert 'prometheus_client' not in sys.modules, 'imported'"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_metrics_of_several_processes_add_up_and_a_dead_ones_in_flight_leaves(tmp_path):
    """Two forked processes count requests and hold requests in flight; /metrics (in
    either) shows the sum; the master's child_exit drops a dead process's gauge."""
    code = textwrap.dedent(f"""
        import os
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = {str(tmp_path)!r}
        from shared import metrics
        from services.gateway.main import child_exit
        children = []
        for n in (3, 4):
            pid = os.fork()
            if pid == 0:
                metrics.HTTP_REQUESTS.labels("GET", "/healthz", "200").inc(n)
                metrics.HTTP_IN_FLIGHT.inc(n)
                os._exit(0)
            os.waitpid(pid, 0)
            children.append(pid)
        assert metrics.multiprocess_mode()
        text = metrics.metrics_payload()[0].decode()
        shown = ("attendance_http_requests_total{{", "attendance_http_requests_in_flight ")
        print([l for l in text.splitlines() if l.startswith(shown)])
        class Worker: pid = children[0]
        child_exit(None, Worker())
        text = metrics.metrics_payload()[0].decode()
        print([l for l in text.splitlines() if l.startswith("attendance_http_requests_in_flight ")])
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert 'attendance_http_requests_total{endpoint="/healthz",method="GET",status="200"} 7.0' in first
    assert "attendance_http_requests_in_flight 7.0" in first
    assert second == "['attendance_http_requests_in_flight 4.0']"


def test_one_gateway_process_keeps_one_registry():
    assert not metrics.multiprocess_mode()  # this test process, like a gateway with GATEWAY_PROCESSES=1


def test_gateway_processes_below_one_are_refused():
    from services.gateway.main import refusal
    from shared.config import load

    assert "GATEWAY_PROCESSES" in refusal(load({"GATEWAY_PROCESSES": "0"}))
    assert refusal(load({})) is None
