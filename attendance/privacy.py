"""A person's attendance data, for the right of access (export) and erasure.

Attendance refers to people by rollNo: marks, audit entries, check-in log
entries (who a photo showed), review items (near misses, with the face's
vector while open) and session rosters. Exporting gathers all of it;
erasing removes the person's marks and audit entries and takes their rollNo
out of rosters and check-in entries, which stay for the other people in them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from attendance.times import iso

if TYPE_CHECKING:
    from attendance.store import AttendanceStore

# Fields of a check-in log entry that list rollNos.
CHECKIN_ROLL_FIELDS = ("recognized", "not_on_roster")


def _dated(doc: dict) -> dict:
    """A stored document with its times as ISO 8601 strings and without ``_id``."""
    out = {}
    for key, value in doc.items():
        if key == "_id":
            continue
        if hasattr(value, "isoformat"):
            value = iso(value)
        elif isinstance(value, dict):
            value = _dated(value)
        out[key] = value
    return out


def attendance_of(store: AttendanceStore, roll_no: str) -> dict:
    """Everything attendance holds about ``roll_no``."""
    return {
        "sessions": [{"id": s["_id"], "name": s["name"], "starts_at": iso(s["starts_at"])}
                     for s in store.sessions.find({"roster": roll_no}, {"name": 1, "starts_at": 1})],
        "marks": [_dated(m) for m in store.marks.find({"rollNo": roll_no})],
        "audit": [_dated(a) for a in store.audit.find({"rollNo": roll_no})],
        "checkins": [_dated(c) for c in store.checkins.find({"$or": [{f: roll_no} for f in CHECKIN_ROLL_FIELDS]})],
        "reviews": [_dated({k: v for k, v in r.items() if k != "vector"}) for r in store.reviews.find({"rollNo": roll_no})],
    }


def erase_biometrics_of(store: AttendanceStore, roll_no: str) -> None:
    """Open review items keep a face's vector: a person's erasure removes them."""
    store.reviews.delete_many({"rollNo": roll_no, "status": "open"})
    store.reviews.update_many({"rollNo": roll_no}, {"$unset": {"vector": ""}})


def erase_attendance_of(store: AttendanceStore, roll_no: str) -> None:
    store.reviews.delete_many({"rollNo": roll_no})
    store.marks.delete_many({"rollNo": roll_no})
    store.audit.delete_many({"rollNo": roll_no})
    for field in CHECKIN_ROLL_FIELDS:
        store.checkins.update_many({field: roll_no}, {"$pull": {field: roll_no}})
    store.sessions.update_many({"roster": roll_no}, {"$pull": {"roster": roll_no}})
