"""Choose the match threshold of a model from measurements on the data set.

For every photo of the 5-celebrity data set (train and val, 118 photos) the
largest usable face is embedded with the real detector and embedder cores. Then,
leaving that one photo out:

* genuine score  = best similarity to the other photos of the same person
  (what an enrolled person scores);
* impostor score = best similarity to any photo of another person (what a
  person who is not enrolled scores against the best wrong candidate).

A threshold t accepts a genuine score >= t and wrongly accepts an impostor
score >= t. The chosen threshold is the midpoint of the range of t with the
fewest errors (false rejects + false accepts): the widest safety margin on both
sides. Prints the figures and writes bench/reports/threshold-<model>.json.

    .venv/bin/python -m bench.threshold [--model 20170512-110547]   (from the repository root)
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from bench.report import write_report
from services.detector.core import MtcnnDetector, QualityRules, faces_for_embedding
from services.embedder.models import load_model
from shared import config, imaging
from shared.contracts import decode_array


def embed_dataset(dataset: Path, settings, model_choice: str):
    detector = MtcnnDetector(settings.detect_max_side)
    rules = QualityRules(settings.detect_min_face_px, settings.detect_min_confidence)
    embedder = load_model(dataclasses.replace(settings, embedder_model=model_choice))
    spec = embedder.spec
    people, vectors, skipped = [], [], []
    for path in sorted(dataset.glob("*/*/*.jpg")):
        image = imaging.decode_image(path.read_bytes())
        usable = [d for d in detector.detect(image) if rules.usable(d)]
        if not usable:
            skipped.append(str(path.relative_to(dataset)))
            continue
        largest = max(usable, key=lambda d: d.box[2] * d.box[3])
        face = faces_for_embedding(image, [largest])[0]
        vectors.append(embedder.embed([(decode_array(face.crop), face.face_box)])[0])
        people.append(path.parent.name)
    return spec, people, np.stack(vectors), skipped


def leave_one_out_scores(people: list[str], vectors: np.ndarray):
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -2.0)
    labels = np.array(people)
    genuine, impostor = [], []
    for i, person in enumerate(labels):
        same = labels == person
        genuine.append(float(sims[i, same].max()))
        impostor.append(float(sims[i, ~same].max()))
    return np.array(genuine), np.array(impostor)


def choose_threshold(genuine: np.ndarray, impostor: np.ndarray):
    grid = np.round(np.arange(0.0, 1.0, 0.005), 3)
    errors = np.array([(genuine < t).sum() + (impostor >= t).sum() for t in grid])
    best = errors.min()
    # The longest run of thresholds with the fewest errors; take its middle.
    runs, start = [], None
    for k, e in enumerate(errors):
        if e == best and start is None:
            start = k
        if (e != best or k == len(errors) - 1) and start is not None:
            end = k if e == best else k - 1
            runs.append((start, end))
            start = None
    lo, hi = max(runs, key=lambda r: r[1] - r[0])
    return float(round((grid[lo] + grid[hi]) / 2, 2)), int(best), (float(grid[lo]), float(grid[hi]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="auto", help="EMBEDDER_MODEL to measure (default: auto)")
    args = parser.parse_args()
    settings = config.load()
    dataset = Path(settings.assets_dir) / "5-celebrity-faces-dataset"
    started = time.time()
    spec, people, vectors, skipped = embed_dataset(dataset, settings, args.model)
    genuine, impostor = leave_one_out_scores(people, vectors)
    threshold, errors, (lo, hi) = choose_threshold(genuine, impostor)
    report = {
        "model": spec.name,
        "photos_embedded": len(people),
        "photos_without_usable_face": skipped,
        "genuine": {"min": round(genuine.min(), 4), "p5": round(float(np.percentile(genuine, 5)), 4),
                    "median": round(float(np.median(genuine)), 4)},
        "impostor": {"max": round(impostor.max(), 4), "p95": round(float(np.percentile(impostor, 95)), 4),
                     "median": round(float(np.median(impostor)), 4)},
        "fewest_errors": errors,
        "error_free_range" if errors == 0 else "best_range": [lo, hi],
        "chosen_threshold": threshold,
        "current_default": spec.default_threshold,
        "at_current_default": {
            "false_rejects": int((genuine < spec.default_threshold).sum()),
            "false_accepts": int((impostor >= spec.default_threshold).sum()),
        },
        "seconds": round(time.time() - started, 1),
    }
    write_report(f"threshold-{spec.name}", report)


if __name__ == "__main__":
    main()
