"""Monitoring for real: the metrics each service exports move as they should when
a photo is enrolled, one is refused and one is recognized; the local Prometheus of
``MONITORING=1 make run`` (started here the launcher's way: the plan's
:func:`~launcher.plan.prometheus_spec`, run by the supervisor as
``python -m launcher.prometheus``, on its own port and VAR_DIR) scrapes the session
stack and RabbitMQ's per-queue metrics of the stack's vhost, loads the project's
alerts and answers the same figures through its HTTP API; and a gateway with
``GATEWAY_PROCESSES=2`` counts every request once.
"""
from __future__ import annotations

import io
import re
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from launcher.plan import prometheus_spec
from shared.metrics import RABBITMQ_QUEUE_METRICS
from tests.e2e.conftest import ENROLLED, photos
from tests.e2e.stack import free_port

Scrape = dict[tuple[str, frozenset], float]


def scrape(url: str) -> Scrape:
    text = requests.get(url + "/metrics", timeout=10).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(samples: Scrape, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def scrape_services(stack) -> dict[str, Scrape]:
    """Per service kind (gateway, detector, ...): the samples of all its ready copies, added up."""
    out: dict[str, Scrape] = defaultdict(dict)
    for service in stack.services.values():
        if service.proc.poll() is None and service.ready():
            for key, value in scrape(service.url).items():
                out[service.module][key] = out[service.module].get(key, 0.0) + value
    return out


def gallery_sizes(stack) -> dict[str, float]:
    """Vectors in each ready matcher copy's gallery."""
    return {s.name: total(scrape(s.url), "attendance_gallery_vectors")
            for s in stack.services.values() if s.module == "matcher" and s.proc.poll() is None and s.ready()}


def blank_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (128, 128, 128)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory):
    """The launcher's local Prometheus for the session stack's ready copies, scraping every second."""
    services = [s.child.spec for s in stack.services.values() if s.proc.poll() is None and s.ready()]
    spec = prometheus_spec(services, {"MONITORING": "1", "AMQP_URL": stack.env["AMQP_URL"],
                                      "PROMETHEUS_PORT": str(free_port()), "PROMETHEUS_SCRAPE_INTERVAL": "1s",
                                      "VAR_DIR": str(tmp_path_factory.mktemp("monitoring-var"))})
    child = stack.supervisor.start(spec)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(spec.ready_url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert child.proc.poll() is None, child.log_path.read_text()[-3000:]
            time.sleep(0.5)
        else:
            pytest.fail("Prometheus not ready:\n" + child.log_path.read_text()[-3000:])
        yield spec.url, services
    finally:
        stack.supervisor.stop(spec.name)


def query(base: str, promql: str) -> list[dict]:
    answer = requests.get(base + "/api/v1/query", params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def values_by(base: str, promql: str, label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in query(base, promql)}


def eventually(check, timeout: float = 30.0, what: str = ""):
    """``check()`` once it returns something truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, what
            return result
        time.sleep(0.5)


# The figures compared between the services' /metrics and Prometheus: (PromQL by
# service, sample name, labels).
JOBS_OK = ('sum by (service) (attendance_jobs_total{kind="recognize", outcome="ok"})',
           "attendance_jobs_total", {"kind": "recognize", "outcome": "ok"})
QUEUE_WAITS = ('sum by (service) (attendance_queue_wait_seconds_count{kind="recognize"})',
               "attendance_queue_wait_seconds_count", {"kind": "recognize"})
WORK_TIMES = ('sum by (service) (attendance_job_seconds_count{kind="recognize"})',
              "attendance_job_seconds_count", {"kind": "recognize"})


def in_prometheus(base: str, direct: dict[str, Scrape]) -> dict[str, dict[str, float]]:
    """The three figures per stage as Prometheus has them now, and as the services said."""
    out = {}
    for promql, name, labels in (JOBS_OK, QUEUE_WAITS, WORK_TIMES):
        said = {service: total(samples, name, **labels) for service, samples in direct.items()
                if service != "gateway"}
        seen = values_by(base, promql, "service")
        out[name] = ({k: v for k, v in seen.items() if v}, {k: v for k, v in said.items() if v})
    return out


def test_the_series_move_on_every_service_and_in_prometheus(stack, api, enrolled, prometheus):
    base, targets = prometheus
    # Prometheus reaches every copy and the broker, and has loaded the project's alerts.
    expected_up = defaultdict(int)
    for spec in targets:
        expected_up[spec.service] += 1
    eventually(lambda: values_by(base, 'count by (job) (up{job!~"rabbitmq.*"} == 1)', "job") == {
        k: float(v) for k, v in expected_up.items()}, what="not every copy is up in Prometheus")
    eventually(lambda: values_by(base, 'up{job=~"rabbitmq.*"}', "job") == {"rabbitmq": 1.0, "rabbitmq-queues": 1.0},
               what="RabbitMQ's plugin is not scraped (scripts/infra.sh enables it)")
    rules = requests.get(base + "/api/v1/rules", timeout=10).json()["data"]["groups"]
    alerts = {r["name"] for g in rules for r in g["rules"]}
    assert {"AttendanceServiceDown", "AttendanceQueueBacklog", "AttendanceQueueWaitHigh"} <= alerts
    # The per-queue metrics of the stack's own vhost, under the names the alerts and dashboard use.
    consumers = eventually(lambda: values_by(base, "rabbitmq_detailed_queue_consumers", "queue"))
    assert consumers["faces.match"] == expected_up["matcher"] and consumers["faces.detect"] == expected_up["detector"]
    names = {r["metric"]["__name__"] for r in query(base, '{job="rabbitmq-queues", __name__=~"rabbitmq_detailed_.+"}')}
    assert set(RABBITMQ_QUEUE_METRICS) <= names, sorted(names)

    galleries = gallery_sizes(stack)
    before = scrape_services(stack)
    eventually(lambda: all(p == s for p, s in in_prometheus(base, before).values()) or None,
               what="Prometheus did not catch up with the services before the requests")
    in_prometheus_before = in_prometheus(base, before)

    # An enrollment photo accepted, one refused (no face), one photo recognized.
    roll = f"MON{uuid.uuid4().hex[:8]}"
    person = ENROLLED[0]
    created = api.enroll(roll, "Monitoring Probe", photos("train", person)[:1], force="true")
    assert created.status_code == 201 and created.json()["images"][0]["accepted"], created.text
    try:
        refused = api.add_images(roll, [("blank.jpg", blank_jpeg())])
        assert refused.status_code == 201 and refused.json()["images"][0]["code"] == "no_face", refused.text
        recognized = api.recognize(photos("val", ENROLLED[1])[0].read_bytes())
        assert recognized.status_code == 200, recognized.text
        faces = recognized.json()["faces"]
        matched = sum(1 for f in faces if f["match"])
        assert faces and matched >= 1

        # The gallery change reaches every matcher: each holds one vector more.
        eventually(lambda: gallery_sizes(stack) == {name: size + 1 for name, size in galleries.items()},
                   what=f"the gallery sizes did not grow by one on every matcher: {galleries}")
        after = scrape_services(stack)
    finally:
        requests.delete(api.url(f"/persons/{roll}"), timeout=60)

    def moved(service: str, name: str, **labels) -> float:
        return total(after[service], name, **labels) - total(before[service], name, **labels)

    # The gateway: every request by route template and status, the pipeline waits.
    assert moved("gateway", "attendance_http_requests_total", method="POST", endpoint="/api/v1/persons",
                 status="201") == 1
    assert moved("gateway", "attendance_http_requests_total", method="POST",
                 endpoint="/api/v1/persons/<roll_no>/images", status="201") == 1
    assert moved("gateway", "attendance_http_requests_total", endpoint="/api/v1/recognize", status="200") == 1
    assert moved("gateway", "attendance_http_request_seconds_count", endpoint="/api/v1/recognize") == 1
    assert moved("gateway", "attendance_pipeline_seconds_count", kind="enroll") == 2
    assert moved("gateway", "attendance_pipeline_seconds_count", kind="recognize") == 1
    assert total(after["gateway"], "attendance_http_requests_in_flight") >= 1  # this scrape, at least
    # Every stage: jobs by outcome, queue wait and work time of each job.
    assert moved("detector", "attendance_jobs_total", kind="enroll", outcome="ok") == 1
    assert moved("detector", "attendance_jobs_total", kind="enroll", outcome="no_face") == 1
    for stage in ("detector", "embedder", "matcher"):
        assert moved(stage, "attendance_jobs_total", kind="recognize", outcome="ok") == 1, stage
        assert moved(stage, "attendance_queue_wait_seconds_count", kind="recognize") == 1, stage
        assert moved(stage, "attendance_job_seconds_count", kind="recognize") == 1, stage
        assert moved(stage, "attendance_queue_wait_seconds_count", kind="enroll") == (2 if stage == "detector" else 1)
        assert 0 <= moved(stage, "attendance_queue_wait_seconds_sum", kind="recognize") < 30, stage
        assert moved(stage, "attendance_redeliveries_total") == 0 and moved(stage, "attendance_dead_letters_total") == 0
    # The detector: faces per photo; the embedder and the detector: their model's load time.
    assert moved("detector", "attendance_faces_per_image_count", kind="enroll") == 2
    assert moved("detector", "attendance_faces_per_image_sum", kind="enroll") == 1  # one face, then none
    assert moved("detector", "attendance_faces_per_image_count", kind="recognize") == 1
    assert moved("detector", "attendance_faces_per_image_sum", kind="recognize") == len(faces)
    assert moved("detector", "attendance_faces_total") == 1 + len(faces)
    for stage in ("detector", "embedder"):
        assert total(after[stage], "attendance_model_load_seconds") > 0, stage
    # Enrollment photos by result and reason; the matchers: unknown faces, similarities.
    assert moved("matcher", "attendance_enrollment_photos_total", result="accepted") == 1
    assert moved("detector", "attendance_enrollment_photos_total", result="refused", reason="no_face") == 1
    assert moved("matcher", "attendance_unknown_faces_total") == len(faces) - matched
    assert moved("matcher", "attendance_match_similarity_count") == matched
    assert moved("matcher", "attendance_match_best_similarity_count") == len(faces)
    assert moved("matcher", "attendance_match_similarity_sum") == pytest.approx(
        sum(f["similarity"] for f in faces if f["match"]), abs=1e-3)
    # No personal data in any label: the rollNo and name appear nowhere.
    for service, samples in after.items():
        assert not [ls for _, ls in samples if any(roll in v or "Monitoring Probe" in v for _, v in ls)], service

    # Prometheus: the same figures, moved by the same jobs.
    def caught_up():
        now = in_prometheus(base, after)
        return all(p == s for p, s in now.values()) and now

    now = eventually(caught_up, what="Prometheus did not catch up with the services after the requests")
    for name, (seen, _) in now.items():
        for stage in ("detector", "embedder", "matcher"):
            assert seen[stage] == in_prometheus_before[name][0].get(stage, 0.0) + 1, (name, stage)
    # Distributions answer questions: a queue wait and a work time per stage, faces per photo.
    waits = values_by(base, 'histogram_quantile(0.95, sum by (service, le) '
                            '(rate(attendance_queue_wait_seconds_bucket[1m])))', "service")
    assert {"detector", "embedder", "matcher"} <= set(waits)
    per_image = query(base, 'sum(attendance_faces_per_image_count{kind="recognize"})')
    assert float(per_image[0]["value"][1]) >= 1


def test_a_gateway_of_two_processes_counts_every_request_once(stack):
    log = stack.supervisor.log_dir / "gateway-processes.log"
    offset = log.stat().st_size if log.exists() else 0  # the log of an earlier run goes on in the same file
    gateway = stack.start("gateway-processes", "gateway", GATEWAY_PROCESSES="2")
    assert Path(gateway.log_path) == log
    stack.wait_ready("gateway-processes", timeout=120)
    new_lines = lambda: log.read_bytes()[offset:].decode("utf-8", "replace")  # noqa: E731
    directory = eventually(lambda: re.search(r"metrics in (\S+?)\)", new_lines()), what="no metrics directory")
    metrics_dir = Path(directory.group(1))
    try:
        assert metrics_dir.is_dir()
        before = total(scrape(gateway.url), "attendance_http_requests_total", endpoint="/api/v1/persons")
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: requests.get(gateway.url + "/api/v1/persons", timeout=30).status_code,
                                  range(40)))
        assert codes == [200] * 40
        for _ in range(3):  # whichever process answers the scrape, it reports both processes' counts
            after = scrape(gateway.url)
            assert total(after, "attendance_http_requests_total", endpoint="/api/v1/persons") == before + 40
            assert total(after, "attendance_http_request_seconds_count", endpoint="/api/v1/persons") >= 40
            assert total(after, "attendance_http_requests_in_flight") >= 1
        assert {p.name.rsplit("_", 1)[0] for p in metrics_dir.glob("*.db")} >= {"counter", "histogram"}
    finally:
        stack.retire("gateway-processes")
    assert not metrics_dir.exists(), "the gateway left its metrics directory behind"
