"""The Grafana dashboard (deploy/grafana/): it loads, every query parses (promtool,
Debian's prometheus package), and every metric a query - or an alert - names is one
the services export (their Prometheus registries) or RabbitMQ's plugin serves (the
names listed once in shared/metrics.py, which the scrape configs ask for): a typo in
a metric name fails here, not on a blank panel."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "attendance.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"

# Grafana's variables in a query, and what they become for promtool (and for
# bench/dashboard_png.py, which runs the same queries against Prometheus).
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}

# Grouping clauses list labels, not metrics; these words are PromQL's own.
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
             "offset", "inf", "nan"}
_IDENTIFIER = re.compile(r"(?<![\w:])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")  # not a function or aggregation


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = _LABEL_LISTS.sub(" ", text)
    return {name for name in _IDENTIFIER.findall(text) if name not in _KEYWORDS}


def exported_names() -> set[str]:
    """Every sample name the services can export: their registries (the modules that
    define metrics imported, as each service does), RabbitMQ's queue metrics, and
    Prometheus's own ``up``."""
    import services.detector.main  # noqa: F401
    import services.embedder.main  # noqa: F401
    import services.gateway.api  # noqa: F401
    import services.gateway.pipeline  # noqa: F401
    import services.matcher.matcher  # noqa: F401
    from prometheus_client import REGISTRY

    from shared.metrics import RABBITMQ_QUEUE_METRICS

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",),
                "summary": ("_sum", "_count", ""), "info": ("_info",), "untyped": ("",)}
    names = {family.name + suffix for family in REGISTRY.collect() for suffix in suffixes.get(family.type, ("",))}
    return names | set(RABBITMQ_QUEUE_METRICS) | {"up"}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def queries() -> dict[str, str]:
    """``{record name: PromQL}`` of every panel's every target."""
    return {f"dashboard:panel{p['id']}_{t['refId']}": grafana_to_promql(t["expr"])
            for p in panels() for t in p["targets"]}


def alert_queries() -> dict[str, str]:
    return {r["alert"]: r["expr"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}


def test_the_dashboard_loads_and_its_panels_are_laid_out():
    board = dashboard()
    assert board["uid"] == "attendance-tracker" and board["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in board["panels"]:
        pos = p["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, p["title"]
    for p in panels():
        assert p["targets"], f"panel {p['title']!r} has no query"
        assert p["datasource"]["uid"] == _datasource()["uid"]
        assert all(t["datasource"]["uid"] == _datasource()["uid"] for t in p["targets"])


def test_every_query_parses():
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is not installed: run scripts/setup.sh", pytrace=False)
    import tempfile

    rules = {"groups": [{"name": "dashboard", "rules": [{"record": name, "expr": expr}
                                                           for name, expr in queries().items()]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump(rules, f)
        f.flush()
        done = subprocess.run([exe, "check", "rules", f.name], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries())} rules found" in done.stdout


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_metric_a_query_names_is_exported(source):
    known = exported_names()
    exprs = queries() if source == "dashboard" else alert_queries()
    unknown = {name: sorted(metric_names(expr) - known) for name, expr in exprs.items() if metric_names(expr) - known}
    assert not unknown, f"queries name metrics nobody exports: {unknown}"


def test_a_misspelt_metric_name_is_caught():
    known = exported_names()
    assert metric_names('sum by (endpoint) (rate(attendance_http_request_total{status=~"5.."}[1m]))') - known == {
        "attendance_http_request_total"}
    assert metric_names('histogram_quantile(0.95, sum by (le, service) (rate(attendance_queue_wait_seconds_bucket'
                        '[5m]))) > 10') - known == set()
    assert metric_names('count by (job) (up{job!~"rabbitmq.*"} == 1) and on (job) rabbitmq_detailed_queue_consumer'
                        ) - known == {"rabbitmq_detailed_queue_consumer"}


def test_the_panels_answer_the_operations_questions():
    used = set().union(*(metric_names(e) for e in queries().values()))
    for metric in ("attendance_http_requests_total",  # request and error rate
                   "attendance_http_request_seconds_bucket",  # latency end to end
                   "attendance_queue_wait_seconds_bucket", "attendance_job_seconds_bucket",  # per stage
                   "rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_consumers",  # queues
                   "up",  # worker copies
                   "attendance_faces_total", "attendance_unknown_faces_total",  # faces/s, unknown rate
                   "attendance_gallery_vectors", "attendance_http_requests_in_flight"):
        assert metric in used, f"no panel shows {metric}"


def test_every_dashboard_metric_of_rabbitmq_is_scraped():
    """The RabbitMQ names used come from the families the scrape config asks for."""
    from shared.metrics import RABBITMQ_QUEUE_FAMILIES

    jobs = {j["job_name"]: j for j in
            yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]}
    assert jobs["rabbitmq-queues"]["params"]["family"] == list(RABBITMQ_QUEUE_FAMILIES)


# --- provisioning -------------------------------------------------------------------


def _datasource() -> dict:
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())[
        "datasources"]
    return source


def test_the_data_source_is_the_compose_prometheus():
    source = _datasource()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "prometheus" in compose["services"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())["global"]
    assert source["jsonData"]["timeInterval"] == scrape["scrape_interval"]


def test_the_dashboards_are_provisioned_from_where_compose_mounts_them():
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yml").read_text())["providers"]
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith("./")}
    assert Path(mounts[provider["options"]["path"]]) == Path("./deploy/grafana/dashboards")
    assert Path(mounts["/etc/grafana/provisioning"]) == Path("./deploy/grafana/provisioning")
