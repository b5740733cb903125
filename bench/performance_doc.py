"""docs/PERFORMANCE.md from the reports of one ``bench.performance`` run: the machine, the goals
as ratios to the in-process baselines, the tables and the plots (bench/performance_plots.py)."""
from __future__ import annotations

import json
from pathlib import Path

from bench.report import ROOT

DOC = ROOT / "docs" / "PERFORMANCE.md"
PLOTS = ROOT / "docs" / "performance"
STAGES = ("detector", "embedder", "matcher")
# (figure, concurrency, measure, baseline, comparison, goal): the goals, per image set
GOALS = (("throughput", "8", "photos_per_second", "compiled", ">=", 2.0),
         ("throughput", "8", "photos_per_second", "seed", ">=", 6.0),
         ("median latency", "1", "p50", "compiled", "<=", 1.0))
BASELINE_NAMES = {"compiled": "compiled in-process", "seed": "the seed's way"}


def table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _value(figures: dict, measure: str):
    return figures["latency_seconds"].get(measure) if measure in ("p50", "p95", "p99") else figures.get(measure)


def goals(baselines: dict, system: dict) -> list[dict]:
    """Each goal per image set: the system's figure, the baseline's, their ratio and whether it is met."""
    rows = []
    for name, runs in system.get("sets", {}).items():
        for figure, c, measure, kind, op, goal in GOALS:
            base = baselines.get(kind, {}).get("sets", {}).get(name)
            ours = runs.get(c)
            if not base or not ours or not _value(base, measure) or _value(ours, measure) is None:
                continue
            ours_v, base_v = _value(ours, measure), _value(base, measure)
            ratio = ours_v / base_v
            rows.append({"set": name, "figure": f"{figure} at concurrency {c}", "baseline": kind,
                         "goal": f"{op} {goal:g}x {BASELINE_NAMES[kind]}", "system": ours_v, "base": base_v,
                         "unit": "photos/s" if measure == "photos_per_second" else "s",
                         "ratio": round(ratio, 2), "met": ratio >= goal if op == ">=" else ratio <= goal})
    return rows


def goals_table(rows: list[dict]) -> str:
    return table(["image set", "figure", "goal", "measured", "met?"], [
        (r["set"], r["figure"], r["goal"], f"{r['system']:g} vs {r['base']:g} {r['unit']}: **{r['ratio']:.2f}x**",
         "yes" if r["met"] else "**no**") for r in rows])


def bottlenecks(system: dict, concurrency: str = "8") -> str:
    """Per image set at ``concurrency``: the stage where jobs waited longest, and each stage's work time."""
    lines = []
    for name, runs in system.get("sets", {}).items():
        stages = runs.get(concurrency, {}).get("stages", {})
        waits = {s: stages.get(s, {}).get("queue_wait_mean_s") or 0 for s in STAGES}
        if not any(waits.values()):
            continue
        worst = max(waits, key=waits.get)
        work = ", ".join(f"{s} {_ms(stages.get(s, {}).get('work_mean_s'))}" for s in STAGES)
        lines.append(f"- {name}: jobs waited longest for the **{worst}** ({_ms(waits[worst])} ms on average); "
                     f"work per photo: {work} ms")
    if not lines:
        return ""
    return f"Where the time goes at concurrency {concurrency} (from the per-stage table below):\n\n" + "\n".join(lines)


def _copies(system: dict) -> str:
    copies = system.get("copies", {})
    return ", ".join(f"{n} {k}" for k, n in copies.items()) if copies else "one copy of each"


def throughput_table(baselines: dict, system: dict) -> str:
    rows = []
    for name, runs in system.get("sets", {}).items():
        compiled = baselines.get("compiled", {}).get("sets", {}).get(name, {})
        seed = baselines.get("seed", {}).get("sets", {}).get(name, {})
        for kind, figures in (("seed", seed), ("compiled", compiled)):
            if figures:
                lat = figures["latency_seconds"]
                rows.append((name, f"baseline: {BASELINE_NAMES[kind]}", "1 (sequential)",
                             figures["photos_per_second"], lat["p50"], lat["p95"], lat["p99"], "",
                             _found(figures), "", ""))
        for c, f in runs.items():
            lat, tput = f["latency_seconds"], f["photos_per_second"]
            rows.append((name, "system", c, tput, lat.get("p50"), lat.get("p95"), lat.get("p99"),
                         _errors(f), _found(f),
                         _ratio(tput, compiled.get("photos_per_second")), _ratio(tput, seed.get("photos_per_second"))))
    return table(["image set", "what", "concurrency", "photos/s", "p50 s", "p95 s", "p99 s", "errors",
                  "faces / named per photo", "x compiled", "x seed"], rows)


def _errors(figures: dict) -> str:
    text = str(sum(figures["errors"].values()))
    first = figures.get("errors_in_a_first_attempt")
    if first:  # the run was repeated
        text += " (run again: the first attempt had " + ", ".join(f"{n} {code}" for code, n in first.items()) + ")"
    return text


def _found(figures: dict) -> str:
    return f"{figures['faces_per_photo']:g} / {figures['named_per_photo']:g}" if "faces_per_photo" in figures else ""


def _ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a and b else ""


def stages_table(system: dict) -> str:
    rows = []
    for name, runs in system.get("sets", {}).items():
        for c, f in runs.items():
            st = f.get("stages", {})
            cells = []
            for stage in STAGES:
                s = st.get(stage, {})
                cells += [_ms(s.get("queue_wait_mean_s")), _ms(s.get("work_mean_s"))]
            rows.append((name, c, *cells, _ms(st.get("gateway", {}).get("pipeline_mean_s")),
                         _ms(f["latency_seconds"].get("mean"))))
    head = ["image set", "concurrency"] + [f"{s} {w}" for s in STAGES for w in ("wait ms", "work ms")]
    return table(head + ["gateway pipeline ms", "client mean ms"], rows)


def _ms(seconds) -> str:
    return "" if seconds is None else f"{seconds * 1000:.0f}" if seconds >= 0.01 else f"{seconds * 1000:.1f}"


def cpu_table(system: dict) -> str:
    runs = [(name, c, f) for name, r in system.get("sets", {}).items() for c, f in r.items()]
    labels = list(dict.fromkeys(k for _, _, f in runs for k in f.get("cpu_seconds_per_photo", {})))
    rows = [(name, c, *(_ms(max(0.0, f["cpu_seconds_per_photo"].get(k, 0.0))) for k in labels),  # ticks: +-10 ms
             f"{f.get('machine_busy_share', 0):.0%}", " / ".join(map(str, f.get("load_average", []))))
            for name, c, f in runs]
    return table(["image set", "concurrency"] + [f"{k} ms" for k in labels]
                 + ["machine busy", "load avg (start / end)"], rows)


def embedder_table(report: dict) -> str:
    keys = [k for k, r in report.get("runtimes", {}).items() if "faces_per_second" in r]
    if not keys:
        return "(no embedder report)"
    batches = sorted({int(b) for k in keys for b in report["runtimes"][k]["faces_per_second"]})
    rows = []
    for k in keys:
        r = report["runtimes"][k]
        rows.append((k, *(r["faces_per_second"].get(str(b)) for b in batches),
                     r.get("cpu_ms_per_face", {}).get(str(batches[-1])), r.get("load_seconds"),
                     f"{r.get('max_abs_cosine_minus_1', 0):.1e}"))
    return table(["runtime/threads"] + [f"b{b} faces/s" for b in batches]
                 + [f"CPU ms/face at b{batches[-1]}", "load s", "max abs(cos-1) vs keras"], rows)


def matcher_table(report: dict) -> str:
    rows = []
    for n, r in sorted(report.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        mem = r.get("memory_per_vector_bytes", {})
        recall = r.get("recall_at_1_vs_exact", {})
        rows.append((f"{int(n):,}", r.get("vectors"), r.get("search_per_face_ms", {}).get("p50"),
                     r.get("search_per_face_ms", {}).get("p95"), r.get("search_10_face_photo_ms", {}).get("p50"),
                     r.get("exact_search_per_face_ms", {}).get("p50"), mem.get("rss_growth"),
                     mem.get("traced_numpy_and_python"), r.get("build_s"), r.get("index_ready_s"),
                     recall.get("genuine"), r.get("search_per_face_ms_stranger", {}).get("p50"), recall.get("impostor")))
    return table(["gallery", "vectors", "search p50 ms/face", "p95", "10-face photo p50 ms", "exact p50 ms/face",
                  "RSS B/vector", "traced B/vector", "build s", "index ready s", "recall@1 genuine",
                  "stranger p50 ms", "recall@1 stranger"], rows)


def load_table(report: dict) -> str:
    load = report.get("load_from_database")
    if not load:
        return "(not measured)"
    return table(["faces", "insert_many s", "load until searchable s", "until index ready s", "faces/s"], [
        (f"{load['faces']:,}", load.get("insert_many_s"), load.get("load_until_searchable_s"),
         load.get("load_until_index_ready_s"), load.get("faces_per_second"))])


def reports_table(report: dict) -> str:
    rows = [(name, f["median_s"], f["max_s"]) for name, f in {**report.get("reports", {}),
                                                               **report.get("writes", {})}.items()]
    return table(["request", "median s", "max s"], rows)


def machine_table(run: dict, system: dict) -> str:
    m = run.get("machine", {})
    loads = run.get("load_average", {})
    load_text = "; ".join(f"{phase} {v['min']}-{v['max']} (mean {v['mean']})" for phase, v in loads.items()
                          if phase != "start")
    copies = system.get("copies", {})
    return table(["", ""], [
        ("CPU", f"{m.get('cpu')}: {m.get('cores')} cores ({m.get('cores_available')} available), "
                f"{m.get('memory_gb')} GB"),
        ("OS, Python", f"{m.get('os')}, Python {m.get('python')}"),
        ("versions", ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())),
        ("1-min load average during the run (min-max per part)", load_text or "not sampled"),
        ("stack", ", ".join(f"{n} {k}" for k, n in copies.items()) + "; local RabbitMQ and FerretDB"),
        *((f"{copy} (its log)", f"`{said}`") for copy, said in system.get("what_ran", {}).items() if said),
        ("date, duration", _when(run)),
    ])


def _when(run: dict) -> str:
    """When the parts ran (``--only`` runs some again later) and their total time."""
    parts = run.get("parts", {}).values()
    finished = sorted(p["finished"] for p in parts if p.get("finished")) or [run.get("date", "?")]
    when = finished[0] if finished[0][:16] == finished[-1][:16] else f"{finished[0]} to {finished[-1]}"
    minutes = round(sum(p.get("seconds", 0) for p in parts) / 60)
    return f"{when}; the parts took {minutes} min" + (" (quick mode)" if run.get("quick") else "")


def _read(directory: Path, name: str) -> dict:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def write(directory: Path) -> Path:
    from bench import performance_plots as plots

    run, base_report, system = _read(directory, "run"), _read(directory, "baselines"), _read(directory, "system")
    embedder, matcher, reports = _read(directory, "embedder"), _read(directory, "matcher"), \
        _read(directory, "reports-at-scale")
    baselines = base_report.get("baselines", {})
    images = []
    if system.get("sets"):
        images += [plots.throughput(system, baselines, PLOTS / "throughput.png"),
                   plots.latency(system, baselines, PLOTS / "latency.png")]
    if embedder:
        images.append(plots.embedder(embedder, PLOTS / "embedder.png"))
    if matcher.get("sizes"):
        images.append(plots.matcher(matcher, PLOTS / "matcher.png"))
    rel = {p.name: p.relative_to(DOC.parent).as_posix() for p in images}
    goal_rows = goals(baselines, system)
    met = sum(r["met"] for r in goal_rows)
    parts = run.get("parts", {})
    text = f"""# Performance

Written by `make bench` (`.venv/bin/python -m bench.performance`) from the JSON reports in
`bench/reports/performance/` (`--only` runs some parts again: the date row says when). The machine is
shared: other work ran on the same cores (see the load average and "everything else" below), so the
figures are noisy; the baselines and the system are measured one after the other, not at the same
moment.

## The machine

{machine_table(run, system)}

Parts of the run: {", ".join(f"{k} {v['seconds']} s" + ("" if v["exit_code"] == 0 else f" (**failed**, exit {v['exit_code']})")
                             for k, v in parts.items())}.

## Goals

The system (HTTP -> gateway -> RabbitMQ -> detector -> embedder -> matcher -> reply;
{_copies(system)}) against the two in-process baselines of `bench/baselines.py` on the same photos, model and
enrolled people: **the seed's way** (MTCNN called eagerly, FaceNet `predict` per face, the gallery
scanned record by record in Python) and **compiled in-process** code (MTCNN's networks and FaceNet
as compiled TensorFlow graphs, a numpy matrix search), both sequential, one photo at a time.
The baselines stay what they are (mtcnn's own pipeline, which looks for faces down to 20 px, and the
exact Keras FaceNet), while the system runs whatever its services run now (the detector's and
embedder's log lines in the table above): the ratios measure those choices too. The "faces / named
per photo" column below shows whether both find and name the same faces.
{met} of {len(goal_rows)} met.

{goals_table(goal_rows)}

{bottlenecks(system)}

## End-to-end throughput and latency

`bench/system.py`: closed-loop clients (each sends its next photo when the last is answered),
`POST /recognize` through HTTP, after a warm-up. Image sets (`bench/images.py`): **val** the 25 val
photos (~300x300 portraits); **720p** and **1080p** each val photo scaled to 40 % of the frame's
height on a plain 1280x720 or 1920x1080 frame; **group** one 1920x1080 photo of 10 val portraits
(2 of each person). Baselines: `bench/baselines.py`, the same photos one at a time. In the group
photo the system names each enrolled person at most once (the matcher's one face, one person rule),
so at most 4 of its faces; the baselines name each face on its own (8).

{table_or_none(system, throughput_table(baselines, system))}

{_img(rel, "throughput.png", "Photos/s against concurrent clients; the baselines as horizontal lines")}

{_img(rel, "latency.png", "p50/p95/p99 latency against concurrent clients; the baselines' p50 as lines")}

## Per stage: queue wait and work time

From the services' own metrics (`attendance_queue_wait_seconds`, `attendance_job_seconds`: the
difference of `_sum`/`_count` between scrapes before and after each run), means per photo; the
gateway's wait from publishing a job to its reply (`attendance_pipeline_seconds`); the client's
mean latency for comparison (the difference is HTTP, upload and the gateway's own work).

{table_or_none(system, stages_table(system))}

## Where the CPU goes

CPU time per answered photo (user + system, from `/proc`) of each service copy, of RabbitMQ and
FerretDB (shared with other users of this machine: they serve other stacks too), of the benchmark's
client threads, and of everything else on the machine (other people's work); the share of both
cores that was busy during the run.

{table_or_none(system, cpu_table(system))}

## Embedder: faces/s against batch size

`bench/embedder.py` (fewer rounds than its default): the embedder's `embed` (preprocessing and
forward pass) on the data set's real face crops, median of the rounds.

{embedder_table(embedder)}

{_img(rel, "embedder.png", "Embedder faces/s against batch size, per runtime")}

## Matcher: query latency and memory against gallery size

`bench/matcher.py`: the matcher's `Gallery` filled with synthetic 128-d unit vectors (10 per
synthetic person) beyond the data set's real ones; search latency per face and per 10-face photo,
exact search for reference, memory per vector, build time, approximate index readiness, recall@1
against exact search.

{matcher_table(matcher) if matcher else "(no matcher report)"}

Load from the local database (FerretDB): the faces written with `insert_many`, then the matcher's
reload into `Gallery.replace_all`{_read_from(matcher)}:

{load_table(matcher)}

{_img(rel, "matcher.png", "Matcher p50 query latency and memory per vector against gallery size (log x)")}

## Attendance reports at scale

`bench/reports_at_scale.py`: one department of {reports.get("students", "?")} students,
{reports.get("sessions", "?")} sessions, {reports.get("marks", "?")} marks, through the gateway's Flask
app on the local FerretDB.

{reports_table(reports) if reports else "(no report)"}

## Running it

`make bench` runs everything (about 17 minutes here); `.venv/bin/python -m bench.performance --quick`
a smaller run (about 5); `--only system,baselines` runs some parts again and keeps the others'
reports; `--render-only` rewrites this page from the reports. Each part also runs alone:
`python -m bench.baselines`, `bench.system [--embedders 2 ...]`, `bench.embedder`, `bench.matcher`,
`bench.reports_at_scale`.
"""
    DOC.write_text(text)
    return DOC


def _read_from(matcher: dict) -> str:
    read_from = matcher.get("load_from_database", {}).get("read_from")
    return f", read from {read_from}" if read_from else ""


def table_or_none(report: dict, text: str) -> str:
    return text if report else "(no system report)"


def _img(rel: dict, name: str, alt: str) -> str:
    return f"![{alt}]({rel[name]})" if name in rel else ""
