"""The two in-process baselines the system is measured against: the same photos, model and people, no broker.

* ``seed``: the seed's way (commit b6b871f and the packages as they come): mtcnn's
  ``MTCNN().detect_faces`` called eagerly, keras-facenet's way of embedding (``model.predict``,
  here once per face), and a gallery scanned one stored record at a time in Python (a cosine per
  record, as keras-facenet's ``compute_distance``).
* ``compiled``: the same MTCNN with its networks compiled as TensorFlow graphs (the detector's
  ``compile_stage_models``), FaceNet as one compiled Keras graph per photo's faces (the embedder's
  Keras runtime, ``compiled_forward``), and a numpy matrix search.

Both use the project's 128-d FaceNet weights and preprocessing (``face_pixels`` and the
backend's ``standardize``), the detector's downscaling and quality rules, and the matcher's
threshold; both enroll the four ``ENROLLED`` people from their train photos (one face per photo,
as enrollment requires), then recognize every photo of each image set (bench/images.py) one at a
time, sequentially, as in-process code does: photos/s and p50/p95/p99 latency per photo (decoding
included). Writes bench/reports/baselines.json.

    .venv/bin/python -m bench.baselines [--sets val,720p,1080p,group] [--group-repeats 5] [--only seed|compiled]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from bench.images import SETS, image_sets
from bench.report import latency_summary, write_report
from dataset.celebrities import ENROLLED, ROLL_NOS, photos
from services.embedder.backends import facenet_128_keras as facenet
from services.embedder.backends.keras_graph import compiled_forward
from services.embedder.preprocessing import face_pixels, l2_normalize
from shared import config, imaging
from shared.models import MSCELEB_128

from services.detector.core import compile_stage_models  # the plain compiled-MTCNN way (the detector's reference)

SPEC = facenet.SPEC


class InProcess:
    """Photo in, ``[(box, rollNo or None, similarity)]`` out, in this process."""

    name = ""

    def __init__(self, settings, compiled: bool):
        from mtcnn import MTCNN

        self.settings = settings
        self.threshold = SPEC.default_threshold
        self.mtcnn = MTCNN()
        self.compiled_networks = compile_stage_models(self.mtcnn) if compiled else 0

    # -- detection: the detector's downscaling and quality rules ---------------------------------
    def faces(self, image: np.ndarray) -> list[list[int]]:
        small, scale = imaging.downscale(image, self.settings.detect_max_side)
        boxes = []
        for raw in self.mtcnn.detect_faces(small):
            x, y, w, h = (int(round(v / scale)) for v in raw["box"])
            box = [max(0, x), max(0, y), w + min(0, x), h + min(0, y)]
            if raw["confidence"] >= self.settings.detect_min_confidence \
                    and min(box[2:]) >= self.settings.detect_min_face_px:
                boxes.append(box)
        return boxes

    @staticmethod
    def model_input(image: np.ndarray, box) -> np.ndarray:
        return facenet.standardize(face_pixels(image, box, SPEC)).astype(np.float32)

    def embed(self, image: np.ndarray, boxes) -> np.ndarray:
        raise NotImplementedError

    def enroll(self, roll_no: str, vector: np.ndarray) -> None:
        raise NotImplementedError

    def search(self, vector: np.ndarray) -> tuple[str | None, float]:
        raise NotImplementedError

    def recognize(self, data: bytes) -> list[tuple[list[int], str | None, float]]:
        image = imaging.decode_image(data)
        boxes = self.faces(image)
        if not boxes:
            return []
        out = []
        for box, vector in zip(boxes, self.embed(image, boxes)):
            roll_no, similarity = self.search(vector)
            out.append((box, roll_no if similarity >= self.threshold else None, similarity))
        return out

    def enroll_photos(self, people: dict[str, list]) -> dict:
        """Each photo with exactly one usable face adds its vector; returns counts and seconds."""
        t0, accepted, refused = time.perf_counter(), 0, 0
        for roll_no, paths in people.items():
            for path in paths:
                image = imaging.decode_image(path.read_bytes())
                boxes = self.faces(image)
                if len(boxes) != 1:
                    refused += 1
                    continue
                self.enroll(roll_no, self.embed(image, boxes)[0])
                accepted += 1
        return {"accepted": accepted, "refused": refused, "seconds": round(time.perf_counter() - t0, 2)}


class SeedWay(InProcess):
    name = "seed"

    def __init__(self, settings, model):
        super().__init__(settings, compiled=False)
        self.model = model
        self.records: list[tuple[str, np.ndarray]] = []

    def embed(self, image, boxes):
        return np.stack([l2_normalize(self.model.predict(self.model_input(image, box)[None], verbose=0))[0]
                         for box in boxes])

    def enroll(self, roll_no, vector):
        self.records.append((roll_no, vector))

    def search(self, vector):
        best: dict[str, float] = {}
        for roll_no, stored in self.records:  # one record at a time, a cosine each
            similarity = float(np.dot(vector, stored) / (np.linalg.norm(vector) * np.linalg.norm(stored)))
            if similarity > best.get(roll_no, -2.0):
                best[roll_no] = similarity
        roll_no = max(best, key=best.get, default=None)
        return roll_no, best.get(roll_no, -2.0)


class Compiled(InProcess):
    name = "compiled"

    def __init__(self, settings, model):
        super().__init__(settings, compiled=True)
        self.forward = compiled_forward(model, SPEC.image_size)
        self.matrix = np.zeros((0, SPEC.dimensions), np.float32)
        self.roll_nos: list[str] = []

    def embed(self, image, boxes):
        batch = np.stack([self.model_input(image, box) for box in boxes])
        return l2_normalize(np.asarray(self.forward(batch)).astype(np.float32))

    def enroll(self, roll_no, vector):
        self.matrix = np.vstack([self.matrix, vector[None].astype(np.float32)])
        self.roll_nos.append(roll_no)

    def search(self, vector):
        if not self.roll_nos:
            return None, -2.0
        sims = self.matrix @ vector.astype(np.float32)
        best = int(np.argmax(sims))
        return self.roll_nos[best], float(sims[best])


def measure(baseline: InProcess, images: list[tuple[str, bytes]], repeats: int = 1) -> dict:
    """Each photo recognized in turn, ``repeats`` times, after a warm-up (as the system gets one)."""
    for _, data in images[:5]:  # first calls of a shape trace graphs and allocate
        baseline.recognize(data)
    latencies, faces, named = [], 0, 0
    t0 = time.perf_counter()
    for _ in range(repeats):
        for _, data in images:
            start = time.perf_counter()
            found = baseline.recognize(data)
            latencies.append(time.perf_counter() - start)
            faces += len(found)
            named += sum(roll_no is not None for _, roll_no, _ in found)
    seconds = time.perf_counter() - t0
    return {"photos": len(latencies), "seconds": round(seconds, 2),
            "photos_per_second": round(len(latencies) / seconds, 3),
            "latency_seconds": latency_summary(latencies),
            "faces_per_photo": round(faces / len(latencies), 2), "named_per_photo": round(named / len(latencies), 2)}


def run(sets=SETS, group_repeats: int = 5, only: tuple[str, ...] = ("seed", "compiled")) -> dict:
    settings = dataclasses.replace(config.load(), embedder_model=MSCELEB_128)
    images = image_sets(sets)
    started = time.perf_counter()
    model = facenet.build_model(settings)
    report: dict = {"model": SPEC.name, "threshold": SPEC.default_threshold,
                    "compile_stage_models_from": compile_stage_models.__module__,
                    "load_seconds": round(time.perf_counter() - started, 1),
                    "images": {name: len(items) for name, items in images.items()}, "baselines": {}}
    people = {ROLL_NOS[person]: photos("train", person) for person in ENROLLED}
    for kind in only:
        baseline = (SeedWay if kind == "seed" else Compiled)(settings, model)
        out = report["baselines"][kind] = {"compiled_networks": baseline.compiled_networks,
                                           "enrollment": baseline.enroll_photos(people), "sets": {}}
        for name, items in images.items():
            out["sets"][name] = measure(baseline, items, group_repeats if name == "group" else 1)
            print(f"{kind} {name}: {out['sets'][name]}", flush=True)
        del baseline
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--group-repeats", type=int, default=5, help="times the group photo is recognized")
    parser.add_argument("--only", default="seed,compiled")
    args = parser.parse_args()
    report = run(tuple(args.sets.split(",")), args.group_repeats, tuple(args.only.split(",")))
    write_report("baselines", report)


if __name__ == "__main__":
    main()
