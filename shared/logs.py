"""Logging setup: one line per event, text for people or JSON for log shippers,
each with the id of the request it serves (``request_context``).

No personal data reaches a log at any level: our own messages name ids and
counts, never names, contacts or vectors; the libraries that could log
documents or message bodies (pika, pymongo) are held at WARNING; and an
exception is logged with its type and traceback but not its message, which
can quote data (a duplicate key error quotes the rollNo) unless
``LOG_EXCEPTION_DETAIL`` asks for it while debugging.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import traceback

QUIET_LIBRARIES = ("pika", "pymongo", "urllib3")

# The id of the request being served on this thread (the gateway's HTTP
# request, or the job a worker runs): added to every log line.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


@contextlib.contextmanager
def request_context(request_id: str | None):
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class _Redacting:
    """Formats exceptions without their message unless ``detail``."""

    detail = False

    def formatException(self, ei) -> str:  # noqa: N802 - logging API
        if self.detail:
            return super().formatException(ei)  # type: ignore[misc]
        etype, _, tb = ei
        return ("Traceback (most recent call last):\n" + "".join(traceback.format_tb(tb))
                + f"{etype.__module__}.{etype.__qualname__} (message withheld: LOG_EXCEPTION_DETAIL=true shows it)")


class TextFormatter(_Redacting, logging.Formatter):
    pass


class JsonFormatter(_Redacting, logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        obj = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            obj["exception"] = self.formatException(record.exc_info)
        return json.dumps(obj)


def setup(service: str, level: str = "INFO", fmt: str = "text", exception_detail: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter(service) if fmt == "json" else TextFormatter(
        f"%(asctime)s {service} %(levelname)s %(name)s [%(request_id)s]: %(message)s")
    formatter.detail = exception_detail
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
