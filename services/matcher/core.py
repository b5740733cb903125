"""Matcher core: turn gallery candidates and person records into the answer,
and keep count of the gallery changes received. Pure functions and records;
the adapter (matcher.py, main.py) supplies the gallery, records and threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from services.matcher.gallery import Candidate
from shared.contracts import Face


def candidate_ids(per_face: list[list[Candidate]]) -> set[str]:
    return {c.person_id for cands in per_face for c in cands}


@dataclass(frozen=True)
class Thresholds:
    """``match``: a face is that person at or above it. ``review_floor``: below
    ``match`` but at or above this, and ``review_margin`` ahead of the face's
    next candidate, a face is a near miss for a person to confirm."""

    match: float
    review_floor: float
    review_margin: float = 0.05


@dataclass(frozen=True)
class FaceDecision:
    match: str | None = None  # person id
    similarity: float | None = None  # of the match
    review: str | None = None  # person id of a near miss
    review_similarity: float | None = None


def _assign(weights: np.ndarray, sims: np.ndarray, faces: list[int], cols: list[int]) -> list[tuple[int, int, float]]:
    """The one-to-one pairs (face, column, similarity) of the greatest total
    weight (the Hungarian method): no person is given two faces, and a face
    loses a person only to a face that resembles them more overall."""
    if not faces or not cols:
        return []
    rows, picked = linear_sum_assignment(-weights[np.ix_(faces, cols)])
    pairs = [(faces[r], cols[c]) for r, c in zip(rows, picked)]
    return [(f, c, float(sims[f, c])) for f, c in pairs if np.isfinite(sims[f, c])]


def decide_faces(sims: np.ndarray, people: list[str], thresholds: Thresholds,
                 roster: set[str] | None = None) -> list[FaceDecision]:
    """Who each face of one photo is, from ``sims`` (faces x ``people``).

    One face, one person: an optimal assignment over the whole photo, of the
    greatest total similarity among pairs that reach the match threshold
    (pairs below it count for nothing: a face must not lose its person to a
    face that would not be matched anyway). With a ``roster`` (a check-in),
    its members are matched first; the faces left over are then matched
    against everybody else. A face left without a match is a near miss for
    review when, assigned among the people still free (roster members, in a
    check-in), its person is within ``review_floor`` and clearly ahead of the
    face's next candidate.
    """
    n_faces = sims.shape[0]
    decisions = [FaceDecision() for _ in range(n_faces)]
    all_cols = list(range(len(people)))
    first = [j for j in all_cols if people[j] in roster] if roster is not None else all_cols
    rounds = [first] + ([[j for j in all_cols if j not in first]] if roster is not None else [])
    finite = np.where(np.isfinite(sims), sims, -1.0)
    matchable = np.where(sims >= thresholds.match, finite, 0.0)
    taken: set[int] = set()
    for cols in rounds:
        open_faces = [i for i in range(n_faces) if decisions[i].match is None]
        for face, col, sim in _assign(matchable, sims, open_faces, [j for j in cols if j not in taken]):
            if sim >= thresholds.match:
                decisions[face] = FaceDecision(people[col], round(sim, 4))
                taken.add(col)
    unmatched = [i for i in range(n_faces) if decisions[i].match is None]
    for face, col, sim in _assign(finite, sims, unmatched, [j for j in first if j not in taken]):
        if not thresholds.review_floor <= sim < thresholds.match:
            continue
        others = np.delete(sims[face], col)
        runner_up = float(others.max()) if others.size else -np.inf
        if sim - runner_up >= thresholds.review_margin:
            decisions[face] = FaceDecision(review=people[col], review_similarity=round(sim, 4))
    return decisions


def face_result(face: Face, candidates: list[Candidate], decision: FaceDecision, persons: dict[str, dict],
                threshold: float) -> dict:
    """One face of the recognize answer (docs/ARCHITECTURE.md, "HTTP contract", ``POST /recognize``).

    ``persons`` maps person ids to public records; ``candidates`` and the
    decision must only name people in it (the caller drops the others: people
    erased while this copy still held their vectors). ``similarity`` is the
    match's, or the nearest candidate's when there is no match.
    """
    return {
        "box": face.box,
        "confidence": face.confidence,
        "landmarks": face.landmarks,
        "match": persons[decision.match] if decision.match else None,
        "similarity": decision.similarity if decision.match else (candidates[0].similarity if candidates else None),
        "candidates": [
            {"rollNo": persons[c.person_id]["rollNo"], "name": persons[c.person_id].get("name", ""),
             "similarity": c.similarity}
            for c in candidates
        ],
        "review": ({"rollNo": persons[decision.review]["rollNo"], "name": persons[decision.review].get("name", ""),
                    "similarity": decision.review_similarity} if decision.review else None),
        "threshold": threshold,
    }


class ChangeLog:
    """Which gallery versions this matcher holds, to notice a change it missed.

    Every change increments the database's gallery version and its message
    carries the new number. ``base`` is the highest version up to which every
    change is held (loaded from the database, or received); versions received
    out of order wait in ``seen``. When the database is ahead of ``base`` on
    two checks in a row (a message may be in flight on the first), a change
    was lost and the gallery must be reloaded.
    """

    def __init__(self):
        self.base = 0
        self.seen: set[int] = set()
        self._behind_once = False

    def loaded(self, version: int) -> None:
        """The gallery now holds everything up to ``version``."""
        self.base = max(self.base, version)
        self.seen = {v for v in self.seen if v > self.base}
        self._advance()

    def received(self, version: int) -> None:
        if version > self.base:
            self.seen.add(version)
            self._advance()

    def _advance(self) -> None:
        while self.base + 1 in self.seen:
            self.base += 1
            self.seen.discard(self.base)

    def must_reload(self, database_version: int) -> bool:
        behind = database_version > self.base
        missed = behind and self._behind_once
        self._behind_once = behind and not missed
        return missed
