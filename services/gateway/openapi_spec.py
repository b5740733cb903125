"""The OpenAPI 3.0 description of the gateway's HTTP API: every route under
``/api/v1`` and the root paths ``/healthz``, ``/readyz``, ``/metrics``.

Written by hand, as Python data rather than YAML: the gateway's image ships
its Python modules and needs no YAML parser, and every operation states its
error statuses in one line (``errors=(400, 404, 413)``) instead of repeating
the same nine response objects thirty times. ``DOCUMENT`` is plain OpenAPI;
``python -m services.gateway.openapi`` prints it as JSON.

Kept true by tests: ``tests/unit/test_openapi.py`` (a valid document; the same
paths and methods as the Flask app's routes; every error answer is the error
envelope) and ``tests/e2e/test_fuzz_api.py`` (schemathesis sends generated
requests to a running gateway and checks every answer against this document).

A new route: its operation below (a test fails until it is here), its schemas
under ``SCHEMAS`` when it answers something new.
"""
from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
JSON = "application/json"
TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, to the second (UTC written Z)"}
TIME_OR_NULL = {**TIME, "nullable": True}
ROLL_NO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PERSON_FIELD = {"type": "string", "maxLength": 200}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: tuple[str, ...] | list[str] = (), **properties) -> dict:
    """An object schema; more properties may come (the contract is extended, never broken)."""
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def nullable(schema: dict) -> dict:
    if "$ref" in schema:  # OpenAPI 3.0: siblings of $ref are ignored
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


# -- schemas --------------------------------------------------------------------------------------------
MARK = obj(("session_id", "rollNo", "status", "marked_at", "source"),
           session_id={"type": "string"}, rollNo={"type": "string"},
           status={"type": "string", "enum": ["present", "late"]}, marked_at=TIME_OR_NULL,
           similarity={"type": "number", "nullable": True}, photo={"type": "string", "nullable": True},
           source={"type": "string", "description": "photo (a check-in), manual (a correction), review "
                                                   "(a confirmed near miss)"})

SESSION_PROPERTIES = dict(
    id={"type": "string"}, name={"type": "string"}, department={"type": "string", "nullable": True},
    roster=array({"type": "string"}), starts_at=TIME, ends_at=TIME,
    grace_minutes={"type": "integer", "minimum": 0}, status={"type": "string", "enum": ["open", "closed"]},
    created_at=TIME_OR_NULL, closed_at=TIME_OR_NULL)
SESSION_REQUIRED = ("id", "name", "department", "roster", "starts_at", "ends_at", "grace_minutes", "status",
                    "created_at", "closed_at")
COUNTS = obj(("present", "late", "absent"), present={"type": "integer"}, late={"type": "integer"},
             absent={"type": "integer"})
PERCENTAGE = {"type": "number", "nullable": True, "minimum": 0, "maximum": 100,
              "description": "present and late count as attended; null without sessions"}
KEY_PROPERTIES = dict(name={"type": "string"}, scope=ref("Scope"), created_at=TIME,
                      revoked_at=TIME_OR_NULL)

SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object", "required": ["error"],
        "description": "Every error answer of the API.",
        "properties": {"error": obj(("code", "message"), code={"type": "string", "description": "stable, for machines"},
                                    message={"type": "string", "description": "for people"})},
    },
    "Person": obj(("rollNo", "name", "fatherName", "department", "contact", "images_count"),
                  rollNo={"type": "string"}, name={"type": "string"}, fatherName={"type": "string"},
                  department={"type": "string"}, contact={"type": "string"},
                  images_count={"type": "integer", "minimum": 0, "description": "accepted photos"}),
    "PersonChanges": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "description": "The fields to change; rollNo cannot change, images_count is counted.",
        "properties": {"name": {**PERSON_FIELD, "minLength": 1, "pattern": r"\S"}, "fatherName": PERSON_FIELD,
                       "department": PERSON_FIELD, "contact": PERSON_FIELD},
    },
    "ImageResult": obj(("filename", "accepted", "reason"),
                       filename={"type": "string"}, accepted={"type": "boolean"},
                       reason={"type": "string", "nullable": True,
                               "description": "why refused (no face, several faces, face too small, not an image, "
                                             "empty file), or a note on an accepted photo"},
                       code={"type": "string"}, detail={"type": "string", "nullable": True},
                       lookalike={"description": "the enrolled person this photo looks like (refused, or stored "
                                                 "because forced)"}),
    "Enrollment": obj(("person", "images"), person=ref("Person"), images=array(ref("ImageResult"))),
    "Face": obj(("box", "confidence", "match", "similarity", "candidates"),
                box={**array({"type": "integer"}), "minItems": 4, "maxItems": 4, "description": "x, y, width, height"},
                confidence={"type": "number"},
                landmarks={"type": "object", "additionalProperties": array({"type": "number"})},
                match=nullable(ref("Person")),
                similarity={"type": "number", "nullable": True},
                candidates=array(obj(("rollNo", "name", "similarity"), rollNo={"type": "string"},
                                     name={"type": "string"}, similarity={"type": "number"})),
                review=nullable(obj(("rollNo", "name", "similarity"), rollNo={"type": "string"},
                                    name={"type": "string"}, similarity={"type": "number"})),
                threshold={"type": "number", "description": "the similarity a match needs"}),
    "Recognition": obj(("request_id", "faces"), request_id={"type": "string"}, faces=array(ref("Face"))),
    "PersonExport": obj(("person", "faces", "attendance"),
                        person={"allOf": [ref("Person"), obj(created_at=TIME_OR_NULL, updated_at=TIME_OR_NULL)]},
                        faces=array(obj(("model", "photo_hash", "filename", "stored_at", "vector"),
                                        model={"type": "string"}, photo_hash={"type": "string"},
                                        filename={"type": "string"}, stored_at=TIME_OR_NULL,
                                        vector=array({"type": "number"}))),
                        attendance=obj(("sessions", "marks", "audit", "checkins"),
                                       sessions=array(obj(("id", "name", "starts_at"), id={"type": "string"},
                                                          name={"type": "string"}, starts_at=TIME_OR_NULL)),
                                       marks=array({"type": "object"}), audit=array({"type": "object"}),
                                       checkins=array({"type": "object"}))),
    "NewSession": {
        "type": "object", "required": ["name", "starts_at", "ends_at"],
        "description": "The roster: `roster` (enrolled rollNos), else everybody enrolled in `department`.",
        "properties": {
            "name": {"type": "string", "minLength": 1, "pattern": r"\S"}, "department": {"type": "string"},
            "roster": {**array({"type": "string", "minLength": 1}), "minItems": 1},
            "starts_at": {"type": "string", "format": "date-time", "example": "2026-11-25T09:00:00+05:30"},
            "ends_at": {"type": "string", "format": "date-time", "example": "2026-11-25T10:00:00+05:30"},
            "grace_minutes": {"type": "integer", "minimum": 0, "maximum": 1440, "default": 10},
        },
    },
    "Session": obj(SESSION_REQUIRED, **SESSION_PROPERTIES),
    "SessionOverview": obj(SESSION_REQUIRED + ("counts",), **SESSION_PROPERTIES, counts=COUNTS),
    "Mark": MARK,
    "NewMark": {
        "type": "object", "required": ["rollNo", "reason"],
        "properties": {
            "rollNo": {"type": "string", "minLength": 1}, "reason": {"type": "string", "minLength": 1},
            "status": {"type": "string", "enum": ["present", "late"], "default": "present"},
            "at": {"type": "string", "format": "date-time", "description": "ISO 8601; default now"},
            "by": {"type": "string", "description": "who corrects; default the X-Operator header, then the key's name"},
        },
    },
    "MarkAnswer": obj(("mark", "replaced"), mark=ref("Mark"), replaced=nullable(ref("Mark"))),
    "Unmark": {"type": "object", "required": ["reason"],
               "properties": {"reason": {"type": "string", "minLength": 1}, "by": {"type": "string"}}},
    "AuditEntry": obj(("session_id", "rollNo", "action", "by", "token", "reason", "at", "before", "after"),
                      session_id={"type": "string"}, rollNo={"type": "string"},
                      action={"type": "string", "description": "mark, correct, unmark, review_rejected"},
                      by={"type": "string"},
                      token={"type": "string", "nullable": True, "description": "the API key's name"},
                      reason={"type": "string"}, at=TIME, before=nullable(ref("Mark")), after=nullable(ref("Mark"))),
    "CheckinPhoto": obj(("filename",), filename={"type": "string"}, error=ref("ErrorBody"),
                        faces={"type": "integer"}, unknown_faces={"type": "integer"},
                        recognized=array({"type": "string"}), not_on_roster=array({"type": "string"})),
    "ErrorBody": obj(("code", "message"), code={"type": "string"}, message={"type": "string"}),
    "Checkin": obj(("session", "at", "photos", "marked", "already_marked", "not_on_roster", "unknown_faces",
                    "needs_review"),
                   session={"type": "string"}, at=TIME, photos=array(ref("CheckinPhoto")),
                   marked=array(obj(("rollNo", "name", "status", "similarity", "photo"), rollNo={"type": "string"},
                                    name={"type": "string"}, status={"type": "string", "enum": ["present", "late"]},
                                    similarity={"type": "number"}, photo={"type": "string"})),
                   already_marked=array({"type": "string"}),
                   not_on_roster=array(obj(("rollNo",), rollNo={"type": "string"}, name={"type": "string"},
                                           similarity={"type": "number"})),
                   unknown_faces={"type": "integer", "minimum": 0},
                   needs_review={**array(ref("Review")), "description": "near misses of roster members without a "
                                                                         "mark, opened for an operator to decide"}),
    "Review": obj(("id", "rollNo", "name", "similarity", "photo", "box", "status", "created_at"),
                  id={"type": "string"}, rollNo={"type": "string"}, name={"type": "string"},
                  similarity={"type": "number"}, photo={"type": "string"},
                  box={**array({"type": "integer"}), "minItems": 4, "maxItems": 4},
                  status={"type": "string", "enum": ["open", "confirmed", "rejected"]},
                  created_at=TIME_OR_NULL, decided_at=TIME_OR_NULL, decided_by={"type": "string", "nullable": True},
                  reason={"type": "string", "nullable": True}, enrolled={"type": "boolean", "nullable": True}),
    "ReviewDecision": {
        "type": "object", "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1}, "by": {"type": "string"},
                       "status": {"type": "string", "enum": ["present", "late"], "default": "present",
                                  "description": "confirm only: the mark to give"},
                       "enroll": {"type": "boolean", "default": False,
                                  "description": "confirm only: add the face to the person's enrollment photos "
                                                 "(if it meets the enrollment quality rules)"}},
    },
    "ReviewConfirmed": obj(("review", "replaced", "enrolled", "enroll_refused"), review=ref("Review"),
                           replaced=nullable(ref("Mark")), enrolled={"type": "boolean"},
                           enroll_refused={"type": "string", "nullable": True}),
    "Verification": obj(("rollNo", "verified", "similarity", "threshold", "request_id"),
                        rollNo={"type": "string"}, verified={"type": "boolean"},
                        similarity={"type": "number", "nullable": True,
                                    "description": "the photo's best face against the person's enrolled faces"},
                        threshold={"type": "number"}, request_id={"type": "string"}),
    "CheckinLogEntry": obj(("session_id", "filename"), session_id={"type": "string"}, filename={"type": "string"},
                           at=TIME_OR_NULL, logged_at=TIME_OR_NULL, faces={"type": "integer"}),
    "SessionReport": obj(("session", "roster_size", "counts", "rows", "tz"),
                         session=ref("Session"), roster_size={"type": "integer"}, counts=COUNTS, tz={"type": "string"},
                         rows=array(obj(("rollNo", "name", "status"), rollNo={"type": "string"},
                                        name={"type": "string"}, department={"type": "string", "nullable": True},
                                        status={"type": "string", "enum": ["present", "late", "absent"]},
                                        marked_at=TIME_OR_NULL, similarity={"type": "number", "nullable": True},
                                        source={"type": "string", "nullable": True}))),
    "PersonReport": obj(("rollNo", "person", "sessions", "present", "late", "absent", "percentage", "history",
                         "tz", "from", "to"),
                        rollNo={"type": "string"}, person=ref("Person"), sessions={"type": "integer"},
                        present={"type": "integer"}, late={"type": "integer"}, absent={"type": "integer"},
                        percentage=PERCENTAGE, tz={"type": "string"}, **{"from": TIME, "to": TIME},
                        history=array(obj(("session_id", "name", "starts_at", "status"), session_id={"type": "string"},
                                          name={"type": "string"}, starts_at=TIME,
                                          status={"type": "string", "enum": ["present", "late", "absent"]},
                                          marked_at=TIME_OR_NULL))),
    "DepartmentReport": obj(("department", "sessions", "rows", "tz", "from", "to"),
                            department={"type": "string"}, sessions={"type": "integer"}, tz={"type": "string"},
                            **{"from": TIME, "to": TIME},
                            rows=array(obj(("rollNo", "name", "sessions", "present", "late", "absent", "percentage"),
                                           rollNo={"type": "string"}, name={"type": "string"},
                                           sessions={"type": "integer"}, present={"type": "integer"},
                                           late={"type": "integer"}, absent={"type": "integer"},
                                           percentage=PERCENTAGE))),
    "Scope": {"type": "string", "enum": ["admin", "operator", "recognize"],
              "description": "recognize: recognition and check-in; operator: also sessions, corrections, reports, "
                             "reading people; admin: everything (people, keys)"},
    "Key": obj(("name", "scope", "created_at", "revoked_at"), **KEY_PROPERTIES),
    "NewKey": {"type": "object", "required": ["name", "scope"],
               "properties": {"name": {"type": "string", "pattern": ROLL_NO_PATTERN}, "scope": ref("Scope")}},
    "CreatedKey": obj(("name", "scope", "created_at", "key"), **KEY_PROPERTIES,
                      key={"type": "string", "description": "the key itself: shown this once, stored only hashed"}),
    "Thresholds": obj(("match_threshold", "review_floor", "source"),
                      match_threshold={"type": "number", "minimum": 0, "maximum": 1,
                                       "description": "the similarity a match needs"},
                      review_floor={"type": "number", "minimum": 0, "maximum": 1,
                                    "description": "from here to the threshold: a near miss, for review"},
                      source={"type": "string", "description": "settings, MATCH_THRESHOLD or model default"}),
    "NewThresholds": {"type": "object", "required": ["match_threshold"], "properties": {
        "model": {"type": "string", "description": "default: the model with the most enrolled photos"},
        "match_threshold": {"type": "number", "minimum": 0, "maximum": 1},
        "review_floor": {"type": "number", "minimum": 0, "maximum": 1,
                         "description": "not above match_threshold; default: the model's margin below it"}}},
    "CalibrationRequest": {"type": "object", "properties": {
        "model": {"type": "string"},
        "target_false_match_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.001},
        "apply": {"type": "boolean", "default": False, "description": "store the suggested thresholds"}}},
    "Calibration": obj(("model", "current", "suggested", "applied"), model={"type": "string"},
                       current=ref("Thresholds"), applied={"type": "boolean"},
                       suggested={"type": "object", "required": ["match_threshold", "review_floor"],
                                  "description": "leave-one-out over the enrolled photos, with its measurements",
                                  "properties": {"match_threshold": {"type": "number"},
                                                 "review_floor": {"type": "number"}}}),
    "Me": {"oneOf": [
        obj(("authentication",), authentication={"type": "string", "enum": ["off"]}),
        obj(("authentication", "operator", "scope"), authentication={"type": "string", "enum": ["required"]},
            operator={"type": "string"}, scope=ref("Scope")),
    ]},
}

# -- errors: the statuses an operation may answer, each with the error envelope ------------------------
ERROR_TEXT = {
    400: "Bad input: a missing or malformed field, no image, a bad date, zone or format",
    401: "No valid key (authentication on): send `Authorization: Bearer <key>`",
    403: "The key's scope does not allow this (`forbidden`)",
    404: "Unknown person, session, department, mark, review or key",
    409: "Conflict: duplicate rollNo or key name, session closed, check-in outside the window, review already "
         "decided, not enough enrolled photos to calibrate",
    413: "The upload exceeds MAX_UPLOAD_BYTES (`too_large`), or an image of more than 50 megapixels",
    415: "Not an image in an accepted format (`not_an_image`)",
    422: "A photo without a usable face (`no_face`, `multiple_faces`, `face_too_small`)",
    503: "The pipeline (`pipeline_unavailable`, `job_failed`) or the database (`database_unavailable`) "
         "is unavailable; retry later",
    504: "No answer from the pipeline before the deadline (`pipeline_timeout`, `deadline_exceeded`)",
}
ERROR_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
               413: "TooLarge", 415: "NotAnImage", 422: "NoUsableFace", 503: "Unavailable", 504: "Timeout"}

RESPONSES = {
    ERROR_NAMES[status]: {"description": text, "content": {JSON: {"schema": ERROR}}}
    for status, text in ERROR_TEXT.items()
}
RESPONSES["Unauthorized"]["headers"] = {
    "WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="attendance"'}}

# Every /api/v1 operation (but the document itself) may answer these: no key, a key without the
# scope, the database down.
API_ERRORS = (401, 403, 503)
UPLOAD_ERRORS = (413,)  # the body is read: it may be too large


# -- parameters -------------------------------------------------------------------------------------------
def path(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", **schema}}


def query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


ROLL_NO = path("rollNo", "the person's roll number")
SESSION_ID = path("sessionId", "the session's id")
DEPARTMENT = path("department", "a department")
KEY_NAME = path("name", "the key's name")
REVIEW_ID = path("reviewId", "the review item's id")
DATE_OR_TIME = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
FROM = query("from", "start of the range: a date (a whole day of `tz`) or a date-time; default a year ago",
             DATE_OR_TIME)
TO = query("to", "end of the range: a date (inclusive) or a date-time; default tomorrow", DATE_OR_TIME)
ZONE_NAME = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
TZ = query("tz", "the zone the report's times are written in: a name (Asia/Kolkata) or an offset (+05:30); "
                 "default UTC", {"anyOf": [{"type": "string", "pattern": r"^[+-]\d{2}:?\d{2}$"},
                                           {"type": "string", "pattern": ZONE_NAME}], "example": "Asia/Kolkata"})
FORMAT_WITH_PRINT = query("format", "json, csv, or print (the register to print and sign)",
                          {"type": "string", "enum": ["json", "csv", "print"], "default": "json"})
FORMAT = query("format", "json or csv (print answers the JSON: this report has no page)",
               {"type": "string", "enum": ["json", "csv", "print"], "default": "json"})
X_OPERATOR = {"name": "X-Operator", "in": "header", "required": False, "schema": {"type": "string"},
              "description": "who makes the change, when the body has no `by`"}


# -- bodies -----------------------------------------------------------------------------------------------
def json_body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {JSON: {"schema": schema}}}


IMAGES = {**array({"type": "string", "format": "binary"}), "minItems": 1,
          "description": "one or more photos (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIF, AVIF)"}
FORCE_LOOKALIKE = {"type": "string", "example": "true",
                   "description": "true (or 1, yes, on): store photos that look like another enrolled person too"}
IMAGE_ENCODING = {"contentType": "image/*, application/octet-stream"}


def multipart(properties: dict, required: list[str], files: str) -> dict:
    return {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": required, "properties": properties},
        "encoding": {files: IMAGE_ENCODING}}}}


ENROLL_FORM = multipart({
    "rollNo": {"type": "string", "pattern": ROLL_NO_PATTERN, "description": "1-64 letters, digits, '.', '_', '-'"},
    "name": {**PERSON_FIELD, "minLength": 1, "pattern": r"\S"},
    "fatherName": PERSON_FIELD, "department": PERSON_FIELD, "contact": PERSON_FIELD,
    "images": IMAGES, "force": FORCE_LOOKALIKE}, ["rollNo", "name", "images"], "images")
IMAGES_FORM = multipart({"images": IMAGES, "force": FORCE_LOOKALIKE}, ["images"], "images")
RECOGNIZE_FORM = multipart({"image": {"type": "string", "format": "binary",
                                      "description": "a photo (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIF, AVIF)"}},
                           ["image"], "image")
CHECKIN_FORM = multipart({
    "images": IMAGES,
    "at": {"type": "string", "format": "date-time", "description": "when the photos were taken (ISO 8601); "
                                                                     "default now"},
    "force": {"type": "string", "example": "true",
              "description": "true (or 1, yes, on): record a check-in outside the session's window"}},
    ["images"], "images")


# -- operations -------------------------------------------------------------------------------------------
def answer(description: str, schema: dict | None = None, media: str = JSON) -> dict:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {media: {"schema": schema}}
    return out


NO_CONTENT = {"204": {"description": "done; no body"}}


def operation(op_id: str, summary: str, tag: str, ok: dict, errors: tuple[int, ...] = (), *,
              parameters: list | None = None, body: dict | None = None, api: bool = True,
              description: str | None = None) -> dict:
    """One operation: its success answers (``ok``: status -> response) and the
    error statuses it may give, each answered with the error envelope."""
    statuses = sorted(set(errors) | (set(API_ERRORS) if api else set()))
    out: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [tag]}
    out.update({k: v for k, v in (("description", description), ("parameters", parameters), ("requestBody", body)) if v})
    out["responses"] = {**ok, **{str(s): {"$ref": f"#/components/responses/{ERROR_NAMES[s]}"} for s in statuses}}
    if not api:
        out["security"] = []
    return out


REPORT_MEDIA = {"text/csv": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}}}


def report_answer(schema: str, print_page: bool) -> dict:
    content = {JSON: {"schema": ref(schema)}, "text/csv": REPORT_MEDIA["text/csv"]}
    if print_page:
        content["text/html"] = REPORT_MEDIA["text/html"]
    return {"200": {"description": "the report, in the format asked (CSV: one line per row, with a header)",
                    "content": content}}


PATHS = {
    # -- root paths: open, for probes and Prometheus ------------------------------------------------------
    "/healthz": {"get": operation(
        "healthz", "The gateway is alive", "service",
        {"200": answer("alive", obj(("status", "service"), status={"type": "string", "enum": ["ok"]},
                                    service={"type": "string"}))}, api=False)},
    "/readyz": {"get": operation(
        "readyz", "The gateway is ready: broker and database reachable", "service",
        {code: answer("ready" if code == "200" else "not ready (the body says what is missing)",
                      obj(("ready", "service", "checks"), ready={"type": "boolean"}, service={"type": "string"},
                          checks={"type": "object", "additionalProperties": {"type": "boolean"}}))
         for code in ("200", "503")}, api=False)},
    "/metrics": {"get": operation(
        "metrics", "Prometheus metrics", "service",
        {"200": answer("Prometheus text format", {"type": "string"}, "text/plain")}, api=False)},
    # -- the API ------------------------------------------------------------------------------------------
    "/api/v1/openapi.json": {"get": operation(
        "openapi", "This document", "service",
        {"200": answer("the OpenAPI description of the API", {"type": "object"})}, (503,), api=False,
        description="Open to all, also with authentication on: it holds no data.")},
    "/api/v1/me": {"get": operation(
        "me", "Whether the API needs a key and, if so, whose key this is", "keys",
        {"200": answer("authentication off, or the key's name and scope", ref("Me"))})},
    "/api/v1/keys": {
        "get": operation("listKeys", "List API keys (never the keys themselves)", "keys",
                         {"200": answer("every key, revoked ones too",
                                        obj(("keys",), keys=array(ref("Key"))))}),
        "post": operation("createKey", "Create an API key", "keys",
                          {"201": answer("the new key: `key` is shown this once", ref("CreatedKey"))},
                          (400, 409, 413), body=json_body(ref("NewKey")),
                          description="Creating the first key turns authentication on."),
    },
    "/api/v1/keys/{name}": {"delete": operation(
        "revokeKey", "Revoke an API key", "keys", NO_CONTENT, (404,), parameters=[KEY_NAME])},
    "/api/v1/settings/thresholds": {
        "get": operation("getThresholds", "The matching thresholds of every model", "settings",
                         {"200": answer("per model", obj(("thresholds",), thresholds={
                             "type": "object", "additionalProperties": ref("Thresholds")}))}),
        "put": operation("setThresholds", "Set a model's thresholds; every matcher uses them at once", "settings",
                         {"200": answer("the model's thresholds now",
                                        {"allOf": [ref("Thresholds"), obj(("model",), model={"type": "string"})]})},
                         (400, 413), body=json_body(ref("NewThresholds"))),
    },
    "/api/v1/calibration": {"post": operation(
        "calibrate", "Suggest thresholds from the enrolled photos (and apply them, if asked)", "settings",
        {"200": answer("the suggestion and the thresholds in force", ref("Calibration"))}, (400, 409, 413),
        body=json_body(ref("CalibrationRequest"), required=False))},
    "/api/v1/persons": {
        "post": operation("enrollPerson", "Enroll a person with photos", "persons",
                          {"201": answer("the person and what became of each photo (a refused photo says why; "
                                         "the others still count)", ref("Enrollment"))},
                          (400, 404, 409, 413, 504), body=ENROLL_FORM),
        "get": operation("listPersons", "List enrolled persons", "persons",
                         {"200": answer("the records", obj(("persons",), persons=array(ref("Person"))))},
                         parameters=[query("department", "only this department")]),
    },
    "/api/v1/persons/{rollNo}": {
        "get": operation("getPerson", "A person's record", "persons", {"200": answer("the record", ref("Person"))},
                         (404,), parameters=[ROLL_NO]),
        "patch": operation("updatePerson", "Change a person's fields", "persons",
                           {"200": answer("the updated record", ref("Person"))}, (400, 404, 413),
                           parameters=[ROLL_NO], body=json_body(ref("PersonChanges"))),
        "delete": operation("erasePerson", "Erase a person: record and face vectors, everywhere", "persons",
                            NO_CONTENT, (404,), parameters=[ROLL_NO, query(
                                "erase_attendance", "true (or 1, yes, on): also erase their marks and audit entries "
                                                    "and take them out of rosters and check-in logs; default false",
                                {"type": "string", "example": "true"})]),
    },
    "/api/v1/persons/{rollNo}/images": {"post": operation(
        "addImages", "Add photos to an enrolled person", "persons",
        {"201": answer("the person and what became of each photo", ref("Enrollment"))},
        (400, 404, 413, 504), parameters=[ROLL_NO], body=IMAGES_FORM)},
    "/api/v1/persons/{rollNo}/verify": {"post": operation(
        "verifyPerson", "1:1 verification: is the photo's best face this person?", "recognition",
        {"200": answer("the verdict, against the person's enrolled faces only", ref("Verification"))},
        (400, 404, 413, 415, 422, 504), parameters=[ROLL_NO], body=RECOGNIZE_FORM)},
    "/api/v1/persons/{rollNo}/export": {"get": operation(
        "exportPerson", "Everything held about a person (right of access)", "persons",
        {"200": answer("the record and the attendance data that names the person", ref("PersonExport"))},
        (404,), parameters=[ROLL_NO])},
    "/api/v1/persons/{rollNo}/report": {"get": operation(
        "personReport", "A person's attendance history and percentage", "reports",
        report_answer("PersonReport", print_page=False), (400, 404),
        parameters=[ROLL_NO, FROM, TO, FORMAT, TZ])},
    "/api/v1/recognize": {"post": operation(
        "recognize", "Find and identify the faces in a photo", "recognition",
        {"200": answer("every face found (none: an empty list), with its match or null", ref("Recognition"))},
        (400, 404, 413, 415, 422, 504), body=RECOGNIZE_FORM)},
    "/api/v1/sessions": {
        "post": operation("createSession", "Create an attendance session", "sessions",
                          {"201": answer("the session, open", ref("Session"))}, (400, 413),
                          body=json_body(ref("NewSession"))),
        "get": operation("listSessions", "List sessions", "sessions",
                         {"200": answer("sessions starting in the range (none given: all), by start",
                                        obj(("sessions",), sessions=array(ref("Session"))))},
                         (400,), parameters=[FROM, TO, query("department", "only this department"),
                                             query("status", "only open or closed ones",
                                                   {"type": "string", "enum": ["open", "closed"]})]),
    },
    "/api/v1/sessions/{sessionId}": {
        "get": operation("getSession", "A session with its counts so far", "sessions",
                         {"200": answer("the session", ref("SessionOverview"))}, (404,), parameters=[SESSION_ID]),
        "delete": operation("deleteSession", "Delete a session with its marks, audit trail and check-ins",
                            "sessions", NO_CONTENT, (404,), parameters=[SESSION_ID]),
    },
    "/api/v1/sessions/{sessionId}/close": {"post": operation(
        "closeSession", "Close a session to photo check-in (corrections stay possible)", "sessions",
        {"200": answer("the closed session", ref("Session"))}, (404,), parameters=[SESSION_ID])},
    "/api/v1/sessions/{sessionId}/checkins": {
        "post": operation("checkIn", "Mark the roster members recognized in photos", "sessions",
                          {"200": answer("what the photos did; a photo that failed says why in its entry",
                                         ref("Checkin"))},
                          (400, 404, 409, 413, 504), parameters=[SESSION_ID], body=CHECKIN_FORM),
        "get": operation("checkinLog", "Every photo checked in to a session and what it found", "sessions",
                         {"200": answer("the log", obj(("checkins",), checkins=array(ref("CheckinLogEntry"))))},
                         (404,), parameters=[SESSION_ID]),
    },
    "/api/v1/sessions/{sessionId}/marks": {"post": operation(
        "markByHand", "Mark a roster member by hand, with a reason", "sessions",
        {"201": answer("a new mark", ref("MarkAnswer")),
         "200": answer("a corrected mark (`replaced` is the old one)", ref("MarkAnswer"))},
        (400, 404, 413), parameters=[SESSION_ID, X_OPERATOR], body=json_body(ref("NewMark")))},
    "/api/v1/sessions/{sessionId}/marks/{rollNo}": {"delete": operation(
        "unmark", "Take a mark back, with a reason", "sessions",
        {"200": answer("the removed mark", obj(("removed",), removed=ref("Mark")))},
        (400, 404, 413), parameters=[SESSION_ID, ROLL_NO, X_OPERATOR,
                                     query("reason", "why (when the body has none)"),
                                     query("by", "who (when the body has none)")],
        body=json_body(ref("Unmark"), required=False),
        description="`reason` and `by` in a JSON body, or else in the query.")},
    "/api/v1/sessions/{sessionId}/reviews": {"get": operation(
        "listReviews", "Near misses of a session's check-ins, for an operator to decide", "sessions",
        {"200": answer("the review items", obj(("reviews",), reviews=array(ref("Review"))))}, (400, 404),
        parameters=[SESSION_ID, query("status", "open (default), confirmed, rejected or all",
                                      {"type": "string", "enum": ["open", "confirmed", "rejected", "all"],
                                       "default": "open"})])},
    "/api/v1/sessions/{sessionId}/reviews/{reviewId}/confirm": {"post": operation(
        "confirmReview", "The near miss was that person: mark them (audited), optionally enroll the face",
        "sessions", {"200": answer("the decided item and the mark it replaced", ref("ReviewConfirmed"))},
        (400, 404, 409, 413), parameters=[SESSION_ID, REVIEW_ID, X_OPERATOR],
        body=json_body(ref("ReviewDecision")))},
    "/api/v1/sessions/{sessionId}/reviews/{reviewId}/reject": {"post": operation(
        "rejectReview", "The near miss was not that person: nothing is marked (audited)", "sessions",
        {"200": answer("the decided item", obj(("review",), review=ref("Review")))},
        (400, 404, 409, 413), parameters=[SESSION_ID, REVIEW_ID, X_OPERATOR], body=json_body(ref("ReviewDecision")))},
    "/api/v1/sessions/{sessionId}/audit": {"get": operation(
        "audit", "Every change of a session's marks, oldest first", "sessions",
        {"200": answer("the audit trail", obj(("entries",), entries=array(ref("AuditEntry"))))},
        (404,), parameters=[SESSION_ID])},
    "/api/v1/sessions/{sessionId}/report": {"get": operation(
        "sessionReport", "Present, late and absent per roster member", "reports",
        report_answer("SessionReport", print_page=True), (400, 404), parameters=[SESSION_ID, FORMAT_WITH_PRINT, TZ])},
    "/api/v1/departments/{department}/report": {"get": operation(
        "departmentReport", "Per person of a department: sessions, present, late, absent, percentage", "reports",
        report_answer("DepartmentReport", print_page=False), (400, 404),
        parameters=[DEPARTMENT, FROM, TO, FORMAT, TZ])},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Attendance Tracker API",
        "version": "1",
        "description": (
            "Face-recognition attendance: enrollment, recognition, attendance sessions, corrections and reports. "
            "Errors are JSON `{\"error\": {\"code\", \"message\"}}`; `code` is stable, for machines. Times are "
            "ISO 8601 (without an offset: UTC). The contract v1 is extended, never broken: answers may gain "
            "fields.\n\nAuthentication: when the gateway has keys (API_ADMIN_KEY, API_TOKENS, or keys created "
            "with POST /api/v1/keys), every /api/v1 operation but this document requires "
            "`Authorization: Bearer <key>` (401 without a valid key, 403 when the key's scope does not allow the "
            "operation); a gateway without keys (a developer's machine) ignores the header."),
    },
    "tags": [{"name": t} for t in ("persons", "recognition", "sessions", "reports", "keys", "settings",
                                   "service")],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "An API key: required when the gateway has authentication on"}},
        "schemas": SCHEMAS,
        "responses": RESPONSES,
    },
}
