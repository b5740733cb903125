"""The pipeline, declared once: its stages, their queues, order and ports.

Everything else derives from this module or is checked against it by a test:
the broker topology (``shared/amqp.py``), the worker loop's forwarding
(a stage's result goes to the next stage's queue), the local launcher
(``launcher/``), the end-to-end stack, ``docker-compose.yml``, the Prometheus
scrape config and alerts (``tests/unit/test_compose.py``,
``tests/unit/test_monitoring.py``).

To add a stage between two others: add a :class:`Stage` below (its queue, its
health port) and point the previous stage's ``next`` at it, then write
``services/<name>/`` (a ``setup`` returning a handler). See
``docs/ARCHITECTURE.md``, "Where to make a change".
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """A process kind the system runs: the gateway or a pipeline stage."""

    name: str  # also the package under services/ and the compose service name
    port: int  # default HTTP port: the API for the gateway, /healthz /readyz /metrics for a stage
    port_variable: str  # the environment variable that overrides ``port``

    @property
    def module(self) -> str:
        return f"services.{self.name}"


@dataclass(frozen=True)
class Stage(Service):
    """A worker kind: consumes ``queue``, hands its result to stage ``next``
    (None: the stage answers the waiting gateway)."""

    queue: str = ""
    next: str | None = None
    needs_database: bool = False


GATEWAY = Service("gateway", 8080, "GATEWAY_PORT")

STAGES: tuple[Stage, ...] = (
    Stage("detector", 9101, "HEALTH_PORT", queue="faces.detect", next="embedder"),
    Stage("embedder", 9102, "HEALTH_PORT", queue="faces.embed", next="matcher"),
    Stage("matcher", 9103, "HEALTH_PORT", queue="faces.match", next=None, needs_database=True),
)

SERVICES: tuple[Service, ...] = (*STAGES, GATEWAY)

# Queues outside the stages.
DEAD_LETTER_EXCHANGE = "faces.dead-letter"
DEAD_LETTER_QUEUE = "faces.dead"
GALLERY_EXCHANGE = "gallery.changes"


def stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(f"no pipeline stage {name!r}; stages: {', '.join(s.name for s in STAGES)}")


def service(name: str) -> Service:
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(f"no service {name!r}; services: {', '.join(s.name for s in SERVICES)}")


FIRST_STAGE = STAGES[0]
WORK_QUEUES: tuple[str, ...] = tuple(s.queue for s in STAGES)


def next_queue(current: Stage) -> str | None:
    """The queue a stage's result goes to; None for the last stage."""
    return stage(current.next).queue if current.next else None


def _check() -> None:
    """The declaration is a chain: starts at the first stage, visits each once."""
    names = [s.name for s in STAGES]
    assert len(set(names)) == len(names), "stage names must be unique"
    assert len(set(WORK_QUEUES)) == len(WORK_QUEUES), "queues must be unique"
    assert len({s.port for s in SERVICES}) == len(SERVICES), "default ports must be distinct"
    seen, current = [], FIRST_STAGE
    while current is not None:
        assert current.name not in seen, f"stage {current.name} is reached twice"
        seen.append(current.name)
        current = stage(current.next) if current.next else None
    assert seen == names, f"the chain {seen} must visit every stage in declared order {names}"


_check()
