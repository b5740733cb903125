"""A stack of its own: a RabbitMQ virtual host, a database and supervised
service copies, for the end-to-end tests and the benchmarks.

Its own vhost and database mean a `make run` stack on the same machine neither
steals its jobs nor sees its data. Each copy gets a free port. Restarts are off
by default (a test that kills a worker means it to stay dead); ``Stack(restart=True)``
restarts what exits, like ``python -m launcher up``.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import requests

from launcher.plan import ProcessSpec
from launcher.supervisor import ROOT, Child, Supervisor
from shared import pipeline


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)


class Service:
    """A handle on one supervised copy; ``proc`` is its current process."""

    def __init__(self, stack: "Stack", child: Child):
        self._stack, self.child = stack, child

    name = property(lambda self: self.child.name)
    module = property(lambda self: self.child.spec.service)
    port = property(lambda self: self.child.spec.port)
    log_path = property(lambda self: self.child.log_path)

    @property
    def proc(self) -> subprocess.Popen:
        return self.child.proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        try:
            return requests.get(self.url + "/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def metric(self, name: str) -> float:
        """The sum of a metric's samples (all label sets) on /metrics."""
        text = requests.get(self.url + "/metrics", timeout=5).text
        return sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith(name + "{") or line.startswith(name + " "))

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        """Stop it (SIGTERM, SIGKILL after the supervisor's timeout) and wait."""
        self._stack.supervisor.stop(self.name)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Stack:
    """Broker vhost + database + services. ``start()`` adds a service copy."""

    def __init__(self, log_dir: Path = ROOT / "var" / "log" / "stack", restart: bool = False,
                 prefix: str = "attendance-stack"):
        token = uuid.uuid4().hex[:8]
        self.vhost = f"{prefix}-{token}"
        self.db = f"{prefix}_{token}".replace("-", "_")
        self.services: dict[str, Service] = {}
        self.env = dict(os.environ)
        self.env.update({
            "AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}",
            "MONGO_DB": self.db,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        })
        self.supervisor = Supervisor(log_dir, base_env=self.env, restart=restart, stop_timeout=15)
        self.supervisor.base_env = self.env  # the same dict: a change to ``env`` reaches later starts
        if restart:
            self.supervisor.watch()

    def create(self) -> None:
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    def start(self, name: str, module: str, **env: str) -> Service:
        """Start a copy of service ``module`` named ``name``, on a free port, with ``env`` added."""
        spec = ProcessSpec.make(name, pipeline.service(module), free_port(), env)
        service = Service(self, self.supervisor.start(spec))
        self.services[name] = service
        return service

    def wait_ready(self, *names: str, timeout: float = 180) -> None:
        deadline = time.time() + timeout
        pending = list(names or self.services)
        while pending and time.time() < deadline:
            for name in list(pending):
                service = self.services[name]
                if not self.supervisor.restart and service.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({service.proc.returncode}):\n{service.log_tail()}")
                if service.ready():
                    pending.remove(name)
            time.sleep(0.5)
        if pending:
            raise RuntimeError("not ready: " + ", ".join(
                f"{n}:\n{self.services[n].log_tail()}" for n in pending))

    def retire(self, name: str) -> None:
        """Stop a service one is done with and forget it."""
        self.services.pop(name).stop()

    def stop_all(self) -> None:
        """Stop every copy started (paused ones too) and wait for them."""
        self.supervisor.close()

    def destroy(self) -> None:
        self.stop_all()
        try:
            rabbitmqctl("delete_vhost", self.vhost)
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass
        try:
            import pymongo
            pymongo.MongoClient(self.env.get("MONGO_URI", "mongodb://127.0.0.1:27017/"),
                                serverSelectionTimeoutMS=3000).drop_database(self.db)
        except Exception:  # noqa: BLE001
            pass

