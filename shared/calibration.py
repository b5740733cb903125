"""Thresholds from the user's own gallery: leave-one-out scores, genuine
against impostor, and the threshold that keeps false matches under a target
rate. Pure numpy.

Each stored photo is scored against the rest of the gallery: its *genuine*
score is its best similarity to another photo of the same person (people with
one photo have none), its *impostor* score its best similarity to anybody
else's. A threshold t makes a false match for every impostor score >= t and a
false non-match for every genuine score < t. The suggestion is the lowest t
whose false-match rate is at most the target; the review floor is the lowest
whose rate is at most ``REVIEW_RATE_FACTOR`` times it (near misses there go to
a person, not to a mark), and never above the threshold.
"""
from __future__ import annotations

import math

import numpy as np

REVIEW_RATE_FACTOR = 20
BLOCK = 2048  # rows of the similarity matrix computed at once (memory: BLOCK x photos floats)
MARGIN = 0.005  # just above the highest impostor score a threshold must exceed


def leave_one_out(vectors: np.ndarray, owners: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(genuine scores, impostor scores), one of each per photo where defined."""
    vectors = np.asarray(vectors, np.float32)
    owners_arr = np.asarray(owners)
    genuine, impostor = [], []
    for start in range(0, len(vectors), BLOCK):
        sims = vectors[start:start + BLOCK] @ vectors.T
        for r in range(sims.shape[0]):
            i = start + r
            same = owners_arr == owners_arr[i]
            same[i] = False
            row = sims[r]
            if same.any():
                genuine.append(float(row[same].max()))
            others = owners_arr != owners_arr[i]
            if others.any():
                impostor.append(float(row[others].max()))
    return np.asarray(genuine), np.asarray(impostor)


def threshold_for_rate(impostor: np.ndarray, rate: float) -> float:
    """The lowest threshold letting at most ``rate`` of the impostor scores match."""
    if impostor.size == 0:
        return 0.0
    allowed = math.floor(rate * impostor.size)
    ordered = np.sort(impostor)[::-1]
    if allowed >= impostor.size:
        return float(round(ordered[-1], 3))
    return float(math.ceil((ordered[allowed] + MARGIN) * 1000) / 1000)


def calibrate(vectors: np.ndarray, owners: list[str], target_false_match_rate: float = 0.001) -> dict:
    genuine, impostor = leave_one_out(vectors, owners)
    if genuine.size == 0 or impostor.size == 0:
        raise ValueError("calibration needs at least two people and a person with two photos")
    threshold = threshold_for_rate(impostor, target_false_match_rate)
    floor = min(threshold_for_rate(impostor, min(1.0, REVIEW_RATE_FACTOR * target_false_match_rate)), threshold)

    def stats(scores):
        return {"count": int(scores.size), "min": round(float(scores.min()), 4),
                "p5": round(float(np.percentile(scores, 5)), 4), "median": round(float(np.median(scores)), 4),
                "p95": round(float(np.percentile(scores, 95)), 4), "max": round(float(scores.max()), 4)}

    return {
        "target_false_match_rate": target_false_match_rate,
        "match_threshold": threshold,
        "review_floor": floor,
        "false_match_rate": round(float((impostor >= threshold).mean()), 5),
        "false_non_match_rate": round(float((genuine < threshold).mean()), 5),
        "genuine_in_review_band": int(((genuine >= floor) & (genuine < threshold)).sum()),
        "impostors_in_review_band": int(((impostor >= floor) & (impostor < threshold)).sum()),
        "photos": len(owners), "people": len(set(owners)),
        "genuine": stats(genuine), "impostor": stats(impostor),
    }
