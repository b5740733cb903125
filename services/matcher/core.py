"""Matcher core: turn gallery candidates and person records into the answer.

Pure functions; the adapter (main.py) supplies the gallery, the records and the
threshold.
"""
from __future__ import annotations

from services.matcher.gallery import Candidate, decide
from shared.contracts import Face


def candidate_roll_nos(per_face: list[list[Candidate]]) -> set[str]:
    return {c.rollNo for cands in per_face for c in cands}


def face_result(face: Face, candidates: list[Candidate], persons: dict[str, dict], threshold: float) -> dict:
    """One face of the recognize answer (docs/ARCHITECTURE.md, "HTTP contract", ``POST /recognize``).

    ``candidates`` must only name people present in ``persons``; the caller
    drops the others (deleted people whose vectors some copy still held).
    """
    best = decide(candidates, threshold)
    return {
        "box": face.box,
        "confidence": face.confidence,
        "landmarks": face.landmarks,
        "match": persons[best.rollNo] if best else None,
        "similarity": candidates[0].similarity if candidates else None,
        "candidates": [
            {"rollNo": c.rollNo, "name": persons[c.rollNo].get("name", ""), "similarity": c.similarity}
            for c in candidates
        ],
    }
