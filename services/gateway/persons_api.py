"""HTTP API of persons (enrollment with photos) and recognition (/api/v1)."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, g, jsonify, request

from attendance.privacy import attendance_of, erase_attendance_of, erase_biometrics_of
from attendance.store import AttendanceStore
from attendance.times import iso
from services.gateway.errors import ApiError, from_pipeline
from services.gateway.http import as_bool, uploaded_images
from services.gateway.jobs import faces_or_error, recognize_all, run_jobs
from services.gateway.persons import clean_fields
from services.gateway.gallery_changes import announce
from services.gateway.pipeline import PipelineClient
from shared import imaging
from shared.config import Settings
from shared.contracts import ENROLL, Enrollment, ErrorCode, MatchScope
from shared.storage import DuplicatePerson, Storage, person_id_of, record

log = logging.getLogger(__name__)

# Enrollment of many photos waits longer: the pipeline handles them one by one
# per worker copy.
ENROLL_SECONDS_PER_PHOTO = 2.0

# Why a photo was refused, in words an operator understands.
REFUSALS = {
    ErrorCode.NO_FACE: "no face",
    ErrorCode.MULTIPLE_FACES: "several faces",
    ErrorCode.FACE_TOO_SMALL: "face too small",
    ErrorCode.NOT_AN_IMAGE: "not an image",
    ErrorCode.IMAGE_TOO_LARGE: "image too large",
    ErrorCode.LOOKALIKE: "looks like another enrolled person",
}


def persons_blueprint(settings: Settings, pipeline: PipelineClient, storage: Storage,
                      attendance: AttendanceStore) -> Blueprint:
    bp = Blueprint("persons", __name__, url_prefix="/api/v1")

    def enroll_images(roll_no: str, files, force: bool = False) -> list[dict]:
        """Send every usable upload through the pipeline as an enrollment job.
        ``force``: store photos that look like another enrolled person too
        (they are flagged, not refused)."""
        results: list[dict | None] = []
        work: list[tuple[int, bytes, Enrollment]] = []
        for f in files:
            data = f.read()
            name = f.filename or "unnamed"
            if not data:
                results.append({"filename": name, "accepted": False, "reason": "empty file", "code": "empty"})
            elif imaging.sniff_format(data) is None:
                results.append({"filename": name, "accepted": False, "reason": "not an image",
                                "code": ErrorCode.NOT_AN_IMAGE, "detail": imaging.NOT_ACCEPTED})
            else:
                results.append(None)
                work.append((len(results) - 1, data, Enrollment(roll_no, imaging.photo_hash(data), name, force)))
        timeout = settings.request_timeout_seconds + ENROLL_SECONDS_PER_PHOTO * len(work)
        replies = run_jobs(pipeline, ENROLL, [(data, meta) for _, data, meta in work], timeout)
        for (index, _, meta), reply in zip(work, replies):
            if reply.ok:
                entry = {"filename": meta.filename, "accepted": True, "reason": None}
                if reply.enrolled and reply.enrolled.get("duplicate"):
                    entry["reason"] = "already enrolled (same photo)"
                if reply.enrolled and reply.enrolled.get("lookalike"):
                    entry["lookalike"] = reply.enrolled["lookalike"]  # stored because forced
            else:
                code = reply.error.get("code")
                if code not in REFUSALS:  # not about the photo: the request failed
                    raise from_pipeline(reply.error)
                entry = {"filename": meta.filename, "accepted": False, "reason": REFUSALS[code],
                         "code": code, "detail": reply.error.get("message")}
                if code == ErrorCode.LOOKALIKE:
                    entry["lookalike"] = reply.error.get("details")
            results[index] = entry
        if work:
            person = storage.find_person(roll_no)
            if person is not None:
                storage.sync_images_count(person_id_of(person))  # every photo of the request is stored now
        return results

    def person_or_404(roll_no: str) -> dict:
        person = storage.get_person(roll_no)
        if person is None:
            raise ApiError(404, "unknown_person", f"no person with rollNo {roll_no}")
        return person

    # -- persons ----------------------------------------------------------------
    @bp.post("/persons")
    def create_person():
        form = request.form.to_dict()
        force = as_bool(form.pop("force", ""))
        fields = clean_fields(form, creating=True)
        files = uploaded_images()
        try:
            storage.create_person(fields)
        except DuplicatePerson:
            raise ApiError(409, "duplicate_rollNo", f"a person with rollNo {fields['rollNo']} exists") from None
        try:
            images = enroll_images(fields["rollNo"], files, force)
        except ApiError as err:
            if err.status in (503, 504) and storage.get_person(fields["rollNo"])["images_count"] == 0:
                erase(fields["rollNo"])  # nothing enrolled: leave no half-made person
            raise
        return jsonify({"person": person_or_404(fields["rollNo"]), "images": images}), 201

    @bp.get("/persons")
    def list_persons():
        return jsonify({"persons": storage.list_persons(request.args.get("department") or None)})

    @bp.get("/persons/<roll_no>")
    def get_person(roll_no):
        return jsonify(person_or_404(roll_no))

    @bp.patch("/persons/<roll_no>")
    def update_person(roll_no):
        person_or_404(roll_no)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body:
            raise ApiError(400, "bad_json", "send a JSON object with the fields to change")
        updated = storage.update_person(roll_no, clean_fields(body, creating=False))
        announce(storage, pipeline, "update", person_id_of(storage.find_person(roll_no)))  # cached records are stale
        return jsonify(updated)

    def erase(roll_no: str) -> bool:
        """Erase a person's record and vectors everywhere; False if there was none."""
        person_id = storage.erase_person(roll_no)
        if person_id is None:
            return False
        announce(storage, pipeline, "remove", person_id)
        return True

    @bp.delete("/persons/<roll_no>")
    def delete_person(roll_no):
        """Erase the person's record and biometric data everywhere (database,
        every matcher; the dead-letter queue keeps nothing beyond its
        retention); ``erase_attendance=true`` erases their attendance too.
        Retriable: a person whose erasure was cut short is found (marked
        "deleting") and the erasure finished."""
        erase_history = as_bool(request.args.get("erase_attendance", ""))
        if not erase(roll_no):
            raise ApiError(404, "unknown_person", f"no person with rollNo {roll_no}")
        erase_biometrics_of(attendance, roll_no)
        if erase_history:
            erase_attendance_of(attendance, roll_no)
        return Response(status=204)

    @bp.get("/persons/<roll_no>/export")
    def export_person(roll_no):
        """Everything held about a person (the right of access): the record,
        each stored face (photo hash, model, vector), their attendance."""
        doc = storage.find_person(roll_no)
        if doc is None:
            raise ApiError(404, "unknown_person", f"no person with rollNo {roll_no}")
        faces = [dict(f, stored_at=iso(f["stored_at"])) for f in storage.faces_of(person_id_of(doc))]
        person = dict(record(doc), created_at=iso(doc.get("created_at")), updated_at=iso(doc.get("updated_at")))
        return jsonify({"person": person, "faces": faces, "attendance": attendance_of(attendance, roll_no)})

    @bp.post("/persons/<roll_no>/images")
    def add_images(roll_no):
        person_or_404(roll_no)
        images = enroll_images(roll_no, uploaded_images(), as_bool(request.form.get("force", "")))
        return jsonify({"person": person_or_404(roll_no), "images": images}), 201

    # -- recognition ------------------------------------------------------------
    def uploaded_photo() -> bytes:
        """The multipart field ``image``: present, not empty, a photo in an accepted format."""
        upload = request.files.get("image")
        if upload is None:
            raise ApiError(400, "missing_image", "send the photo as multipart field 'image'")
        data = upload.read()
        if not data:
            raise ApiError(400, "empty_image", "the uploaded image is empty")
        if imaging.sniff_format(data) is None:
            raise ApiError(415, ErrorCode.NOT_AN_IMAGE, imaging.NOT_ACCEPTED)
        return data

    @bp.post("/recognize")
    def recognize():
        (reply,) = recognize_all(pipeline, [uploaded_photo()], settings.request_timeout_seconds)
        return jsonify({"request_id": g.request_id, "faces": faces_or_error(reply)})

    @bp.post("/persons/<roll_no>/verify")
    def verify(roll_no):
        """1:1 verification for a kiosk that asks "are you X?": the photo's
        best face against X's enrolled vectors only."""
        person_or_404(roll_no)
        (reply,) = recognize_all(pipeline, [uploaded_photo()], settings.request_timeout_seconds,
                                 MatchScope(verify=roll_no))
        faces = faces_or_error(reply)
        if not faces:
            raise ApiError(422, ErrorCode.NO_FACE, "no face was found in the photo")
        best = max(faces, key=lambda f: -1.0 if f.get("verify_similarity") is None else f["verify_similarity"])
        similarity, threshold = best.get("verify_similarity"), best["threshold"]
        return jsonify({"rollNo": roll_no, "verified": similarity is not None and similarity >= threshold,
                        "similarity": similarity, "threshold": threshold, "request_id": g.request_id})

    return bp
