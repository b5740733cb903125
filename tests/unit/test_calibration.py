import numpy as np
import pytest

from shared.calibration import calibrate, leave_one_out, threshold_for_rate


def unit(rows):
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_leave_one_out_scores_each_photo_against_the_rest():
    v = unit([[1, 0], [0.9, 0.1], [0, 1]])
    genuine, impostor = leave_one_out(v, ["A", "A", "B"])
    assert genuine.size == 2 and genuine.min() > 0.99  # A's two photos; B has no second photo
    assert impostor.size == 3 and impostor.max() < 0.2


def test_the_threshold_lets_at_most_the_target_rate_of_impostors_through():
    impostor = np.linspace(0.0, 0.5, 1000)
    t = threshold_for_rate(impostor, 0.01)
    assert (impostor >= t).mean() <= 0.01 and (impostor >= t - 0.01).mean() > 0.01
    assert threshold_for_rate(impostor, 0.0) > impostor.max()


def test_a_separable_gallery_gets_an_error_free_threshold_and_a_floor_below_it():
    rng = np.random.default_rng(1)
    centres = unit(rng.normal(size=(20, 64)))
    vectors, owners = [], []
    for p, c in enumerate(centres):
        for _ in range(4):
            vectors.append(c + 0.05 * rng.normal(size=64))
            owners.append(f"P{p}")
    out = calibrate(unit(vectors), owners, target_false_match_rate=0.001)
    assert out["false_match_rate"] == 0.0 and out["false_non_match_rate"] == 0.0
    assert out["impostor"]["max"] < out["match_threshold"] <= out["genuine"]["min"] + 0.01
    assert out["review_floor"] <= out["match_threshold"] and out["people"] == 20 and out["photos"] == 80


def test_calibration_needs_enough_data():
    with pytest.raises(ValueError):
        calibrate(unit([[1, 0], [0, 1]]), ["A", "B"])
