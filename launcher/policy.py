"""The supervisor's decisions, as pure functions: restart or not, and when.

No processes, no clock: the supervisor (``launcher/supervisor.py``) passes in
what happened and does what the answer says, so this is tested on its own
(``tests/unit/test_launcher.py``).
"""
from __future__ import annotations

import signal
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before restarting a process that keeps failing: ``first`` seconds,
    times ``factor`` per consecutive failure, at most ``longest``. A process that
    stayed up ``reset_after`` seconds starts the count again."""

    first: float = 1.0
    factor: float = 2.0
    longest: float = 30.0
    reset_after: float = 60.0

    def delay(self, failures: int) -> float:
        """The delay after the ``failures``-th consecutive failure (1, 2, ...)."""
        if failures < 1:
            return 0.0
        return min(self.longest, self.first * self.factor ** (failures - 1))


@dataclass(frozen=True)
class Decision:
    restart: bool
    delay: float  # seconds to wait before starting the successor
    failures: int  # consecutive failures, this one included
    reason: str


def decide(*, wanted: bool, restart_enabled: bool, uptime: float, failures: int,
           backoff: Backoff = Backoff()) -> Decision:
    """What to do about a process that exited after ``uptime`` seconds.

    ``wanted``: the supervisor still wants it running (False when it exited
    because it was asked to stop). ``failures``: consecutive failures before
    this one. A start that failed (e.g. its port is taken) is an exit with
    ``uptime`` 0.
    """
    if not wanted:
        return Decision(False, 0.0, 0, "stopped on request")
    if not restart_enabled:
        return Decision(False, 0.0, failures + 1, "restarts are off")
    failures = 1 if uptime >= backoff.reset_after else failures + 1
    return Decision(True, backoff.delay(failures), failures, f"failure {failures} in a row")


def describe_exit(returncode: int | None) -> str:
    """``exit code 3`` or ``signal SIGKILL (9)``, from a Popen returncode."""
    if returncode is None:
        return "running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"signal {name} ({-returncode})"
    return f"exit code {returncode}"
