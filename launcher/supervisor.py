"""Start, watch, restart and stop service processes (the thin layer around
``launcher/policy.py``, which makes the decisions).

Why not supervisord or circus: the end-to-end tests need in-process control of
each copy they start - its own environment, signals (SIGSTOP, SIGKILL) sent to
its process, several copies of one service, restarts off so that a killed
worker stays dead, and a lifetime tied to the test session - and supervisord
would need a daemon and a config file per stack. The same class serves
``python -m launcher up`` (``launcher/cli.py``), so there is one way to run the
services, and it is small enough to read.

Each process runs in its own session (its own process group), so a stop also
reaches what it forked (the gateway's gunicorn worker) and a Ctrl-C in the
terminal that started it does not bypass the supervisor.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Mapping

from launcher.plan import ProcessSpec, port_variable
from launcher.policy import Backoff, decide, describe_exit
from shared import pipeline

log = logging.getLogger("launcher")
ROOT = Path(__file__).resolve().parents[1]

Spawn = Callable[[ProcessSpec, Mapping[str, str], Path], subprocess.Popen]


class PortInUse(RuntimeError):
    def __init__(self, spec: ProcessSpec):
        try:
            variable = port_variable(pipeline.service(spec.service))
        except KeyError:
            variable = spec.port_variable
        super().__init__(f"port {spec.port} is already in use by another program, so {spec.name} cannot start "
                         f"on it: stop that program, or move {spec.service}'s ports with {variable}=...")
        self.spec = spec


def port_free(port: int) -> bool:
    """Nothing listens on ``port`` on any address (a bind like a server's would succeed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def spawn(spec: ProcessSpec, env: Mapping[str, str], log_path: Path) -> subprocess.Popen:
    """``python -m <module>``, output appended to ``log_path``, in its own session."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", spec.module], cwd=ROOT, env=dict(env),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _kill_group(pid: int) -> None:
    """SIGKILL what is left of a process's group (e.g. an orphaned gunicorn worker)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Child:
    """One supervised process; ``proc`` is the current one (a restart replaces it)."""

    def __init__(self, spec: ProcessSpec, log_path: Path):
        self.spec = spec
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.failures = 0  # consecutive, for the backoff
        self.last_exit: str | None = None  # "signal SIGKILL (9)", "exit code 1"
        self.restart_at: float | None = None  # a restart is due at this monotonic time
        self.wanted = True  # False once asked to stop
        self.gone = False  # exited and will not be restarted

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def state(self) -> str:
        if self.restart_at is not None:
            return "restarting"
        if self.proc is not None and self.proc.poll() is None:
            return "running"
        return "exited" if self.wanted else "stopped"


class Supervisor:
    """Keeps a set of processes running.

    ``start`` and ``stop`` act at once; ``tick`` (called every fraction of a
    second by ``watch``'s thread or by the caller's own loop) notices exits and
    carries out due restarts. ``restart=False`` leaves an exited process exited.
    """

    def __init__(self, log_dir: Path, *, base_env: Mapping[str, str] | None = None, restart: bool = True,
                 backoff: Backoff = Backoff(), stop_timeout: float = 20.0, spawn: Spawn = spawn,
                 clock: Callable[[], float] = time.monotonic, port_free: Callable[[int], bool] = port_free):
        self.log_dir = Path(log_dir)
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.restart = restart
        self.backoff = backoff
        self.stop_timeout = stop_timeout
        self.children: dict[str, Child] = {}
        self.changes = 0  # bumped on every start, exit, restart and stop
        self._spawn, self._clock, self._port_free = spawn, clock, port_free
        self._lock = threading.RLock()
        self._watching: threading.Event | None = None

    # -- acting now -------------------------------------------------------
    def start(self, spec: ProcessSpec) -> Child:
        """Start ``spec``; :class:`PortInUse` if its port is taken."""
        with self._lock:
            old = self.children.get(spec.name)
            if old is not None and old.state in ("running", "restarting"):
                raise ValueError(f"{spec.name} is already running")
            if not self._port_free(spec.port):
                raise PortInUse(spec)
            child = Child(spec, self.log_dir / f"{spec.name}.log")
            self._launch(child)
            self.children[spec.name] = child
            log.info("started %s (pid %d, port %d)", spec.name, child.pid, spec.port)
            return child

    def stop(self, *names: str, timeout: float | None = None) -> None:
        """Stop these processes (all if none named): SIGTERM, then SIGKILL after
        ``timeout`` seconds; returns once they have exited. They are forgotten."""
        with self._lock:
            chosen = [self.children.pop(n) for n in (names or list(self.children)) if n in self.children]
            self.changes += 1
            for child in chosen:
                child.wanted, child.restart_at = False, None
                if child.proc is not None and child.proc.poll() is None:
                    try:
                        child.proc.terminate()
                        child.proc.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
                    except ProcessLookupError:
                        pass
            deadline = self._clock() + (self.stop_timeout if timeout is None else timeout)
            for child in chosen:
                if child.proc is None:
                    continue
                try:
                    child.proc.wait(timeout=max(0.0, deadline - self._clock()))
                except subprocess.TimeoutExpired:
                    log.warning("%s (pid %d) did not exit on SIGTERM; killing it", child.name, child.pid)
                    _kill_group(child.proc.pid)
                    child.proc.wait()
                _kill_group(child.proc.pid)
                log.info("stopped %s (pid %d, %s)", child.name, child.pid, describe_exit(child.proc.returncode))

    # -- noticing and restarting -------------------------------------------
    def tick(self) -> None:
        """Notice exited processes and start the successors that are due."""
        with self._lock:
            now = self._clock()
            for child in list(self.children.values()):
                if child.restart_at is None and not child.gone and child.proc is not None:
                    code = child.proc.poll()
                    if code is not None:
                        self._exited(child, code, now)
                if child.restart_at is not None and now >= child.restart_at:
                    self._restart(child, now)

    def _exited(self, child: Child, code: int, now: float) -> None:
        _kill_group(child.proc.pid)
        child.last_exit = describe_exit(code)
        uptime = now - child.started_at
        decision = decide(wanted=child.wanted, restart_enabled=self.restart, uptime=uptime,
                          failures=child.failures, backoff=self.backoff)
        child.failures = decision.failures
        self.changes += 1
        if decision.restart:
            child.restart_at = now + decision.delay
            log.warning("%s (pid %d) exited with %s after %.0f s; restarting it in %.0f s (%s)",
                        child.name, child.pid, child.last_exit, uptime, decision.delay, decision.reason)
        else:
            child.gone = True
            log.warning("%s (pid %d) exited with %s after %.0f s; not restarting it (%s)",
                        child.name, child.pid, child.last_exit, uptime, decision.reason)

    def _restart(self, child: Child, now: float) -> None:
        self.changes += 1
        if not self._port_free(child.spec.port):
            decision = decide(wanted=True, restart_enabled=True, uptime=0.0, failures=child.failures,
                              backoff=self.backoff)
            child.failures, child.restart_at = decision.failures, now + decision.delay
            log.warning("%s: port %d is still in use; trying again in %.0f s",
                        child.name, child.spec.port, decision.delay)
            return
        old_pid = child.pid
        self._launch(child)
        child.restarts += 1
        child.restart_at = None
        log.warning("restarted %s (pid %d, was %s, which exited with %s; restart %d)",
                    child.name, child.pid, old_pid, child.last_exit, child.restarts)

    def _launch(self, child: Child) -> None:
        env = {**self.base_env, **child.spec.environment}
        child.proc = self._spawn(child.spec, env, child.log_path)
        child.started_at = self._clock()
        child.gone = False
        self.changes += 1

    # -- a background thread for in-process use ------------------------------
    def watch(self, interval: float = 0.2) -> None:
        """Call ``tick`` every ``interval`` seconds in a daemon thread until ``close``."""
        if self._watching is not None:
            return
        stop = self._watching = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - keep supervising whatever one tick hit
                    log.exception("supervisor tick failed")

        threading.Thread(target=loop, name="launcher-supervisor", daemon=True).start()

    def close(self) -> None:
        """Stop watching and stop every process."""
        if self._watching is not None:
            self._watching.set()
            self._watching = None
        self.stop()
