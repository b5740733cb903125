"""A bounded load of recognize requests against a gateway on loopback: a fixed
number of requests (or a fixed duration), a fixed number of concurrent clients,
and a record of what each request got."""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from dataset.celebrities import ENROLLED, HELD_OUT, ROLL_NOS, photos

# How long past the gateway's deadline a request may take before it counts as hung.
HANG_MARGIN_SECONDS = 10.0


@dataclass(frozen=True)
class Outcome:
    expected: str | None  # rollNo, or None for a person not enrolled
    status: int | None  # None: no HTTP answer at all (reset, refused, hung)
    got: str | None = None  # rollNo matched to the largest face
    code: str | None = None  # the error code of a JSON error
    seconds: float = 0.0
    detail: str = ""

    @property
    def verdict(self) -> str:
        """right, wrong, 503, 504, or lost (no answer, a 500, anything unclear)."""
        if self.status == 200:
            return "right" if self.got == self.expected else "wrong"
        if self.status in (503, 504) and self.code:
            return str(self.status)
        return "lost"


def val_photos() -> list[tuple[Path, str | None]]:
    """Every val photo with the rollNo it must be recognised as (None: the stranger)."""
    cases = [(p, ROLL_NOS[person]) for person in ENROLLED for p in photos("val", person)]
    return cases + [(p, None) for p in photos("val", HELD_OUT)]


def recognize_once(url: str, path: Path, expected: str | None, deadline_seconds: float) -> Outcome:
    started = time.monotonic()
    try:
        resp = requests.post(url + "/api/v1/recognize", files={"image": (path.name, path.read_bytes(), "image/jpeg")},
                             timeout=deadline_seconds + HANG_MARGIN_SECONDS)
    except requests.RequestException as exc:
        return Outcome(expected, None, seconds=time.monotonic() - started, detail=type(exc).__name__)
    seconds = time.monotonic() - started
    try:
        body = resp.json()
    except ValueError:
        return Outcome(expected, resp.status_code, seconds=seconds, detail=resp.text[:200])
    if resp.status_code != 200:
        return Outcome(expected, resp.status_code, code=(body.get("error") or {}).get("code"), seconds=seconds)
    faces = body.get("faces") or []
    if not faces:
        return Outcome(expected, 200, got="(no face)", seconds=seconds)
    face = max(faces, key=lambda f: f["box"][2] * f["box"][3])
    return Outcome(expected, 200, got=face["match"]["rollNo"] if face["match"] else None, seconds=seconds)


def run_load(url: str, total: int | None = None, seconds: float | None = None, clients: int = 8,
             deadline_seconds: float = 30.0, during=None, pause_after_error: float = 0.5) -> list[Outcome]:
    """Send ``total`` requests (or as many as fit in ``seconds``) from ``clients``
    threads. ``during(done_count)`` is called after each answer (to inject
    faults). A client pauses after an error answer, as a real one would."""
    assert total or seconds, "bound the load by a count or a duration"
    cases = val_photos()
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    next_index = [0]
    stop_at = time.monotonic() + seconds if seconds else None

    def client() -> None:
        while True:
            with lock:
                i = next_index[0]
                if (total is not None and i >= total) or (stop_at and time.monotonic() >= stop_at):
                    return
                next_index[0] += 1
            path, expected = cases[i % len(cases)]
            outcome = recognize_once(url, path, expected, deadline_seconds)
            with lock:
                outcomes.append(outcome)
                done = len(outcomes)
            if during is not None:
                during(done)
            if outcome.verdict != "right":
                time.sleep(pause_after_error)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        for f in [pool.submit(client) for _ in range(clients)]:
            f.result()
    return outcomes


def summary(outcomes: list[Outcome]) -> dict:
    verdicts = Counter(o.verdict for o in outcomes)
    return {"requests": len(outcomes), **{k: verdicts.get(k, 0) for k in ("right", "wrong", "503", "504", "lost")},
            "slowest_seconds": round(max((o.seconds for o in outcomes), default=0.0), 2)}


def rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (a gunicorn master and its worker)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += rss_kib(int(child))
    except OSError:
        pass
    return total
