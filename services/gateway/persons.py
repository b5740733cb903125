"""Validation of person fields from forms and JSON. Pure."""
from __future__ import annotations

import re

from services.gateway.errors import ApiError
from shared.storage import PERSON_FIELDS

ROLL_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_FIELD_LENGTH = 200


def clean_fields(raw: dict, *, creating: bool) -> dict:
    """Check and trim person fields; raises ApiError(400) naming the bad field."""
    unknown = set(raw) - set(PERSON_FIELDS)
    if unknown:
        hint = " (images_count is counted, not set)" if "images_count" in unknown else ""
        raise ApiError(400, "bad_field", f"unknown field(s): {', '.join(sorted(unknown))}{hint}")
    out = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise ApiError(400, "bad_field", f"{key} must be a string")
        value = value.strip()
        if len(value) > MAX_FIELD_LENGTH:
            raise ApiError(400, "bad_field", f"{key} is longer than {MAX_FIELD_LENGTH} characters")
        out[key] = value
    if creating:
        for key in ("rollNo", "name"):
            if not out.get(key):
                raise ApiError(400, "missing_field", f"{key} is required")
    elif "rollNo" in out:
        raise ApiError(400, "bad_field", "rollNo cannot be changed; delete and enroll again")
    elif "name" in out and not out["name"]:
        raise ApiError(400, "bad_field", "name cannot be empty")
    if "rollNo" in out and not ROLL_NO.match(out["rollNo"]):
        raise ApiError(400, "bad_field", "rollNo must be 1-64 letters, digits, '.', '_' or '-'")
    return out
