"""Run the real services as subprocesses for end-to-end tests.

Each test session gets its own RabbitMQ virtual host and its own database, so a
`make run` stack on the same machine neither steals the tests' jobs nor sees
their data.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "var" / "log" / "e2e"
ASSETS_DIR = Path(os.environ.get("ASSETS_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                  / "attendance-tracker")
DATASET = ASSETS_DIR / "5-celebrity-faces-dataset"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)


class Service:
    def __init__(self, name: str, module: str, port: int, proc: subprocess.Popen, log_path: Path):
        self.name, self.module, self.port, self.proc, self.log_path = name, module, port, proc, log_path

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
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Stack:
    """Broker vhost + database + services. ``start()`` adds a service copy."""

    def __init__(self):
        token = uuid.uuid4().hex[:8]
        self.vhost = f"attendance-e2e-{token}"
        self.db = f"attendance_e2e_{token}"
        self.services: dict[str, Service] = {}
        self.env = dict(os.environ)
        self.env.update({
            "AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}",
            "MONGO_DB": self.db,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        })
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    def create(self) -> None:
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    def start(self, name: str, module: str, **env: str) -> Service:
        port = free_port()
        service_env = dict(self.env)
        service_env["GATEWAY_PORT" if module == "gateway" else "HEALTH_PORT"] = str(port)
        service_env.update({k: str(v) for k, v in env.items()})
        log_path = LOG_DIR / f"{name}.log"
        log = open(log_path, "ab")
        proc = subprocess.Popen([sys.executable, "-m", f"services.{module}"], cwd=ROOT, env=service_env,
                                stdout=log, stderr=subprocess.STDOUT)
        service = Service(name, module, port, proc, log_path)
        self.services[name] = service
        return service

    def wait_ready(self, *names: str, timeout: float = 180) -> None:
        deadline = time.time() + timeout
        pending = list(names or self.services)
        while pending and time.time() < deadline:
            for name in list(pending):
                service = self.services[name]
                if service.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({service.proc.returncode}):\n{service.log_tail()}")
                if service.ready():
                    pending.remove(name)
            time.sleep(0.5)
        if pending:
            raise RuntimeError("not ready: " + ", ".join(
                f"{n}:\n{self.services[n].log_tail()}" for n in pending))

    def retire(self, name: str) -> None:
        """Stop a service a test is done with and forget it."""
        self.services.pop(name).stop()

    def stop_all(self) -> None:
        for service in self.services.values():
            if service.proc.poll() is None:
                try:
                    service.proc.send_signal(signal.SIGCONT)  # a test may have paused it
                except ProcessLookupError:
                    pass
            service.stop()

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
