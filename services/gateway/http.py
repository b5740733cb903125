"""Request helpers shared by the gateway's blueprints."""
from __future__ import annotations

from flask import Response, g, request

from services.gateway.errors import ApiError


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "send a JSON object")
    return body


def text_field(body: dict, key: str, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ApiError(400, "missing_field", f"{key} is required")
        return None
    if not isinstance(value, str):
        raise ApiError(400, "bad_field", f"{key} must be a string")
    return value.strip()


def given(body: dict, *keys: str) -> dict:
    """The fields of ``keys`` the client sent: passed on as keyword arguments,
    so that the attendance package's defaults apply to the others."""
    return {k: body[k] for k in keys if k in body}


def operator(body: dict) -> str:
    """Who makes a change: ``by`` in the body, else the X-Operator header, else
    the name of the request's API token."""
    by = body.get("by") or request.headers.get("X-Operator") or token_name()
    if not by or not str(by).strip():
        raise ApiError(400, "missing_field", "say who makes the change: 'by' in the body or the X-Operator header")
    return str(by).strip()


def token_name() -> str | None:
    """The name of the API token the request was authenticated with (None: authentication is off)."""
    return g.get("token_name")


def as_bool(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def csv_response(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def uploaded_images(field: str = "images") -> list:
    """The non-empty uploads of a multipart field; 400 when there are none."""
    files = [f for f in request.files.getlist(field) if f]
    if not files:
        raise ApiError(400, "missing_images", f"send one or more photos as multipart field '{field}'")
    return files
