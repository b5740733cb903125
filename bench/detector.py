"""Speed and sameness of the detector: the fast MTCNN against the reference.

``new`` is the service's detector (``FastMtcnnDetector``: mtcnn's networks on
OpenVINO, a lean cascade, a pyramid from the smallest face wanted); ``old``
is the reference (``MtcnnDetector``: mtcnn 1.0.0's own pipeline with its
networks compiled as TensorFlow graphs). On the same decoded images:

* every photo of the 5-celebrity data set (train and val, portraits of
  115-380 px): ms per photo, wall and CPU (this process's CPU time, all
  threads), the median over the photos of each photo's best of ``--rounds``
  runs; with recognition and with enrollment settings;
* a val photo placed on VGA (640x480), 720p and 1080p canvases: ms per canvas
  and the ratio 1080p / VGA;
* classroom group photos (bench/classroom.py's canvases: five faces of 30 to
  80 px on 1280x720);
* faces: every face the old detector finds must be found by the new one (box
  IoU >= 0.7): ``lost`` counts those it does not find (goal 0), ``extra``
  those it finds beyond them; faces smaller than the new detector's minimum
  (``DETECT_MIN_FACE_FRACTION`` of the shorter side, at least
  ``DETECT_MIN_FACE_PX``), which it does not look for by design, are not
  counted (``old_faces_below_min_face``); whether each photo is accepted or
  refused for the same reason (``selection_changed``).

The machine may be shared: the two detectors run in turn, photo by photo.
Prints the figures and writes bench/reports/detector.json.

    .venv/bin/python -m bench.detector [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

import numpy as np

from bench.report import write_report
from dataset.celebrities import ENROLLED, HELD_OUT, photos
from services.detector.core import FastMtcnnDetector, MtcnnDetector, QualityRules, select_faces
from shared import config, imaging
from shared.contracts import ENROLL, RECOGNIZE, JobError

SAME_FACE_IOU = 0.7
CANVASES = {"VGA": (480, 640), "720p": (720, 1280), "1080p": (1080, 1920)}


def iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0, min(ax1, bx1) - max(a[0], b[0])), max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter) if inter else 0.0


def compare(old, new, min_face: float = 0.0) -> tuple[int, int, float]:
    """(lost, extra, worst IoU of a found face) between two lists of detections.

    Faces of the old detector smaller than ``min_face`` (the new one's
    minimum: not looked for) are not counted as lost, nor theirs as extra."""
    lost = extra = 0
    worst = 1.0
    small = [d for d in old if max(d.box[2], d.box[3]) < min_face]
    old = [d for d in old if d not in small]
    new = [n for n in new if not any(iou(d.box, n.box) >= SAME_FACE_IOU for d in small)]
    for d in old:
        best = max((iou(d.box, n.box) for n in new), default=0.0)
        if best < SAME_FACE_IOU:
            lost += 1
        else:
            worst = min(worst, best)
    for n in new:
        if max((iou(d.box, n.box) for d in old), default=0.0) < SAME_FACE_IOU:
            extra += 1
    return lost, extra, worst


def timed(detect, image, rounds: int):
    """(detections, best wall ms, best CPU ms) of ``rounds`` runs."""
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        found = detect(image)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return found, 1e3 * min(walls), 1e3 * min(cpus)


def outcome(kind, detections, rules) -> str:
    try:
        return f"accepted ({len(select_faces(kind, detections, rules))} faces)"
    except JobError as err:
        return err.code.value if hasattr(err.code, "value") else str(err.code)


def summary(walls, cpus) -> dict:
    return {"wall_ms_median": round(statistics.median(walls), 2), "cpu_ms_median": round(statistics.median(cpus), 2),
            "wall_ms_mean": round(statistics.fmean(walls), 2), "cpu_ms_mean": round(statistics.fmean(cpus), 2)}


def bench_photos(old, new, images, rules, rounds: int) -> dict:
    report = {}
    for kind in (RECOGNIZE, ENROLL):
        times = {"old": ([], []), "new": ([], [])}
        lost = extra = changed = 0
        worst = 1.0
        details = []
        for path, image in images:
            found_old, wall, cpu = timed(old.detect, image, rounds)
            times["old"][0].append(wall)
            times["old"][1].append(cpu)
            found_new, wall, cpu = timed(lambda im: new.detect(im, kind), image, rounds)
            times["new"][0].append(wall)
            times["new"][1].append(cpu)
            minimum = new.sizes.min_face(*image.shape[:2], kind)
            photo_lost, photo_extra, photo_worst = compare(found_old, found_new, minimum)
            lost, extra, worst = lost + photo_lost, extra + photo_extra, min(worst, photo_worst)
            was, now = outcome(kind, found_old, rules), outcome(kind, found_new, rules)
            if was != now:
                changed += 1
            if photo_lost or photo_extra or was != now:
                details.append({"photo": f"{path.parent.parent.name}/{path.parent.name}/{path.name}",
                                "old": [d.box for d in found_old], "new": [d.box for d in found_new],
                                "outcome_old": was, "outcome_new": now})
        old_t, new_t = summary(*times["old"]), summary(*times["new"])
        report[kind] = {"photos": len(images), "old": old_t, "new": new_t,
                        "speedup_wall": round(old_t["wall_ms_median"] / new_t["wall_ms_median"], 2),
                        "speedup_cpu": round(old_t["cpu_ms_median"] / new_t["cpu_ms_median"], 2),
                        "faces_lost": lost, "faces_extra": extra, "worst_iou": round(worst, 3),
                        "selection_changed": changed, "differences": details}
    return report


def canvas_with(image: np.ndarray, size) -> np.ndarray:
    canvas = np.full((*size, 3), 170, np.uint8)
    h, w = image.shape[:2]
    y, x = (size[0] - h) // 2, (size[1] - w) // 2
    canvas[y:y + h, x:x + w] = image
    return canvas



def timed_both(old, new, image, rounds: int, times: dict) -> tuple[list, list]:
    """Both detectors on ``image``; their wall and CPU times appended to ``times["old"|"new"]``."""
    found = []
    for who, detector in (("old", old), ("new", new)):
        faces, wall, cpu = timed(detector.detect, image, rounds)
        times[who][0].append(wall)
        times[who][1].append(cpu)
        found.append(faces)
    return found[0], found[1]

def bench_canvases(old, new, portraits, rounds: int) -> dict:
    report = {}
    for name, size in CANVASES.items():
        times = {"old": ([], []), "new": ([], [])}
        lost = extra = below = 0
        details = []
        for path, image in portraits:
            canvas = canvas_with(image, size)
            found_old, found_new = timed_both(old, new, canvas, rounds, times)
            photo_lost, photo_extra, _ = compare(found_old, found_new, new.sizes.min_face(*size))
            lost, extra = lost + photo_lost, extra + photo_extra
            below += sum(max(d.box[2:]) < new.sizes.min_face(*size) for d in found_old)
            if photo_lost or photo_extra:
                details.append({"photo": path.name, "old": [d.box for d in found_old], "new": [d.box for d in found_new]})
        report[name] = {"size": f"{size[1]}x{size[0]}", "photos": len(portraits),
                        "min_face_px": round(new.sizes.min_face(*size), 1), "old": summary(*times["old"]),
                        "new": summary(*times["new"]), "faces_lost": lost, "faces_extra": extra,
                        "old_faces_below_min_face": below, "differences": details}
    for who in ("old", "new"):
        report[f"ratio_1080p_vga_{who}"] = {
            k: round(report["1080p"][who][k] / report["VGA"][who][k], 2) for k in ("wall_ms_median", "cpu_ms_median")}
    return report


def bench_classroom(old, new, rounds: int, per_size: int = 4) -> dict:
    from bench.classroom import face_boxes, group_photo

    rng = random.Random(7)
    people = ENROLLED + [HELD_OUT]
    val = {p: face_boxes(old, photos("val", p)) for p in people}
    report = {}
    for width in (30, 40, 50, 60, 80):
        times = {"old": ([], []), "new": ([], [])}
        lost = extra = placed_old = placed_new = placed_total = 0
        details = []
        for _ in range(per_size):
            portraits = [(p, *rng.choice(list(val[p].values()))) for p in people]
            image, placed = group_photo(portraits, width, rng)
            found_old, found_new = timed_both(old, new, image, rounds, times)
            photo_lost, photo_extra, _ = compare(found_old, found_new, new.sizes.min_face(*image.shape[:2]))
            lost, extra = lost + photo_lost, extra + photo_extra
            if photo_lost or photo_extra:
                details.append({"old": [d.box for d in found_old], "new": [d.box for d in found_new],
                                "placed": [box for _, box in placed]})
            placed_total += len(placed)
            placed_old += sum(any(iou(box, d.box) >= 0.3 for d in found_old) for _, box in placed)
            placed_new += sum(any(iou(box, d.box) >= 0.3 for d in found_new) for _, box in placed)
        report[f"{width}px"] = {"photos": per_size, "old": summary(*times["old"]), "new": summary(*times["new"]),
                                "faces_lost": lost, "faces_extra": extra,
                                "placed_faces_found_old": f"{placed_old}/{placed_total}",
                                "placed_faces_found_new": f"{placed_new}/{placed_total}", "differences": details}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs per image; the best is kept")
    args = parser.parse_args()
    settings = config.load()
    rules = QualityRules(settings.detect_min_face_px, settings.detect_min_confidence)
    started = time.monotonic()
    old = MtcnnDetector(settings.detect_max_side)
    old_load = time.monotonic() - started
    started = time.monotonic()
    new = FastMtcnnDetector(settings)
    new_load = time.monotonic() - started
    paths = [p for split in ("val", "train") for person in ENROLLED + [HELD_OUT] for p in photos(split, person)]
    images = [(p, imaging.decode_image(p.read_bytes())) for p in paths]
    for _, image in images[:5]:  # warm up (graph tracing, first shapes)
        old.detect(image)
        new.detect(image)
    val = [(p, im) for p, im in images if p.parent.parent.name == "val"]
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"min_face_px": settings.detect_min_face_px, "min_face_fraction": settings.detect_min_face_fraction,
                     "enroll_min_face_fraction": settings.detect_enroll_min_face_fraction,
                     "max_side": settings.detect_max_side, "runtime": new.networks.runtime,
                     "threads": new.networks.threads},
        "load_seconds": {"old": round(old_load, 2), "new": round(new_load, 2)},
        "rounds": args.rounds,
        "portraits": bench_photos(old, new, images, rules, args.rounds),
        "canvases": bench_canvases(old, new, val, args.rounds),
        "classroom": bench_classroom(old, new, args.rounds),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    write_report("detector", report)


if __name__ == "__main__":
    main()
