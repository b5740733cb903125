"""The Grafana dashboard as a PNG, without Grafana: the panels of
deploy/grafana/dashboards/attendance.json, their own queries run against a
Prometheus over the last minutes, plotted with matplotlib.

Start a stack with its Prometheus and put some load on it first, e.g.

    MONITORING=1 PROMETHEUS_SCRAPE_INTERVAL=5s make run   # then enroll and recognize for a few minutes
    .venv/bin/python -m bench.dashboard_png --prometheus http://127.0.0.1:9090 --minutes 15

and look at docs/dashboard.png. Grafana's ``$__rate_interval`` becomes
``--rate-window`` (default 1m: a few scrapes at the local 5-15 s interval).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import time
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "attendance.json"
UNITS = {"s": "seconds", "reqps": "requests/s", "percentunit": "share", "short": ""}


def grafana_to_promql(expr: str, window: str) -> str:
    for variable in ("$__rate_interval", "$__interval"):
        expr = expr.replace(variable, window)
    return expr.replace("$__range", window)


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template) or json.dumps(labels)


def query_range(base: str, promql: str, start: float, end: float, step: float) -> list[dict]:
    answer = requests.get(base.rstrip("/") + "/api/v1/query_range", timeout=30,
                          params={"query": promql, "start": start, "end": end, "step": step}).json()
    if answer.get("status") != "success":
        raise RuntimeError(f"{promql}: {answer.get('error', answer)}")
    return answer["data"]["result"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--rate-window", default="1m")
    parser.add_argument("--columns", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    board = json.loads(DASHBOARD.read_text())
    panels = [p for p in board["panels"] if p["type"] != "row"]
    end = time.time()
    start = end - 60 * args.minutes
    step = max(1.0, (end - start) / 240)
    rows = math.ceil(len(panels) / args.columns)
    fig, axes = plt.subplots(rows, args.columns, figsize=(6.2 * args.columns, 3.1 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        unit = panel["fieldConfig"]["defaults"].get("unit", "short")
        drawn = 0
        for target in panel["targets"]:
            for series in query_range(args.prometheus, grafana_to_promql(target["expr"], args.rate_window),
                                      start, end, step):
                points = [(datetime.fromtimestamp(t), float(v)) for t, v in series["values"]
                          if v not in ("NaN", "+Inf", "-Inf")]
                if not points:
                    continue
                xs, ys = zip(*points)
                if unit == "percentunit":
                    ys = [100 * y for y in ys]
                ax.plot(xs, ys, linewidth=1.2, label=legend(target.get("legendFormat", ""), series["metric"]))
                drawn += 1
        ax.set_title(panel["title"], fontsize=10, loc="left")
        ax.set_ylabel("%" if unit == "percentunit" else UNITS.get(unit, unit), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlim(datetime.fromtimestamp(start), datetime.fromtimestamp(end))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=6, loc="upper left", ncol=2 if drawn > 4 else 1, framealpha=0.6)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"{board['title']}: the last {args.minutes:g} minutes "
                 f"({datetime.fromtimestamp(start):%Y-%m-%d %H:%M} to {datetime.fromtimestamp(end):%H:%M}), "
                 f"from {args.prometheus}", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out} ({len(panels)} panels)")


if __name__ == "__main__":
    main()
