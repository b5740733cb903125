"""Attendance sessions: creating one, finding, listing, closing, deleting.

A session's roster is fixed when it is created - from a list of rollNos, or
everybody enrolled in its department at that moment: enrolling a student later
does not change who was expected at last week's lecture.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from attendance.errors import BadField, BadTime, EmptyRoster, MissingField, NotEnrolled, UnknownSession
from attendance.rules import CLOSED, DEFAULT_GRACE_MINUTES, MARK_STATUSES, MAX_GRACE_MINUTES, OPEN
from attendance.times import EARLIEST, LATEST, UTC, iso, parse_date_range, parse_time

if TYPE_CHECKING:
    from attendance.store import AttendanceStore
    from shared.storage import Storage


def find_session(store: AttendanceStore, session_id: str) -> dict:
    """The stored session; :class:`UnknownSession` when there is none."""
    session = store.get_session(session_id)
    if session is None:
        raise UnknownSession(f"no attendance session {session_id}")
    return session


def public_session(s: dict, tz: dt.tzinfo = UTC) -> dict:
    """A session as the API and the reports show it, times in ``tz``."""
    return {
        "id": s["_id"], "name": s["name"], "department": s.get("department"), "roster": sorted(s["roster"]),
        "starts_at": iso(s["starts_at"], tz), "ends_at": iso(s["ends_at"], tz),
        "grace_minutes": s.get("grace_minutes", 0), "status": s.get("status", OPEN),
        "created_at": iso(s.get("created_at"), tz), "closed_at": iso(s.get("closed_at"), tz),
    }


class Sessions:
    """The session lifecycle, over the attendance store and the enrolled persons."""

    def __init__(self, store: AttendanceStore, persons: Storage):
        self.store = store
        self.persons = persons

    def get(self, session_id: str) -> dict:
        return find_session(self.store, session_id)

    def create(self, name: str, department: str | None = None, roster=None, starts_at=None, ends_at=None,
               grace_minutes=DEFAULT_GRACE_MINUTES) -> dict:
        """A new open session. The values are checked here, as the client sent
        them (absent ones as None): the roster is a list of enrolled rollNos,
        or None for everybody in ``department``."""
        start = parse_time(starts_at, "starts_at")
        end = parse_time(ends_at, "ends_at")
        if end <= start:
            raise BadTime("ends_at must be after starts_at")
        grace = grace_minutes
        if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= MAX_GRACE_MINUTES:
            raise BadField(f"grace_minutes must be a whole number from 0 to {MAX_GRACE_MINUTES}")
        session = self.store.create_session({
            "name": name, "department": department, "roster": self._roster(roster, department),
            "starts_at": start, "ends_at": end, "grace_minutes": grace})
        return public_session(session)

    def _roster(self, roster, department: str | None) -> list[str]:
        """The rollNos given (all enrolled), else everybody in ``department``."""
        if roster is not None:
            if not isinstance(roster, list) or not roster or not all(isinstance(r, str) and r for r in roster):
                raise BadField("roster must be a non-empty list of rollNos")
            roster = sorted(set(roster))
            unknown = sorted(set(roster) - self.persons.get_persons(roster).keys())
            if unknown:
                raise NotEnrolled(f"not enrolled: {', '.join(unknown)}")
            return roster
        if department:
            roster = [p["rollNo"] for p in self.persons.list_persons(department)]
            if not roster:
                raise EmptyRoster(f"nobody is enrolled in department {department}")
            return roster
        raise MissingField("give the roster: a department or a list of rollNos")

    def list(self, start: str | None = None, end: str | None = None, department: str | None = None,
             status: str | None = None) -> list[dict]:
        """Sessions starting in ``[start, end]`` (dates or date-times); without
        a range, every session, past and planned."""
        if start or end:
            lo, hi = parse_date_range(start, end)
        else:
            lo, hi = EARLIEST, LATEST
        status = status or None
        if status not in (None, OPEN, CLOSED):
            raise BadField("status must be open or closed")
        found = self.store.list_sessions(lo, hi, department or None, status)
        return [public_session(s) for s in found]

    def overview(self, session_id: str) -> dict:
        """The session and how many are present, late and absent so far."""
        session = self.get(session_id)
        marks = self.store.marks_of_session(session_id)
        out = public_session(session)
        out["counts"] = {s: sum(m["status"] == s for m in marks) for s in MARK_STATUSES}
        out["counts"]["absent"] = len(session["roster"]) - len(marks)
        out["open_reviews"] = self.store.open_review_count(session_id)
        return out

    def close(self, session_id: str) -> dict:
        """Close the session to photo check-in; corrections by hand stay possible."""
        self.get(session_id)
        self.store.close_session(session_id)
        return public_session(self.get(session_id))

    def delete(self, session_id: str) -> None:
        """The session with its marks, audit trail and check-in log."""
        self.get(session_id)
        self.store.delete_session(session_id)
