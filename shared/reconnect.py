"""Stay connected to the broker: run a connection's life, and on failure wait
(exponential backoff) and run it again. Shared by the workers and the
gateway's pipeline client."""
from __future__ import annotations

import logging
import time
from typing import Callable

from shared.broker import RECONNECT_ERRORS

log = logging.getLogger(__name__)


class Backoff:
    """Delays of 1, 2, 4, ... seconds up to ``maximum``; :meth:`reset` after a success."""

    def __init__(self, initial: float = 1.0, maximum: float = 15.0):
        self.initial, self.maximum = initial, maximum
        self._next = initial

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


def keep_connected(
    session: Callable[[Callable[[], None]], None],
    *,
    name: str,
    on_down: Callable[[], None] = lambda: None,
    stopping: Callable[[], bool] = lambda: False,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run ``session(connected)`` until ``stopping()``, reconnecting after failures.

    ``session`` connects and serves until its connection ends (it returns or
    raises); it calls ``connected()`` once it is serving, which resets the
    backoff. ``on_down`` runs after every session, whatever ended it: report
    not-ready, fail waiters. Failures other than the broker's (a database down
    while the matcher loads its gallery) are retried the same way and logged
    with their traceback.
    """
    backoff = backoff or Backoff()
    while not stopping():
        try:
            session(backoff.reset)
            reason = "connection closed"
        except RECONNECT_ERRORS as exc:
            reason = f"broker connection lost ({exc or type(exc).__name__})"
        except Exception:  # noqa: BLE001 - keep the service alive, report not ready
            log.exception("%s failed", name)
            reason = "failed"
        finally:
            on_down()
        if stopping():
            break
        delay = backoff.next()
        log.warning("%s: %s; reconnecting in %.0fs", name, reason, delay)
        sleep(delay)
