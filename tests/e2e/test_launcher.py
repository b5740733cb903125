"""The local launcher for real: `python -m launcher up` twice, a worker killed
and brought back by the supervisor, `down`; and a test stack with restarts on.

Everything runs on its own RabbitMQ vhost, database, free ports and VAR_DIR, so
a `make run` stack on 8080 / 9101-9103 and the session's test stack are left
alone.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pymongo
import pytest

from launcher.plan import copies_variable, port_variable
from launcher.supervisor import ROOT
from shared.pipeline import SERVICES
from tests.e2e.stack import Stack, free_port, rabbitmqctl


def alive(pid: int) -> bool:
    """Running (a zombie, exited but not yet reaped by init, does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture
def launcher_env(tmp_path):
    token = uuid.uuid4().hex[:8]
    vhost, db = f"attendance-launcher-{token}", f"attendance_launcher_{token}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    env = {k: v for k, v in os.environ.items()
           if k not in {copies_variable(s) for s in SERVICES} | {"GATEWAY_HOST", "HEALTH_PORT"}}
    env.update({"AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{vhost}", "MONGO_DB": db,
                "VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "INFO"})
    env.update({port_variable(s): str(free_port()) for s in SERVICES})
    seen: set[int] = set()
    env_and_pids = (env, seen)
    try:
        yield env_and_pids
    finally:
        launcher(env, "down", timeout=120)
        for pid in seen:  # whatever `down` missed
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        try:
            rabbitmqctl("delete_vhost", vhost)
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass
        pymongo.MongoClient(env.get("MONGO_URI", "mongodb://127.0.0.1:27017/"),
                            serverSelectionTimeoutMS=3000).drop_database(db)


def launcher(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "launcher", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def state(env: dict) -> dict:
    return json.loads((Path(env["VAR_DIR"]) / "run" / "launcher-state.json").read_text())


def services(env: dict) -> dict[str, dict]:
    return {s["name"]: s for s in state(env)["services"]}


def test_up_twice_a_killed_worker_comes_back_and_down_stops_everything(launcher_env):
    env, seen = launcher_env
    started = time.monotonic()
    out = launcher(env, "up", "--timeout", "240", timeout=300)
    print(f"first up: {time.monotonic() - started:.1f} s")
    assert out.returncode == 0, out.stderr
    assert f"Attendance Tracker is running: http://127.0.0.1:{env['GATEWAY_PORT']}/" in out.stderr
    before = services(env)
    supervisor = state(env)["supervisor"]
    seen.update([supervisor, *(s["pid"] for s in before.values())])
    assert sorted(before) == sorted(s.name for s in SERVICES)
    assert {s["port"] for s in before.values()} == {int(env[port_variable(s)]) for s in SERVICES}
    assert all(ready(s["url"]) for s in before.values())

    started = time.monotonic()
    out = launcher(env, "up", timeout=60)
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - started < 15
    assert "nothing to start" in out.stderr and "Attendance Tracker is running" in out.stderr
    assert services(env) == before and state(env)["supervisor"] == supervisor

    killed = before["embedder"]["pid"]
    os.kill(killed, signal.SIGKILL)
    started = time.monotonic()
    deadline = started + 60
    while time.monotonic() < deadline:
        now = services(env)["embedder"]
        if now["pid"] != killed and now["state"] == "running" and ready(now["url"]):
            break
        time.sleep(0.5)
    print(f"killed embedder ready again after {time.monotonic() - started:.1f} s")
    now = services(env)["embedder"]
    seen.add(now["pid"])
    assert now["pid"] != killed and ready(now["url"]), (Path(env["VAR_DIR"]) / "log" / "embedder.log").read_text()[-3000:]
    assert now["restarts"] == 1 and now["last_exit"] == "signal SIGKILL (9)"
    assert "SIGKILL" in (Path(env["VAR_DIR"]) / "log" / "launcher.log").read_text()
    others = {n: s["pid"] for n, s in services(env).items() if n != "embedder"}
    assert others == {n: s["pid"] for n, s in before.items() if n != "embedder"}

    status = launcher(env, "status")
    assert status.returncode == 0 and all(name in status.stdout for name in before)

    out = launcher(env, "down", timeout=120)
    assert out.returncode == 0, out.stderr
    assert [pid for pid in seen if alive(pid)] == []
    assert launcher(env, "status").returncode == 3


def test_a_stack_with_restarts_on_brings_a_killed_service_back():
    stack = Stack(restart=True)
    stack.create()
    try:
        matcher = stack.start("matcher", "matcher")
        stack.wait_ready("matcher", timeout=120)
        first = matcher.proc
        first.send_signal(signal.SIGKILL)
        first.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (matcher.proc is not first and matcher.ready()):
            time.sleep(0.3)
        assert matcher.proc is not first and matcher.ready(), matcher.log_tail()
        assert matcher.child.restarts == 1 and matcher.child.last_exit == "signal SIGKILL (9)"
    finally:
        stack.destroy()
    assert matcher.proc.poll() is not None
