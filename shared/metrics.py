"""Prometheus metrics and the small HTTP endpoint every worker exposes.

Workers serve ``/healthz`` (alive), ``/readyz`` (broker connected and, where the
service needs it, database reachable) and ``/metrics`` on their health port.
The gateway serves the same three paths through Flask.

Names follow Prometheus's conventions: base units (``_seconds``), ``_total``
for counters, histograms where the distribution matters. Labels carry only
service, stage, kind, model, route templates and codes: never a rollNo, a name
or a path (README, "Operations", lists every metric and what it answers).

With several gateway processes (``GATEWAY_PROCESSES``) prometheus-client runs
in multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` is set (by
``services/gateway/main.py``) before this module is imported, every process
writes its values there, and :func:`metrics_payload` adds them up.
"""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values

log = logging.getLogger(__name__)

JOBS = Counter("attendance_jobs_total", "Jobs handled by a worker, by outcome", ["service", "kind", "outcome"])
JOB_SECONDS = Histogram(
    "attendance_job_seconds", "Time a worker spent on one job", ["service", "kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FACES = Counter("attendance_faces_total", "Faces seen by a worker", ["service"])
EMBEDDING_MODEL = Gauge("attendance_embedding_model_info", "The model this embedder runs (value 1)",
                        ["model", "dimensions"])
GALLERY_SIZE = Gauge("attendance_gallery_vectors", "Vectors in this matcher's in-memory gallery", ["model"])
HTTP_REQUESTS = Counter("attendance_http_requests_total", "Gateway HTTP requests", ["method", "endpoint", "status"])
HTTP_SECONDS = Histogram(
    "attendance_http_request_seconds", "Gateway HTTP request latency", ["method", "endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
LATE_REPLIES = Counter("attendance_late_replies_total", "Replies that arrived after the gateway stopped waiting")
PIPELINE_WAIT = Histogram(
    "attendance_pipeline_seconds", "Gateway wait from publishing a job to its reply", ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
HTTP_IN_FLIGHT = Gauge(
    "attendance_http_requests_in_flight", "Gateway HTTP requests being served now",
    multiprocess_mode="livesum",  # several gateway processes: the sum over the live ones
)

# -- the worker loop (shared/worker.py), per stage -------------------------------------------
QUEUE_WAIT_SECONDS = Histogram(
    "attendance_queue_wait_seconds",
    "Time a job waited from being published to its stage's queue to the start of its work", ["service", "kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
REDELIVERIES = Counter("attendance_redeliveries_total",
                       "Deliveries of a job the broker had delivered before (a worker crashed or was killed on it)",
                       ["service", "kind"])
DEAD_LETTERS = Counter("attendance_dead_letters_total", "Messages a worker moved to the dead-letter queue",
                       ["service", "reason"])  # reason: delivery_limit, unreadable
ENROLLMENT_PHOTOS = Counter("attendance_enrollment_photos_total",
                            "Enrollment photos the pipeline accepted, or refused and why",
                            ["result", "reason"])  # accepted/none, refused/<the refusal's ErrorCode>

# -- the services' own figures -----------------------------------------------------------------
FACES_PER_IMAGE = Histogram(
    "attendance_faces_per_image", "Usable faces the detector found in one photo", ["kind"],
    # Between whole numbers: le="0.5" counts photos without a face, le="1.5" those with at
    # most one, and histogram_quantile's estimates centre on whole faces.
    buckets=(0.5, 1.5, 2.5, 3.5, 5.5, 8.5, 12.5, 20.5, 30.5, 50.5, 80.5),
)
MODEL_LOAD_SECONDS = Gauge("attendance_model_load_seconds",
                           "Seconds this process took at start to load its model and make it ready",
                           ["service", "model", "runtime"])
UNKNOWN_FACES = Counter("attendance_unknown_faces_total", "Recognized faces that matched nobody", ["model"])
SIMILARITY_BUCKETS = (0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0)
BEST_SIMILARITY = Histogram("attendance_match_best_similarity",
                            "Cosine similarity of each recognized face's best candidate in the gallery", ["model"],
                            buckets=SIMILARITY_BUCKETS)
MATCH_SIMILARITY = Histogram("attendance_match_similarity",
                             "Cosine similarity of each matched face to the person it was matched to", ["model"],
                             buckets=SIMILARITY_BUCKETS)

# RabbitMQ's per-queue figures, from its rabbitmq_prometheus plugin (/metrics/detailed on
# port 15692): the families the scrape configs ask for (deploy/prometheus/prometheus.yml,
# launcher/prometheus.py) and the names the alerts and the dashboard use from them.
RABBITMQ_PORT = 15692
RABBITMQ_QUEUE_FAMILIES = ("queue_coarse_metrics", "queue_consumer_count")
RABBITMQ_QUEUE_METRICS = (
    "rabbitmq_detailed_queue_messages_ready",  # waiting for a consumer: the backlog
    "rabbitmq_detailed_queue_messages_unacked",  # being worked on
    "rabbitmq_detailed_queue_messages",  # both
    "rabbitmq_detailed_queue_consumers",  # worker copies consuming the queue
)


class Health:
    """Readiness of one process: ready when every named check is true."""

    def __init__(self, *checks: str):
        self._checks = {name: False for name in checks}
        self._lock = threading.Lock()

    def set_ready(self, check: str, ok: bool) -> None:
        with self._lock:
            self._checks[check] = ok

    def status(self) -> tuple[bool, dict[str, bool]]:
        with self._lock:
            checks = dict(self._checks)
        return all(checks.values()), checks


def multiprocess_mode() -> bool:
    """Whether prometheus-client runs in multiprocess mode here: it decides once, when it
    is imported, from ``PROMETHEUS_MULTIPROC_DIR``; its metrics then write to that directory."""
    return values.ValueClass is not values.MutexValue


def metrics_payload() -> tuple[bytes, str]:
    """This process's metrics; in multiprocess mode, those of every process of this gateway copy."""
    if not multiprocess_mode():
        return generate_latest(), CONTENT_TYPE_LATEST
    from prometheus_client import multiprocess

    registry = CollectorRegistry()  # a fresh one per scrape, as prometheus-client's docs say
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def serve_health(port: int, health: Health, service: str) -> ThreadingHTTPServer:
    """Serve /healthz, /readyz and /metrics on ``port`` in a daemon thread."""

    class HealthHandler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            if self.path == "/healthz":
                self._send(200, json.dumps({"status": "ok", "service": service}).encode(), "application/json")
            elif self.path == "/readyz":
                ready, checks = health.status()
                body = json.dumps({"ready": ready, "service": service, "checks": checks}).encode()
                self._send(200 if ready else 503, body, "application/json")
            elif self.path == "/metrics":
                body, ctype = metrics_payload()
                self._send(200, body, ctype)
            else:
                self._send(404, b'{"error":{"code":"not_found","message":"unknown path"}}', "application/json")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet: probes hit this every few seconds
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), HealthHandler)
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    log.info("%s health and metrics on port %d", service, server.server_address[1])
    return server
