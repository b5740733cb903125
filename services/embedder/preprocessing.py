"""From a detector crop to a model's input, and from its output to a unit vector. Pure numpy/OpenCV."""
from __future__ import annotations

import cv2
import numpy as np

from shared.imaging import expand_box
from shared.models import ModelSpec


def prewhiten(image: np.ndarray) -> np.ndarray:
    """Per-image standardisation (what davidsandberg/facenet's 2017 models were trained with)."""
    x = image.astype(np.float32)
    mean, std = x.mean(), x.std()
    std_adj = np.float32(max(std, 1.0 / np.sqrt(x.size)))
    return (x - mean) / std_adj


def fixed_standardize(image: np.ndarray) -> np.ndarray:
    """``(x - 127.5) / 127.5`` (what the 2018 models were trained with)."""
    return (image.astype(np.float32) - 127.5) / 127.5


def face_pixels(crop: np.ndarray, face_box, spec: ModelSpec) -> np.ndarray:
    """Cut the model's margin around ``face_box`` out of ``crop`` and resize to its input size (uint8)."""
    h, w = crop.shape[:2]
    x, y, bw, bh = expand_box(face_box, spec.margin, w, h)
    region = crop[y:y + bh, x:x + bw]
    if region.size == 0:
        region = crop
    return cv2.resize(region, (spec.image_size, spec.image_size), interpolation=cv2.INTER_LINEAR)


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-10)
