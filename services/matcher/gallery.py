"""The in-memory gallery and 1:N search. Pure: no broker, no database.

Vectors are L2-normalised, so cosine similarity is a dot product. Each model
has its own matrix: vectors of different models are never compared.
A person's score is the best similarity over all of their stored vectors.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidate:
    rollNo: str
    similarity: float


class Gallery:
    def __init__(self):
        self._lock = threading.Lock()
        # model -> face_id -> (rollNo, vector)
        self._faces: dict[str, dict[str, tuple[str, np.ndarray]]] = {}
        # model -> (people, row owners, matrix), rebuilt lazily after a change
        self._index: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}

    def add(self, model: str, face_id: str, roll_no: str, vector) -> None:
        vec = np.asarray(vector, dtype=np.float32)
        with self._lock:
            self._faces.setdefault(model, {})[face_id] = (roll_no, vec)
            self._index.pop(model, None)

    def remove_person(self, roll_no: str) -> int:
        removed = 0
        with self._lock:
            for model, faces in self._faces.items():
                gone = [fid for fid, (r, _) in faces.items() if r == roll_no]
                for fid in gone:
                    del faces[fid]
                if gone:
                    self._index.pop(model, None)
                    removed += len(gone)
        return removed

    def replace_all(self, entries) -> None:
        """Load ``(model, face_id, rollNo, vector)`` entries, dropping what was there."""
        fresh: dict[str, dict[str, tuple[str, np.ndarray]]] = {}
        for model, face_id, roll_no, vector in entries:
            fresh.setdefault(model, {})[face_id] = (roll_no, np.asarray(vector, dtype=np.float32))
        with self._lock:
            self._faces = fresh
            self._index = {}

    def size(self, model: str | None = None) -> int:
        with self._lock:
            if model is not None:
                return len(self._faces.get(model, {}))
            return sum(len(f) for f in self._faces.values())

    def models(self) -> list[str]:
        with self._lock:
            return list(self._faces)

    def _matrix(self, model: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(people, person index of each row, matrix), rebuilt after a change."""
        with self._lock:
            if model not in self._index:
                faces = list(self._faces.get(model, {}).values())
                people = sorted({r for r, _ in faces})
                position = {r: i for i, r in enumerate(people)}
                owner = np.array([position[r] for r, _ in faces], dtype=np.int64)
                matrix = np.stack([v for _, v in faces]) if faces else np.zeros((0, 0), np.float32)
                self._index[model] = (people, owner, matrix)
            return self._index[model]

    def search(self, model: str, vector, top_k: int) -> list[Candidate]:
        """The ``top_k`` nearest people, best first, whatever their similarity."""
        people, owner, matrix = self._matrix(model)
        if not people:
            return []
        sims = matrix @ np.asarray(vector, dtype=np.float32)
        best = np.full(len(people), -np.inf, dtype=np.float32)
        np.maximum.at(best, owner, sims)  # each person's best vector
        k = min(top_k, len(people))
        top = np.argpartition(-best, k - 1)[:k]
        top = top[np.argsort(-best[top], kind="stable")]
        return [Candidate(people[i], round(float(best[i]), 4)) for i in top]


def decide(candidates: list[Candidate], threshold: float) -> Candidate | None:
    """The match: the best candidate if it reaches the threshold, else nobody."""
    if candidates and candidates[0].similarity >= threshold:
        return candidates[0]
    return None
