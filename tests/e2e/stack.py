"""The end-to-end tests' stack: ``launcher.stack.Stack`` (its own RabbitMQ
virtual host and database, every copy supervised by ``launcher/``), logging to
``var/log/e2e/``, with restarts off by default: a test that kills a worker
means it to stay dead."""
from __future__ import annotations

from dataset.celebrities import DATASET
from launcher import stack as _stack
from launcher.stack import Service, free_port, rabbitmqctl
from launcher.supervisor import ROOT

LOG_DIR = ROOT / "var" / "log" / "e2e"


class Stack(_stack.Stack):
    def __init__(self, restart: bool = False):
        super().__init__(log_dir=LOG_DIR, restart=restart, prefix="attendance-e2e")


__all__ = ["DATASET", "LOG_DIR", "Service", "Stack", "free_port", "rabbitmqctl"]
