"""The in-memory gallery and 1:N search. Pure: no broker, no database.

Vectors are L2-normalised, so cosine similarity is a dot product. Each model
has its own matrix: vectors of different models are never compared. A
person's score is the best similarity over all of their stored vectors;
people are identified by their person id (never reused, unlike a rollNo).

Storage. The vectors of a model live in float32 blocks of ``BLOCK_ROWS`` rows
(the first block doubles up to that size): an enrollment writes one row, and
the gallery never copies its whole matrix, so no add stalls, whatever the
size. Rows of removed people are zeroed and reused. The bookkeeping is numpy
arrays (owner of each row, the rows of each person as a chain through
``next``), and the hash of each face id to its row in sorted arrays: about
0.8 KB per 128-d vector all told, index included (bench/matcher.py measures it).

Search. Below ``ANN_MIN_ROWS`` live vectors the search is exact: one matrix
product for all faces of a photo, then the best person per row. From that
size on, an inverted-file index (faiss IVF with 8-bit scalar-quantised codes:
128 bytes a vector beside the exact rows) proposes candidate rows, and every
candidate person is then scored exactly over all of their rows: similarities
are always exact, and an approximation can only miss a person, never invent a
match; and a face whose best candidate is below ``ANN_SURE_SIMILARITY`` (a
stranger, whose best similarities are many and close together: where the index
misses most, and where the decision depends on the exact best) is searched
exactly. The index is trained and filled by a background thread (from a load or
when the gallery crosses the threshold); until it is ready the search stays
exact, and the changes made meanwhile are replayed into it before it takes
over. Enrollments and erasures update it in place (no rebuild). ``exact=True``
asks for the exact search whatever the size: the reference the index is
measured against (bench/matcher.py: recall@1 against exact).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

BLOCK_SHIFT = 13
BLOCK_ROWS = 1 << BLOCK_SHIFT  # rows per block (4 MB at 128-d): at most one block of room unused
FIRST_ROWS = 1024  # the first block starts this small and doubles up to BLOCK_ROWS
ANN_MIN_ROWS = 50_000  # exact search below this many live vectors of a model
ANN_NPROBE = 64  # lists visited per query: recall@1 0.999-1.0 at 1M on bench/matcher.py's data (32: 0.99, 16: 0.97)
# The index's answer is kept when its best similarity is at least this (well
# above any match threshold: the real genuine scores here are 0.47-0.95,
# median 0.81); below it the exact search answers (strangers, poor photos).
ANN_SURE_SIMILARITY = 0.6
ANN_MAX_LISTS = 1024  # lists of the index: 4 * sqrt(rows), at most this
ANN_TRAIN_PER_LIST = 40  # training vectors per list (faiss wants at least 39)
ANN_CHUNK = 1 << 16  # rows added to a new index per step of its build


@dataclass(frozen=True)
class Candidate:
    person_id: str
    similarity: float


class _FairLock:
    """A lock taken in the order asked for. ``threading.Lock`` lets the thread
    that just released it take it again before a waiting one wakes up: a loop
    of searches could starve an enrollment (or the index build's swap)."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._next = 0  # next ticket to hand out
        self._serving = 0  # ticket that holds the lock

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._cond.wait()

    def __exit__(self, *exc) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


def _faiss():
    """faiss, or None where it is not installed (the search then stays exact)."""
    try:
        import faiss
    except ImportError:  # pragma: no cover - pinned in services/matcher/requirements.txt
        return None
    # Searches are a few queries each: OpenMP's spinning threads cost more than
    # they give on a shared machine, and one build thread leaves a core to searches.
    faiss.omp_set_num_threads(1)
    return faiss


class _FaceRows:
    """Hash of a face id -> its row, in 12 bytes a face: sorted numpy arrays,
    plus a dict of the latest adds merged into them every ``MERGE`` adds (an
    O(n) insert of a few thousand keys: milliseconds at 1M faces)."""

    MERGE = 4096

    def __init__(self, keys: np.ndarray | None = None, rows: np.ndarray | None = None):
        self.keys = np.empty(0, np.int64) if keys is None else keys  # sorted
        self.rows = np.empty(0, np.int32) if rows is None else rows  # -1: deleted
        self.recent: dict[int, int] = {}
        self.deleted = 0

    def _at(self, key: int) -> int:
        i = int(np.searchsorted(self.keys, key))
        return i if i < len(self.keys) and self.keys[i] == key and self.rows[i] >= 0 else -1

    def get(self, key: int) -> int | None:
        row = self.recent.get(key)
        if row is None:
            i = self._at(key)
            row = int(self.rows[i]) if i >= 0 else None
        return row

    def __contains__(self, key: int) -> bool:
        return self.get(key) is not None

    def __setitem__(self, key: int, row: int) -> None:
        i = self._at(key)
        if i >= 0:
            self.rows[i] = row
            return
        self.recent[key] = row
        if len(self.recent) >= self.MERGE:
            self._merge()

    def __delitem__(self, key: int) -> None:
        if self.recent.pop(key, None) is None:
            i = self._at(key)
            if i >= 0:
                self.rows[i] = -1
                self.deleted += 1

    def _merge(self) -> None:
        keys = np.fromiter(self.recent.keys(), np.int64, len(self.recent))
        rows = np.fromiter(self.recent.values(), np.int32, len(self.recent))
        order = np.argsort(keys)
        keys, rows = keys[order], rows[order]
        if self.deleted > len(self.keys) // 4:  # drop the deleted ones now and then
            live = self.rows >= 0
            self.keys, self.rows, self.deleted = self.keys[live], self.rows[live], 0
        at = np.searchsorted(self.keys, keys)
        self.keys, self.rows = np.insert(self.keys, at, keys), np.insert(self.rows, at, rows)
        self.recent.clear()


class _ModelIndex:
    """The vectors of one model: float32 blocks, an owner (person slot) per
    row, and, from ``ann_min_rows`` on, an approximate index over them."""

    def __init__(self, dims: int, lock: _FairLock, ann_min_rows: int | None, nprobe: int,
                 capacity: int = FIRST_ROWS):
        self.dims = dims
        self.lock = lock  # the gallery's: the index build takes it to swap in its result
        self.ann_min_rows = ann_min_rows
        self.nprobe = nprobe
        first = min(BLOCK_ROWS, max(FIRST_ROWS, capacity))
        self.blocks: list[np.ndarray] = [np.zeros((first, dims), np.float32)]
        meta = max(first, capacity)
        self.owner = np.full(meta, -1, np.int32)  # person slot of each row; -1: free
        self.next = np.full(meta, -1, np.int32)  # next row of the same person; -1: none
        self.face_key = np.zeros(meta, np.int64)  # hash of each row's face id
        self.used = 0  # rows [0, used) have been handed out
        self.live = 0
        self.free: list[int] = []
        self.row_of_face = _FaceRows()  # hash(face id) -> row
        self.spill: dict[str, int] = {}  # face ids whose hash another face of another person already had
        self.people: list[str | None] = []  # slot -> person id
        self.slot_of: dict[str, int] = {}
        self.head = np.full(64, -1, np.int32)  # slot -> its first row; -1: none
        self.ann = None  # faiss index over the live rows (ids are rows), once built
        self.ann_trained_on = 0
        self.building = False
        self.changed: list[int] | None = None  # rows changed while a build runs
        self.retired = False  # replaced by a load: a running build gives up

    def __len__(self) -> int:
        return self.live

    # -- rows ----------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return sum(len(b) for b in self.blocks)

    def _grow(self) -> None:
        if len(self.blocks) == 1 and len(self.blocks[0]) < BLOCK_ROWS:
            old = self.blocks[0]
            grown = np.zeros((min(BLOCK_ROWS, 2 * len(old)), self.dims), np.float32)
            grown[: self.used] = old[: self.used]
            self.blocks = [grown]
        else:
            self.blocks.append(np.zeros((BLOCK_ROWS, self.dims), np.float32))
        self._fit_meta()

    def _fit_meta(self) -> None:
        need = self.capacity
        if need > len(self.owner):
            size = max(need, len(self.owner) * 3 // 2)
            self.owner = _grown(self.owner, size, -1)
            self.next = _grown(self.next, size, -1)
            self.face_key = _grown(self.face_key, size, 0)

    def _new_row(self) -> int:
        if self.free:
            return self.free.pop()
        if self.used == self.capacity:
            self._grow()
        self.used += 1
        return self.used - 1

    def _set_vector(self, row: int, vector: np.ndarray) -> None:
        self.blocks[row >> BLOCK_SHIFT][row & (BLOCK_ROWS - 1)] = vector

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """A copy of the vectors of ``rows``."""
        rows = np.asarray(rows, np.int64)
        if len(self.blocks) == 1:
            return self.blocks[0][rows]
        out = np.empty((len(rows), self.dims), np.float32)
        which = rows >> BLOCK_SHIFT
        for b in np.unique(which):
            mask = which == b
            out[mask] = self.blocks[b][rows[mask] & (BLOCK_ROWS - 1)]
        return out

    def _rows_of(self, slot: int) -> list[int]:
        rows, row = [], int(self.head[slot]) if 0 <= slot < len(self.head) else -1
        while row >= 0:
            rows.append(row)
            row = int(self.next[row])
        return rows

    def _slot(self, person_id: str) -> int:
        slot = self.slot_of.get(person_id)
        if slot is None:
            slot = len(self.people)
            self.people.append(person_id)
            self.slot_of[person_id] = slot
            if slot >= len(self.head):
                self.head = _grown(self.head, 2 * len(self.head), -1)
        return slot

    def _link(self, row: int, slot: int) -> None:
        self.owner[row] = slot
        self.next[row] = self.head[slot]
        self.head[slot] = row

    def _unlink(self, row: int) -> None:
        slot = int(self.owner[row])
        prev, cur = -1, int(self.head[slot])
        while cur >= 0 and cur != row:
            prev, cur = cur, int(self.next[cur])
        if cur == row:
            if prev < 0:
                self.head[slot] = self.next[row]
            else:
                self.next[prev] = self.next[row]
        self.next[row] = -1

    # -- changes -------------------------------------------------------------
    def _find(self, face_id: str, key: int, slot: int | None) -> int | None:
        row = self.spill.get(face_id)
        if row is not None:
            return row
        row = self.row_of_face.get(key)
        # A face id names its person: the same hash under another person is another face.
        if row is not None and slot is not None and int(self.owner[row]) != slot:
            return None
        return row

    def add(self, face_id: str, person_id: str, vector: np.ndarray) -> None:
        key = hash(face_id)
        old_slot = self.slot_of.get(person_id)
        row = self._find(face_id, key, old_slot if old_slot is not None else -2)
        slot = self._slot(person_id)
        if row is None:
            row = self._new_row()
            if key in self.row_of_face:
                self.spill[face_id] = row
            else:
                self.row_of_face[key] = row
            self.face_key[row] = key
            self._link(row, slot)
            self.live += 1
        else:
            if int(self.owner[row]) != slot:
                self._unlink(row)
                self._link(row, slot)
            if self.ann is not None and np.array_equal(self.vectors([row])[0], vector):
                return  # the same face again: nothing to change
            if self.ann is not None:
                self.ann.remove_ids(np.array([row], np.int64))
        self._set_vector(row, vector)
        if self.ann is not None:
            self.ann.add_with_ids(vector.reshape(1, -1), np.array([row], np.int64))
        if self.changed is not None:
            self.changed.append(row)
        self._maybe_build()

    def remove_person(self, person_id: str) -> int:
        slot = self.slot_of.pop(person_id, None)
        if slot is None:
            return 0
        rows = self._rows_of(slot)
        for row in rows:
            key = int(self.face_key[row])
            if self.row_of_face.get(key) == row:
                del self.row_of_face[key]
            else:
                self.spill = {f: r for f, r in self.spill.items() if r != row}
            self._set_vector(row, 0.0)
            self.owner[row] = -1
            self.next[row] = -1
            self.free.append(row)
        self.head[slot] = -1
        self.people[slot] = None
        self.live -= len(rows)
        if rows and self.ann is not None:
            self.ann.remove_ids(np.array(rows, np.int64))
        if self.changed is not None:
            self.changed.extend(rows)
        if self.ann is not None and self.live < (self.ann_min_rows or 0) // 2:
            self.ann = None  # small again: exact is fast enough
        return len(rows)

    @classmethod
    def bulk(cls, dims: int, face_ids: list[str], person_ids: list[str], matrix: np.ndarray,
             lock: _FairLock, ann_min_rows: int | None, nprobe: int) -> _ModelIndex:
        """An index holding these rows, built in one go (a load): the vectors
        are copied block by block, the bookkeeping built with numpy."""
        n = len(face_ids)
        index = cls(dims, lock, ann_min_rows, nprobe, capacity=n)
        keys = np.fromiter((hash(f) for f in face_ids), np.int64, n)
        by_key = np.argsort(keys)
        if n > 1 and (np.diff(keys[by_key]) == 0).any():  # a face twice, or two ids with one hash: one at a time
            for f, p, v in zip(face_ids, person_ids, matrix):
                index.add(f, p, v)
            return index
        while index.capacity < n:
            index.blocks.append(np.zeros((BLOCK_ROWS, dims), np.float32))
        index._fit_meta()
        for b, block in enumerate(index.blocks):
            part = matrix[b * BLOCK_ROWS: (b + 1) * BLOCK_ROWS]
            block[: len(part)] = part
        slot_of: dict[str, int] = {}
        owner = np.fromiter((slot_of.setdefault(p, len(slot_of)) for p in person_ids), np.int32, n)
        index.slot_of, index.people = slot_of, list(slot_of)
        index.head = np.full(max(64, len(slot_of)), -1, np.int32)
        by_owner = np.argsort(owner, kind="stable")
        sorted_owner = owner[by_owner]
        nxt = np.full(n, -1, np.int32)
        same = sorted_owner[1:] == sorted_owner[:-1]  # each row points to the one before it of its person
        nxt[by_owner[1:][same]] = by_owner[:-1][same]
        last = np.r_[~same, True]
        index.head[sorted_owner[last]] = by_owner[last]
        index.owner[:n], index.next[:n] = owner, nxt
        index.face_key[:n] = keys
        index.row_of_face = _FaceRows(keys[by_key], by_key.astype(np.int32))
        index.used = index.live = n
        return index

    # -- approximate index ---------------------------------------------------
    def _maybe_build(self) -> None:
        """Start a background build of the approximate index when this model
        crosses the threshold, or has grown well past what its index was trained on."""
        if self.building or self.ann_min_rows is None or self.live < self.ann_min_rows:
            return
        if self.ann is not None:
            lists = self.ann.nlist
            if lists >= ANN_MAX_LISTS or self.live < 4 * self.ann_trained_on:
                return
        faiss = _faiss()
        if faiss is None:
            return
        self.building = True
        self.changed = []
        threading.Thread(target=self._build, args=(faiss,), name="gallery-index", daemon=True).start()

    def _build(self, faiss) -> None:
        try:
            with self.lock:
                n0 = self.used
                live_rows = np.flatnonzero(self.owner[:n0] >= 0)
                n = len(live_rows)
                lists = int(max(1, min(ANN_MAX_LISTS, 4 * np.sqrt(n), n // ANN_TRAIN_PER_LIST)))
                rng = np.random.default_rng(len(live_rows))
                sample_rows = np.sort(rng.choice(live_rows, min(len(live_rows), ANN_TRAIN_PER_LIST * lists),
                                                 replace=False))
                sample = self.vectors(sample_rows)
            index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(self.dims), self.dims, lists,
                                                  faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
            index.cp.niter = 10
            index.nprobe = self.nprobe
            index.train(sample)
            # Rows are read without the lock: blocks never move once full size,
            # and a row changed meanwhile is in ``changed``, replayed below.
            for start in range(0, n0, ANN_CHUNK):
                if self.retired:
                    return
                rows = np.arange(start, min(n0, start + ANN_CHUNK))
                rows = rows[self.owner[rows] >= 0]
                if len(rows):
                    index.add_with_ids(self.vectors(rows), rows.astype(np.int64))
            with self.lock:
                redo = np.unique(np.array(self.changed + list(range(n0, self.used)), np.int64))
                if len(redo):
                    index.remove_ids(redo)
                    redo = redo[self.owner[redo] >= 0]
                    if len(redo):
                        index.add_with_ids(self.vectors(redo), redo)
                if not self.retired and self.live >= (self.ann_min_rows or 0) // 2:
                    self.ann, self.ann_trained_on = index, len(live_rows)
                log.info("gallery index ready: %d vectors in %d lists", index.ntotal, lists)
        except Exception:  # pragma: no cover - the exact search goes on serving
            log.exception("building the gallery index failed; the search stays exact")
        finally:
            with self.lock:
                self.building = False
                self.changed = None

    # -- search --------------------------------------------------------------
    def similarities(self, queries: np.ndarray, person_ids: list[str]) -> np.ndarray:
        """``(queries, people)``: each person's best similarity to each query;
        -inf for a person without vectors here."""
        out = np.full((len(queries), len(person_ids)), -np.inf, np.float32)
        for j, pid in enumerate(person_ids):
            rows = self._rows_of(self.slot_of.get(pid, -1))
            if rows:
                out[:, j] = (self.vectors(sorted(rows)) @ queries.T).max(axis=0)
        return out

    def search(self, queries: np.ndarray, top_k: int, exact: bool = False) -> list[list[Candidate]]:
        """The ``top_k`` nearest people of each query row, best first."""
        if self.used == 0 or not self.slot_of:
            return [[] for _ in range(len(queries))]
        if self.ann is not None and not exact:
            found = self._search_ann(queries, top_k)
            # An index can miss the best person of a face that is near nobody
            # in particular (a stranger: its best similarities are many and
            # close); there, where the decision depends on the exact best,
            # the exact search answers.
            unsure = [j for j, r in enumerate(found) if not r or r[0].similarity < ANN_SURE_SIMILARITY]
            if unsure:
                for j, exact_found in zip(unsure, self._search_exact(queries[unsure], top_k)):
                    found[j] = exact_found
            return found
        return self._search_exact(queries, top_k)

    def _search_exact(self, queries: np.ndarray, top_k: int) -> list[list[Candidate]]:
        sims = self._all_sims(queries)  # (rows, faces)
        owner = self.owner[: self.used]
        return [self._best_people(sims[:, j], owner, top_k) for j in range(sims.shape[1])]

    def _all_sims(self, queries: np.ndarray) -> np.ndarray:
        parts, left = [], self.used
        for block in self.blocks:
            if left <= 0:
                break
            parts.append(block[: min(left, len(block))] @ queries.T)
            left -= len(block)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

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
        best_slots = [int(s) for s in np.argsort(-per_person, kind="stable")[:top_k] if np.isfinite(per_person[s])]
        return [Candidate(self.people[s], round(float(per_person[s]), 4)) for s in best_slots]

    def _search_ann(self, queries: np.ndarray, top_k: int) -> list[list[Candidate]]:
        """Candidate rows from the index; every person owning one is scored
        exactly over all of their rows. A query whose candidates hold fewer
        than ``top_k`` people is asked again for more rows."""
        out: list[list[Candidate]] = [[] for _ in range(len(queries))]
        todo = np.arange(len(queries))
        k = 4 * top_k + 16
        while len(todo):
            _, found = self.ann.search(queries[todo], k)
            slots = np.unique(self.owner[found[found >= 0]])
            slots = slots[slots >= 0]
            chains = [self._rows_of(int(s)) for s in slots]
            lengths = [len(c) for c in chains]
            rows = np.fromiter((r for c in chains for r in c), np.int64, sum(lengths))
            sims = self.vectors(rows) @ queries[todo].T  # (rows, queries), grouped by person
            best = (np.maximum.reduceat(sims, np.r_[0, np.cumsum(lengths)[:-1]], axis=0) if len(rows)
                    else np.zeros((0, len(todo)), np.float32))  # (people, queries)
            again = []
            for i, j in enumerate(todo):
                mine = np.unique(self.owner[found[i][found[i] >= 0]])
                mine = mine[mine >= 0]
                score = best[np.searchsorted(slots, mine), i]
                ranked = np.argsort(-score, kind="stable")[:top_k]
                if len(ranked) < top_k and k < self.live:
                    again.append(j)
                    continue
                out[j] = [Candidate(self.people[int(mine[o])], round(float(score[o]), 4)) for o in ranked]
            todo = np.array(again, np.int64)
            k *= 4
        return out


def _grown(array: np.ndarray, size: int, fill) -> np.ndarray:
    out = np.full(size, fill, array.dtype)
    out[: len(array)] = array
    return out


class Gallery:
    def __init__(self, ann_min_rows: int | None = ANN_MIN_ROWS, nprobe: int = ANN_NPROBE):
        """``ann_min_rows``: live vectors of a model from which an approximate
        index serves its searches (None: always exact)."""
        self._lock = _FairLock()
        self._models: dict[str, _ModelIndex] = {}
        self.ann_min_rows = ann_min_rows
        self.nprobe = nprobe

    def _new(self, dims: int) -> _ModelIndex:
        return _ModelIndex(dims, self._lock, self.ann_min_rows, self.nprobe)

    def add(self, model: str, face_id: str, person_id: str, vector) -> None:
        vec = np.asarray(vector, dtype=np.float32)
        with self._lock:
            index = self._models.get(model)
            if index is None:
                index = self._models[model] = self._new(len(vec))
            index.add(face_id, person_id, vec)

    def remove_person(self, person_id: str) -> int:
        with self._lock:
            return sum(index.remove_person(person_id) for index in self._models.values())

    def replace_all(self, entries) -> None:
        """Load stored faces, dropping what was there. ``entries``: tuples
        ``(model, face_id, person_id, vector)``, and/or batches ``(model,
        face_ids, person_ids, vectors)`` with a 2-D ``vectors`` (what
        ``Storage.face_batches`` yields): the matrix is built in one go."""
        parts: dict[str, tuple[list, list, list]] = {}
        for model, face_id, person_id, vector in entries:
            vector = np.asarray(vector, np.float32)
            ids, persons, vectors = parts.setdefault(model, ([], [], []))
            if vector.ndim == 2:  # a batch: lists of face ids and person ids, one row each
                ids.extend(face_id)
                persons.extend(person_id)
                vectors.append(vector)
            else:
                ids.append(face_id)
                persons.append(person_id)
                vectors.append(vector.reshape(1, -1))
        fresh: dict[str, _ModelIndex] = {}
        for model, (ids, persons, vectors) in parts.items():
            dims = {v.shape[1] for v in vectors}
            if len(dims) != 1:  # vectors of one model differ in size: the first size wins
                index = fresh[model] = self._new(vectors[0].shape[1])
                for f, p, v in zip(ids, persons, (row for part in vectors for row in part)):
                    if len(v) == index.dims:
                        index.add(f, p, v)
                continue
            matrix = vectors[0] if len(vectors) == 1 else np.concatenate(vectors)
            fresh[model] = _ModelIndex.bulk(dims.pop(), ids, persons, matrix, self._lock, self.ann_min_rows,
                                            self.nprobe)
        with self._lock:
            for old in self._models.values():
                old.retired = True
            self._models = fresh
            for index in fresh.values():
                index._maybe_build()

    def size(self, model: str | None = None) -> int:
        with self._lock:
            if model is not None:
                return len(self._models[model]) if model in self._models else 0
            return sum(len(i) for i in self._models.values())

    def models(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def indexed(self, model: str) -> bool:
        """Whether ``model``'s searches go through the approximate index."""
        with self._lock:
            index = self._models.get(model)
            return index is not None and index.ann is not None

    def wait_for_index(self, timeout: float = 600.0) -> bool:
        """Wait until no index build runs (bench, tests); whether none does."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not any(i.building for i in self._models.values()):
                    return True
            time.sleep(0.05)
        return False

    def search_many(self, model: str, vectors, top_k: int, exact: bool = False) -> list[list[Candidate]]:
        """For each vector, the ``top_k`` nearest people, best first, whatever
        their similarity. ``exact``: bypass the approximate index."""
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        with self._lock:
            index = self._models.get(model)
            if index is None or len(queries) == 0 or queries.shape[1] != index.dims:
                return [[] for _ in range(len(queries))]
            return index.search(queries, top_k, exact)

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
