"""The system's throughput and latency through HTTP, on a real stack, per image set and concurrency.

Starts its own stack (launcher.stack: its own vhost and database; one detector, embedder,
matcher and gateway by default), enrolls the four ``ENROLLED`` people from their train photos,
then for each image set (bench/images.py: val photos, 720p and 1080p frames, a group photo) and
each concurrency (1, 4, 8 clients, each sending its next photo as soon as the last is answered)
sends a warm-up, then a fixed number of ``POST /recognize`` requests, and records

* photos/s, p50/p95/p99 latency as the client sees it, errors;
* per stage, the mean queue wait and work time from the services' own metrics
  (``attendance_queue_wait_seconds``, ``attendance_job_seconds``: /metrics scraped before and after);
  the gateway's mean wait for the pipeline (``attendance_pipeline_seconds``);
* CPU seconds used by each service copy (its process session), RabbitMQ, FerretDB, this
  process (the clients) and the whole machine, and the load average.

A run with errors is run again once, after the stack is ready again (RabbitMQ and the database
are shared with whatever else runs on the machine); the report keeps the first attempt's errors.

Writes bench/reports/system.json.

    .venv/bin/python -m bench.system [--sets val,720p,1080p,group] [--concurrency 1,4,8] [--requests 100]
        [--group-requests 20] [--detectors 1] [--embedders 1] [--matchers 1] [--gateways 1]
"""
from __future__ import annotations

import argparse
import os
import threading
import time

import requests

from attendance_cli.client import ApiFailure, Client
from bench import procstat
from bench.images import SETS, image_sets
from bench.report import latency_summary, write_report
from dataset.celebrities import ENROLLED, ROLL_NOS, display_name, photos
from launcher.stack import Stack
from launcher.supervisor import ROOT

INFRA = {"rabbitmq": "beam.smp", "ferretdb": "ferretdb"}


def scrape(stack: Stack) -> dict[str, dict]:
    """Every copy's /metrics samples, by copy name."""
    return {name: procstat.samples(requests.get(s.url + "/metrics", timeout=10).text)
            for name, s in stack.services.items()}


def load(urls: list[str], images: list[tuple[str, bytes]], concurrency: int, total: int) -> dict:
    """``total`` requests from ``concurrency`` clients (round robin over ``urls`` and ``images``)."""
    latencies, errors, lock = [], {}, threading.Lock()
    found = {"faces": 0, "named": 0}
    counter = iter(range(total))

    def client(k: int) -> None:
        api = Client(urls[k % len(urls)], timeout=120)  # a session per thread
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            label, data = images[i % len(images)]
            t0 = time.perf_counter()
            try:
                faces = api.json("POST", "/recognize", files={"image": (label, data, "image/jpeg")})["faces"]
            except (ApiFailure, requests.RequestException) as exc:
                with lock:
                    code = getattr(exc, "code", type(exc).__name__)
                    errors[code] = errors.get(code, 0) + 1
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)
                found["faces"] += len(faces)
                found["named"] += sum(1 for f in faces if f.get("match"))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    return {"requests": total, "ok": len(latencies), "errors": errors, "seconds": round(seconds, 2),
            "photos_per_second": round(len(latencies) / seconds, 3), "latency_seconds": latency_summary(latencies),
            **{f"{k}_per_photo": round(v / max(1, len(latencies)), 2) for k, v in found.items()}}


def measured_run(stack: Stack, urls, images, concurrency: int, total: int) -> dict:
    load(urls, images, concurrency, max(concurrency, min(len(images), 5)))  # warm-up
    sessions = {name: s.proc.pid for name, s in stack.services.items()}
    before, cpu0 = scrape(stack), procstat.cpu_seconds(sessions, INFRA)
    busy0, own0, load0 = procstat.machine_busy_seconds(), sum(os.times()[:2]), os.getloadavg()[0]
    out = load(urls, images, concurrency, total)
    busy, own = procstat.machine_busy_seconds() - busy0, sum(os.times()[:2]) - own0
    cpu = {k: v - cpu0[k] for k, v in procstat.cpu_seconds(sessions, INFRA).items()}
    after = scrape(stack)
    b, a = procstat.add(*before.values()), procstat.add(*after.values())
    out["stages"] = procstat.stage_times(b, a)
    jobs, mean = procstat.histogram_mean(b, a, "attendance_pipeline_seconds", kind="recognize")
    out["stages"]["gateway"] = {"pipeline_jobs": jobs, "pipeline_mean_s": mean}
    cpu["bench clients"] = own
    cpu["everything else"] = max(0.0, busy - sum(cpu.values()))  # counters tick at 10 ms
    out["cpu_seconds"] = {k: round(v, 2) for k, v in cpu.items()}
    out["cpu_seconds_per_photo"] = {k: round(v / max(1, out["ok"]), 4) for k, v in cpu.items()}
    out["machine_busy_share"] = round(busy / (out["seconds"] * (os.cpu_count() or 1)), 3)
    out["load_average"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    return out


def start(stack: Stack, copies: dict[str, int]) -> list[str]:
    """Start the copies; returns the gateways' URLs."""
    urls = []
    for module, n in copies.items():
        for i in range(n):
            service = stack.start(f"{module}-{i}", module)
            if module == "gateway":
                urls.append(service.url)
    stack.wait_ready()
    return urls


def run(sets=SETS, concurrency=(1, 4, 8), requests_per_run: int = 100, group_requests: int = 20,
        copies: dict[str, int] | None = None) -> dict:
    copies = copies or {"detector": 1, "embedder": 1, "matcher": 1, "gateway": 1}
    images = image_sets(sets)
    stack = Stack(log_dir=ROOT / "var" / "log" / "bench", prefix="attendance-bench")
    stack.create()
    started = time.perf_counter()
    try:
        urls = start(stack, copies)
        api = Client(urls[0], timeout=300)
        t0, enrolled = time.perf_counter(), 0
        for person in ENROLLED:
            body = api.enroll({"rollNo": ROLL_NOS[person], "name": display_name(person)}, photos("train", person))
            enrolled += sum(1 for i in body["images"] if i["accepted"])
        report: dict = {"copies": copies, "embedder_runtime": stack.env.get("EMBEDDER_RUNTIME", "auto"),
                        "enrolled_photos": enrolled, "enroll_seconds": round(time.perf_counter() - t0, 2),
                        "images": {name: len(items) for name, items in images.items()}, "sets": {}}
        for name, items in images.items():
            total = group_requests if name == "group" else requests_per_run
            for c in concurrency:
                figures = measured_run(stack, urls, items, c, total)
                if figures["errors"]:  # the broker and database are shared: e.g. somebody restarted RabbitMQ
                    stack.wait_ready(timeout=300)
                    failed = figures["errors"]
                    figures = dict(measured_run(stack, urls, items, c, total), errors_in_a_first_attempt=failed)
                report["sets"].setdefault(name, {})[str(c)] = figures
                print(f"{name} c={c}: {figures['photos_per_second']} photos/s, "
                      f"p50 {figures['latency_seconds'].get('p50')} s, errors {figures['errors']}", flush=True)
        report["what_ran"] = {n: _said(s.log_path, SAYS[s.module]) for n, s in stack.services.items()
                              if s.module in SAYS}
    finally:
        stack.destroy()
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


SAYS = {"detector": " loaded on ", "embedder": " ready on runtime "}  # how a copy's log names its model and runtime


def _said(log_path, words: str) -> str | None:
    """The message of the last line of a copy's log with ``words`` in it."""
    try:
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if words in line]
    except OSError:
        return None
    return lines[-1].split("]: ", 1)[-1][:200] if lines else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--requests", type=int, default=100, help="per run, for the one-face sets")
    parser.add_argument("--group-requests", type=int, default=20, help="per run, for the group photo")
    for module in ("detector", "embedder", "matcher", "gateway"):
        parser.add_argument(f"--{module}s", type=int, default=1)
    args = parser.parse_args()
    copies = {m: getattr(args, f"{m}s") for m in ("detector", "embedder", "matcher", "gateway")}
    report = run(tuple(args.sets.split(",")), tuple(int(c) for c in args.concurrency.split(",")),
                 args.requests, args.group_requests, copies)
    write_report("system", report, quiet=True)


if __name__ == "__main__":
    main()
