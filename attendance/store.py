"""MongoDB access for attendance: sessions, marks, audit trail, check-in log.

The one module of the package that knows the database; the others see its
methods only (the unit tests give them an in-memory stand-in).

Collections:

* ``sessions`` - one per attendance session: name, department, roster
  (rollNos, fixed when the session is created), window, grace, status.
* ``attendance`` - one mark per person per session (unique index on
  ``session_id, rollNo``: the database, not only the code, guarantees that a
  person is never marked twice). status present|late, time, similarity, photo.
* ``attendance_audit`` - append-only: every mark, unmark and correction with
  who, when, why, and the mark before and after.
* ``checkins`` - one entry per submitted photo: what it was and what it found.

The indexes keep reports fast over a year of sessions: sessions by start time
and department, marks by session and by person.
"""
from __future__ import annotations

import datetime as dt
import uuid

import pymongo
from pymongo.errors import DuplicateKeyError

from attendance.rules import CLOSED, OPEN
from shared.storage import Storage, now


class AttendanceStore:
    def __init__(self, storage: Storage):
        db = storage.db
        self.sessions = db["sessions"]
        self.marks = db["attendance"]
        self.audit = db["attendance_audit"]
        self.checkins = db["checkins"]
        self.reviews = db["reviews"]

    def ensure_indexes(self) -> None:
        self.sessions.create_index([("starts_at", pymongo.ASCENDING)], name="starts_at")
        self.sessions.create_index([("department", pymongo.ASCENDING), ("starts_at", pymongo.ASCENDING)],
                                   name="department_starts_at")
        self.sessions.create_index([("roster", pymongo.ASCENDING)], name="roster")
        self.marks.create_index([("session_id", pymongo.ASCENDING), ("rollNo", pymongo.ASCENDING)],
                                unique=True, name="one_mark_per_person_per_session")
        self.marks.create_index([("rollNo", pymongo.ASCENDING), ("marked_at", pymongo.ASCENDING)],
                                name="rollNo_marked_at")
        self.audit.create_index([("session_id", pymongo.ASCENDING), ("at", pymongo.ASCENDING)], name="session_at")
        self.reviews.create_index([("session_id", pymongo.ASCENDING), ("status", pymongo.ASCENDING)],
                                  name="session_status")
        self.checkins.create_index([("session_id", pymongo.ASCENDING), ("at", pymongo.ASCENDING)],
                                   name="session_at")

    # -- sessions --------------------------------------------------------------
    def create_session(self, fields: dict) -> dict:
        doc = dict(fields, _id=uuid.uuid4().hex[:12], status=OPEN, created_at=now(), closed_at=None)
        self.sessions.insert_one(doc)
        return doc

    def get_session(self, session_id: str) -> dict | None:
        return self.sessions.find_one({"_id": session_id})

    def list_sessions(self, start: dt.datetime, end: dt.datetime, department: str | None = None,
                      status: str | None = None, roll_no: str | None = None) -> list[dict]:
        query: dict = {"starts_at": {"$gte": start, "$lt": end}}
        if department:
            query["department"] = department
        if status:
            query["status"] = status
        if roll_no:
            query["roster"] = roll_no
        return list(self.sessions.find(query).sort("starts_at", pymongo.ASCENDING))

    def close_session(self, session_id: str) -> None:
        self.sessions.update_one({"_id": session_id, "status": OPEN},
                                 {"$set": {"status": CLOSED, "closed_at": now()}})

    def delete_session(self, session_id: str) -> None:
        for collection in (self.marks, self.audit, self.checkins, self.reviews):
            collection.delete_many({"session_id": session_id})
        self.sessions.delete_one({"_id": session_id})

    # -- marks -----------------------------------------------------------------
    # ``by`` is who the change is for (an operator's name, "check-in");
    # ``token`` the name of the API token that made the request (None when the
    # API runs without authentication).
    def add_mark(self, mark: dict, by: str, reason: str, token: str | None = None) -> bool:
        """Insert a mark unless the person has one; returns whether it was new."""
        try:
            self.marks.insert_one(dict(mark))
        except DuplicateKeyError:
            return False
        self._audit(mark["session_id"], mark["rollNo"], "mark", by, token, reason, None, mark)
        return True

    def set_mark(self, mark: dict, by: str, reason: str, token: str | None = None) -> dict | None:
        """Create or replace a mark by hand; returns the mark it replaced."""
        key = {"session_id": mark["session_id"], "rollNo": mark["rollNo"]}
        before = self.marks.find_one(key, {"_id": 0})
        self.marks.replace_one(key, dict(mark), upsert=True)
        action = "correct" if before else "mark"
        self._audit(mark["session_id"], mark["rollNo"], action, by, token, reason, before, mark)
        return before

    def remove_mark(self, session_id: str, roll_no: str, by: str, reason: str,
                    token: str | None = None) -> dict | None:
        key = {"session_id": session_id, "rollNo": roll_no}
        before = self.marks.find_one(key, {"_id": 0})
        if before is None:
            return None
        self.marks.delete_one(key)
        self._audit(session_id, roll_no, "unmark", by, token, reason, before, None)
        return before

    def marks_of_session(self, session_id: str) -> list[dict]:
        return list(self.marks.find({"session_id": session_id}, {"_id": 0}))

    def marks_of_sessions(self, session_ids: list[str]) -> list[dict]:
        return list(self.marks.find({"session_id": {"$in": session_ids}}, {"_id": 0})) if session_ids else []

    def marks_of_person(self, roll_no: str) -> list[dict]:
        """Every mark of one person (index ``rollNo_marked_at``); the caller
        picks the sessions it reports on. Cheaper than ``$in`` over a year of
        session ids, which FerretDB evaluates per stored mark."""
        return list(self.marks.find({"rollNo": roll_no}, {"_id": 0}))

    # -- audit and check-in log ------------------------------------------------
    def open_review_count(self, session_id: str) -> int:
        return self.reviews.count_documents({"session_id": session_id, "status": "open"})

    def audit_event(self, session_id, roll_no, action, by, token, reason) -> None:
        """An audited decision that changes no mark (a rejected review)."""
        self._audit(session_id, roll_no, action, by, token, reason, None, None)

    def _audit(self, session_id, roll_no, action, by, token, reason, before, after) -> None:
        strip = (lambda m: {k: v for k, v in m.items() if k != "_id"} if m else None)
        self.audit.insert_one({"session_id": session_id, "rollNo": roll_no, "action": action, "by": by,
                               "token": token, "reason": reason, "at": now(),
                               "before": strip(before), "after": strip(after)})

    def audit_of_session(self, session_id: str) -> list[dict]:
        return list(self.audit.find({"session_id": session_id}, {"_id": 0}).sort("at", pymongo.ASCENDING))

    def log_checkin(self, entry: dict) -> None:
        self.checkins.insert_one(dict(entry, logged_at=now()))

    def checkins_of_session(self, session_id: str) -> list[dict]:
        return list(self.checkins.find({"session_id": session_id}, {"_id": 0}).sort("logged_at", pymongo.ASCENDING))
