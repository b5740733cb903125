"""Start-up shared by the worker services: settings, logging, health endpoint,
signal handling and the worker loop. Each service supplies only its handler."""
from __future__ import annotations

import logging
import signal
import sys
from typing import Callable

from shared import config, logs
from shared.broker import Handler, Worker
from shared.config import DEFAULT_HEALTH_PORTS, Settings
from shared.metrics import Health, serve_health

log = logging.getLogger(__name__)

# (settings, health) -> (handler, on_connect or None)
Setup = Callable[[Settings, Health], tuple[Handler, Callable | None]]


def run(service: str, queue: str, setup: Setup, checks: tuple[str, ...] = ("broker",)) -> None:
    settings = config.load()
    logs.setup(service, settings.log_level, settings.log_format)
    health = Health(*checks)
    # Health first: /healthz answers while models load, /readyz says not yet.
    serve_health(settings.health_port or DEFAULT_HEALTH_PORTS[service], health, service)
    handler, on_connect = setup(settings, health)
    worker = Worker(service, queue, handler, settings, health, on_connect)

    def on_sigterm(signum, frame):
        # Unacked jobs go back to the queue when the connection closes.
        log.info("%s stopping (signal %d)", service, signum)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        pass
