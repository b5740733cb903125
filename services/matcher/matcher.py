"""The matcher: 1:N search over the in-memory gallery, enrollment writes, and
the upkeep that keeps the gallery equal to the database.

Everything a matcher holds comes from the database: a gallery change names a
face or a person, and the matcher reads it from there (a forged message can
make no face match anybody). Person records are cached by id and dropped on
every change of that person, so a recognition whose people are cached needs no
database query.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

from services.matcher import core
from services.matcher.gallery import Gallery
from shared import contracts
from shared.broker import to_gallery
from shared.contracts import ENROLL, ErrorCode, GalleryChange, JobError, MatchScope, Reply
from shared.metrics import BEST_SIMILARITY, GALLERY_SIZE, MATCH_SIMILARITY, UNKNOWN_FACES
from shared.models import review_floor_for, threshold_for
from shared.storage import UNAVAILABLE_ERRORS, Storage, person_id_of, record
from shared.worker import Result

log = logging.getLogger(__name__)


def database_unavailable() -> JobError:
    return JobError(ErrorCode.DATABASE_UNAVAILABLE, "the database is not reachable; try again shortly")


def observe(model: str, faces: list[dict]) -> None:
    """Metrics of a recognition's answer: faces that matched nobody, the
    similarity of each face's best candidate, and of each match."""
    for face in faces:
        if face["match"] is None:
            UNKNOWN_FACES.labels(model).inc()
        elif face["similarity"] is not None:
            MATCH_SIMILARITY.labels(model).observe(face["similarity"])
        if face["candidates"]:
            BEST_SIMILARITY.labels(model).observe(max(c["similarity"] for c in face["candidates"]))


class Matcher:
    def __init__(self, storage: Storage, gallery: Gallery, threshold_override: float | None, top_k: int):
        self.storage = storage
        self.gallery = gallery
        self.threshold_override = threshold_override
        self.top_k = top_k
        self.changes = core.ChangeLog()
        self.database_ok = True  # kept current by the upkeep (see main.py)
        self._persons: dict[str, dict] = {}  # person id -> public record
        self._ids_by_roll: dict[str, str] = {}  # rollNo -> person id
        self._thresholds: dict[str, core.Thresholds] = {}  # model -> thresholds
        # Changes that arrive while the gallery loads wait here, then apply on
        # top of what was loaded: a load that read the database before an
        # enrollment must not wipe that enrollment out.
        self._changes_lock = threading.Lock()
        self._held: list[GalleryChange] | None = None

    # -- gallery upkeep ------------------------------------------------------
    def reload(self) -> None:
        """Load every stored vector (off the connection's thread, while changes keep arriving)."""
        with self._changes_lock:
            self._held = []
        entries, version = None, 0
        try:
            version = self.storage.gallery_version()  # read first: later changes come as messages
            entries = list(self.storage.face_batches())  # whole matrices, not rows
        finally:
            with self._changes_lock:
                held, self._held = self._held, None
                if entries is not None:
                    self.gallery.replace_all(entries)
                    self._persons.clear()
                    self._ids_by_roll.clear()
                    self._thresholds.clear()
                    self.changes.loaded(version)
                for change in held:
                    self._apply(change)
        self._report_size()
        log.info("gallery loaded: %d vectors (%s), version %d", self.gallery.size(),
                 ", ".join(self.gallery.models()) or "empty", version)

    def apply(self, change: GalleryChange) -> None:
        with self._changes_lock:
            if self._held is not None:
                self._held.append(change)
                return
            self._apply(change)
        self._report_size()

    def _apply(self, change: GalleryChange) -> None:
        self._persons.pop(change.person_id, None)
        if change.op == "settings":
            self._thresholds.clear()
        elif change.op == "remove":
            self._ids_by_roll = {r: p for r, p in self._ids_by_roll.items() if p != change.person_id}
        if change.op == "add":
            face = self.storage.face(change.face_id)
            if face is not None and face[2] == change.person_id:
                self.gallery.add(*face)
        elif change.op == "remove":
            self.gallery.remove_person(change.person_id)
        self.changes.received(change.version)

    def check_version(self) -> None:
        """Reload when the database says a change never reached this copy."""
        if self.changes.must_reload(self.storage.gallery_version()):
            log.warning("a gallery change never arrived (version %d held, database ahead): reloading",
                        self.changes.base)
            self.reload()

    def _report_size(self) -> None:
        for model in self.gallery.models():
            GALLERY_SIZE.labels(model).set(self.gallery.size(model))

    # -- jobs ----------------------------------------------------------------
    def handle(self, job: contracts.Job):
        if not job.model or job.faces is None or any(f.vector is None for f in job.faces):
            raise JobError(ErrorCode.BAD_MESSAGE, "match job without vectors")
        try:
            return self.enroll(job) if job.kind == ENROLL else self.recognize(job)
        except UNAVAILABLE_ERRORS:
            self.database_ok = False
            raise database_unavailable() from None

    def _records(self, person_ids: set[str]) -> dict[str, dict]:
        """Public records of the visible people among ``person_ids``, cached."""
        missing = person_ids - self._persons.keys()
        if missing:
            found = self.storage.persons_by_id(missing)
            self._persons.update({pid: record(doc) for pid, doc in found.items()})
        return {pid: self._persons[pid] for pid in person_ids if pid in self._persons}

    def thresholds(self, model: str) -> core.Thresholds:
        """The thresholds for ``model``: set at run time (the database), else
        ``MATCH_THRESHOLD``, else the model's default; cached until a
        ``settings`` change or a reload."""
        known = self._thresholds.get(model)
        if known is None:
            stored = self.storage.thresholds(model)
            match = stored.get("match_threshold", threshold_for(model, self.threshold_override))
            known = core.Thresholds(match, stored.get("review_floor", review_floor_for(model, match)))
            self._thresholds[model] = known
        return known

    def _ids_of(self, roll_nos) -> dict[str, str]:
        """``{rollNo: person id}`` of the visible people among ``roll_nos``, cached."""
        missing = [r for r in roll_nos if r not in self._ids_by_roll]
        if missing:
            self._ids_by_roll.update(self.storage.person_ids_by_roll(missing))
        return {r: self._ids_by_roll[r] for r in roll_nos if r in self._ids_by_roll}

    def recognize(self, job: contracts.Job):
        thresholds = self.thresholds(job.model)
        scope = job.scope or MatchScope()
        vectors = [f.vector for f in job.faces]
        roster = set(self._ids_of(scope.roster).values()) if scope.roster else None
        while True:
            per_face = self.gallery.search_many(job.model, vectors, self.top_k)
            people = sorted(core.candidate_ids(per_face) | (roster or set()))
            persons = self._records(set(people))
            # Erased while this copy still held their vectors (its change
            # message may still be in flight): the database is the truth.
            if not [p for p in people if p not in persons and self.gallery.remove_person(p)]:
                break
        people = [p for p in people if p in persons]
        decisions = core.decide_faces(self.gallery.similarities(job.model, vectors, people), people, thresholds,
                                      roster)
        faces = [core.face_result(f, c, d, persons, thresholds.match)
                 for f, c, d in zip(job.faces, per_face, decisions)]
        observe(job.model, faces)
        if scope.verify is not None:
            target = self._ids_of([scope.verify]).get(scope.verify)
            sims = self.gallery.similarities(job.model, vectors, [target] if target else [])
            for face, row in zip(faces, sims):
                face["verify_similarity"] = round(float(row[0]), 4) if row.size and np.isfinite(row[0]) else None
        if scope.want_vectors:
            for face, f in zip(faces, job.faces):
                face["vector"], face["model"] = list(f.vector), job.model
        return Reply(job_id=job.job_id, ok=True, faces=faces)

    def lookalike(self, model: str, vector, person_id: str) -> dict | None:
        """The enrolled person other than ``person_id`` the vector matches, if any."""
        threshold = self.thresholds(model).match
        for candidate in self.gallery.search(model, vector, 2):
            if candidate.person_id != person_id and candidate.similarity >= threshold:
                other = self._records({candidate.person_id}).get(candidate.person_id)
                if other is not None:
                    return {"rollNo": other["rollNo"], "name": other.get("name", ""),
                            "similarity": candidate.similarity}
        return None

    def enroll(self, job: contracts.Job):
        info = job.enroll
        if info is None or len(job.faces) != 1:
            raise JobError(ErrorCode.BAD_MESSAGE, "enroll job needs rollNo, photo_hash and exactly one face")
        if not self.database_ok:
            raise database_unavailable()
        person = self.storage.find_person(info.rollNo)
        if person is None:
            raise JobError(ErrorCode.UNKNOWN_PERSON, f"no person with rollNo {info.rollNo}")
        vector = job.faces[0].vector
        lookalike = self.lookalike(job.model, vector, person_id_of(person))
        if lookalike and not info.force:
            # Caught while it is cheap: one person under two rollNos, or two
            # people the model cannot tell apart.
            raise JobError(ErrorCode.LOOKALIKE, f"the photo looks like {lookalike['rollNo']} (similarity "
                           f"{lookalike['similarity']}); send force=true to enroll it anyway", lookalike)
        face_id, new = self.storage.store_face(job.model, person, info.photo_hash, vector, info.filename)
        if self.storage.person_by_id(person_id_of(person)) is None:
            # Erased while this photo was in the pipeline: leave no vector behind.
            self.storage.delete_face(face_id)
            raise JobError(ErrorCode.UNKNOWN_PERSON, f"no person with rollNo {info.rollNo} (erased meanwhile)")
        change = GalleryChange(op="add", person_id=person_id_of(person), face_id=face_id,
                               version=self.storage.bump_gallery_version())
        reply = Reply(job_id=job.job_id, ok=True, enrolled={
            "rollNo": info.rollNo, "face_id": face_id, "duplicate": not new, "model": job.model, "lookalike": lookalike,
        })
        return Result(reply=reply, also=(to_gallery(change.to_bytes()),))
