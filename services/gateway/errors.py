"""HTTP errors of the API: ``{"error": {"code": ..., "message": ...}}``."""
from __future__ import annotations

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
    ErrorCode.BAD_MESSAGE: 500,
}


def from_pipeline(error: dict) -> ApiError:
    code = error.get("code", "pipeline_error")
    return ApiError(PIPELINE_STATUS.get(code, 500), code, error.get("message", "the pipeline failed"))
