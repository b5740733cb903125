"""Corrections by hand, and the audit trail of every mark.

Recognition misses people (a turned head, a blurred frame) and teachers excuse
latecomers: an operator sets or removes a mark by hand, always saying who and
why. Every change - by hand or by check-in - lands in an append-only audit
trail with the mark before and after, so a disputed register can be explained.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from attendance.errors import BadField, NoMark, NotOnRoster
from attendance.rules import MARK_STATUSES, PRESENT
from attendance.times import iso, now, parse_time

if TYPE_CHECKING:
    from attendance.store import AttendanceStore


def public_mark(mark: dict | None) -> dict | None:
    """A mark as the API shows it (the photo's hash stays inside)."""
    if mark is None:
        return None
    out = {k: v for k, v in mark.items() if k not in ("_id", "photo_hash")}
    out["marked_at"] = iso(mark.get("marked_at"))
    return out


class Corrections:
    def __init__(self, store: AttendanceStore):
        self.store = store

    def mark(self, session: dict, roll_no: str, reason: str, by: str, status: str = PRESENT,
             at=None, token: str | None = None) -> tuple[dict, dict | None]:
        """Mark a roster member by hand (replacing any mark they have);
        returns the new mark and the one it replaced."""
        if status not in MARK_STATUSES:
            raise BadField("status must be present or late")
        if roll_no not in session["roster"]:
            raise NotOnRoster(f"{roll_no} is not on the roster of this session")
        marked_at = parse_time(at, "at") if at else now()
        new = {"session_id": session["_id"], "rollNo": roll_no, "status": status, "marked_at": marked_at,
               "similarity": None, "photo": None, "photo_hash": None, "source": "manual"}
        before = self.store.set_mark(new, by=by, reason=reason, token=token)
        return public_mark(new), public_mark(before)

    def unmark(self, session: dict, roll_no: str, reason: str, by: str, token: str | None = None) -> dict:
        """Take a mark back; returns the removed mark."""
        removed = self.store.remove_mark(session["_id"], roll_no, by=by, reason=reason, token=token)
        if removed is None:
            raise NoMark(f"{roll_no} has no mark in session {session['_id']}")
        return public_mark(removed)

    def audit(self, session: dict) -> list[dict]:
        """Every change of the session's marks, oldest first."""
        entries = self.store.audit_of_session(session["_id"])
        for e in entries:
            e["at"] = iso(e["at"])
            e.setdefault("token", None)  # entries written before tokens existed
            e["before"], e["after"] = public_mark(e.get("before")), public_mark(e.get("after"))
        return entries
