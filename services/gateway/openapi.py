"""``GET /api/v1/openapi.json``: the OpenAPI description of the API (see
openapi_spec.py), open to all: it holds no data (auth.ROUTE_SCOPES says so).

``python -m services.gateway.openapi`` prints the document.
"""
from __future__ import annotations

import json
from functools import lru_cache

from flask import Blueprint, Response

from services.gateway.openapi_spec import DOCUMENT


@lru_cache(maxsize=1)
def document_json() -> str:
    """The document as JSON, made once."""
    return json.dumps(DOCUMENT, indent=1)


def openapi_blueprint() -> Blueprint:
    bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

    @bp.get("/openapi.json")
    def spec():
        return Response(document_json(), mimetype="application/json")

    return bp


if __name__ == "__main__":
    print(document_json())
