"""Watch a dependency from a daemon thread, so readiness answers at once and
follows an outage (and the recovery) within seconds."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)


class Probe:
    """Runs ``check()`` every ``interval`` seconds; ``ok`` is its last answer.

    ``on_change(ok)`` runs on the probe's thread whenever the answer changes
    (and once at the first check).
    """

    def __init__(self, name: str, check: Callable[[], bool], interval: float = 2.0,
                 on_change: Callable[[bool], None] = lambda ok: None):
        self.name, self.check, self.interval, self.on_change = name, check, interval, on_change
        self._ok: bool | None = None
        self._thread = threading.Thread(target=self._run, name=f"probe-{name}", daemon=True)

    @property
    def ok(self) -> bool:
        return bool(self._ok)

    def start(self) -> "Probe":
        self._thread.start()
        return self

    def poll(self) -> bool:
        try:
            ok = bool(self.check())
        except Exception:  # noqa: BLE001 - a failing check means "not reachable"
            ok = False
        if ok != self._ok:
            if self._ok is not None:
                log.warning("%s %s", self.name, "reachable again" if ok else "unreachable")
            self._ok = ok
            self.on_change(ok)
        return ok

    def _run(self) -> None:
        while True:
            self.poll()
            time.sleep(self.interval)
