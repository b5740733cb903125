"""The attendance read models on the real database (attendance/store.py): each
mark change reaches a session's ledger and its department's week document,
what they say equals what the record (``attendance``) says, and rebuilding them
from the record gives the same. A scratch database, dropped after."""
from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from bson import ObjectId

from attendance.store import AttendanceStore, mark_id
from shared import config
from shared.storage import Storage

UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
FIELDS = ("session_id", "rollNo", "status", "marked_at", "similarity", "source")


@pytest.fixture
def store():
    storage = Storage(config.load().mongo_uri, f"attendance_read_models_{uuid.uuid4().hex[:8]}")
    s = AttendanceStore(storage)
    s.ensure_indexes()
    yield s
    storage.client.drop_database(storage.db.name)


def session(store: AttendanceStore, roster, department="CSE", start=START) -> str:
    return store.create_session({"name": "Lecture", "department": department, "roster": list(roster),
                                 "starts_at": start, "ends_at": start + dt.timedelta(hours=1),
                                 "grace_minutes": 10})["_id"]


def mark(sid, roll, status="present", minutes=2, similarity=0.8, source="photo"):
    return {"session_id": sid, "rollNo": roll, "status": status, "marked_at": START + dt.timedelta(minutes=minutes),
            "similarity": similarity, "photo": "door.jpg", "photo_hash": "ab" * 32, "source": source}


def from_record(store: AttendanceStore, sid: str) -> list[dict]:
    return sorted(({k: m.get(k) for k in FIELDS} for m in store.marks.find({"session_id": sid})),
                  key=lambda m: m["rollNo"])


def from_ledger(store: AttendanceStore, sid: str) -> list[dict]:
    return sorted(store.marks_of_session(sid), key=lambda m: m["rollNo"])


def statuses(store: AttendanceStore, department="CSE") -> dict:
    sessions, marks = store.department_sessions(department, START - dt.timedelta(days=30),
                                                START + dt.timedelta(days=30))
    return {"sessions": {s["_id"]: sorted(s["roster"]) for s in sessions},
            "marks": sorted((m["session_id"], m["rollNo"], m["status"]) for m in marks)}


def test_every_mark_change_reaches_the_read_models(store):
    roster = [f"R{i:03d}" for i in range(70)]  # bitsets of two words
    sid, other = session(store, roster), session(store, ["R000", "X"], start=START + dt.timedelta(days=1))
    assert store.add_mark(mark(sid, "R000"), by="check-in", reason="photo")
    assert not store.add_mark(mark(sid, "R000", minutes=9), by="check-in", reason="again")  # the first mark stands
    assert store.add_mark(mark(sid, "R065", "late", minutes=25), by="check-in", reason="photo")
    assert store.add_mark(mark(other, "X"), by="check-in", reason="photo")
    assert store.marks.find_one({"_id": mark_id(sid, "R000")})["marked_at"] == START + dt.timedelta(minutes=2)
    before = store.set_mark(mark(sid, "R065", "present", minutes=30, similarity=None, source="manual"),
                            by="Ms. Rao", reason="excused")
    assert before["status"] == "late"
    assert store.set_mark(mark(sid, "R001", source="manual"), by="Ms. Rao", reason="seen") is None
    assert store.remove_mark(sid, "R001", by="Ms. Rao", reason="wrong row")["rollNo"] == "R001"
    assert store.remove_mark(sid, "R001", by="Ms. Rao", reason="again") is None

    assert from_ledger(store, sid) == from_record(store, sid)
    assert [(m["rollNo"], m["status"], m["source"]) for m in from_ledger(store, sid)] == [
        ("R000", "present", "photo"), ("R065", "present", "manual")]
    seen = statuses(store)
    assert seen["sessions"] == {sid: roster, other: ["R000", "X"]}
    assert seen["marks"] == sorted([(sid, "R000", "present"), (sid, "R065", "present"), (other, "X", "present")])

    store.rebuild_read_models()  # from the record: the same
    assert from_ledger(store, sid) == from_record(store, sid) and statuses(store) == seen

    store.delete_session(other)
    assert store.marks_of_session(other) == [] and other not in statuses(store)["sessions"]


def test_a_department_report_range_takes_whole_sessions_by_start(store):
    early, late = session(store, ["A"]), session(store, ["A"], start=START + dt.timedelta(days=8))
    session(store, ["A"], department="OTHER")
    sessions, _ = store.department_sessions("CSE", START, START + dt.timedelta(days=8))
    assert [s["_id"] for s in sessions] == [early]
    sessions, _ = store.department_sessions("CSE", START, START + dt.timedelta(days=8, seconds=1))
    assert [s["_id"] for s in sessions] == [early, late]


def test_concurrent_check_ins_lose_no_mark(store):
    roster = [f"R{i:02d}" for i in range(40)]
    sid = session(store, roster)
    threads = [threading.Thread(target=store.add_mark, args=(mark(sid, r), "check-in", "photo")) for r in roster]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [m["rollNo"] for m in from_ledger(store, sid)] == roster
    assert len(statuses(store)["marks"]) == 40


def test_a_database_from_before_the_read_models_gets_them_once(store):
    """Sessions and marks as older versions stored them: no ``marks_keyed``,
    marks with their own ids, no ledgers, no week documents."""
    sid = uuid.uuid4().hex[:12]
    store.sessions.insert_one({"_id": sid, "name": "Old", "department": "CSE", "roster": ["A", "B"],
                               "starts_at": START, "ends_at": START + dt.timedelta(hours=1), "grace_minutes": 0,
                               "status": "closed", "created_at": START, "closed_at": None})
    store.marks.insert_one(dict(mark(sid, "A"), _id=ObjectId()))
    store.state.delete_one({"_id": "read_models"})
    store.ensure_indexes()
    assert from_ledger(store, sid) == from_record(store, sid)
    assert statuses(store)["marks"] == [(sid, "A", "present")]
    # Its marks keep their ids; corrections find them by session and person.
    assert store.set_mark(mark(sid, "A", "late", source="manual"), by="x", reason="y")["status"] == "present"
    assert store.marks.count_documents({"session_id": sid}) == 1
    assert store.add_mark(mark(sid, "B"), by="check-in", reason="photo")
    assert not store.add_mark(mark(sid, "A"), by="check-in", reason="photo")  # the unique index still says no
    assert from_ledger(store, sid) == from_record(store, sid)
    assert statuses(store)["marks"] == [(sid, "A", "late"), (sid, "B", "present")]


def test_forgetting_a_person_takes_them_out_of_every_read_model(store):
    sid = session(store, ["A", "B", "C"])
    for roll in ("A", "B"):
        store.add_mark(mark(sid, roll), by="check-in", reason="photo")
    store.forget_marks_of("B")
    assert [m["rollNo"] for m in store.marks_of_session(sid)] == ["A"]
    week = store.weeks.find_one({"department": "CSE"})
    assert all("B" not in roster for roster in week["rosters"].values())
    assert statuses(store) == {"sessions": {sid: ["A", "C"]}, "marks": [(sid, "A", "present")]}
    # A new person under the same rollNo is not on that old roster.
    later = session(store, ["A", "B", "C"], start=START + dt.timedelta(hours=2))
    assert statuses(store)["sessions"] == {sid: ["A", "C"], later: ["A", "B", "C"]}
    store.add_mark(mark(sid, "C", "late"), by="check-in", reason="photo")  # positions did not move
    assert (sid, "C", "late") in statuses(store)["marks"]
