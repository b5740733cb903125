"""The largest messages the pipeline sends, for a 12-megapixel photo with 30
faces, measured with the real detector (no broker needed)."""
from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from dataset.celebrities import ENROLLED, HELD_OUT, photos
from services.detector import core
from shared import config, imaging
from shared.contracts import RECOGNIZE, Job

# RabbitMQ 4's default max_message_size (3.x allows 128 MiB): every message must fit.
BROKER_LIMIT = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def detector():
    return core.MtcnnDetector(config.load().detect_max_side)


def group_photo_12mp(faces: int = 30) -> np.ndarray:
    """4000x3000 canvas, ``faces`` portraits of the data set in a grid (each ~520 px tall)."""
    canvas = np.full((3000, 4000, 3), 200, np.uint8)
    portraits = [p for person in [*ENROLLED, HELD_OUT] for p in photos("train", person)][:faces]
    cols, rows = 6, 5
    cell_w, cell_h = 4000 // cols, 3000 // rows
    for i, path in enumerate(portraits):
        img = imaging.decode_image(path.read_bytes())
        scale = min((cell_w - 20) / img.shape[1], (cell_h - 20) / img.shape[0])
        img = cv2.resize(img, (int(img.shape[1] * scale), int(img.shape[0] * scale)))
        y, x = (i // cols) * cell_h + 10, (i % cols) * cell_w + 10
        canvas[y:y + img.shape[0], x:x + img.shape[1]] = img
    return canvas


def test_a_12_megapixel_photo_with_30_faces_makes_messages_well_under_the_broker_limit(detector):
    photo = imaging.encode_jpeg(group_photo_12mp(), quality=92)
    job = Job(kind=RECOGNIZE, reply_to="q", correlation_id="c", deadline=time.time() + 60, image=photo)
    to_detector = len(job.to_bytes())
    image = imaging.decode_image(photo)
    chosen = core.select_faces(RECOGNIZE, detector.detect(image), core.QualityRules(20, 0.8))
    to_embedder = len(job.evolve(image=None, faces=tuple(core.faces_for_embedding(image, chosen))).to_bytes())
    print("\n" + json.dumps({"photo_bytes": len(photo), "faces_found": len(chosen),
                             "message_to_detector_bytes": to_detector, "message_to_embedder_bytes": to_embedder}))
    assert len(chosen) >= 28, f"only {len(chosen)} of 30 faces found"
    assert to_embedder < 4 * 1024 * 1024  # ~120 KB per face: crops at the embedder's size, not the photo's
    assert max(to_detector, to_embedder) < BROKER_LIMIT
