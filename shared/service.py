"""Start-up shared by the worker services: settings, logging, health endpoint,
signal handling and the worker loop. Each service supplies only its ``setup``,
which builds its handler (and, optionally, what to do after each connect)."""
from __future__ import annotations

import logging
import signal
import sys
from typing import Callable

from shared import config, logs, pipeline
from shared.config import Settings
from shared.metrics import Health, serve_health
from shared.worker import Handler, Processor, Worker, default_policies

log = logging.getLogger(__name__)

# (settings, health) -> (handler, on_connect or None)
Setup = Callable[[Settings, Health], tuple[Handler, Callable | None]]


def run(stage_name: str, setup: Setup) -> None:
    stage = pipeline.stage(stage_name)
    settings = config.load()
    logs.setup(stage.name, settings.log_level, settings.log_format, settings.log_exception_detail)
    health = Health("broker", *(("database",) if stage.needs_database else ()))
    # Health first: /healthz answers while models load, /readyz says not yet.
    serve_health(settings.health_port or stage.port, health, stage.name)
    handler, on_connect = setup(settings, health)
    processor = Processor(stage, handler, default_policies(stage, settings))
    worker = Worker(stage, processor, settings, health, on_connect)

    def on_sigterm(signum, frame):
        # Unacked jobs go back to the queue when the connection closes.
        log.info("%s stopping (signal %d)", stage.name, signum)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        pass
