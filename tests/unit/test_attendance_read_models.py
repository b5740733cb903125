"""The shapes of the attendance read models (attendance/store.py): a session's
ledger lines and a week document's bitsets. Pure: no database."""
import datetime as dt

from attendance.store import (BITS, AttendanceStore, ledger_line, mark_id, mark_of_line, monday, parse_ledger,
                              week_id)

UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_a_ledger_line_gives_back_what_the_reports_show():
    mark = {"session_id": "s1", "rollNo": "CS-2024.017", "status": "late",
            "marked_at": START + dt.timedelta(minutes=21, milliseconds=250), "similarity": 0.61234,
            "photo": "door.jpg", "photo_hash": "ab", "source": "photo"}
    line = ledger_line(mark, START)
    assert mark_of_line("s1", line, START) == {k: mark[k] for k in (
        "session_id", "rollNo", "status", "marked_at", "similarity", "source")}
    manual = {"session_id": "s1", "rollNo": "A", "status": "present", "marked_at": START - dt.timedelta(seconds=5),
              "similarity": None, "source": "manual"}
    assert mark_of_line("s1", ledger_line(manual, START), START) == manual


def test_a_ledger_holds_one_line_per_person_whatever_their_rollNo():
    odd = "we|ird\nroll%"  # not what the API accepts today; older records may hold anything
    lines = {r: ledger_line({"rollNo": r, "status": "present", "marked_at": START, "source": "photo"}, START)
             for r in ("A", odd)}
    parsed = parse_ledger("\n".join(lines.values()))
    assert parsed == lines
    assert mark_of_line("s", parsed[odd], START)["rollNo"] == odd


def test_a_week_entry_has_a_bit_per_roster_position():
    roster = [f"R{i:03d}" for i in range(70)]  # two words
    session = {"_id": "s1", "starts_at": START, "roster": roster}
    marks = [{"rollNo": "R000", "status": "present"}, {"rollNo": "R061", "status": "late"},
             {"rollNo": "R062", "status": "present"}, {"rollNo": "NOT-ON-ROSTER", "status": "present"}]
    key, kept, entry = AttendanceStore._week_entry(session, marks)
    assert kept == roster and entry["r"] == key and entry["t"] == START
    assert int(entry["p0"]) == 1 and int(entry["l0"]) == 1 << 61
    assert int(entry["p1"]) == 1 << (62 - BITS) and int(entry["l1"]) == 0


def test_weeks_start_on_monday_utc_and_marks_are_keyed_by_session_and_person():
    assert monday(START) == dt.datetime(2026, 3, 2, tzinfo=UTC)
    assert monday(dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == \
        dt.datetime(2026, 2, 23, tzinfo=UTC)  # still Sunday in UTC
    assert week_id("CSE", monday(START)) == "CSE|2026-03-02"
    assert mark_id("3f9c1a2b7d10", "A.1") == "3f9c1a2b7d10:A.1"
