"""Gateway service: the HTTP API, served by gunicorn (threads, one process).

One process with many threads: each process owns one broker connection (its
pipeline I/O thread) and its own Prometheus registry. Scale the gateway by
running more copies behind a load balancer, not more processes per copy.
"""
from __future__ import annotations

import logging
import sys

from gunicorn.app.base import BaseApplication

from attendance.store import AttendanceStore
from services.gateway import auth
from services.gateway.api import create_app
from services.gateway.pipeline import PipelineClient
from shared import config, logs
from shared.credentials import is_loopback_host
from shared.storage import Storage

log = logging.getLogger(__name__)


def build_app(settings):
    # A short server selection: with the database down, requests hear 503 in 2 s.
    storage = Storage(settings.mongo_uri, settings.mongo_db, timeout_ms=2000)
    attendance = AttendanceStore(storage)
    pipeline = PipelineClient(settings).start(wait_seconds=10)
    return create_app(settings, pipeline, storage, attendance)


class GatewayServer(BaseApplication):
    def __init__(self, settings):
        self.settings = settings
        super().__init__()

    def load_config(self):
        self.cfg.set("bind", f"{self.settings.gateway_host}:{self.settings.gateway_port}")
        self.cfg.set("workers", 1)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", self.settings.gateway_threads)
        self.cfg.set("timeout", 120)
        self.cfg.set("graceful_timeout", 30)
        self.cfg.set("accesslog", None)  # the app logs each request, redacted (see api.py)
        self.cfg.set("control_socket_disable", True)  # one per host would clash between copies
        self.cfg.set("loglevel", self.settings.log_level.lower())

    def load(self):
        # Runs in the worker process, after the fork: the broker connection and
        # its thread are created where they are used.
        logs.setup("gateway", self.settings.log_level, self.settings.log_format, self.settings.log_exception_detail)
        return build_app(self.settings)


def refusal(settings) -> str | None:
    """Why the gateway must not start with these settings, or None."""
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
    log.info("gateway listening on http://%s:%d", settings.gateway_host, settings.gateway_port)
    GatewayServer(settings).run()
