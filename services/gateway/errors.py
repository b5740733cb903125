"""HTTP errors of the API: ``{"error": {"code": ..., "message": ...}}``.

The gateway alone knows HTTP: the pipeline's error codes and the attendance
package's errors become statuses here, by the two tables below.
"""
from __future__ import annotations

from attendance.errors import AttendanceError, Conflict, Invalid, NotFound
from shared.contracts import ErrorCode


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


# Pipeline error codes -> HTTP status, for a request about one image.
PIPELINE_STATUS = {
    ErrorCode.NOT_AN_IMAGE: 415,
    ErrorCode.IMAGE_TOO_LARGE: 413,
    ErrorCode.NO_FACE: 422,
    ErrorCode.MULTIPLE_FACES: 422,
    ErrorCode.FACE_TOO_SMALL: 422,
    ErrorCode.UNKNOWN_PERSON: 404,
    ErrorCode.DEADLINE_EXCEEDED: 504,
    ErrorCode.JOB_FAILED: 503,
    ErrorCode.DATABASE_UNAVAILABLE: 503,
    ErrorCode.LOOKALIKE: 409,
    ErrorCode.BAD_MESSAGE: 500,
}


def from_pipeline(error: dict) -> ApiError:
    code = error.get("code", "pipeline_error")
    return ApiError(PIPELINE_STATUS.get(code, 500), code, error.get("message", "the pipeline failed"))


# Attendance errors -> HTTP status, by kind (see attendance/errors.py): an
# error is looked up along its class hierarchy, so a new error of a known kind
# answers the right status without an entry here.
ATTENDANCE_STATUS = {
    Invalid: 400,
    NotFound: 404,
    Conflict: 409,
}


def attendance_status(err: AttendanceError) -> int:
    return next((ATTENDANCE_STATUS[kind] for kind in type(err).__mro__ if kind in ATTENDANCE_STATUS), 500)


def from_attendance(err: AttendanceError) -> ApiError:
    return ApiError(attendance_status(err), err.code, err.message)
