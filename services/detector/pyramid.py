"""MTCNN's geometry, without any network: the image pyramid, PNet's candidate
windows, non-maximum suppression, box refinement and the patches RNet and ONet
see. Pure numpy (and OpenCV for the patch warps); the cascade that feeds the
networks is ``services/detector/mtcnn_fast.py``.

Boxes are float arrays ``(n, 5)``: ``x1, y1, x2, y2, score`` in the pixels of
the image the cascade runs on, the conventions of mtcnn 1.0.0 (whose networks
and weights these are): a PNet window is 11 px wide from ``2i + 1`` to
``2i + 12`` before regression, offsets are in units of ``x2 - x1 + 1``, a
box's area for overlaps is ``(x2 - x1) * (y2 - y1)``.
"""
from __future__ import annotations

import cv2
import numpy as np

CELL = 12  # PNet's window: the smallest face it sees at a pyramid level
STRIDE = 2  # PNet's output grid step, in pixels of the level
SCALE_FACTOR = 0.709  # one pyramid level to the next (area halves)


def min_face_size(height: int, width: int, fraction: float, floor_px: float) -> float:
    """The smallest face (px) to look for in a ``width`` x ``height`` image:
    ``fraction`` of its shorter side, never below ``floor_px``."""
    return max(float(floor_px), float(fraction) * min(height, width))


def pyramid_scales(height: int, width: int, min_face: float, factor: float = SCALE_FACTOR) -> list[float]:
    """Scales of the image pyramid: the first maps ``min_face`` px onto PNet's
    12 px window, each next one is ``factor`` of the previous, and the last
    still leaves the shorter side at least 12 px (PNet needs a whole window).

    mtcnn 1.0.0 counts its levels from scale 1 whatever the first scale is,
    so a large ``min_face`` there yields levels smaller than PNet's window
    (and a failed detection); counting from the first scale cannot.
    """
    if min_face <= 0:
        raise ValueError(f"the minimum face size must be positive, not {min_face}")
    scales = []
    scale = CELL / float(min_face)
    shorter = min(height, width)
    while shorter * scale >= CELL:
        scales.append(scale)
        scale *= factor
    return scales


def level_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(height, width) of a pyramid level: truncated, as mtcnn 1.0.0 sizes them
    (its windows are mapped back with the nominal scale), at least PNet's window."""
    return max(CELL, int(height * scale)), max(CELL, int(width * scale))


def pnet_windows(reg: np.ndarray, prob: np.ndarray, scale_y: float, scale_x: float, threshold: float) -> np.ndarray:
    """Candidate boxes (in image pixels) from PNet's output at one level.

    ``reg`` ``(h, w, 4)`` and ``prob`` ``(h, w)`` (the face probability) are
    PNet's maps for a level that is ``scale_x``, ``scale_y`` times the image;
    the windows whose probability exceeds ``threshold`` are regressed, mapped
    back to the image and returned best first.
    """
    ys, xs = np.nonzero(prob > threshold)
    if ys.size == 0:
        return np.empty((0, 5), np.float32)
    score = prob[ys, xs]
    dx1, dy1, dx2, dy2 = reg[ys, xs].T
    x0 = xs * STRIDE + 1.0
    y0 = ys * STRIDE + 1.0
    size = CELL - 1.0
    boxes = np.stack([(x0 + dx1 * size) / scale_x, (y0 + dy1 * size) / scale_y,
                      (x0 + size + dx2 * size) / scale_x, (y0 + size + dy2 * size) / scale_y, score], axis=1)
    return boxes[np.argsort(-score, kind="stable")].astype(np.float32)


def overlaps(a: np.ndarray, b: np.ndarray, method: str = "union") -> np.ndarray:
    """``(len(a), len(b))`` overlap of each box of ``a`` with each of ``b``:
    intersection over union (``"union"``) or over the smaller box (``"min"``);
    0 where undefined. A box's area is ``(x2 - x1) * (y2 - y1)``."""
    if method not in ("union", "min"):
        raise ValueError(f"method must be union or min, not {method!r}")
    a, b = a[:, :4].astype(np.float64), b[:, :4].astype(np.float64)
    area_a = np.maximum(0.0, a[:, 2] - a[:, 0]) * np.maximum(0.0, a[:, 3] - a[:, 1])
    area_b = np.maximum(0.0, b[:, 2] - b[:, 0]) * np.maximum(0.0, b[:, 3] - b[:, 1])
    w = np.maximum(0.0, np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]))
    h = np.maximum(0.0, np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]))
    inter = w * h
    if method == "union":
        denominator = area_a[:, None] + area_b[None, :] - inter
    else:
        denominator = np.minimum(area_a[:, None], area_b[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, inter / np.where(denominator > 0, denominator, 1.0), 0.0)


# Above this many boxes the overlaps are computed a block of rows at a time (memory).
NMS_BLOCK = 1024


def nms(boxes: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best first.

    The best box is kept and every box overlapping it by more than
    ``threshold`` dropped, then the best of the rest, and so on (MTCNN's
    original procedure). Overlap as in :func:`overlaps`.
    """
    if method not in ("union", "min"):
        raise ValueError(f"method must be union or min, not {method!r}")
    n = len(boxes)
    if n == 0:
        return np.empty(0, np.intp)
    order = np.argsort(-boxes[:, 4], kind="stable")
    ranked = boxes[order]
    suppressed = np.zeros(n, bool)
    keep = []
    for start in range(0, n, NMS_BLOCK):
        stop = min(n, start + NMS_BLOCK)
        # The block's boxes against themselves and every box ranked after them.
        over = overlaps(ranked[start:stop], ranked[start:], method) > threshold
        for i in range(stop - start):
            if suppressed[start + i]:
                continue
            keep.append(start + i)
            suppressed[start:] |= over[i]
    return order[np.asarray(keep, np.intp)]


def square(boxes: np.ndarray) -> np.ndarray:
    """The boxes made square around their centres (the longer side kept)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def refine(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply a network's box regression (``(n, 4)``, in units of the box size)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1.0
    h = boxes[:, 3] - boxes[:, 1] + 1.0
    out[:, 0:4] += offsets * np.stack([w, h, w, h], axis=1)
    return out


def landmarks(boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """ONet's landmarks ``(n, 10)`` (x1..x5, y1..y5 relative to the box) in image pixels."""
    w = boxes[:, 2:3] - boxes[:, 0:1] + 1.0
    h = boxes[:, 3:4] - boxes[:, 1:2] + 1.0
    out = np.empty_like(points, dtype=np.float32)
    out[:, 0:5] = w * points[:, 0:5] + boxes[:, 0:1] - 1.0
    out[:, 5:10] = h * points[:, 5:10] + boxes[:, 1:2] - 1.0
    return out


def patch_transforms(boxes: np.ndarray, height: int, width: int, size: int) -> np.ndarray:
    """For each box, the affine map ``(2, 3)`` from patch pixels to image pixels
    that samples a ``size`` x ``size`` patch the way mtcnn 1.0.0 does
    (TensorFlow's ``crop_and_resize`` with the box divided by the image size):
    bilinear, the patch's corner pixels on the box's corners scaled by
    ``(side - 1) / side``."""
    fy = (height - 1) / height
    fx = (width - 1) / width
    step = max(size - 1, 1)
    maps = np.zeros((len(boxes), 2, 3), np.float64)
    maps[:, 0, 0] = (boxes[:, 2] - boxes[:, 0]) * fx / step
    maps[:, 0, 2] = boxes[:, 0] * fx
    maps[:, 1, 1] = (boxes[:, 3] - boxes[:, 1]) * fy / step
    maps[:, 1, 2] = boxes[:, 1] * fy
    return maps


def extract_patches(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """``(n, size, size, 3)`` float32 patches of the boxes from a uint8 RGB
    ``image``, normalised as MTCNN expects (:func:`normalize`); outside the
    image mid-grey (128, normalised about 0, as mtcnn's zero padding)."""
    height, width = image.shape[:2]
    out = np.empty((len(boxes), size, size, 3), np.uint8)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for i, m in enumerate(patch_transforms(boxes, height, width, size)):
        cv2.warpAffine(image, m, (size, size), dst=out[i], flags=flags, borderMode=cv2.BORDER_CONSTANT,
                       borderValue=(128, 128, 128))
    return normalize(out)


def normalize(pixels: np.ndarray) -> np.ndarray:
    """uint8 RGB -> MTCNN's input range, float32."""
    return (pixels.astype(np.float32) - 127.5) * (1.0 / 128.0)


def clip_to_image(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Box corners limited to the image's pixels (mtcnn 1.0.0's ``fit_to_image``)."""
    out = boxes.copy()
    out[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width - 1)
    out[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height - 1)
    return out


def to_xywh(boxes: np.ndarray) -> np.ndarray:
    """``x1, y1, x2, y2`` -> integer ``x, y, w, h`` (rounded as mtcnn 1.0.0 reports them)."""
    xywh = np.stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1)
    return np.round(xywh).astype(int)
