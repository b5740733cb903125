"""Matcher core: turn gallery candidates and person records into the answer,
and keep count of the gallery changes received. Pure functions and records;
the adapter (matcher.py, main.py) supplies the gallery, records and threshold.
"""
from __future__ import annotations

from services.matcher.gallery import Candidate, decide
from shared.contracts import Face


def candidate_ids(per_face: list[list[Candidate]]) -> set[str]:
    return {c.person_id for cands in per_face for c in cands}


def face_result(face: Face, candidates: list[Candidate], persons: dict[str, dict], threshold: float) -> dict:
    """One face of the recognize answer (docs/ARCHITECTURE.md, "HTTP contract", ``POST /recognize``).

    ``persons`` maps person ids to public records; ``candidates`` must only
    name people in it (the caller drops the others: people erased while this
    copy still held their vectors).
    """
    best = decide(candidates, threshold)
    return {
        "box": face.box,
        "confidence": face.confidence,
        "landmarks": face.landmarks,
        "match": persons[best.person_id] if best else None,
        "similarity": candidates[0].similarity if candidates else None,
        "candidates": [
            {"rollNo": persons[c.person_id]["rollNo"], "name": persons[c.person_id].get("name", ""),
             "similarity": c.similarity}
            for c in candidates
        ],
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
