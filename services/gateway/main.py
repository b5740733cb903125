"""Gateway service: the HTTP API, served by gunicorn (threads; ``GATEWAY_PROCESSES``
processes, default one).

Each process owns one broker connection (its pipeline I/O thread, created after
the fork, in ``load``) and serves ``GATEWAY_THREADS`` requests at once. Scale
the gateway by running more copies behind a load balancer, or more processes
per copy.

Metrics with several processes: each process counts its own requests, so
prometheus-client runs in multiprocess mode. ``main`` creates a directory of
this copy's own (``attendance-gateway-metrics-*`` in the temporary directory,
removed when the gateway exits) and sets ``PROMETHEUS_MULTIPROC_DIR`` to it
before anything imports prometheus-client - which is why the app's modules are
imported in ``build_app``, in the worker process, and not at the top of this
module. Every process writes its values there, ``/metrics`` adds them up
(``shared/metrics.py``), and the master drops the live gauges (requests in
flight) of a worker that exits (``child_exit``). With one process nothing of
this happens: one registry per process, as always.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile

from gunicorn.app.base import BaseApplication

from services.gateway import auth
from shared import config, logs
from shared.credentials import is_loopback_host

log = logging.getLogger(__name__)

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def build_app(settings):
    # Imported here, in the worker process: these modules define the metrics
    # (see the module's docstring).
    from attendance.store import AttendanceStore
    from services.gateway.api import create_app
    from services.gateway.pipeline import PipelineClient
    from shared.storage import Storage

    # A short server selection: with the database down, requests hear 503 in 2 s.
    storage = Storage(settings.mongo_uri, settings.mongo_db, timeout_ms=2000)
    attendance = AttendanceStore(storage)
    pipeline = PipelineClient(settings).start(wait_seconds=10)
    return create_app(settings, pipeline, storage, attendance)


def child_exit(server, worker) -> None:
    """gunicorn's hook, in the master: a worker exited; its live gauges leave the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def multiprocess_metrics_dir() -> str:
    """Create this copy's metrics directory and put prometheus-client in multiprocess mode."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess directory was set")
    path = tempfile.mkdtemp(prefix="attendance-gateway-metrics-")
    os.environ[MULTIPROC_VARIABLE] = path
    return path


class GatewayServer(BaseApplication):
    def __init__(self, settings):
        self.settings = settings
        super().__init__()

    def load_config(self):
        self.cfg.set("bind", f"{self.settings.gateway_host}:{self.settings.gateway_port}")
        self.cfg.set("workers", self.settings.gateway_processes)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", self.settings.gateway_threads)
        self.cfg.set("timeout", 120)
        self.cfg.set("graceful_timeout", 30)
        self.cfg.set("accesslog", None)  # the app logs each request, redacted (see api.py)
        self.cfg.set("control_socket_disable", True)  # one per host would clash between copies
        self.cfg.set("loglevel", self.settings.log_level.lower())
        if self.settings.gateway_processes > 1:
            self.cfg.set("child_exit", child_exit)

    def load(self):
        # Runs in the worker process, after the fork: the broker connection and
        # its thread are created where they are used.
        logs.setup("gateway", self.settings.log_level, self.settings.log_format, self.settings.log_exception_detail)
        return build_app(self.settings)


def refusal(settings) -> str | None:
    """Why the gateway must not start with these settings, or None."""
    if settings.gateway_processes < 1:
        return f"GATEWAY_PROCESSES={settings.gateway_processes}: at least 1"
    try:
        env_keys = auth.environment_keys(settings.api_tokens, settings.api_admin_key)
    except ValueError as exc:  # refuse a malformed key list before forking
        return str(exc)
    if not env_keys and not is_loopback_host(settings.gateway_host) and not settings.allow_open_api:
        return (f"GATEWAY_HOST={settings.gateway_host} would open the API (biometric data) to the network "
                "without authentication: set API_ADMIN_KEY (and create keys with it), or listen on 127.0.0.1, "
                "or set ALLOW_OPEN_API=true if this network is really private")
    return None


def main() -> None:
    settings = config.load()
    logs.setup("gateway", settings.log_level, settings.log_format, settings.log_exception_detail)
    problem = refusal(settings)
    if problem:
        log.error("%s", problem)
        sys.exit(2)
    metrics_dir = multiprocess_metrics_dir() if settings.gateway_processes > 1 else None
    log.info("gateway listening on http://%s:%d (%d process(es)%s)", settings.gateway_host, settings.gateway_port,
             settings.gateway_processes, f", metrics in {metrics_dir}" if metrics_dir else "")
    try:
        GatewayServer(settings).run()
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
