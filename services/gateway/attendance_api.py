"""HTTP API of attendance sessions, check-ins, corrections and reports (/api/v1).

HTTP only: each route reads its request, calls the attendance package
(``attendance/``: the rules, the check-in, the reports) and writes the answer.
The package's errors become HTTP answers in errors.py, by one table.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from flask import Blueprint, Response, jsonify, request

from attendance.checkin import CheckIns, Photo, Recognizer
from attendance.marks import Corrections
from attendance.reports import CSV, PRINT, Report, Reports, export_format
from attendance.sessions import Sessions
from attendance.store import AttendanceStore
from attendance.times import parse_tz
from services.gateway.http import (as_bool, csv_response, given, json_body, operator, text_field, token_name,
                                   uploaded_images)
from services.gateway.jobs import recognize_all
from services.gateway.pipeline import PipelineClient
from shared.config import Settings
from shared.storage import Storage

# A check-in of many photos waits longer: the pipeline handles them one by one
# per worker copy.
CHECKIN_SECONDS_PER_PHOTO = 2.0


def pipeline_recognizer(pipeline: PipelineClient, settings: Settings) -> Recognizer:
    """Recognition for check-ins: the pipeline over RabbitMQ (its troubles answer 503/504)."""
    def recognize(images: list[bytes]):
        timeout = settings.request_timeout_seconds + CHECKIN_SECONDS_PER_PHOTO * len(images)
        return recognize_all(pipeline, images, timeout)
    return recognize


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
