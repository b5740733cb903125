"""Attendance reports: of a session, of a person, of a department.

Each report is built from stored data by a pure function (unit-tested without a
database) and leaves the system as JSON, as CSV (its rows, under the columns
declared here) or, where it has one, as a page to print. Times are shown in
the reader's zone (``tz``), ranges are whole days of that zone.

To add a report: a pure builder below, a :class:`Reports` method that loads its
data and wraps it in a :class:`Report` (rows, CSV columns, file name), then a
route in the gateway and a line in the README; format and time zone handling
come with :class:`Report`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from attendance.errors import BadFormat, UnknownDepartment, UnknownPerson
from attendance.register import register_page
from attendance.rules import ABSENT, LATE, PRESENT
from attendance.sessions import find_session, public_session
from attendance.times import UTC, iso, parse_date_range, tz_label

if TYPE_CHECKING:
    from attendance.store import AttendanceStore
    from shared.storage import Storage

JSON, CSV, PRINT = "json", "csv", "print"
FORMATS = (JSON, CSV, PRINT)

SESSION_CSV = ("rollNo", "name", "department", "status", "marked_at", "similarity", "source")
PERSON_CSV = ("session_id", "name", "starts_at", "status", "marked_at")
DEPARTMENT_CSV = ("rollNo", "name", "sessions", "present", "late", "absent", "percentage")


def export_format(value: str | None) -> str:
    """The format a report is asked for: json (when not said), csv or print."""
    fmt = JSON if value is None else value
    if fmt not in FORMATS:
        raise BadFormat("format must be json, csv or print")
    return fmt


@dataclass(frozen=True)
class Report:
    """A built report and what its exports need."""

    data: dict  # the JSON answer
    rows: list[dict]  # what its CSV holds, one line per row
    csv_columns: tuple[str, ...]
    name: str  # names its files, e.g. ``session-3f9c1a2b7d10``
    page: Callable[[dict], str] | None = None  # makes its page to print, if it has one

    def csv(self) -> str:
        return to_csv(self.rows, self.csv_columns)

    @property
    def csv_filename(self) -> str:
        return f"{self.name}.csv"

    def printable(self) -> str | None:
        return self.page(self.data) if self.page else None


class Reports:
    """Reports over the attendance store and the enrolled persons."""

    def __init__(self, store: AttendanceStore, persons: Storage):
        self.store = store
        self.persons = persons

    def session(self, session_id: str, tz: dt.tzinfo = UTC) -> Report:
        session = find_session(self.store, session_id)
        data = session_report(session, self.persons.get_persons(session["roster"]),
                              self.store.marks_of_session(session_id), tz)
        data["tz"] = tz_label(tz)
        data["open_reviews"] = self.store.open_review_count(session_id)  # near misses not decided yet
        return Report(data, data["rows"], SESSION_CSV, f"session-{session_id}", page=register_page)

    def person(self, roll_no: str, start: str | None = None, end: str | None = None,
               tz: dt.tzinfo = UTC) -> Report:
        person = self.persons.get_person(roll_no)
        if person is None:
            raise UnknownPerson(f"no person with rollNo {roll_no}")
        lo, hi = parse_date_range(start, end, tz)
        sessions = self.store.list_sessions(lo, hi, roll_no=roll_no)
        data = person_history(roll_no, sessions, self.store.marks_of_person(roll_no), tz)
        data.update(person=person, **period(lo, hi, tz))
        return Report(data, data["history"], PERSON_CSV, f"person-{roll_no}")

    def department(self, department: str, start: str | None = None, end: str | None = None,
                   tz: dt.tzinfo = UTC) -> Report:
        lo, hi = parse_date_range(start, end, tz)
        # The department's week documents: a year is ~53 key lookups, not a
        # scan of every session and mark (see attendance/store.py).
        sessions, marks = self.store.department_sessions(department, lo, hi)
        persons = self.persons.list_persons(department)
        if not persons and not sessions:
            raise UnknownDepartment(f"no persons and no sessions in department {department}")
        data = department_summary(department, sessions, persons, marks)
        data.update(period(lo, hi, tz))
        return Report(data, data["rows"], DEPARTMENT_CSV, f"department-{department}")


def period(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> dict:
    """The zone and range a report over time says it covers."""
    return {"tz": tz_label(tz), "from": iso(start, tz), "to": iso(end, tz)}


# -- builders: pure ---------------------------------------------------------------
def session_report(session: dict, persons: dict[str, dict], marks: list[dict], tz: dt.tzinfo = UTC) -> dict:
    """Present / late / absent against the roster, one row per roster member."""
    by_roll = {m["rollNo"]: m for m in marks}
    rows = []
    for roll_no in sorted(session["roster"]):
        person = persons.get(roll_no, {"rollNo": roll_no, "name": "(deleted)"})
        mark = by_roll.get(roll_no)
        rows.append({
            "rollNo": roll_no,
            "name": person.get("name", ""),
            "department": person.get("department", ""),
            "status": mark["status"] if mark else ABSENT,
            "marked_at": iso(mark["marked_at"], tz) if mark else None,
            "similarity": mark.get("similarity") if mark else None,
            "source": mark.get("source") if mark else None,
        })
    counts = {s: sum(r["status"] == s for r in rows) for s in (PRESENT, LATE, ABSENT)}
    return {"session": public_session(session, tz), "roster_size": len(rows), "counts": counts, "rows": rows}


def person_history(roll_no: str, sessions: list[dict], marks: list[dict], tz: dt.tzinfo = UTC) -> dict:
    """A person's attendance over sessions whose roster holds them."""
    by_session = {m["session_id"]: m for m in marks}
    rows = []
    for s in sorted(sessions, key=lambda s: s["starts_at"]):
        mark = by_session.get(s["_id"])
        rows.append({"session_id": s["_id"], "name": s["name"], "starts_at": iso(s["starts_at"], tz),
                     "status": mark["status"] if mark else ABSENT,
                     "marked_at": iso(mark["marked_at"], tz) if mark else None})
    attended = sum(r["status"] != ABSENT for r in rows)
    return {
        "rollNo": roll_no,
        "sessions": len(rows),
        "present": sum(r["status"] == PRESENT for r in rows),
        "late": sum(r["status"] == LATE for r in rows),
        "absent": sum(r["status"] == ABSENT for r in rows),
        "percentage": round(100.0 * attended / len(rows), 1) if rows else None,
        "history": rows,
    }


def department_summary(department: str, sessions: list[dict], persons: list[dict], marks: list[dict]) -> dict:
    """Per person of the department: sessions on their roster, attended, percentage."""
    status = {(m["session_id"], m["rollNo"]): m["status"] for m in marks}
    rosters = [(s, set(s["roster"])) for s in sessions]
    rows = []
    for person in sorted(persons, key=lambda p: p["rollNo"]):
        theirs = [s for s, roster in rosters if person["rollNo"] in roster]
        got = [status.get((s["_id"], person["rollNo"]), ABSENT) for s in theirs]
        attended = sum(g != ABSENT for g in got)
        rows.append({"rollNo": person["rollNo"], "name": person["name"], "sessions": len(theirs),
                     "present": got.count(PRESENT), "late": got.count(LATE), "absent": got.count(ABSENT),
                     "percentage": round(100.0 * attended / len(theirs), 1) if theirs else None})
    return {"department": department, "sessions": len(sessions), "rows": rows}


def to_csv(rows: list[dict], columns) -> str:
    """CSV with a header line; a missing value is an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return out.getvalue()
