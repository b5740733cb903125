"""What to run, derived from ``shared.pipeline.SERVICES`` and the environment.

One copy of each service by default; ``<NAME>S=N`` (``EMBEDDERS=3``,
``DETECTORS=2``, ...) runs N copies. The first copy is named after its service
(``embedder``) and listens on the service's port; copy k is ``embedder-k`` on
that port + 10 (k - 1): 9102, 9112, 9122. ``<NAME>_HEALTH_PORT`` moves a
worker's ports (every worker reads the one variable ``HEALTH_PORT``, so the
launcher needs one per service); the gateway's is its own ``GATEWAY_PORT``.

``MONITORING=1`` adds a local Prometheus (:func:`prometheus_spec`, run by
``launcher/prometheus.py``) that scrapes every copy planned, on
``127.0.0.1:PROMETHEUS_PORT`` (default 9090).

Pure: environment in, specs out (tested in ``tests/unit/test_launcher.py``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Iterable, Mapping, Sequence
from urllib.parse import unquote, urlsplit

from shared.config import Settings, load
from shared.metrics import RABBITMQ_PORT
from shared.pipeline import GATEWAY, SERVICES, Service

COPY_PORT_STEP = 10
# Variables the services read (shared/config.py). A spec carries the ones set
# when it was planned; the supervisor's own copies of them are not passed on, so
# that unsetting one and re-running `up` is a change.
SETTINGS_VARIABLES = frozenset(f.name.upper() for f in fields(Settings))
LOCAL_GATEWAY_HOST = "127.0.0.1"  # `make run` serves this machine only unless GATEWAY_HOST says otherwise


@dataclass(frozen=True)
class ProcessSpec:
    """One process to keep running: ``python -m <module>`` with ``env`` added."""

    name: str  # unique among the running processes: "embedder", "embedder-2", "matcher-a"
    service: str  # the pipeline service it is a copy of: "embedder"
    module: str  # "services.embedder"
    port: int  # its HTTP port: the API (gateway) or /healthz /readyz /metrics (a worker)
    port_variable: str  # the variable the service reads that port from
    env: tuple[tuple[str, str], ...] = ()  # variables set for this process (the port among them)
    host: str = "127.0.0.1"  # where its /readyz answers
    ready_path: str = "/readyz"  # what answers 200 once it is ready

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.env)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ready_url(self) -> str:
        return self.url + self.ready_path

    @staticmethod
    def make(name: str, service: Service, port: int, env: Mapping[str, str] | None = None,
             host: str = "127.0.0.1") -> "ProcessSpec":
        variables = {k: str(v) for k, v in (env or {}).items()}
        variables[service.port_variable] = str(port)
        return ProcessSpec(name, service.name, service.module, port, service.port_variable,
                           tuple(sorted(variables.items())), host)


def copies_variable(service: Service) -> str:
    """``EMBEDDERS`` for the embedder: how many copies to run."""
    return f"{service.name.upper()}S"


def port_variable(service: Service) -> str:
    """The launcher's variable for a service's first port: ``GATEWAY_PORT``,
    ``DETECTOR_HEALTH_PORT``, ..."""
    prefix = f"{service.name.upper()}_"
    return service.port_variable if service.port_variable.startswith(prefix) else prefix + service.port_variable


def _int(environ: Mapping[str, str], name: str, default: int, least: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if value < least:
        raise ValueError(f"{name}={raw!r}: at least {least}")
    return value


def _probe_host(bind_host: str) -> str:
    return LOCAL_GATEWAY_HOST if bind_host in ("", "0.0.0.0", "::", "[::]") else bind_host


def settings_given(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings variables of ``environ`` that change something: one set to
    its default (``make run`` exports ``ASSETS_DIR``) is left out, so that it
    does not make two otherwise equal plans differ."""
    defaults = Settings()
    given = {}
    for name, value in environ.items():
        if name not in SETTINGS_VARIABLES:
            continue
        try:
            if getattr(load({name: value}), name.lower()) == getattr(defaults, name.lower()):
                continue
        except ValueError:
            pass  # malformed: the service will say so at start
        given[name] = value
    return given


def plan(environ: Mapping[str, str], services: Sequence[Service] = SERVICES) -> list[ProcessSpec]:
    """The processes `python -m launcher up` runs for this environment."""
    common = settings_given(environ)
    for s in services:
        common.pop(s.port_variable, None)  # set per copy below
    common.setdefault("TF_CPP_MIN_LOG_LEVEL", environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    common["PYTHONUNBUFFERED"] = "1"
    specs: list[ProcessSpec] = []
    for s in services:
        copies = _int(environ, copies_variable(s), 1, 0)
        first_port = _int(environ, port_variable(s), s.port, 1)
        env, host = dict(common), "127.0.0.1"
        if s.name == GATEWAY.name:
            env["GATEWAY_HOST"] = environ.get("GATEWAY_HOST") or LOCAL_GATEWAY_HOST
            host = _probe_host(env["GATEWAY_HOST"])
        for i in range(copies):
            name = s.name if i == 0 else f"{s.name}-{i + 1}"
            specs.append(ProcessSpec.make(name, s, first_port + COPY_PORT_STEP * i, env, host))
    if monitoring(environ):
        specs.append(prometheus_spec(specs, environ))
    _check_ports(specs)
    return specs


# -- the local Prometheus (MONITORING=1) ----------------------------------------------
PROMETHEUS = "prometheus"
PROMETHEUS_PORT = 9090


def monitoring(environ: Mapping[str, str]) -> bool:
    """``MONITORING=1`` (or true, yes, on): run the local Prometheus too."""
    return environ.get("MONITORING", "").strip().lower() in ("1", "true", "yes", "on")


def prometheus_spec(services: Sequence[ProcessSpec], environ: Mapping[str, str]) -> ProcessSpec:
    """``python -m launcher.prometheus``, scraping ``services`` (each copy's port: static
    targets) and the broker's per-queue metrics of the vhost of ``AMQP_URL``, with the
    project's alerts, on 127.0.0.1:``PROMETHEUS_PORT``. Everything it needs is in its
    environment, so a change of the copies is a change of this spec (a restart)."""
    port = _int(environ, "PROMETHEUS_PORT", PROMETHEUS_PORT, 1)
    broker = urlsplit(environ.get("AMQP_URL") or Settings().amqp_url)
    env = {
        "PROMETHEUS_PORT": str(port),
        "PROMETHEUS_TARGETS": json.dumps([{"job": s.service, "copy": s.name, "target": f"{s.host}:{s.port}"}
                                          for s in services]),
        "RABBITMQ_METRICS": f"{broker.hostname or '127.0.0.1'}:{RABBITMQ_PORT}",
        "RABBITMQ_VHOST": unquote(broker.path[1:]) or "/",
    }
    for name in ("PROMETHEUS_SCRAPE_INTERVAL", "PROMETHEUS_RETENTION", "VAR_DIR"):  # VAR_DIR: its data
        if environ.get(name):
            env[name] = environ[name]
    return ProcessSpec(PROMETHEUS, PROMETHEUS, "launcher.prometheus", port, "PROMETHEUS_PORT",
                       tuple(sorted(env.items())), "127.0.0.1", "/-/ready")


def _check_ports(specs: Iterable[ProcessSpec]) -> None:
    seen: dict[int, str] = {}
    for spec in specs:
        if not 0 < spec.port < 65536:
            raise ValueError(f"{spec.name}: port {spec.port} is out of range")
        if spec.port in seen:
            raise ValueError(f"{seen[spec.port]} and {spec.name} would both use port {spec.port}: "
                             "set their port variables further apart")
        seen[spec.port] = spec.name


def reconcile(current: Mapping[str, ProcessSpec], desired: Sequence[ProcessSpec]
              ) -> tuple[list[str], list[ProcessSpec]]:
    """(names to stop, specs to start) to go from ``current`` to ``desired``.

    A process whose spec is unchanged is left alone; a changed one (other port,
    other settings) is stopped and started again; one no longer wanted is stopped.
    """
    wanted = {spec.name: spec for spec in desired}
    stop = [name for name, spec in current.items() if wanted.get(name) != spec]
    start = [spec for spec in desired if current.get(spec.name) != spec]
    return stop, start
