"""What can go wrong with an attendance request, as domain errors.

Each error has a stable machine ``code`` (clients switch on it; it is the
``error.code`` of the API's answers) and a message for people. Each belongs to
one kind - :class:`Invalid`, :class:`NotFound`, :class:`Conflict` - which is
all the gateway needs to pick an HTTP status: a new error of a known kind
needs no change outside this package.
"""
from __future__ import annotations


class AttendanceError(Exception):
    code = "attendance_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- kinds --------------------------------------------------------------------
class Invalid(AttendanceError):
    """The request itself is wrong: a malformed value, a rule it breaks."""


class NotFound(AttendanceError):
    """The request is about something that does not exist."""


class Conflict(AttendanceError):
    """The request is well formed but the session's state refuses it."""


# -- invalid ------------------------------------------------------------------
class BadTime(Invalid):
    code = "bad_time"


class BadTz(Invalid):
    code = "bad_tz"


class BadRange(Invalid):
    code = "bad_range"


class BadField(Invalid):
    code = "bad_field"


class BadFormat(Invalid):
    code = "bad_format"


class MissingField(Invalid):
    code = "missing_field"


class EmptyRoster(Invalid):
    code = "empty_roster"


class NotEnrolled(Invalid):
    """A roster names people who are not enrolled (same code as
    :class:`UnknownPerson`: the person is unknown; here the request is wrong)."""

    code = "unknown_person"


class NotOnRoster(Invalid):
    code = "not_on_roster"


# -- not found ----------------------------------------------------------------
class UnknownSession(NotFound):
    code = "unknown_session"


class UnknownPerson(NotFound):
    code = "unknown_person"


class UnknownDepartment(NotFound):
    code = "unknown_department"


class NoMark(NotFound):
    code = "no_mark"


# -- conflict -----------------------------------------------------------------
class SessionClosed(Conflict):
    code = "session_closed"


class OutsideWindow(Conflict):
    code = "outside_window"


class UnknownReview(NotFound):
    code = "unknown_review"


class ReviewDecided(Conflict):
    code = "review_decided"
