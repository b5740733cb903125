"""CPU seconds from /proc (Linux): of a process and everything in its session, of named
processes, and of the whole machine; and the Prometheus text format's samples."""
from __future__ import annotations

import os
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stats():
    """(pid, comm, session id, CPU seconds) of every process readable now."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
        # rest[3] = session, rest[11] = utime, rest[12] = stime (proc(5), fields 6, 14, 15)
        yield int(entry.name), comm, int(rest[3]), (int(rest[11]) + int(rest[12])) / TICK


def cpu_seconds(sessions: dict[str, int], names: dict[str, str] | None = None) -> dict[str, float]:
    """CPU seconds used so far by each session (``{label: session leader pid}``: a service copy
    started in its own session, children included) and each process ``comm`` (``{label: comm}``)."""
    by_session = {pid: label for label, pid in sessions.items()}
    by_name = {comm: label for label, comm in (names or {}).items()}
    out = {label: 0.0 for label in [*sessions, *(names or {})]}
    for _, comm, session, seconds in _stats():
        if session in by_session:
            out[by_session[session]] += seconds
        elif comm in by_name:
            out[by_name[comm]] += seconds
    return out


def machine_busy_seconds() -> float:
    """CPU seconds the machine has been busy (all processes, all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK  # minus idle and iowait


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus text exposition: ``{(name, sorted label pairs): value}``."""
    out: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            out[key] = out.get(key, 0.0) + s.value
    return out


def add(*scrapes: dict) -> dict:
    """The samples of several copies' scrapes added up (same name and labels)."""
    total: dict = {}
    for scrape in scrapes:
        for key, value in scrape.items():
            total[key] = total.get(key, 0.0) + value
    return total


def stage_times(before: dict, after: dict, kind: str = "recognize",
                histograms=("attendance_queue_wait_seconds", "attendance_job_seconds")) -> dict:
    """Per stage (the ``service`` label): jobs and mean seconds of each histogram between two scrapes."""
    out: dict[str, dict] = {}
    for (name, labels), value in after.items():
        base = next((h for h in histograms if name == h + "_count"), None)
        labels_d = dict(labels)
        if base is None or labels_d.get("kind") != kind or "service" not in labels_d:
            continue
        jobs = value - before.get((name, labels), 0.0)
        total = after.get((base + "_sum", labels), 0.0) - before.get((base + "_sum", labels), 0.0)
        stage = out.setdefault(labels_d["service"], {})
        key = "queue_wait" if base.endswith("queue_wait_seconds") else "work"
        stage[f"{key}_jobs"] = int(round(jobs))
        stage[f"{key}_mean_s"] = round(total / jobs, 4) if jobs else None
    return out


def histogram_mean(before: dict, after: dict, name: str, **labels) -> tuple[int, float | None]:
    """(observations, mean) of one histogram's series between two scrapes."""
    key = tuple(sorted(labels.items()))
    count = after.get((name + "_count", key), 0.0) - before.get((name + "_count", key), 0.0)
    total = after.get((name + "_sum", key), 0.0) - before.get((name + "_sum", key), 0.0)
    return int(round(count)), (round(total / count, 4) if count else None)
