"""The fast detector's pure logic: pyramid, candidate windows, NMS, boxes, patches,
minimum face sizes, and the cascade with fake networks. No TensorFlow, no runtime."""
import numpy as np
import pytest

from services.detector import mtcnn_fast, pyramid
from services.detector.core import FaceSizes
from shared import config
from shared.contracts import ENROLL, RECOGNIZE


# --- minimum face -------------------------------------------------------------

def test_min_face_is_a_fraction_of_the_shorter_side_never_below_the_floor():
    sizes = FaceSizes(min_face_px=20, fraction=0.04, enroll_fraction=0.1)
    assert sizes.min_face(480, 640) == 20  # 19.2 -> the floor
    assert sizes.min_face(720, 1280) == pytest.approx(28.8)  # a 30 px face in a 720p frame is still looked for
    assert sizes.min_face(1080, 1920) == pytest.approx(43.2)
    assert sizes.min_face(1080, 1920, ENROLL) == pytest.approx(108)
    assert sizes.min_face(300, 200, ENROLL) == 20
    assert sizes.min_face(1080, 1920, RECOGNIZE) == pyramid.min_face_size(1080, 1920, 0.04, 20)


def test_enrollment_never_looks_for_smaller_faces_than_recognition():
    assert FaceSizes(20, 0.05, 0.01).min_face(1000, 1000, ENROLL) == 50


@pytest.mark.parametrize("px, fraction, enroll", [(0, 0.04, 0.05), (20, -0.1, 0.05), (20, 0.04, 1.0)])
def test_nonsense_sizes_are_refused(px, fraction, enroll):
    with pytest.raises(ValueError):
        FaceSizes(px, fraction, enroll)


def test_default_settings():
    s = config.load({})
    sizes = FaceSizes.from_settings(s)
    assert (sizes.min_face_px, sizes.fraction, sizes.enroll_fraction) == (20, 0.04, 0.05)
    assert s.detect_runtime == "openvino" and s.detect_threads == 1
    # The classroom benchmark's smallest faces (30 px on 1280x720) are above the default minimum.
    assert sizes.min_face(720, 1280) <= 30


# --- pyramid ------------------------------------------------------------------

def test_pyramid_starts_at_the_min_face_and_keeps_a_whole_window():
    scales = pyramid.pyramid_scales(223, 190, 20)
    assert scales[0] == pytest.approx(12 / 20)
    assert np.allclose(np.diff(np.log(scales)), np.log(pyramid.SCALE_FACTOR))
    assert 190 * scales[-1] >= pyramid.CELL > 190 * scales[-1] * pyramid.SCALE_FACTOR
    # mtcnn 1.0.0 builds the same levels for this portrait
    assert len(scales) == 7 and scales[-1] == pytest.approx(0.0762129, rel=1e-5)


@pytest.mark.parametrize("min_face", [12, 20, 50, 100, 300])
def test_a_large_min_face_never_makes_a_level_smaller_than_pnets_window(min_face):
    for scale in pyramid.pyramid_scales(480, 640, min_face):
        assert min(pyramid.level_size(480, 640, scale)) >= pyramid.CELL


def test_a_min_face_larger_than_the_image_means_no_level():
    assert pyramid.pyramid_scales(100, 100, 200) == []
    with pytest.raises(ValueError):
        pyramid.pyramid_scales(100, 100, 0)


def test_the_cost_falls_with_the_square_of_the_min_face():
    def pixels(min_face):
        return sum(np.prod(pyramid.level_size(1080, 1920, s)) for s in pyramid.pyramid_scales(1080, 1920, min_face))

    assert 3.5 < pixels(20) / pixels(40) < 4.5


def test_levels_are_truncated_like_mtcnn():
    assert pyramid.level_size(223, 190, 0.6) == (133, 114)
    assert pyramid.level_size(20, 20, 0.1) == (12, 12)


# --- PNet windows -------------------------------------------------------------

def test_pnet_windows_map_cells_back_to_the_image():
    prob = np.zeros((5, 6), np.float32)
    prob[2, 3] = 0.9
    prob[4, 0] = 0.95
    prob[1, 1] = 0.5  # below the threshold
    reg = np.zeros((5, 6, 4), np.float32)
    reg[2, 3] = [0.1, 0.0, -0.1, 0.2]
    boxes = pyramid.pnet_windows(reg, prob, 0.5, 0.5, 0.6)
    assert boxes.shape == (2, 5)
    assert boxes[0, 4] == pytest.approx(0.95)  # best first
    # cell (row 4, col 0): window x 1..12, y 9..20 of the level
    np.testing.assert_allclose(boxes[0, :4], [1 / 0.5, 9 / 0.5, 12 / 0.5, 20 / 0.5])
    # cell (row 2, col 3): window x 7..18, y 5..16, 11 px, regressed by 11 px units
    np.testing.assert_allclose(boxes[1, :4], [(7 + 1.1) / 0.5, 5 / 0.5, (18 - 1.1) / 0.5, (16 + 2.2) / 0.5], rtol=1e-6)
    assert pyramid.pnet_windows(reg, prob, 1.0, 1.0, 0.99).shape == (0, 5)


# --- NMS ----------------------------------------------------------------------

def box(x1, y1, x2, y2, score):
    return [x1, y1, x2, y2, score]


def test_nms_keeps_the_best_of_overlapping_boxes_and_the_separate_ones():
    boxes = np.array([box(0, 0, 10, 10, 0.8), box(1, 1, 11, 11, 0.9), box(50, 50, 60, 60, 0.7)], np.float32)
    assert pyramid.nms(boxes, 0.5).tolist() == [1, 2]
    assert pyramid.nms(boxes, 0.9).tolist() == [1, 0, 2]  # IoU 0.68: both kept at 0.9


def test_nms_is_greedy():
    """A box suppressed by a kept one does not suppress others (B overlaps A and C; A and C do not)."""
    boxes = np.array([box(0, 0, 10, 10, 0.9), box(4, 0, 14, 10, 0.8), box(8, 0, 18, 10, 0.7)], np.float32)
    assert pyramid.nms(boxes, 0.4).tolist() == [0, 2]


def test_nms_min_method_removes_a_box_inside_another():
    boxes = np.array([box(0, 0, 100, 100, 0.9), box(10, 10, 40, 40, 0.95)], np.float32)
    assert pyramid.nms(boxes, 0.7, "union").tolist() == [1, 0]
    assert pyramid.nms(boxes, 0.7, "min").tolist() == [1]
    with pytest.raises(ValueError):
        pyramid.nms(boxes, 0.7, "max")


def test_nms_in_blocks_equals_nms_at_once(monkeypatch):
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 200, (300, 2))
    size = rng.uniform(10, 40, (300, 1))
    boxes = np.hstack([xy, xy + size, rng.uniform(0, 1, (300, 1))]).astype(np.float32)
    whole = pyramid.nms(boxes, 0.3)
    monkeypatch.setattr(pyramid, "NMS_BLOCK", 7)
    assert pyramid.nms(boxes, 0.3).tolist() == whole.tolist()
    assert pyramid.nms(np.empty((0, 5), np.float32), 0.5).tolist() == []


# --- boxes --------------------------------------------------------------------

def test_square_keeps_the_centre_and_the_longer_side():
    out = pyramid.square(np.array([box(10, 20, 30, 60, 0.5)], np.float32))
    np.testing.assert_allclose(out[0], [0, 20, 40, 60, 0.5])


def test_refine_moves_corners_by_box_size_units():
    out = pyramid.refine(np.array([box(0, 0, 9, 19, 0.5)], np.float32), np.array([[0.1, -0.1, 0.2, 0.0]]))
    np.testing.assert_allclose(out[0], [1, -2, 11, 19, 0.5])


def test_landmarks_are_placed_in_the_box():
    points = np.array([[0.0, 0.5, 1.0, 0.25, 0.75, 0.0, 0.5, 1.0, 0.25, 0.75]])
    out = pyramid.landmarks(np.array([box(10, 20, 49, 99, 1)], np.float32), points)
    np.testing.assert_allclose(out[0, :5], [9, 29, 49, 19, 39])
    np.testing.assert_allclose(out[0, 5:], [19, 59, 99, 39, 79])


def test_boxes_are_clipped_and_reported_as_rounded_xywh():
    boxes = pyramid.clip_to_image(np.array([box(-5.2, 3.6, 120.4, 50.2, 1)], np.float32), 40, 100)
    np.testing.assert_allclose(boxes[0, :4], [0, 3.6, 99, 39], rtol=1e-6)
    assert pyramid.to_xywh(boxes).tolist() == [[0, 4, 99, 35]]


# --- patches ------------------------------------------------------------------

def test_patches_sample_the_box_like_crop_and_resize():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, :, 0] = np.arange(100, dtype=np.uint8)[None, :]  # red = x
    image[:, :, 1] = np.arange(100, dtype=np.uint8)[:, None]  # green = y
    patch = pyramid.extract_patches(image, np.array([box(20, 40, 44, 64, 1)], np.float32), 25)
    pixels = patch[0] * 128 + 127.5
    # corners on the box's corners scaled by (side - 1) / side (mtcnn divides by the image size)
    assert pixels[0, 0, 0] == pytest.approx(20 * 0.99, abs=0.6) and pixels[0, 0, 1] == pytest.approx(40 * 0.99, abs=0.6)
    assert pixels[-1, -1, 0] == pytest.approx(44 * 0.99, abs=0.6)
    assert pixels[-1, -1, 1] == pytest.approx(64 * 0.99, abs=0.6)


def test_patches_outside_the_image_are_mid_grey():
    image = np.full((50, 50, 3), 255, np.uint8)
    patch = pyramid.extract_patches(image, np.array([box(-100, -100, -60, -60, 1)], np.float32), 24)
    assert patch.shape == (1, 24, 24, 3) and patch.dtype == np.float32
    assert np.abs(patch).max() < 0.01


# --- the cascade with fake networks ------------------------------------------

SQUARE = (60, 30, 100, 70)  # x1, y1, x2, y2 of the bright square: the "face"


def overlap_with_square(x1, y1, x2, y2):
    b = np.array([[x1, y1, x2, y2, 1.0]])
    return pyramid.overlaps(b, np.array([[*SQUARE, 1.0]]))[0, 0]


class FakeNetworks:
    """PNet's face probability is a window's overlap with the bright square;
    RNet and ONet accept patches that are mostly bright."""

    def __init__(self, height):
        self.height = height
        self.calls = {"pnet": 0, "rnet": 0, "onet": 0}

    def pnet(self, level):
        self.calls["pnet"] += 1
        _, h, w, _ = level.shape
        scale = h / self.height
        oh, ow = (h - 2 + 1) // 2 - 4, (w - 2 + 1) // 2 - 4
        prob = np.zeros((oh, ow), np.float32)
        for i in range(oh):
            for j in range(ow):
                prob[i, j] = overlap_with_square((2 * j + 1) / scale, (2 * i + 1) / scale,
                                                 (2 * j + 12) / scale, (2 * i + 12) / scale)
        return np.zeros((oh, ow, 4), np.float32), prob

    def rnet(self, patches):
        self.calls["rnet"] += 1
        return np.zeros((len(patches), 4), np.float32), (patches[..., 0] > 0.5).mean(axis=(1, 2))

    def onet(self, patches):
        self.calls["onet"] += 1
        n = len(patches)
        return np.zeros((n, 4), np.float32), np.full((n, 10), 0.5, np.float32), (patches[..., 0] > 0.5).mean(axis=(1, 2))


def test_the_cascade_finds_the_square_with_one_rnet_and_one_onet_call():
    image = np.zeros((120, 160, 3), np.uint8)
    image[30:70, 60:100] = 255
    nets = FakeNetworks(120)
    faces = mtcnn_fast.detect(image, nets, 20, mtcnn_fast.Thresholds(pnet=0.6, rnet=0.9, onet=0.9))
    assert len(faces) == 1
    x, y, w, h = faces[0]["box"]
    assert abs(x - 60) <= 4 and abs(y - 30) <= 4 and abs(w - 40) <= 6 and abs(h - 40) <= 6
    assert set(faces[0]["keypoints"]) == set(mtcnn_fast.LANDMARKS)
    assert nets.calls["pnet"] == len(pyramid.pyramid_scales(120, 160, 20))
    assert nets.calls["rnet"] == 1 and nets.calls["onet"] == 1


def test_the_cascade_stops_early_on_an_empty_image():
    nets = FakeNetworks(60)
    nets.pnet = lambda level: (np.zeros((5, 5, 4), np.float32), np.zeros((5, 5), np.float32))
    assert mtcnn_fast.detect(np.zeros((60, 80, 3), np.uint8), nets, 20) == []
    assert nets.calls["rnet"] == 0
    assert mtcnn_fast.detect(np.zeros((10, 10, 3), np.uint8), nets, 20) == []  # smaller than the min face
