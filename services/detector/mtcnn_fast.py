"""The MTCNN cascade (PNet -> RNet -> ONet) with the networks of mtcnn 1.0.0,
run lean: one PNet call per pyramid level, one RNet and one ONet call per image
(all candidate patches in one batch), our own numpy geometry
(``services/detector/pyramid.py``), and a pyramid that starts at the smallest
face wanted, given per image.

The networks are passed in (``Networks``): ``services/detector/networks.py``
loads mtcnn's own weights on OpenVINO or ONNX Runtime; the unit tests pass
fakes. The thresholds are mtcnn 1.0.0's defaults, and so are the box
conventions, so the faces found are the ones mtcnn finds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from services.detector import pyramid

LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True)
class Thresholds:
    """mtcnn 1.0.0's defaults: face probability each network needs, and NMS overlaps."""
    pnet: float = 0.6
    rnet: float = 0.7
    onet: float = 0.8
    nms_level: float = 0.5  # PNet, within one pyramid level (union)
    nms_pyramid: float = 0.7  # PNet, all levels together (union)
    nms_rnet: float = 0.7  # union
    nms_onet: float = 0.7  # intersection over the smaller box


class Networks(Protocol):
    def pnet(self, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(1, h, w, 3)`` float32 -> regression ``(h', w', 4)``, face probability ``(h', w')``."""

    def rnet(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(n, 24, 24, 3)`` -> regression ``(n, 4)``, face probability ``(n,)``."""

    def onet(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(n, 48, 48, 3)`` -> regression ``(n, 4)``, landmarks ``(n, 10)``, face probability ``(n,)``."""


def pyramid_levels(image: np.ndarray, scales: list[float]):
    """(level, scale) per scale: the normalised image resized (area average,
    in float as mtcnn's TensorFlow resize), as a batch of one.

    When the first level is less than half the image (a large photo, or a
    large minimum face), the image is first shrunk to the first level's size
    once (uint8) and every level is made from that: the full image is read
    once, not once per level."""
    height, width = image.shape[:2]
    if not scales:
        return
    base = image
    if scales[0] < 0.5:
        h, w = pyramid.level_size(height, width, scales[0])
        base = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    normalized = pyramid.normalize(base)
    for scale in scales:
        h, w = pyramid.level_size(height, width, scale)
        if (h, w) == normalized.shape[:2]:
            level = normalized
        else:
            interpolation = cv2.INTER_AREA if h <= normalized.shape[0] else cv2.INTER_LINEAR
            level = cv2.resize(normalized, (w, h), interpolation=interpolation)
        yield level[None], scale


def detect(image: np.ndarray, networks: Networks, min_face: float, thresholds: Thresholds = Thresholds()) -> list[dict]:
    """Faces in the uint8 RGB ``image`` at least about ``min_face`` px, best first,
    as mtcnn reports them: ``{"box": [x, y, w, h], "confidence", "keypoints"}``."""
    height, width = image.shape[:2]
    t = thresholds
    candidates = []
    for level, scale in pyramid_levels(image, pyramid.pyramid_scales(height, width, min_face)):
        reg, prob = networks.pnet(level)
        boxes = pyramid.pnet_windows(reg, prob, scale, scale, t.pnet)
        if len(boxes):
            candidates.append(boxes[pyramid.nms(boxes, t.nms_level)])
    if not candidates:
        return []
    boxes = np.concatenate(candidates)
    boxes = pyramid.square(boxes[pyramid.nms(boxes, t.nms_pyramid)])

    reg, prob = networks.rnet(pyramid.extract_patches(image, boxes, 24))
    keep = prob > t.rnet
    if not keep.any():
        return []
    boxes = pyramid.refine(boxes[keep], reg[keep])
    boxes[:, 4] = prob[keep]
    boxes = pyramid.square(boxes[pyramid.nms(boxes, t.nms_rnet)])

    reg, points, prob = networks.onet(pyramid.extract_patches(image, boxes, 48))
    keep = prob > t.onet
    if not keep.any():
        return []
    points = pyramid.landmarks(boxes[keep], points[keep])
    boxes = pyramid.refine(boxes[keep], reg[keep])
    boxes[:, 4] = prob[keep]
    chosen = pyramid.nms(boxes, t.nms_onet, method="min")
    boxes, points = pyramid.clip_to_image(boxes[chosen], height, width), points[chosen]
    faces = []
    for box, xywh, p in zip(boxes, pyramid.to_xywh(boxes), np.round(points).astype(int)):
        faces.append({"box": xywh.tolist(), "confidence": float(box[4]),
                      "keypoints": {name: [int(p[i]), int(p[i + 5])] for i, name in enumerate(LANDMARKS)}})
    return faces
