"""The rules of attendance: statuses, the check-in window, who a photo shows.

A session has a roster (rollNos), a time window ``[starts_at, ends_at]`` and a
grace period. A check-in at time ``t`` inside the window marks a person
``present`` when ``t <= starts_at + grace``, else ``late``. Everybody on the
roster without a mark is ``absent``. Attendance percentage counts present and
late as attended. Pure: no database.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from attendance.errors import OutsideWindow
from attendance.times import as_utc, iso

PRESENT, LATE, ABSENT = "present", "late", "absent"
MARK_STATUSES = (PRESENT, LATE)
OPEN, CLOSED = "open", "closed"
DEFAULT_GRACE_MINUTES = 10
MAX_GRACE_MINUTES = 24 * 60


@dataclass(frozen=True)
class Window:
    starts_at: dt.datetime
    ends_at: dt.datetime
    grace: dt.timedelta

    def check(self, at: dt.datetime, force: bool) -> None:
        """Refuse a check-in outside the window unless forced: a photo sent
        hours late is more often a mistake than a latecomer."""
        if force:
            return
        if at < self.starts_at:
            raise OutsideWindow(f"check-in at {iso(at)} is before the session starts "
                                f"({iso(self.starts_at)}); send force=true to record it anyway")
        if at > self.ends_at:
            raise OutsideWindow(f"check-in at {iso(at)} is after the session ended "
                                f"({iso(self.ends_at)}); send force=true to record it anyway")

    def status_at(self, at: dt.datetime) -> str:
        return PRESENT if at <= self.starts_at + self.grace else LATE


def window_of(session: dict) -> Window:
    return Window(as_utc(session["starts_at"]), as_utc(session["ends_at"]),
                  dt.timedelta(minutes=session.get("grace_minutes", 0)))


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
