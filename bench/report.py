"""Write a benchmark's figures: printed, and as JSON under bench/reports/."""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_report(name: str, report: dict) -> Path:
    out = ROOT / "bench" / "reports" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"report written to {out.relative_to(ROOT)}")
    return out
