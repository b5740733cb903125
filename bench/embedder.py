"""Speed and exactness of the embedder's runtimes for the 128-d FaceNet model.

Real faces: the largest usable face of every photo of the 5-celebrity data set
(train and val), found and cropped by the detector's own core, as
bench/threshold.py does. For every runtime of the model (``keras``, the
reference, and those of ``ModelSpec.runtimes``) and every thread count asked
for:

* ms per face (the embedder's ``embed``: preprocessing and forward pass) at
  batch sizes 1 to 32, and faces/s. The machine may be shared: the runtimes
  are measured in turn, round after round (``--rounds``), and the median of
  the rounds is reported, with the best round, the CPU ms per face (the
  process's CPU time, all threads, per face) and the median of the "quiet"
  rounds, those during which other processes used under 10% of the machine's
  CPUs (from /proc/stat; null when no round was quiet);
* the largest |cosine - 1| between its vectors and the Keras reference's over
  all faces;
* the threshold benchmark on its vectors (bench/threshold.py's leave-one-out
  scores: genuine min, impostor max, error-free range), and the same scores
  with queries from this runtime against a gallery made by Keras (a gallery
  enrolled before a change of runtime).

Prints a table and writes bench/reports/embedder.json.

    .venv/bin/python -m bench.embedder [--runtimes keras,onnxruntime] [--threads 1,2] [--rounds 5]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from bench.report import write_report
from bench.threshold import choose_threshold, leave_one_out_scores
from services.detector.core import MtcnnDetector, QualityRules, faces_for_embedding
from services.embedder.backends import cpu_threads
from services.embedder.models import load_model
from shared import config, imaging
from shared.contracts import decode_array
from shared.models import MODELS, MSCELEB_128, REFERENCE_RUNTIME, runtimes_of

BATCHES = (1, 2, 4, 8, 16, 32)


def dataset_faces(dataset: Path, settings):
    """(crop, face_box) of the largest usable face of each photo, and its person."""
    detector = MtcnnDetector(settings.detect_max_side)
    rules = QualityRules(settings.detect_min_face_px, settings.detect_min_confidence)
    crops, people = [], []
    for path in sorted(dataset.glob("*/*/*.jpg")):
        image = imaging.decode_image(path.read_bytes())
        usable = [d for d in detector.detect(image) if rules.usable(d)]
        if not usable:
            continue
        face = faces_for_embedding(image, [max(usable, key=lambda d: d.box[2] * d.box[3])])[0]
        crops.append((decode_array(face.crop), face.face_box))
        people.append(path.parent.name)
    return crops, people


def embed_all(embedder, crops, batch: int = 16) -> np.ndarray:
    return np.concatenate([embedder.embed(crops[i:i + batch]) for i in range(0, len(crops), batch)])


def scores_against(people, queries: np.ndarray, gallery: np.ndarray):
    """Leave-one-out genuine min and impostor max of ``queries`` against another runtime's ``gallery``."""
    sims = queries @ gallery.T
    np.fill_diagonal(sims, -2.0)
    labels = np.array(people)
    genuine = [sims[i, labels == p].max() for i, p in enumerate(labels)]
    impostor = [sims[i, labels != p].max() for i, p in enumerate(labels)]
    return float(min(genuine)), float(max(impostor))


def exactness(people, vectors: np.ndarray, reference: np.ndarray, threshold: float) -> dict:
    genuine, impostor = leave_one_out_scores(people, vectors)
    chosen, errors, (lo, hi) = choose_threshold(genuine, impostor)
    cos = (vectors * reference).sum(axis=1)
    mixed_genuine, mixed_impostor = scores_against(people, vectors, reference)
    return {
        "max_abs_cosine_minus_1": float(np.abs(cos - 1).max()),
        "min_cosine": float(cos.min()),
        "threshold": {
            "genuine_min": round(float(genuine.min()), 4),
            "impostor_max": round(float(impostor.max()), 4),
            "fewest_errors": errors,
            "error_free_range" if errors == 0 else "best_range": [lo, hi],
            "chosen_threshold": chosen,
            f"errors_at_{threshold}": int((genuine < threshold).sum() + (impostor >= threshold).sum()),
        },
        "against_keras_gallery": {
            "genuine_min": round(mixed_genuine, 4),
            "impostor_max": round(mixed_impostor, 4),
            "error_free_at_default": bool(mixed_genuine >= threshold > mixed_impostor),
        },
    }


QUIET = 0.10  # a round is quiet when other processes used less than this share of all CPUs


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (all processes), from /proc/stat; None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def time_batch(embedder, crops, batch: int, seconds: float) -> tuple[float, float, float | None]:
    """(wall ms per face, CPU ms per face, share of the CPUs other processes used) over about ``seconds``."""
    batches = [crops[i:i + batch] for i in range(0, len(crops) - batch + 1, batch)] or [crops[:batch]]
    embedder.embed(batches[0])  # a first call per shape may plan or allocate
    faces, k = 0, 0
    busy, wall, cpu = busy_cpu_seconds(), time.perf_counter(), time.process_time()
    while True:
        chunk = batches[k % len(batches)]
        embedder.embed(chunk)
        faces += len(chunk)
        k += 1
        if time.perf_counter() - wall >= seconds:
            break
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    others = None
    if busy is not None:
        others = max(0.0, (busy_cpu_seconds() - busy - cpu) / (wall * (os.cpu_count() or 1)))
    return wall * 1000 / faces, cpu * 1000 / faces, others


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    available = cpu_threads(dataclasses.replace(config.load(), embedder_threads=0))
    parser.add_argument("--runtimes", default=",".join(runtimes_of(MSCELEB_128)),
                        help="runtimes to measure (default: all of the 128-d model's)")
    parser.add_argument("--threads", default=",".join(str(t) for t in sorted({1, available})),
                        help="EMBEDDER_THREADS values (default: 1 and the CPUs available); keras: its default only")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per runtime, batch size and round")
    args = parser.parse_args()
    settings = dataclasses.replace(config.load(), embedder_model=MSCELEB_128)
    spec = MODELS[MSCELEB_128]
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    threads = [int(t) for t in args.threads.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    started = time.time()

    crops, people = dataset_faces(Path(settings.assets_dir) / "5-celebrity-faces-dataset", settings)
    print(f"{len(crops)} faces from the data set")

    # Every (runtime, threads) loaded once; keras first: it is the reference.
    order = [REFERENCE_RUNTIME] + [r for r in runtimes if r != REFERENCE_RUNTIME]
    embedders, results, reference = {}, {}, None
    for runtime in order:
        for n in ([0] if runtime == REFERENCE_RUNTIME else threads):
            key = runtime if runtime == REFERENCE_RUNTIME else f"{runtime}/{n}"
            t0 = time.time()
            try:
                embedder = load_model(dataclasses.replace(settings, embedder_runtime=runtime, embedder_threads=n))
            except Exception as exc:  # noqa: BLE001 - report a runtime that does not load, measure the others
                results[key] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"{key}: does not load: {exc}")
                continue
            load_seconds = time.time() - t0
            vectors = embed_all(embedder, crops)
            if reference is None:
                reference = vectors
            embedders[key] = embedder
            results[key] = {"runtime": runtime, "threads": n or available, "load_seconds": round(load_seconds, 1),
                            **exactness(people, vectors, reference, spec.default_threshold)}

    timings = {key: {b: [] for b in batches} for key in embedders}
    for _ in range(args.rounds):
        for key, embedder in embedders.items():
            for b in batches:
                timings[key][b].append(time_batch(embedder, crops, b, args.seconds))
    for key, per_batch in timings.items():
        results[key]["ms_per_face"] = {b: round(statistics.median(w for w, _, _ in runs), 2)
                                       for b, runs in per_batch.items()}
        results[key]["best_round_ms_per_face"] = {b: round(min(w for w, _, _ in runs), 2)
                                                  for b, runs in per_batch.items()}
        results[key]["quiet_ms_per_face"] = {b: _quiet_median(runs) for b, runs in per_batch.items()}
        results[key]["quiet_rounds"] = {b: sum(o is not None and o < QUIET for _, _, o in runs)
                                        for b, runs in per_batch.items()}
        results[key]["cpu_ms_per_face"] = {b: round(statistics.median(c for _, c, _ in runs), 2)
                                           for b, runs in per_batch.items()}
        results[key]["others_cpu_share"] = {b: round(statistics.median(o for _, _, o in runs), 2)
                                            for b, runs in per_batch.items() if all(o is not None for _, _, o in runs)}
        results[key]["faces_per_second"] = {b: round(1000 / ms, 1) for b, ms in results[key]["ms_per_face"].items()}
    baseline = results.get(REFERENCE_RUNTIME, {}).get("ms_per_face", {})
    for key in timings:
        results[key]["speedup_vs_keras"] = {b: round(baseline[b] / ms, 2)
                                            for b, ms in results[key]["ms_per_face"].items() if b in baseline}

    print_table(results, batches)
    report = {
        "model": spec.name,
        "faces": len(crops),
        "machine": {"cpus_available": available, "processor": platform.processor() or platform.machine(),
                    "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
        "rounds": args.rounds,
        "seconds_per_measurement": args.seconds,
        "runtimes": results,
        "seconds": round(time.time() - started, 1),
    }
    write_report("embedder", report)


def _quiet_median(runs) -> float | None:
    quiet = [w for w, _, others in runs if others is not None and others < QUIET]
    return round(statistics.median(quiet), 2) if quiet else None


def print_table(results: dict, batches: list[int]) -> None:
    head = f"{'runtime/threads':22} " + " ".join(f"{'b' + str(b):>7}" for b in batches)
    print("\nms per face (median of rounds; faces/s = 1000 / ms)\n" + head)
    for key, r in results.items():
        if "error" in r:
            print(f"{key:22} does not load: {r['error'][:80]}")
            continue
        print(f"{key:22} " + " ".join(f"{r['ms_per_face'][b]:7.2f}" for b in batches))
    print(f"\nms per face in quiet rounds (others used < {QUIET:.0%} of the CPUs; -: none was)\n" + head)
    for key, r in results.items():
        if "error" not in r:
            print(f"{key:22} " + " ".join(f"{r['quiet_ms_per_face'][b]:7.2f}" if r["quiet_ms_per_face"][b]
                                          else f"{'-':>7}" for b in batches))
    print("\nCPU ms per face (process CPU time, all its threads)\n" + head)
    for key, r in results.items():
        if "error" not in r:
            print(f"{key:22} " + " ".join(f"{r['cpu_ms_per_face'][b]:7.2f}" for b in batches))
    print("\nspeed-up vs keras, max |cos - 1|, threshold benchmark (own vectors; against a Keras gallery)")
    for key, r in results.items():
        if "error" in r:
            continue
        t, m = r["threshold"], r["against_keras_gallery"]
        speed = " ".join(f"{r['speedup_vs_keras'].get(b, 0):.2f}x" for b in batches)
        free = t.get("error_free_range", f"{t['fewest_errors']} errors {t.get('best_range')}")
        print(f"{key:22} {speed}  |cos-1| {r['max_abs_cosine_minus_1']:.1e}  genuine>={t['genuine_min']:.4f} "
              f"impostor<={t['impostor_max']:.4f} error-free {free}; vs keras gallery "
              f"{m['genuine_min']:.4f}/{m['impostor_max']:.4f}")


if __name__ == "__main__":
    main()
