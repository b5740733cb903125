"""HTTP API of attendance sessions, check-ins, corrections and reports (/api/v1).

HTTP only: each route reads its request, calls the attendance package
(``attendance/``: the rules, the check-in, the reports) and writes the answer.
The package's errors become HTTP answers in errors.py, by one table.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from flask import Blueprint, Response, jsonify, request

from attendance import reviews
from attendance.checkin import CheckIns, Photo, Recognizer
from attendance.marks import Corrections, public_mark
from attendance.reports import CSV, PRINT, Report, Reports, export_format
from attendance.rules import MARK_STATUSES, PRESENT
from attendance.sessions import Sessions
from attendance.store import AttendanceStore
from attendance.times import parse_tz
from services.gateway.errors import ApiError
from services.gateway.gallery_changes import announce
from services.gateway.http import (as_bool, csv_response, given, json_body, operator, text_field, token_name,
                                   uploaded_images)
from services.gateway.jobs import recognize_all
from services.gateway.pipeline import PipelineClient
from shared.config import Settings
from shared.contracts import MatchScope
from shared.storage import Storage, person_id_of

# A check-in of many photos waits longer: the pipeline handles them one by one
# per worker copy.
CHECKIN_SECONDS_PER_PHOTO = 2.0


def pipeline_recognizer(pipeline: PipelineClient, settings: Settings) -> Recognizer:
    """Recognition for check-ins: the pipeline over RabbitMQ (its troubles answer
    503/504), the session's roster matched first, each face's vector kept."""
    def recognize(images: list[bytes], roster: list[str]):
        timeout = settings.request_timeout_seconds + CHECKIN_SECONDS_PER_PHOTO * len(images)
        return recognize_all(pipeline, images, timeout, MatchScope(roster=tuple(roster), want_vectors=True))
    return recognize


def review_enroller(settings: Settings, pipeline: PipelineClient, storage: Storage):
    """Enrollment of a confirmed near miss's face: only if it passes the
    enrollment quality rules (a face of DETECT_MIN_FACE_PX or more, detected
    with DETECT_MIN_CONFIDENCE), then stored and announced like any photo."""
    def enroll(roll_no, model, vector, photo_hash, filename, box, confidence) -> str | None:
        if min(box[2], box[3]) < settings.detect_min_face_px:
            return f"the face is {min(box[2], box[3])} px; enrollment needs {settings.detect_min_face_px}"
        if confidence is not None and confidence < settings.detect_min_confidence:
            return f"the face was detected with confidence {confidence}; enrollment needs {settings.detect_min_confidence}"
        person = storage.find_person(roll_no)
        if person is None:
            return f"no person with rollNo {roll_no}"
        face_id, _ = storage.store_face(model, person, photo_hash, vector, filename)
        storage.sync_images_count(person_id_of(person))
        announce(storage, pipeline, "add", person_id_of(person), face_id)
        return None
    return enroll


def report_response(build: Callable[[dt.tzinfo], Report]) -> Response:
    """The report ``build`` makes, in the query's ``format`` (json, csv, print)
    and time zone ``tz``. Both are read before the report is built, so a bad
    one is refused before any lookup."""
    fmt = export_format(request.args.get("format"))
    report = build(parse_tz(request.args.get("tz")))
    if fmt == CSV:
        return csv_response(report.csv(), report.csv_filename)
    page = report.printable() if fmt == PRINT else None
    if page is not None:  # a report without a page to print answers with its JSON
        return Response(page, mimetype="text/html")
    return jsonify(report.data)


def period() -> tuple[str | None, str | None]:
    """The ``from`` and ``to`` of a report's query."""
    return request.args.get("from"), request.args.get("to")


def attendance_blueprint(settings: Settings, pipeline: PipelineClient, storage: Storage,
                         store: AttendanceStore) -> Blueprint:
    bp = Blueprint("attendance", __name__, url_prefix="/api/v1")
    sessions = Sessions(store, storage)
    checkins = CheckIns(store, pipeline_recognizer(pipeline, settings))
    corrections = Corrections(store)
    reports = Reports(store, storage)
    enroll_reviewed = review_enroller(settings, pipeline, storage)

    # -- sessions ---------------------------------------------------------------
    @bp.post("/sessions")
    def create_session():
        body = json_body()
        session = sessions.create(text_field(body, "name"), text_field(body, "department", required=False),
                                  **given(body, "roster", "starts_at", "ends_at", "grace_minutes"))
        return jsonify(session), 201

    @bp.get("/sessions")
    def list_sessions():
        start, end = period()
        found = sessions.list(start, end, request.args.get("department"), request.args.get("status"))
        return jsonify({"sessions": found})

    @bp.get("/sessions/<session_id>")
    def get_session(session_id):
        return jsonify(sessions.overview(session_id))

    @bp.post("/sessions/<session_id>/close")
    def close_session(session_id):
        return jsonify(sessions.close(session_id))

    @bp.delete("/sessions/<session_id>")
    def delete_session(session_id):
        sessions.delete(session_id)
        return Response(status=204)

    # -- check-in from photos ---------------------------------------------------
    @bp.post("/sessions/<session_id>/checkins")
    def checkin(session_id):
        admission = checkins.admit(session_id, request.form.get("at"), force=as_bool(request.form.get("force", "")))
        photos = [Photo(f.filename, f.read()) for f in uploaded_images()]
        return jsonify(checkins.record(admission, photos, token=token_name()).as_dict())

    @bp.get("/sessions/<session_id>/checkins")
    def checkin_log(session_id):
        return jsonify({"checkins": checkins.log(session_id)})

    # -- corrections by hand ----------------------------------------------------
    @bp.post("/sessions/<session_id>/marks")
    def mark(session_id):
        session = sessions.get(session_id)
        body = json_body()
        roll_no = text_field(body, "rollNo")
        reason = text_field(body, "reason")
        new, replaced = corrections.mark(session, roll_no, reason, by=operator(body), token=token_name(),
                                         **given(body, "status", "at"))
        return jsonify({"mark": new, "replaced": replaced}), 200 if replaced else 201

    @bp.delete("/sessions/<session_id>/marks/<roll_no>")
    def unmark(session_id, roll_no):
        session = sessions.get(session_id)
        body = request.get_json(silent=True) or dict(request.args)
        reason = text_field(body, "reason")
        removed = corrections.unmark(session, roll_no, reason, by=operator(body), token=token_name())
        return jsonify({"removed": removed})

    @bp.get("/sessions/<session_id>/audit")
    def audit(session_id):
        return jsonify({"entries": corrections.audit(sessions.get(session_id))})

    # -- near misses for review ---------------------------------------------------
    @bp.get("/sessions/<session_id>/reviews")
    def list_reviews(session_id):
        status = request.args.get("status", reviews.OPEN)
        if status not in (reviews.OPEN, reviews.CONFIRMED, reviews.REJECTED, "all"):
            raise ApiError(400, "bad_field", "status must be open, confirmed, rejected or all")
        return jsonify({"reviews": reviews.reviews_of(store, session_id, None if status == "all" else status)})

    @bp.post("/sessions/<session_id>/reviews/<review_id>/confirm")
    def confirm_review(session_id, review_id):
        body = json_body()
        status = body.get("status", PRESENT)
        if status not in MARK_STATUSES:
            raise ApiError(400, "bad_field", "status must be present or late")
        outcome = reviews.confirm(store, session_id, review_id, by=operator(body), reason=text_field(body, "reason"),
                                  token=token_name(), status=status,
                                  enroll=enroll_reviewed if as_bool(body.get("enroll", False)) else None)
        outcome["replaced"] = public_mark(outcome["replaced"])
        return jsonify(outcome)

    @bp.post("/sessions/<session_id>/reviews/<review_id>/reject")
    def reject_review(session_id, review_id):
        body = json_body()
        return jsonify(reviews.reject(store, session_id, review_id, by=operator(body),
                                      reason=text_field(body, "reason"), token=token_name()))

    # -- reports ----------------------------------------------------------------
    @bp.get("/sessions/<session_id>/report")
    def session_report(session_id):
        return report_response(lambda tz: reports.session(session_id, tz))

    @bp.get("/persons/<roll_no>/report")
    def person_report(roll_no):
        return report_response(lambda tz: reports.person(roll_no, *period(), tz))

    @bp.get("/departments/<department>/report")
    def department_report(department):
        return report_response(lambda tz: reports.department(department, *period(), tz))

    return bp
