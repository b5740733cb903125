"""Instants, date ranges and time zones, as people write them and as reports show them.

Everything is stored and compared in UTC. People write times with an offset
(or without one: UTC), ranges as whole days of their own zone, and read
reports on their own clock: a printed register in UTC is wrong for a school.
"""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from attendance.errors import BadRange, BadTime, BadTz

UTC = dt.timezone.utc
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=UTC)
LATEST = dt.datetime(9999, 1, 1, tzinfo=UTC)

OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
# The instants every zone can still write (offsets are under a day): a time
# stored outside them would break every later report in a zone beyond it.
FIRST_SHOWN = dt.datetime(1, 1, 2, tzinfo=UTC)
LAST_SHOWN = dt.datetime(9999, 12, 30, tzinfo=UTC)


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def parse_time(value, field: str) -> dt.datetime:
    """ISO 8601 date-time; without an offset it is taken as UTC. :class:`BadTime` otherwise."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        if not isinstance(value, str) or not value.strip():
            raise BadTime(f"{field} must be an ISO 8601 date-time, e.g. 2026-11-25T09:00:00+05:30")
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise BadTime(f"{field}={value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        parsed = None
    if parsed is None or not FIRST_SHOWN <= parsed <= LAST_SHOWN:
        raise BadTime(f"{field}={value!r} is outside the years 1 to 9999 in some time zone")
    return parsed


def parse_date_range(start: str | None, end: str | None, tz: dt.tzinfo = UTC) -> tuple[dt.datetime, dt.datetime]:
    """``from``/``to`` of a report: dates (whole days of ``tz``, ``to``
    inclusive) or date-times. Default: the last 365 days."""
    current = now()

    def one(value, field, end_of_day):
        if value is None or value == "":
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return parse_time(value, field)
        try:
            if end_of_day:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time.min, tzinfo=tz).astimezone(UTC)
        except OverflowError:  # the calendar's last day, or its first east of UTC
            raise BadRange(f"{field}={value!r} is at the end of the calendar") from None

    lo = one(start, "from", False) or current - dt.timedelta(days=365)
    hi = one(end, "to", True) or current + dt.timedelta(days=1)
    if hi <= lo:
        raise BadRange("'to' must be after 'from'")
    return lo, hi


def parse_tz(value: str | None) -> dt.tzinfo:
    """The ``tz`` of a report: an IANA zone (``Asia/Kolkata``) or an offset
    (``+05:30``); UTC when absent."""
    if not value or value.upper() in ("UTC", "Z"):
        return UTC
    m = OFFSET.match(value.strip())
    if m:
        sign, hours, minutes = m.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if delta >= dt.timedelta(hours=24):
            raise BadTz(f"tz={value!r}: an offset must be less than 24 hours")
        return dt.timezone(-delta if sign == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(value.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory, a name too long
        raise BadTz(f"tz={value!r} is neither a time zone name (e.g. Asia/Kolkata) "
                    "nor an offset (e.g. +05:30)") from None


def tz_label(tz: dt.tzinfo) -> str:
    """How a report names its time zone: ``Asia/Kolkata``, ``UTC+05:30``, ``UTC``."""
    return getattr(tz, "key", None) or str(tz)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time in UTC (the database may hand it back without its zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: dt.datetime | None, tz: dt.tzinfo = UTC) -> str | None:
    """ISO 8601 to the second, in ``tz`` (UTC written ``Z``). A zone's offset
    that is not whole minutes (local mean time, before about 1900) cannot be
    written in RFC 3339: such a time is written in UTC."""
    if not value:
        return None
    local = as_utc(value).astimezone(tz)
    offset = local.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        local = local.astimezone(dt.timezone.utc)
    return local.isoformat(timespec="seconds").replace("+00:00", "Z")
