"""HTTP API of attendance sessions, check-ins, corrections and reports (/api/v1)."""
from __future__ import annotations

import datetime as dt
import html

from flask import Blueprint, Response, jsonify, request

from services.gateway import attendance as rules
from services.gateway.errors import ApiError
from services.gateway.http import (as_bool, csv_response, json_body, operator, text_field, token_name,
                                   uploaded_images)
from services.gateway.jobs import recognize_all
from services.gateway.pipeline import PipelineClient
from shared import imaging
from shared.attendance_store import AttendanceStore
from shared.config import Settings
from shared.contracts import ErrorCode
from shared.storage import Storage

MAX_GRACE_MINUTES = 24 * 60


def attendance_blueprint(settings: Settings, pipeline: PipelineClient, storage: Storage,
                         store: AttendanceStore) -> Blueprint:
    bp = Blueprint("attendance", __name__, url_prefix="/api/v1")

    def session_or_404(session_id: str) -> dict:
        session = store.get_session(session_id)
        if session is None:
            raise ApiError(404, "unknown_session", f"no attendance session {session_id}")
        return session

    def wanted_format() -> str:
        fmt = request.args.get("format", "json")
        if fmt not in ("json", "csv", "print"):
            raise ApiError(400, "bad_format", "format must be json, csv or print")
        return fmt

    # -- sessions ---------------------------------------------------------------
    @bp.post("/sessions")
    def create_session():
        body = json_body()
        name = text_field(body, "name")
        department = text_field(body, "department", required=False)
        roster = body.get("roster")
        starts_at = rules.parse_time(body.get("starts_at"), "starts_at")
        ends_at = rules.parse_time(body.get("ends_at"), "ends_at")
        if ends_at <= starts_at:
            raise ApiError(400, "bad_time", "ends_at must be after starts_at")
        grace = body.get("grace_minutes", 10)
        if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= MAX_GRACE_MINUTES:
            raise ApiError(400, "bad_field", f"grace_minutes must be a whole number from 0 to {MAX_GRACE_MINUTES}")
        if roster is not None:
            if not isinstance(roster, list) or not roster or not all(isinstance(r, str) and r for r in roster):
                raise ApiError(400, "bad_field", "roster must be a non-empty list of rollNos")
            roster = sorted(set(roster))
            unknown = sorted(set(roster) - storage.get_persons(roster).keys())
            if unknown:
                raise ApiError(400, "unknown_person", f"not enrolled: {', '.join(unknown)}")
        elif department:
            roster = [p["rollNo"] for p in storage.list_persons(department)]
            if not roster:
                raise ApiError(400, "empty_roster", f"nobody is enrolled in department {department}")
        else:
            raise ApiError(400, "missing_field", "give the roster: a department or a list of rollNos")
        session = store.create_session({"name": name, "department": department, "roster": roster,
                                        "starts_at": starts_at, "ends_at": ends_at, "grace_minutes": grace})
        return jsonify(rules.public_session(session)), 201

    @bp.get("/sessions")
    def list_sessions():
        if request.args.get("from") or request.args.get("to"):
            start, end = rules.parse_date_range(request.args.get("from"), request.args.get("to"))
        else:  # no range asked for: every session, past and planned
            start, end = rules.EARLIEST, rules.LATEST
        status = request.args.get("status") or None
        if status not in (None, rules.OPEN, rules.CLOSED):
            raise ApiError(400, "bad_field", "status must be open or closed")
        found = store.list_sessions(start, end, request.args.get("department") or None, status)
        return jsonify({"sessions": [rules.public_session(s) for s in found]})

    @bp.get("/sessions/<session_id>")
    def get_session(session_id):
        session = session_or_404(session_id)
        marks = store.marks_of_session(session_id)
        out = rules.public_session(session)
        out["counts"] = {s: sum(m["status"] == s for m in marks) for s in rules.MARK_STATUSES}
        out["counts"]["absent"] = len(session["roster"]) - len(marks)
        return jsonify(out)

    @bp.post("/sessions/<session_id>/close")
    def close_session(session_id):
        session_or_404(session_id)
        store.close_session(session_id)
        return jsonify(rules.public_session(session_or_404(session_id)))

    @bp.delete("/sessions/<session_id>")
    def delete_session(session_id):
        session_or_404(session_id)
        store.delete_session(session_id)
        return Response(status=204)

    # -- check-in from photos ---------------------------------------------------
    @bp.post("/sessions/<session_id>/checkins")
    def checkin(session_id):
        session = session_or_404(session_id)
        if session.get("status") == rules.CLOSED:
            raise ApiError(409, "session_closed", f"session {session_id} is closed; correct marks by hand instead")
        at = rules.parse_time(request.form["at"], "at") if request.form.get("at") else \
            dt.datetime.now(dt.timezone.utc)
        window = rules.window_of(session)
        window.check(at, force=as_bool(request.form.get("force", "")))
        files = uploaded_images()

        photos, work = [], []
        for f in files:
            data = f.read()
            entry = {"filename": f.filename or "unnamed"}
            photos.append(entry)
            if imaging.sniff_format(data) is None:
                entry["error"] = {"code": ErrorCode.NOT_AN_IMAGE, "message": "not a JPEG or PNG image"}
            else:
                entry["photo_hash"] = imaging.photo_hash(data)
                work.append((entry, data))
        replies = recognize_all(pipeline, [data for _, data in work],
                                settings.request_timeout_seconds + 2.0 * len(work))

        roster = set(session["roster"])
        marked, already, off_roster, unknown = [], set(), {}, 0
        status = window.status_at(at)
        for (entry, _), reply in zip(work, replies):
            if not reply.ok:
                entry["error"] = reply.error
                continue
            on, off, n_unknown = rules.classify_faces(reply.faces, roster)
            entry.update(faces=len(reply.faces), unknown_faces=n_unknown,
                         recognized=[p["rollNo"] for p in on], not_on_roster=[p["rollNo"] for p in off])
            unknown += n_unknown
            off_roster.update({p["rollNo"]: p for p in off})
            for person in on:
                mark = {"session_id": session_id, "rollNo": person["rollNo"], "status": status, "marked_at": at,
                        "similarity": person["similarity"], "photo": entry["filename"],
                        "photo_hash": entry["photo_hash"], "source": "photo"}
                if store.add_mark(mark, by="check-in", reason=f"recognized in photo {entry['filename']}",
                                  token=token_name()):
                    marked.append({"rollNo": person["rollNo"], "name": person["name"], "status": status,
                                   "similarity": person["similarity"], "photo": entry["filename"]})
                else:
                    already.add(person["rollNo"])
            store.log_checkin({"session_id": session_id, "at": at, **entry})
        already -= {m["rollNo"] for m in marked}
        return jsonify({"session": session_id, "at": rules.iso(at), "photos": photos, "marked": marked,
                        "already_marked": sorted(already), "not_on_roster": list(off_roster.values()),
                        "unknown_faces": unknown})

    @bp.get("/sessions/<session_id>/checkins")
    def checkin_log(session_id):
        session_or_404(session_id)
        entries = store.checkins_of_session(session_id)
        for e in entries:
            e["at"], e["logged_at"] = rules.iso(e.get("at")), rules.iso(e.get("logged_at"))
        return jsonify({"checkins": entries})

    # -- corrections by hand ----------------------------------------------------
    @bp.post("/sessions/<session_id>/marks")
    def mark(session_id):
        session = session_or_404(session_id)
        body = json_body()
        roll_no = text_field(body, "rollNo")
        reason = text_field(body, "reason")
        by = operator(body)
        status = body.get("status", rules.PRESENT)
        if status not in rules.MARK_STATUSES:
            raise ApiError(400, "bad_field", "status must be present or late")
        if roll_no not in session["roster"]:
            raise ApiError(400, "not_on_roster", f"{roll_no} is not on the roster of this session")
        at = rules.parse_time(body["at"], "at") if body.get("at") else dt.datetime.now(dt.timezone.utc)
        new = {"session_id": session_id, "rollNo": roll_no, "status": status, "marked_at": at,
               "similarity": None, "photo": None, "photo_hash": None, "source": "manual"}
        before = store.set_mark(new, by=by, reason=reason, token=token_name())
        return jsonify({"mark": mark_out(new), "replaced": mark_out(before)}), 200 if before else 201

    @bp.delete("/sessions/<session_id>/marks/<roll_no>")
    def unmark(session_id, roll_no):
        session_or_404(session_id)
        body = request.get_json(silent=True) or dict(request.args)
        reason = text_field(body, "reason")
        removed = store.remove_mark(session_id, roll_no, by=operator(body), reason=reason, token=token_name())
        if removed is None:
            raise ApiError(404, "no_mark", f"{roll_no} has no mark in session {session_id}")
        return jsonify({"removed": mark_out(removed)})

    @bp.get("/sessions/<session_id>/audit")
    def audit(session_id):
        session_or_404(session_id)
        entries = store.audit_of_session(session_id)
        for e in entries:
            e["at"] = rules.iso(e["at"])
            e.setdefault("token", None)  # entries written before tokens existed
            e["before"], e["after"] = mark_out(e.get("before")), mark_out(e.get("after"))
        return jsonify({"entries": entries})

    # -- reports ----------------------------------------------------------------
    @bp.get("/sessions/<session_id>/report")
    def session_report(session_id):
        fmt = wanted_format()
        tz = rules.parse_tz(request.args.get("tz"))
        session = session_or_404(session_id)
        report = rules.session_report(session, storage.get_persons(session["roster"]),
                                      store.marks_of_session(session_id), tz)
        report["tz"] = rules.tz_label(tz)
        if fmt == "csv":
            return csv_response(rules.to_csv(report["rows"], rules.SESSION_CSV), f"session-{session_id}.csv")
        if fmt == "print":
            return Response(printable(report), mimetype="text/html")
        return jsonify(report)

    @bp.get("/persons/<roll_no>/report")
    def person_report(roll_no):
        fmt = wanted_format()
        tz = rules.parse_tz(request.args.get("tz"))
        person = storage.get_person(roll_no)
        if person is None:
            raise ApiError(404, "unknown_person", f"no person with rollNo {roll_no}")
        start, end = rules.parse_date_range(request.args.get("from"), request.args.get("to"), tz)
        sessions = store.list_sessions(start, end, roll_no=roll_no)
        report = rules.person_history(roll_no, sessions, store.marks_of_person(roll_no), tz)
        report.update(person=person, tz=rules.tz_label(tz), **{"from": rules.iso(start, tz), "to": rules.iso(end, tz)})
        if fmt == "csv":
            return csv_response(rules.to_csv(report["history"], rules.PERSON_CSV), f"person-{roll_no}.csv")
        return jsonify(report)

    @bp.get("/departments/<department>/report")
    def department_report(department):
        fmt = wanted_format()
        tz = rules.parse_tz(request.args.get("tz"))
        start, end = rules.parse_date_range(request.args.get("from"), request.args.get("to"), tz)
        sessions = store.list_sessions(start, end, department=department)
        persons = storage.list_persons(department)
        if not persons and not sessions:
            raise ApiError(404, "unknown_department", f"no persons and no sessions in department {department}")
        marks = store.marks_of_sessions([s["_id"] for s in sessions])
        report = rules.department_summary(department, sessions, persons, marks)
        report.update(tz=rules.tz_label(tz), **{"from": rules.iso(start, tz), "to": rules.iso(end, tz)})
        if fmt == "csv":
            return csv_response(rules.to_csv(report["rows"], rules.DEPARTMENT_CSV), f"department-{department}.csv")
        return jsonify(report)

    return bp


def mark_out(mark: dict | None) -> dict | None:
    if mark is None:
        return None
    out = {k: v for k, v in mark.items() if k not in ("_id", "photo_hash")}
    out["marked_at"] = rules.iso(mark.get("marked_at"))
    return out


def day_and_time(iso_time: str) -> str:
    """``2026-11-25T09:00:00+05:30`` as ``2026-11-25 09:00``."""
    return f"{iso_time[:10]} {iso_time[11:16]}"


def printable(report: dict) -> str:
    """The session report as a page a teacher prints: one row per student."""
    s = report["session"]
    esc = html.escape
    rows = "".join(
        f"<tr><td>{i}</td><td>{esc(r['rollNo'])}</td><td>{esc(r['name'])}</td><td>{esc(r['status'])}</td>"
        f"<td>{esc((r['marked_at'] or '')[11:16])}</td><td></td></tr>"
        for i, r in enumerate(report["rows"], 1))
    c = report["counts"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{esc(s['name'])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #444;padding:4px 8px;text-align:left}}@media print{{button{{display:none}}}}</style></head>
<body><h1>{esc(s['name'])}</h1>
<p>Department: {esc(s['department'] or '-')} &middot; {esc(day_and_time(s['starts_at']))} to
 {esc(day_and_time(s['ends_at']))} ({esc(report['tz'])})
 &middot; grace {s['grace_minutes']} min &middot; session {esc(s['id'])} ({esc(s['status'])})</p>
<p>Present {c['present']} &middot; Late {c['late']} &middot; Absent {c['absent']} &middot;
 Roster {report['roster_size']}</p>
<table><tr><th>#</th><th>Roll No</th><th>Name</th><th>Status</th><th>Time ({esc(report['tz'])})</th>
<th>Signature</th></tr>
{rows}</table><p>Teacher's signature: ____________________</p>
<button onclick="window.print()">Print</button></body></html>"""
