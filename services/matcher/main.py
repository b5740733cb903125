"""Matcher service: vectors in, answer out (the last stage of shared/pipeline.py).

Recognition searches the in-memory gallery; enrollment stores the vector in
MongoDB and announces it on the ``gallery.changes`` fanout exchange, which every
matcher copy (this one included) applies to its gallery.
"""
from __future__ import annotations

import logging
import threading

from services.matcher import core
from services.matcher.gallery import Gallery
from shared import contracts, pipeline, service
from shared.broker import to_gallery
from shared.contracts import ENROLL, ErrorCode, GalleryChange, JobError, Reply
from shared.metrics import GALLERY_SIZE
from shared.models import threshold_for
from shared.storage import Storage
from shared.worker import Result

log = logging.getLogger(__name__)


class Matcher:
    def __init__(self, storage: Storage, gallery: Gallery, threshold_override: float | None, top_k: int):
        self.storage = storage
        self.gallery = gallery
        self.threshold_override = threshold_override
        self.top_k = top_k
        # Changes that arrive while the gallery loads wait here, then apply on
        # top of what was loaded: a load that read the database before an
        # enrollment must not wipe that enrollment out.
        self._changes_lock = threading.Lock()
        self._held: list[GalleryChange] | None = None

    # -- gallery upkeep ------------------------------------------------------
    def reload(self) -> None:
        """Load every stored vector (on the work thread, while changes keep arriving)."""
        with self._changes_lock:
            self._held = []
        entries = None
        try:
            entries = list(self.storage.iter_faces())
        finally:
            with self._changes_lock:
                held, self._held = self._held, None
                if entries is not None:
                    self.gallery.replace_all(entries)
                for change in held:
                    self._apply(change)
        self._report_size()
        log.info("gallery loaded: %d vectors (%s)", self.gallery.size(), ", ".join(self.gallery.models()) or "empty")

    def apply(self, change: GalleryChange) -> None:
        with self._changes_lock:
            if self._held is not None:
                self._held.append(change)
                return
            self._apply(change)
        self._report_size()

    def _apply(self, change: GalleryChange) -> None:
        if change.op == "add":
            self.gallery.add(change.model, change.face_id, change.rollNo, change.vector)
        else:
            self.gallery.remove_person(change.rollNo)

    def _report_size(self) -> None:
        for model in self.gallery.models():
            GALLERY_SIZE.labels(model).set(self.gallery.size(model))

    # -- jobs ----------------------------------------------------------------
    def handle(self, job: contracts.Job):
        if not job.model or job.faces is None or any(f.vector is None for f in job.faces):
            raise JobError(ErrorCode.BAD_MESSAGE, "match job without vectors")
        return self.enroll(job) if job.kind == ENROLL else self.recognize(job)

    def recognize(self, job: contracts.Job):
        threshold = threshold_for(job.model, self.threshold_override)
        per_face = [self.gallery.search(job.model, f.vector, self.top_k) for f in job.faces]
        wanted = core.candidate_roll_nos(per_face)
        persons = self.storage.get_persons(wanted)
        gone = wanted - persons.keys()
        if gone:
            # Deleted while this copy still held their vectors (its change
            # message may still be in flight): the database is the truth.
            for roll_no in gone:
                self.gallery.remove_person(roll_no)
            per_face = [self.gallery.search(job.model, f.vector, self.top_k) for f in job.faces]
            persons.update(self.storage.get_persons(core.candidate_roll_nos(per_face) - persons.keys()))
        faces = [core.face_result(f, c, persons, threshold) for f, c in zip(job.faces, per_face)]
        return Reply(job_id=job.job_id, ok=True, faces=faces)

    def enroll(self, job: contracts.Job):
        info = job.enroll
        if info is None or len(job.faces) != 1:
            raise JobError(ErrorCode.BAD_MESSAGE, "enroll job needs rollNo, photo_hash and exactly one face")
        roll_no = info.rollNo
        if self.storage.get_person(roll_no) is None:
            raise JobError(ErrorCode.UNKNOWN_PERSON, f"no person with rollNo {roll_no}")
        vector = job.faces[0].vector
        face_id, new = self.storage.store_face(job.model, roll_no, info.photo_hash, vector, info.filename)
        if self.storage.get_person(roll_no) is None:
            # Deleted while this photo was in the pipeline: leave no orphan
            # vector behind for a later person with the same rollNo.
            self.storage.delete_face(face_id)
            raise JobError(ErrorCode.UNKNOWN_PERSON, f"no person with rollNo {roll_no} (deleted meanwhile)")
        count = self.storage.recount_images(roll_no)
        change = GalleryChange(op="add", rollNo=roll_no, face_id=face_id, model=job.model, vector=vector)
        reply = Reply(job_id=job.job_id, ok=True, enrolled={
            "rollNo": roll_no, "face_id": face_id, "duplicate": not new, "images_count": count, "model": job.model,
        })
        return Result(reply=reply, also=(to_gallery(change.to_bytes()),))


def setup(settings, health):
    storage = Storage(settings.mongo_uri, settings.mongo_db)
    matcher = Matcher(storage, Gallery(), settings.match_threshold, settings.match_top_k)

    def on_gallery_change(channel, method, props, body):
        try:
            matcher.apply(GalleryChange.from_bytes(body))
        except (JobError, TypeError, ValueError) as exc:
            log.warning("ignored malformed gallery change: %s", exc)

    def on_connect(channel):
        """Subscribe to changes first, then load (on the work thread, returned
        to the worker loop): nothing falls between the two."""
        health.set_ready("database", False)
        queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(queue, pipeline.GALLERY_EXCHANGE)
        channel.basic_consume(queue, on_gallery_change, auto_ack=True)

        def load_gallery():
            storage.ensure_indexes()
            matcher.reload()
            health.set_ready("database", True)

        return load_gallery

    return matcher.handle, on_connect


def main() -> None:
    service.run("matcher", setup)
