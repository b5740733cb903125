"""Detector core: find faces, apply quality rules, crop. No broker code here."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shared import imaging
from shared.contracts import ENROLL, RECOGNIZE, ErrorCode, Face, JobError, encode_array
from shared.models import MODELS

# How much image around the face the crop keeps, as a fraction of the face box
# on each side. The embedder cuts its model's own margin out of this, so it must
# exceed every model's margin (shared/models.py); a little more than the largest.
CROP_CONTEXT = max(spec.margin for spec in MODELS.values()) + 0.05
# The face size (px, larger side) beyond which a crop is shrunk: the embedder
# resizes face plus margin to its model's input size, so more pixels than that
# are never used. Shrinking keeps a message small: a 12-megapixel photo's faces
# are ~500 px wide, ~1.4 MB of raw pixels each; at this size ~90 KB.
EMBED_FACE_PX = max(math.ceil(spec.image_size / (1 + 2 * spec.margin)) for spec in MODELS.values())


@dataclass(frozen=True)
class Detection:
    box: list[int]  # x, y, w, h in the full image
    confidence: float
    landmarks: dict[str, list[int]]


@dataclass(frozen=True)
class QualityRules:
    min_face_px: int
    min_confidence: float

    def usable(self, d: Detection) -> bool:
        return d.confidence >= self.min_confidence and min(d.box[2], d.box[3]) >= self.min_face_px


def compile_stage_models(mtcnn) -> int:
    """Run each of MTCNN's networks as a compiled TensorFlow graph; returns how many.

    mtcnn 1.0.0 calls its Keras networks eagerly, op by op from Python. As
    graphs, detection takes 40 ms instead of 139 ms per portrait on the
    project's 2-core machine (an 11-face group photo: 0.25 s instead of 0.6 s),
    with identical detections. Its stages expose each network as ``model`` but
    offer no setter, so the compiled function replaces the private ``_model``;
    a stage without one (another mtcnn version) is left as it is.
    """
    import tensorflow as tf

    compiled = 0
    for stage in getattr(mtcnn, "stages", []):
        model = getattr(stage, "_model", None)
        if model is None:
            continue
        # reduce_retracing: the pyramid feeds PNet many image sizes; after a
        # second shape TensorFlow traces one graph for all of them.
        stage._model = tf.function(lambda images, model=model: model(images, training=False),
                                   reduce_retracing=True, autograph=False)
        compiled += 1
    return compiled


@dataclass(frozen=True)
class FaceSizes:
    """The smallest face the detector looks for in a photo, in the photo's pixels.

    A fraction of the photo's shorter side, never below ``min_face_px`` (the
    quality rule's minimum): MTCNN's work (its image pyramid) falls with the
    square of the minimum face relative to the image, so a 1080p photo costs
    about what a VGA one does. Enrollment photos are portraits: their
    ``enroll_fraction`` is larger.
    """
    min_face_px: int
    fraction: float
    enroll_fraction: float

    def __post_init__(self):
        if self.min_face_px < 1:
            raise ValueError(f"DETECT_MIN_FACE_PX must be at least 1, not {self.min_face_px}")
        for name, value in (("DETECT_MIN_FACE_FRACTION", self.fraction),
                            ("DETECT_ENROLL_MIN_FACE_FRACTION", self.enroll_fraction)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be at least 0 and below 1, not {value}")

    @classmethod
    def from_settings(cls, settings) -> "FaceSizes":
        return cls(settings.detect_min_face_px, settings.detect_min_face_fraction,
                   settings.detect_enroll_min_face_fraction)

    def min_face(self, height: int, width: int, kind: str = RECOGNIZE) -> float:
        fraction = max(self.fraction, self.enroll_fraction) if kind == ENROLL else self.fraction
        return max(float(self.min_face_px), fraction * min(height, width))


class FastMtcnnDetector:
    """MTCNN's own networks on OpenVINO (``services/detector/networks.py``), a
    lean cascade (``mtcnn_fast.py``) and a pyramid from the smallest face wanted
    (``FaceSizes``), on a copy downscaled to ``max_side``; boxes mapped back to
    full size. Finds the faces ``MtcnnDetector`` finds (checked on the data set
    by tests/unit/test_detector_fast.py and bench/detector.py)."""

    def __init__(self, settings, max_side: int | None = None, sizes: FaceSizes | None = None,
                 runtime: str | None = None, threads: int | None = None):
        from services.detector import networks

        self.max_side = settings.detect_max_side if max_side is None else max_side
        self.sizes = sizes or FaceSizes.from_settings(settings)
        self.networks = networks.load(settings, runtime or settings.detect_runtime,
                                      detector_threads(settings) if threads is None else threads)

    def detect(self, image: np.ndarray, kind: str = RECOGNIZE) -> list[Detection]:
        from services.detector import mtcnn_fast, pyramid

        height, width = image.shape[:2]
        small, scale = imaging.downscale(image, self.max_side)
        min_face = max(float(pyramid.CELL), self.sizes.min_face(height, width, kind) * scale)
        raw = mtcnn_fast.detect(small, self.networks, min_face)
        return [scale_detection(r, scale) for r in raw]


def detector_threads(settings) -> int:
    """``DETECT_THREADS``, or (0) the CPUs this process may use."""
    from shared.model_cache import available_cpus, cgroup_cpu_quota

    configured = int(settings.detect_threads)
    if configured < 0:
        raise ValueError(f"DETECT_THREADS must be 0 (the CPUs available) or more, not {configured}")
    return configured or available_cpus(cgroup_cpu_quota())


class MtcnnDetector:
    """MTCNN on a possibly downscaled copy; boxes mapped back to full size.

    The reference: mtcnn 1.0.0's own pipeline with its networks compiled
    (40-50 ms per portrait). The service runs ``FastMtcnnDetector``; this one
    stays for comparison (bench/detector.py, the tests) and the benchmarks
    that use it.
    """

    def __init__(self, max_side: int):
        from mtcnn import MTCNN  # heavy import: TensorFlow

        self._mtcnn = MTCNN()
        self.compiled_networks = compile_stage_models(self._mtcnn)
        self.max_side = max_side

    def detect(self, image: np.ndarray) -> list[Detection]:
        small, scale = imaging.downscale(image, self.max_side)
        raw = self._mtcnn.detect_faces(small)
        return [scale_detection(r, scale) for r in raw]


def scale_detection(raw: dict, scale: float) -> Detection:
    inv = 1.0 / scale
    box = [int(round(v * inv)) for v in raw["box"]]
    x, y, w, h = box
    box = [max(0, x), max(0, y), w + min(0, x), h + min(0, y)]
    landmarks = {k: [int(round(p * inv)) for p in v] for k, v in (raw.get("keypoints") or {}).items()}
    return Detection(box=box, confidence=float(raw["confidence"]), landmarks=landmarks)


def select_faces(kind: str, detections: list[Detection], rules: QualityRules) -> list[Detection]:
    """Faces that go on to the embedder.

    Recognition keeps every usable face (possibly none). Enrollment needs
    exactly one usable face and says why a photo is refused.
    """
    usable = [d for d in detections if rules.usable(d)]
    if kind != ENROLL:
        return usable
    if len(usable) > 1:
        raise JobError(ErrorCode.MULTIPLE_FACES, f"the photo shows {len(usable)} faces; an enrollment photo must show one")
    if not usable:
        confident = [d for d in detections if d.confidence >= rules.min_confidence]
        if confident:
            size = max(min(d.box[2], d.box[3]) for d in confident)
            raise JobError(
                ErrorCode.FACE_TOO_SMALL,
                f"the face is {size} px; at least {rules.min_face_px} px are needed",
            )
        raise JobError(ErrorCode.NO_FACE, "no face was found in the photo")
    return usable


def faces_for_embedding(image: np.ndarray, detections: list[Detection]) -> list[Face]:
    faces = []
    for d in detections:
        crop, face_box = imaging.crop_with_context(image, d.box, CROP_CONTEXT)
        crop, face_box = imaging.shrink_crop(crop, face_box, EMBED_FACE_PX)
        faces.append(Face(box=tuple(d.box), confidence=round(d.confidence, 4),
                          landmarks={k: tuple(v) for k, v in d.landmarks.items()},
                          crop=encode_array(crop), face_box=tuple(face_box)))
    return faces
