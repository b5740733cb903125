"""End-to-end latency of the pipeline, measured through HTTP on a real stack.

Starts its own stack (gateway, detector, embedder, matcher on the local RabbitMQ
and database, like the end-to-end tests), enrolls four of the five people of the
5-celebrity data set from their train photos, then

* recognizes each of the 25 val photos one at a time (latency per call),
* recognizes them again with 8 concurrent clients (throughput),

prints the figures and writes bench/reports/latency.json.

    .venv/bin/python -m bench.latency [--embedders N] [--detectors N]   (from the repository root)
"""
from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from attendance_cli.client import Client
from bench.report import percentile, write_report
from dataset.celebrities import DATASET, ENROLLED, HELD_OUT, ROLL_NOS, display_name, photos
from launcher.stack import Stack
from launcher.supervisor import ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", type=int, default=1)
    parser.add_argument("--detectors", type=int, default=1)
    args = parser.parse_args()
    stack = Stack(log_dir=ROOT / "var" / "log" / "bench", prefix="attendance-bench")
    stack.create()
    try:
        for i in range(args.detectors):
            stack.start(f"detector-{i}", "detector")
        for i in range(args.embedders):
            stack.start(f"embedder-{i}", "embedder")
        stack.start("matcher", "matcher")
        gateway = stack.start("gateway", "gateway")
        stack.wait_ready()
        api = Client(gateway.url, timeout=300)  # the `attendance` command's client: an API error raises

        enroll_started = time.time()
        train_photos = 0
        for person in ENROLLED:
            files = photos("train", person)
            train_photos += len(files)
            api.enroll({"rollNo": ROLL_NOS[person], "name": display_name(person)}, files)
        enroll_seconds = time.time() - enroll_started

        val = [p for person in ENROLLED + [HELD_OUT] for p in photos("val", person)]
        api.recognize(val[0])  # warm-up: first TensorFlow calls are slow
        latencies = []
        for path in val:
            t0 = time.perf_counter()
            api.recognize(path)
            latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:  # a client each: a session is not shared between threads
            answers = list(pool.map(lambda p: Client(gateway.url, timeout=300).recognize(p), val * 2))
        concurrent_seconds = time.perf_counter() - t0

        report = {
            "data": f"{DATASET}: {train_photos} train photos of 4 people enrolled, {len(val)} val photos recognized",
            "embedders": args.embedders,
            "detectors": args.detectors,
            "enroll_seconds_total": round(enroll_seconds, 2),
            "enroll_seconds_per_photo": round(enroll_seconds / train_photos, 3),
            "recognize_latency_seconds": {
                "median": round(statistics.median(latencies), 3),
                "p90": round(percentile(latencies, 0.9), 3),
                "max": round(max(latencies), 3),
                "min": round(min(latencies), 3),
            },
            "concurrent_8_clients": {
                "requests": len(answers),
                "seconds": round(concurrent_seconds, 2),
                "requests_per_second": round(len(answers) / concurrent_seconds, 2),
            },
        }
    finally:
        stack.destroy()
    write_report("latency", report)


if __name__ == "__main__":
    main()
