"""``make bench``: every performance benchmark in one run, and docs/PERFORMANCE.md from their reports.

Runs, each as its own process (its own TensorFlow, threads and memory; each writes its JSON report
to bench/reports/performance/):

1. bench.baselines - the two in-process baselines (the seed's way, compiled in-process code);
2. bench.system - the real stack through HTTP: throughput, p50/p95/p99 latency at concurrency
   1, 4, 8 per image set, per-stage queue wait and work time, CPU per process;
3. bench.embedder - faces/s against batch size per runtime;
4. bench.matcher - query latency and memory against gallery size (1k to 1M), load time;
5. bench.reports_at_scale - attendance reports over a year of data;

while sampling the load average, then writes docs/PERFORMANCE.md (the machine, the goals as
ratios, the tables) and its plots under docs/performance/ (bench/performance_doc.py,
bench/performance_plots.py).

    .venv/bin/python -m bench.performance [--quick] [--only system,baselines,...] [--render-only]

About 17 minutes on the project's 2-core machine (the matcher's million vectors, written to and
loaded from the database, take 7 of them); ``--quick`` (fewer requests and rounds, the matcher up to
100k vectors, 90 days of reports) about 5. ``--only`` runs some parts again and keeps the other
parts' reports; ``--render-only`` rewrites the document from the reports already there.
``BENCH_REPORTS_DIR`` puts the reports elsewhere (the document is still docs/PERFORMANCE.md).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

from bench.report import ROOT

REPORTS = Path(os.environ.get("BENCH_REPORTS_DIR") or ROOT / "bench" / "reports" / "performance").resolve()
PARTS = ("baselines", "system", "embedder", "matcher", "reports-at-scale")
PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "onnxruntime", "mtcnn", "keras-facenet", "numpy", "faiss-cpu", "openvino", "pika",
            "pymongo", "flask", "gunicorn")


def commands(quick: bool, ncpu: int) -> dict[str, list[str]]:
    """The module and arguments of each part; ``quick``: smaller runs of the same benchmarks."""
    return {
        "baselines": ["bench.baselines", "--group-repeats", "2" if quick else "5"],
        "system": ["bench.system", "--requests", "40" if quick else "100", "--group-requests", "8" if quick else "20"],
        "embedder": ["bench.embedder", "--runtimes", "keras,onnxruntime,onnxruntime-int8", "--threads", str(ncpu),
                     "--rounds", "1" if quick else "2", "--seconds", "0.3" if quick else "0.5"],
        "matcher": ["bench.matcher", "--load", "10000"] if quick else ["bench.matcher", "--million"],  # loads 1M
        "reports-at-scale": ["bench.reports_at_scale", "--days", "90" if quick else "365"],
    }


class LoadSampler:
    """The 1-minute load average every ``every`` seconds, in a daemon thread, by phase."""

    def __init__(self, every: float = 5.0):
        self.every, self.phase, self.samples = every, "start", {}
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.setdefault(self.phase, []).append(round(os.getloadavg()[0], 2))
            self._stop.wait(self.every)

    def stop(self) -> dict:
        self._stop.set()
        return {phase: {"min": min(v), "mean": round(sum(v) / len(v), 2), "max": max(v), "samples": len(v)}
                for phase, v in self.samples.items() if v}


def machine() -> dict:
    info = {}
    try:
        cpuinfo = open("/proc/cpuinfo").read()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                           if line.startswith("model name"))
        info["memory_gb"] = round(int(next(line.split()[1] for line in open("/proc/meminfo")
                                           if line.startswith("MemTotal"))) / 2**20, 1)
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or platform.machine()
    info["cores"] = os.cpu_count()
    info["cores_available"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["os"] = platform.platform()
    info["python"] = platform.python_version()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    info["versions"] = versions
    return info


def run_part(part: str, argv: list[str]) -> dict:
    env = dict(os.environ, BENCH_REPORTS_DIR=str(REPORTS), TF_CPP_MIN_LOG_LEVEL="2")
    print(f"\n== {part}: python -m {' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    code = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=env).returncode
    return {"command": "python -m " + " ".join(argv), "exit_code": code, "seconds": round(time.perf_counter() - t0),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, a few minutes")
    parser.add_argument("--only", default=",".join(PARTS), help="the parts to run (the others' reports are reused)")
    parser.add_argument("--render-only", action="store_true", help="only write the document from the reports")
    args = parser.parse_args()
    from bench import performance_doc  # matplotlib only once the benchmarks are done

    REPORTS.mkdir(parents=True, exist_ok=True)
    run_path = REPORTS / "run.json"
    if not args.render_only:
        previous = json.loads(run_path.read_text()) if run_path.is_file() else {}
        started = time.time()
        run = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
               "machine": machine(), "parts": dict(previous.get("parts", {}))}
        sampler = LoadSampler()
        for part, argv in commands(args.quick, os.cpu_count() or 1).items():
            if part in args.only.split(","):
                sampler.phase = part
                run["parts"][part] = run_part(part, argv)
        run["load_average"] = dict(previous.get("load_average", {}), **sampler.stop())
        run["seconds"] = round(time.time() - started)
        run_path.write_text(json.dumps(run, indent=2) + "\n")
    out = performance_doc.write(REPORTS)
    print(f"\nwritten: {out.relative_to(ROOT)} and its plots in docs/performance/ (from {REPORTS})")


if __name__ == "__main__":
    main()
