"""``python -m launcher up | down | status``: the services on this machine.

``up`` starts a detached supervisor (``python -m launcher supervise``) that
keeps the services of ``launcher/plan.py`` running - restarting one that
crashes or is killed, with backoff - and waits until every service's
``/readyz`` answers 200. Run again while the system is up, it changes only what
differs (a service whose settings or copies changed) and returns at once.
``down`` stops the supervisor, which stops the services and waits for them.

Files under ``$VAR_DIR`` (default ``var/``): ``run/launcher.pid`` (locked while
the supervisor lives), ``run/launcher-plan.json`` (the environment ``up`` was
given), ``run/launcher-state.json`` (what runs: pids, restarts, last exits),
``log/launcher.log`` and ``log/<service>.log``.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

from launcher.plan import PROMETHEUS, SETTINGS_VARIABLES, ProcessSpec, plan, reconcile
from launcher.supervisor import ROOT, PortInUse, Supervisor, port_free

log = logging.getLogger("launcher")
STOP_TIMEOUT = 20.0  # seconds a service gets to exit on SIGTERM before SIGKILL
EXIT_NOT_RUNNING = 3
EXIT_ALREADY_RUNNING = 75


class Paths:
    def __init__(self, var_dir: Path):
        self.var = var_dir
        self.logs = var_dir / "log"
        self.run = var_dir / "run"
        self.pid = self.run / "launcher.pid"
        self.plan = self.run / "launcher-plan.json"
        self.state = self.run / "launcher-state.json"
        self.log = self.logs / "launcher.log"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.run.mkdir(parents=True, exist_ok=True)


def var_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("VAR_DIR") or ROOT / "var").resolve()


def say(message: str) -> None:
    bold = sys.stderr.isatty()
    print(f"\033[1m==> {message}\033[0m" if bold else f"==> {message}", file=sys.stderr, flush=True)


def _write_json(path: Path, data: dict, mode: int = 0o644) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# -- is the supervisor running? ---------------------------------------------
def supervisor_pid(paths: Paths) -> int | None:
    """The supervisor's pid if one holds the lock on the pid file, else None."""
    try:
        fd = os.open(paths.pid, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            for _ in range(50):  # locked: the supervisor writes its pid right after locking
                text = os.pread(fd, 32, 0).decode(errors="replace").strip()
                if text.isdigit():
                    return int(text)
                time.sleep(0.02)
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _lock(paths: Paths) -> int | None:
    fd = os.open(paths.pid, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


# -- processes left behind ---------------------------------------------------
def _is_service(pid: int) -> bool:
    """``pid`` is a live (not zombie) ``python -m services.…`` (or ``launcher.prometheus``) process."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and any(arg.startswith(b"services.") or arg == b"launcher.prometheus" for arg in cmdline)


def _stop_pids(pids: dict[str, int], timeout: float = STOP_TIMEOUT) -> list[str]:
    """SIGTERM, then SIGKILL, service processes that no supervisor owns (each
    leads its own process group); returns the names stopped."""
    pids = {name: pid for name, pid in pids.items() if _is_service(pid)}
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
            os.killpg(pid, signal.SIGCONT)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while any(_is_service(p) for p in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids.values():
        if _is_service(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
    while any(_is_service(p) for p in pids.values()) and time.monotonic() < deadline + 5:
        time.sleep(0.1)
    return sorted(pids)


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (exited, waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _stop_strays(paths: Paths, state: dict | None = None) -> list[str]:
    """Stop services a dead supervisor left running (its last state) and those
    of the former shell launcher (``run/<name>.pid``)."""
    state = _read_json(paths.state) if state is None else state
    pids = {s["name"]: s["pid"] for s in state.get("services", []) if s.get("pid")}
    for pidfile in paths.run.glob("*.pid"):
        if pidfile != paths.pid:
            try:
                pids[pidfile.stem] = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                pass
            pidfile.unlink(missing_ok=True)
    return _stop_pids(pids)


# -- readiness -----------------------------------------------------------------
def ready(url: str, path: str = "/readyz") -> bool:
    try:
        with urllib.request.urlopen(url + path, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


# -- the supervisor process ----------------------------------------------------
def supervise(paths: Paths) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s launcher[%(process)d]: %(message)s")
    lock = _lock(paths)
    if lock is None:
        log.error("another supervisor is running (pid file %s)", paths.pid)
        return EXIT_ALREADY_RUNNING
    base_env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    supervisor = Supervisor(paths.logs, base_env=base_env, restart=True, stop_timeout=STOP_TIMEOUT)
    flags = {"stop": False, "reload": True}

    def on_signal(signum, frame):  # only flags: the loop below acts within 0.2 s
        flags["stop" if signum != signal.SIGHUP else "reload"] = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    generation, errors, last = 0, {}, {"started": [], "stopped": []}
    written = None
    log.info("supervisor started (pid %d)", os.getpid())
    try:
        while not flags["stop"]:
            if flags["reload"]:
                flags["reload"] = False
                generation, errors, last = _apply(supervisor, _read_json(paths.plan))
                written = None
            supervisor.tick()
            if written != supervisor.changes:
                written = supervisor.changes
                _write_state(paths, supervisor, generation, errors, last)
            time.sleep(0.2)
    finally:
        log.info("stopping every service")
        supervisor.close()
        _write_state(paths, supervisor, generation, errors, last, running=False)
        log.info("supervisor stopped")
        os.close(lock)
    return 0


def _apply(supervisor: Supervisor, plan_file: dict) -> tuple[int, dict, dict]:
    generation = int(plan_file.get("generation", 0))
    try:
        desired = plan(plan_file.get("environ", {}))
    except ValueError as exc:
        log.error("cannot apply the plan: %s", exc)
        return generation, {"plan": str(exc)}, {"started": [], "stopped": []}
    stop, start = reconcile({n: c.spec for n, c in supervisor.children.items()}, desired)
    if stop:
        log.info("stopping %s", ", ".join(stop))
        supervisor.stop(*stop)
    errors = {}
    for spec in start:
        try:
            supervisor.start(spec)
        except (PortInUse, OSError, ValueError) as exc:
            log.error("%s", exc)
            errors[spec.name] = f"{spec.name}: {exc}" if not isinstance(exc, PortInUse) else str(exc)
    return generation, errors, {"started": [s.name for s in start], "stopped": stop}


def _write_state(paths: Paths, supervisor: Supervisor, generation: int, errors: dict, last: dict,
                 running: bool = True) -> None:
    services = [{
        "name": c.name, "service": c.spec.service, "pid": c.pid, "port": c.spec.port, "url": c.spec.url,
        "ready_path": c.spec.ready_path,
        "state": c.state, "restarts": c.restarts, "last_exit": c.last_exit, "log": str(c.log_path),
    } for c in supervisor.children.values()] if running else []
    _write_json(paths.state, {"supervisor": os.getpid() if running else None, "generation": generation,
                              "errors": errors, "last_change": last, "services": services})


# -- the commands ----------------------------------------------------------------
def up(paths: Paths, environ: Mapping[str, str], timeout: float) -> int:
    try:
        desired = plan(environ)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pid = supervisor_pid(paths)
    previous = _read_json(paths.plan).get("generation", 0) if pid else 0
    generation = int(previous) + 1
    started = time.monotonic()
    child = None
    if pid is None:
        stray = _stop_strays(paths)
        if stray:
            say(f"stopped services left over from an earlier run: {', '.join(stray)}")
        busy = [spec for spec in desired if not port_free(spec.port)]
        if busy:
            for spec in busy:
                print(f"error: {PortInUse(spec)}", file=sys.stderr)
            return 1
        paths.state.unlink(missing_ok=True)  # a dead supervisor's
        _write_json(paths.plan, {"generation": generation, "environ": dict(environ)}, 0o600)
        say(f"starting {', '.join(s.name for s in desired)} (logs in {paths.logs}/)")
        with open(paths.log, "ab") as out:
            child = subprocess.Popen([sys.executable, "-m", "launcher", "supervise"], cwd=ROOT,
                                     env={**environ, "VAR_DIR": str(paths.var)}, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    else:
        _write_json(paths.plan, {"generation": generation, "environ": dict(environ)}, 0o600)
        os.kill(pid, signal.SIGHUP)

    state = _await_state(paths, generation, child.pid if child else pid, child, STOP_TIMEOUT + 40)
    if state is None:
        return 1
    if state.get("errors"):
        for name, message in state["errors"].items():
            print(f"error: {message}", file=sys.stderr)
        return 1
    if pid is not None:
        change = state.get("last_change", {})
        if change.get("started") or change.get("stopped"):
            say("changed: " + "; ".join(f"{verb} {', '.join(change[verb])}" for verb in ("stopped", "started")
                                       if change.get(verb)))
        else:
            say(f"already running (supervisor pid {pid}); nothing to start")
    if not _await_ready(paths, desired, started + timeout):
        return 1
    gateways = [s for s in desired if s.service == "gateway"]
    for spec in desired:
        if spec.name == PROMETHEUS:
            say(f"Prometheus (alerts of deploy/prometheus/alerts.yml) on {spec.url}/")
    if gateways:
        say(f"Attendance Tracker is running: {gateways[0].url}/  (API under /api/v1; 'make stop' to stop)")
    else:
        say("the workers are running ('make stop' to stop)")
    return 0


def _await_state(paths: Paths, generation: int, pid: int, child: subprocess.Popen | None,
                 timeout: float) -> dict | None:
    """The state of supervisor ``pid`` once it has applied plan ``generation``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _read_json(paths.state)
        if state.get("supervisor") == pid and int(state.get("generation", 0)) >= generation:
            return state
        if child is not None and child.poll() is not None:
            print(f"error: the supervisor exited ({child.returncode}); see {paths.log}:\n"
                  + _tail(paths.log), file=sys.stderr)
            return None
        time.sleep(0.1)
    print(f"error: the supervisor did not answer within {timeout:.0f} s; see {paths.log}", file=sys.stderr)
    return None


def _await_ready(paths: Paths, desired: list[ProcessSpec], deadline: float) -> bool:
    pending = {spec.name: spec for spec in desired}
    waited = time.monotonic()
    announced = False
    while pending and time.monotonic() < deadline:
        for name, spec in list(pending.items()):
            if ready(spec.url, spec.ready_path):
                pending.pop(name)
                if announced:
                    say(f"{name} is ready ({time.monotonic() - waited:.0f} s)")
        if pending and not announced:
            say(f"waiting for {', '.join(pending)} to be ready")
            announced = True
        if pending and supervisor_pid(paths) is None:
            print(f"error: the supervisor is gone; see {paths.log}", file=sys.stderr)
            return False
        if pending:
            time.sleep(0.5)
    if not pending:
        return True
    services = {s["name"]: s for s in _read_json(paths.state).get("services", [])}
    for name in pending:
        s = services.get(name, {})
        print(f"error: {name} is not ready (state {s.get('state', '?')}, restarts {s.get('restarts', 0)}, "
              f"last exit {s.get('last_exit') or '-'}); its log, {s.get('log', paths.logs)}:\n"
              + _tail(Path(s.get("log", paths.logs / f"{name}.log")), 10), file=sys.stderr)
    print("the supervisor keeps trying; 'make stop' stops it", file=sys.stderr)
    return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def down(paths: Paths) -> int:
    pid = supervisor_pid(paths)
    state = _read_json(paths.state)
    names = [s["name"] for s in state.get("services", [])] if pid else []
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT + 30
        while supervisor_pid(paths) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if supervisor_pid(paths) is not None:
            print(f"the supervisor (pid {pid}) did not stop; killing it", file=sys.stderr)
            os.kill(pid, signal.SIGKILL)
        # The lock goes with the pid file's descriptor, a moment before the
        # process itself: return only once it is gone.
        while _running(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
    stray = _stop_strays(paths, state)  # anything the supervisor could not stop, and old pid files
    if pid is not None:
        say(f"stopped {', '.join(names) or 'the supervisor'}")
    elif stray:
        say(f"stopped {', '.join(stray)} (no supervisor was running)")
    else:
        say("nothing was running")
    return 0


def status(paths: Paths) -> int:
    pid = supervisor_pid(paths)
    if pid is None:
        print("not running")
        return EXIT_NOT_RUNNING
    services = _read_json(paths.state).get("services", [])
    print(f"supervisor pid {pid}; logs in {paths.logs}/")
    row = "{:<14} {:>7} {:>6}  {:<10} {:>8}  {:<5}  {}"
    print(row.format("service", "pid", "port", "state", "restarts", "ready", "last exit"))
    for s in services:
        print(row.format(s["name"], s["pid"] or "-", s["port"], s["state"], s["restarts"],
                         "yes" if ready(s["url"], s.get("ready_path", "/readyz")) else "no",
                         s["last_exit"] or "-"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start what is not running, wait until every service is ready")
    start.add_argument("--timeout", type=float, default=300, help="seconds to wait for readiness (default 300)")
    commands.add_parser("down", help="stop the supervisor and every service, and wait for them")
    commands.add_parser("status", help="each service: pid, port, state, restarts, ready")
    commands.add_parser("supervise", help="(internal) the supervisor itself, in the foreground")
    args = parser.parse_args(argv)
    paths = Paths(var_dir(os.environ))
    if args.command == "up":
        try:
            return up(paths, os.environ, args.timeout)
        except KeyboardInterrupt:
            print("\ninterrupted: what was started keeps starting in the background; 'make stop' stops it",
                  file=sys.stderr)
            return 130
    if args.command == "down":
        return down(paths)
    if args.command == "status":
        return status(paths)
    return supervise(paths)
