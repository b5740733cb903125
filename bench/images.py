"""The photos the performance benchmarks send, the same to the in-process baselines and to the system.

* ``val``: the 25 val photos of the 5-celebrity data set as they are (portraits, ~300x300);
* ``720p`` and ``1080p``: each val photo scaled so that its height is 40 % of the frame's
  (a person in a doorway camera's frame), placed on a plain grey 1280x720 or 1920x1080 frame;
* ``group``: one 1920x1080 photo of 10 val portraits (two of each person) side by side, as
  bench/classroom.py builds its group photos (there from face boxes, here whole portraits).

Every image is a JPEG (quality 92), encoded once: both sides decode the same bytes.
"""
from __future__ import annotations

import random

import cv2
import numpy as np

from dataset.celebrities import ENROLLED, HELD_OUT, photos
from shared import imaging

SETS = ("val", "720p", "1080p", "group")
FRAMES = {"720p": (720, 1280), "1080p": (1080, 1920)}  # height, width
PHOTO_HEIGHT = 0.40  # of the frame
GREY = 170
GROUP_FACES = 10


def val_photos() -> list:
    return [p for person in ENROLLED + [HELD_OUT] for p in photos("val", person)]


def scaled(image: np.ndarray, height: int) -> np.ndarray:
    scale = height / image.shape[0]
    size = (max(1, round(image.shape[1] * scale)), height)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def on_frame(image: np.ndarray, frame: tuple[int, int], rng: random.Random) -> np.ndarray:
    """``image`` scaled to ``PHOTO_HEIGHT`` of ``frame`` and placed somewhere on a plain frame."""
    canvas = np.full((*frame, 3), GREY, np.uint8)
    photo = scaled(image, round(frame[0] * PHOTO_HEIGHT))
    h, w = photo.shape[:2]
    y, x = rng.randint(0, frame[0] - h), rng.randint(0, frame[1] - w)
    canvas[y:y + h, x:x + w] = photo
    return canvas


def group(images: list[np.ndarray], frame: tuple[int, int] = FRAMES["1080p"], rows: int = 2) -> np.ndarray:
    """``images`` in a grid of ``rows`` rows, each scaled to fit its cell, on a plain frame."""
    canvas = np.full((*frame, 3), GREY, np.uint8)
    cols = -(-len(images) // rows)
    cell_h, cell_w = frame[0] // rows, frame[1] // cols
    for i, image in enumerate(images):
        photo = scaled(image, min(cell_h - 20, round(image.shape[0] * (cell_w - 20) / image.shape[1])))
        h, w = photo.shape[:2]
        y, x = (i // cols) * cell_h + (cell_h - h) // 2, (i % cols) * cell_w + (cell_w - w) // 2
        canvas[y:y + h, x:x + w] = photo
    return canvas


def image_sets(names=SETS, seed: int = 7) -> dict[str, list[tuple[str, bytes]]]:
    """``{set name: [(label, jpeg bytes)]}`` for the sets named."""
    rng = random.Random(seed)
    paths = val_photos()
    decoded = [(p.name, imaging.decode_image(p.read_bytes())) for p in paths]
    out: dict[str, list[tuple[str, bytes]]] = {}
    for name in names:
        if name == "val":
            out[name] = [(p.name, p.read_bytes()) for p in paths]
        elif name in FRAMES:
            out[name] = [(label, imaging.encode_jpeg(on_frame(image, FRAMES[name], rng))) for label, image in decoded]
        elif name == "group":
            per_person = len(decoded) // (len(ENROLLED) + 1)  # photos are in people order
            chosen = [image for i in range(0, len(decoded), per_person)
                      for _, image in rng.sample(decoded[i:i + per_person], GROUP_FACES // (len(ENROLLED) + 1))]
            rng.shuffle(chosen)
            out[name] = [(f"group-{len(chosen)}.jpg", imaging.encode_jpeg(group(chosen)))]
        else:
            raise ValueError(f"unknown image set {name!r}: one of {', '.join(SETS)}")
    return out
