"""The fast detector with the real networks (mtcnn's weights on OpenVINO) finds the
faces the reference detector (mtcnn 1.0.0's own pipeline) finds, on real photos.

Loads both detectors (about 5 s; the first run also converts the networks to
ONNX into ASSETS_DIR, about 10 s). The whole data set, speed and the canvases
are bench/detector.py's.
"""
import pytest

from dataset.celebrities import ENROLLED, HELD_OUT, photos
from shared import config, imaging
from shared.contracts import ENROLL

# Portraits with one face, several faces, and faces near the 20 px minimum.
PHOTOS = [("val", "madonna", 0), ("val", "jerry_seinfeld", 3), ("train", "jerry_seinfeld", 12),
          ("train", "elton_john", 4), ("train", "elton_john", 8), ("train", "mindy_kaling", 14)]


def iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0, min(ax1, bx1) - max(a[0], b[0])), max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter) if inter else 0.0


@pytest.fixture(scope="module")
def detectors():
    if not all(photos(split, person) for split in ("train", "val") for person in ENROLLED + [HELD_OUT]):
        pytest.skip("the 5-celebrity data set is not installed (scripts/setup.sh)")
    from services.detector.core import FastMtcnnDetector, MtcnnDetector

    settings = config.load({"ASSETS_DIR": str(config.load().assets_dir)})
    return MtcnnDetector(settings.detect_max_side), FastMtcnnDetector(settings)


@pytest.mark.parametrize("split, person, index", PHOTOS)
def test_the_same_faces_as_the_reference(detectors, split, person, index):
    old, new = detectors
    image = imaging.decode_image(photos(split, person)[index].read_bytes())
    expected, found = old.detect(image), new.detect(image)
    assert expected, "the reference finds a face on every photo chosen here"
    assert len(found) == len(expected)
    for d in expected:
        best = max(found, key=lambda f: iou(f.box, d.box))
        assert iou(best.box, d.box) >= 0.7
        assert best.confidence > 0.8  # ONet's threshold (small faces' confidences differ by up to 0.11)
        assert set(best.landmarks) == set(d.landmarks)


def test_networks_are_verified_against_keras(detectors):
    _, new = detectors
    assert new.networks.runtime == "openvino"
    from services.detector import networks

    assert networks.verify(new.networks, networks.converted_paths(config.load())) < networks.MAX_DIFFERENCE


def test_an_enrollment_portrait_keeps_its_face(detectors):
    old, new = detectors
    image = imaging.decode_image(photos("val", "madonna")[0].read_bytes())
    (face,) = new.detect(image, ENROLL)
    assert iou(face.box, old.detect(image)[0].box) >= 0.7
