"""The in-memory gallery and 1:N search. Pure: no broker, no database.

Vectors are L2-normalised, so cosine similarity is a dot product. Each model
has its own matrix: vectors of different models are never compared. A
person's score is the best similarity over all of their stored vectors;
people are identified by their person id (never reused, unlike a rollNo).

The matrix grows in place (capacity doubling; rows of removed people are
reused), so an enrollment adds one row instead of rebuilding the matrix: no
stall, whatever the gallery's size. All faces of a photo are searched in one
matrix product.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

INITIAL_ROWS = 1024


@dataclass(frozen=True)
class Candidate:
    person_id: str
    similarity: float


class _ModelIndex:
    """The vectors of one model: a float32 matrix with an owner per row."""

    def __init__(self, dims: int):
        self.dims = dims
        self.matrix = np.zeros((INITIAL_ROWS, dims), np.float32)
        self.owner = np.full(INITIAL_ROWS, -1, np.int64)  # person slot of each row; -1: free
        self.used = 0  # rows [0, used) have been handed out
        self.free: list[int] = []
        self.row_of_face: dict[str, int] = {}
        self.face_of_row: dict[int, str] = {}
        self.people: list[str | None] = []  # slot -> person id
        self.slot_of: dict[str, int] = {}
        self.rows_of_slot: dict[int, set[int]] = {}

    def __len__(self) -> int:
        return len(self.row_of_face)

    def _new_row(self) -> int:
        if self.free:
            return self.free.pop()
        if self.used == len(self.matrix):
            grown = np.zeros((2 * len(self.matrix), self.dims), np.float32)
            grown[: self.used] = self.matrix[: self.used]
            owner = np.full(len(grown), -1, np.int64)
            owner[: self.used] = self.owner[: self.used]
            self.matrix, self.owner = grown, owner
        self.used += 1
        return self.used - 1

    def add(self, face_id: str, person_id: str, vector: np.ndarray) -> None:
        row = self.row_of_face.get(face_id)
        if row is None:
            row = self._new_row()
            self.row_of_face[face_id] = row
            self.face_of_row[row] = face_id
        slot = self.slot_of.get(person_id)
        if slot is None:
            slot = len(self.people)
            self.people.append(person_id)
            self.slot_of[person_id] = slot
        self.matrix[row] = vector
        self.owner[row] = slot
        self.rows_of_slot.setdefault(slot, set()).add(row)

    def _free_row(self, row: int) -> None:
        self.matrix[row] = 0.0
        self.owner[row] = -1
        self.free.append(row)
        del self.row_of_face[self.face_of_row.pop(row)]

    def remove_person(self, person_id: str) -> int:
        slot = self.slot_of.pop(person_id, None)
        if slot is None:
            return 0
        rows = self.rows_of_slot.pop(slot, set())
        for row in rows:
            self._free_row(row)
        self.people[slot] = None
        return len(rows)

    def similarities(self, queries: np.ndarray, person_ids: list[str]) -> np.ndarray:
        """``(queries, people)``: each person's best similarity to each query;
        -inf for a person without vectors here."""
        out = np.full((len(queries), len(person_ids)), -np.inf, np.float32)
        for j, pid in enumerate(person_ids):
            rows = self.rows_of_slot.get(self.slot_of.get(pid, -1))
            if rows:
                out[:, j] = (self.matrix[sorted(rows)] @ queries.T).max(axis=0)
        return out

    def search(self, queries: np.ndarray, top_k: int) -> list[list[Candidate]]:
        """The ``top_k`` nearest people of each query row, best first."""
        n = self.used
        if n == 0 or not self.slot_of:
            return [[] for _ in range(len(queries))]
        sims = self.matrix[:n] @ queries.T  # (rows, faces)
        owner = self.owner[:n]
        return [self._best_people(sims[:, j], owner, top_k) for j in range(sims.shape[1])]

    def _best_people(self, sims: np.ndarray, owner: np.ndarray, top_k: int) -> list[Candidate]:
        """Distinct people in order of their best row. Exact: the k-th person
        met in the sorted best rows beats everyone not met yet, so only when
        the best rows hold fewer than ``top_k`` people is the whole column
        reduced per person."""
        sims = np.where(owner >= 0, sims, -np.inf)
        k = min(len(sims), 4 * top_k + 16)
        best_rows = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        best_rows = best_rows[np.argsort(-sims[best_rows], kind="stable")]
        found: list[Candidate] = []
        seen: set[int] = set()
        for row in best_rows:
            slot = int(owner[row])
            if slot < 0 or slot in seen:
                continue
            seen.add(slot)
            found.append(Candidate(self.people[slot], round(float(sims[row]), 4)))
            if len(found) == top_k:
                return found
        if k == len(sims):
            return found
        per_person = np.full(len(self.people), -np.inf, np.float32)
        live = owner >= 0
        np.maximum.at(per_person, owner[live], sims[live])
        order = [int(s) for s in np.argsort(-per_person, kind="stable")[:top_k] if np.isfinite(per_person[s])]
        return [Candidate(self.people[s], round(float(per_person[s]), 4)) for s in order]


class Gallery:
    def __init__(self):
        self._lock = threading.Lock()
        self._models: dict[str, _ModelIndex] = {}

    def add(self, model: str, face_id: str, person_id: str, vector) -> None:
        vec = np.asarray(vector, dtype=np.float32)
        with self._lock:
            index = self._models.get(model)
            if index is None:
                index = self._models[model] = _ModelIndex(len(vec))
            index.add(face_id, person_id, vec)

    def remove_person(self, person_id: str) -> int:
        with self._lock:
            return sum(index.remove_person(person_id) for index in self._models.values())

    def replace_all(self, entries) -> None:
        """Load ``(model, face_id, person_id, vector)`` entries, dropping what was there."""
        fresh: dict[str, _ModelIndex] = {}
        for model, face_id, person_id, vector in entries:
            vec = np.asarray(vector, dtype=np.float32)
            index = fresh.get(model)
            if index is None:
                index = fresh[model] = _ModelIndex(len(vec))
            index.add(face_id, person_id, vec)
        with self._lock:
            self._models = fresh

    def size(self, model: str | None = None) -> int:
        with self._lock:
            if model is not None:
                return len(self._models[model]) if model in self._models else 0
            return sum(len(i) for i in self._models.values())

    def models(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def search_many(self, model: str, vectors, top_k: int) -> list[list[Candidate]]:
        """For each vector, the ``top_k`` nearest people, best first, whatever their similarity."""
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        with self._lock:
            index = self._models.get(model)
            if index is None or len(queries) == 0 or queries.shape[1] != index.dims:
                return [[] for _ in range(len(queries))]
            return index.search(queries, top_k)

    def search(self, model: str, vector, top_k: int) -> list[Candidate]:
        return self.search_many(model, [vector], top_k)[0]

    def similarities(self, model: str, vectors, person_ids: list[str]) -> np.ndarray:
        """``(faces, people)`` best similarities (-inf: no vector of that person and model)."""
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        with self._lock:
            index = self._models.get(model)
            if index is None or queries.shape[1] != index.dims:
                return np.full((len(queries), len(person_ids)), -np.inf, np.float32)
            return index.similarities(queries, person_ids)

