"""Write a benchmark's figures: printed, and as JSON under bench/reports/; the
percentiles every benchmark reports."""
from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# BENCH_REPORTS_DIR: another directory (bench.performance keeps the reports of one run together there)
REPORTS = Path(os.environ.get("BENCH_REPORTS_DIR") or ROOT / "bench" / "reports").resolve()


def percentile(values, q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``: the nearest rank, no interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def latency_summary(seconds) -> dict:
    """p50/p95/p99, mean, min, max (seconds, rounded to the ms) and count of a list of durations."""
    values = list(seconds)
    if not values:
        return {"n": 0}
    out = {f"p{round(q * 100)}": round(percentile(values, q), 4) for q in (0.5, 0.95, 0.99)}
    return dict(out, mean=round(sum(values) / len(values), 4), min=round(min(values), 4),
                max=round(max(values), 4), n=len(values))


def write_report(name: str, report: dict, quiet: bool = False) -> Path:
    out = REPORTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    if not quiet:
        print(json.dumps(report, indent=2))
    print(f"report written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return out


def read_report(name: str) -> dict | None:
    """A report written by :func:`write_report`, or None if there is none."""
    path = REPORTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None
