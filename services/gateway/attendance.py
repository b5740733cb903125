"""Attendance rules, reports and CSV: pure functions, no database, no HTTP.

A session has a roster (rollNos), a time window ``[starts_at, ends_at]`` and a
grace period. A check-in at time ``t`` inside the window marks a person
``present`` when ``t <= starts_at + grace``, else ``late``. Everybody on the
roster without a mark is ``absent``. Attendance percentage counts present and
late as attended.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo
from dataclasses import dataclass

from services.gateway.errors import ApiError

PRESENT, LATE, ABSENT = "present", "late", "absent"
MARK_STATUSES = (PRESENT, LATE)
OPEN, CLOSED = "open", "closed"
UTC = dt.timezone.utc
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=UTC)
LATEST = dt.datetime(9999, 1, 1, tzinfo=UTC)


def parse_time(value, field: str) -> dt.datetime:
    """ISO 8601 date-time; without an offset it is taken as UTC. 400 otherwise."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, "bad_time", f"{field} must be an ISO 8601 date-time, e.g. 2026-11-25T09:00:00+05:30")
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, "bad_time", f"{field}={value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date_range(start: str | None, end: str | None, tz: dt.tzinfo = UTC) -> tuple[dt.datetime, dt.datetime]:
    """``from``/``to`` query parameters: dates (whole days of ``tz``, ``to``
    inclusive) or date-times. Default: the last 365 days."""
    now = dt.datetime.now(UTC)

    def one(value, field, end_of_day):
        if value is None or value == "":
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return parse_time(value, field)
        if end_of_day:
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time.min, tzinfo=tz).astimezone(UTC)

    lo = one(start, "from", False) or now - dt.timedelta(days=365)
    hi = one(end, "to", True) or now + dt.timedelta(days=1)
    if hi <= lo:
        raise ApiError(400, "bad_range", "'to' must be after 'from'")
    return lo, hi


def tz_label(tz: dt.tzinfo) -> str:
    """How a report names its time zone: ``Asia/Kolkata``, ``UTC+05:30``, ``UTC``."""
    return getattr(tz, "key", None) or str(tz)


OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def parse_tz(value: str | None) -> dt.tzinfo:
    """The ``tz`` of a report: an IANA zone (``Asia/Kolkata``) or an offset
    (``+05:30``); UTC when absent. Reports are stored in UTC and shown to people
    who read their own clock: a printed register in UTC is wrong for a school."""
    if not value or value.upper() in ("UTC", "Z"):
        return UTC
    m = OFFSET.match(value.strip())
    if m:
        sign, hours, minutes = m.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if delta >= dt.timedelta(hours=24):
            raise ApiError(400, "bad_tz", f"tz={value!r}: an offset must be less than 24 hours")
        return dt.timezone(-delta if sign == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(value.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ApiError(400, "bad_tz", f"tz={value!r} is neither a time zone name (e.g. Asia/Kolkata) "
                                      "nor an offset (e.g. +05:30)") from None


@dataclass(frozen=True)
class Window:
    starts_at: dt.datetime
    ends_at: dt.datetime
    grace: dt.timedelta

    def check(self, at: dt.datetime, force: bool) -> None:
        """Refuse a check-in outside the window unless forced (409)."""
        if force:
            return
        if at < self.starts_at:
            raise ApiError(409, "outside_window", f"check-in at {iso(at)} is before the session starts "
                           f"({iso(self.starts_at)}); send force=true to record it anyway")
        if at > self.ends_at:
            raise ApiError(409, "outside_window", f"check-in at {iso(at)} is after the session ended "
                           f"({iso(self.ends_at)}); send force=true to record it anyway")

    def status_at(self, at: dt.datetime) -> str:
        return PRESENT if at <= self.starts_at + self.grace else LATE


def window_of(session: dict) -> Window:
    return Window(as_utc(session["starts_at"]), as_utc(session["ends_at"]),
                  dt.timedelta(minutes=session.get("grace_minutes", 0)))


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: dt.datetime | None, tz: dt.tzinfo = UTC) -> str | None:
    """ISO 8601 to the second, in ``tz`` (UTC written ``Z``)."""
    if not value:
        return None
    return as_utc(value).astimezone(tz).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class CheckinOutcome:
    """What one recognized photo did to a session."""

    marked: list[dict]
    already_marked: list[str]
    not_on_roster: list[dict]
    unknown_faces: int


def classify_faces(faces: list[dict], roster: set[str]) -> tuple[list[dict], list[dict], int]:
    """Split recognized faces into (on roster, not on roster, unknown count).

    A person seen twice in one photo counts once; the best similarity wins.
    """
    on, off, unknown = {}, {}, 0
    for face in faces:
        match = face.get("match")
        if match is None:
            unknown += 1
            continue
        target = on if match["rollNo"] in roster else off
        seen = target.get(match["rollNo"])
        if seen is None or face["similarity"] > seen["similarity"]:
            target[match["rollNo"]] = {"rollNo": match["rollNo"], "name": match.get("name", ""),
                                       "similarity": face["similarity"]}
    return list(on.values()), list(off.values()), unknown


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


def public_session(s: dict, tz: dt.tzinfo = UTC) -> dict:
    return {
        "id": s["_id"], "name": s["name"], "department": s.get("department"), "roster": sorted(s["roster"]),
        "starts_at": iso(s["starts_at"], tz), "ends_at": iso(s["ends_at"], tz),
        "grace_minutes": s.get("grace_minutes", 0), "status": s.get("status", OPEN),
        "created_at": iso(s.get("created_at"), tz), "closed_at": iso(s.get("closed_at"), tz),
    }


def to_csv(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return out.getvalue()


SESSION_CSV = ["rollNo", "name", "department", "status", "marked_at", "similarity", "source"]
PERSON_CSV = ["session_id", "name", "starts_at", "status", "marked_at"]
DEPARTMENT_CSV = ["rollNo", "name", "sessions", "present", "late", "absent", "percentage"]
