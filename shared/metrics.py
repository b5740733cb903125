"""Prometheus metrics and the small HTTP endpoint every worker exposes.

Workers serve ``/healthz`` (alive), ``/readyz`` (broker connected and, where the
service needs it, database reachable) and ``/metrics`` on their health port.
The gateway serves the same three paths through Flask.
"""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

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


def metrics_payload() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


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
