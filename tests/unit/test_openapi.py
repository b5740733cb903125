"""The OpenAPI document (services/gateway/openapi_spec.py) against the gateway
it describes: a valid OpenAPI 3 document; every route of ``create_app`` under
/api/v1 and the root paths documented with its methods, and nothing documented
that the app does not serve; every error answer documented as the error
envelope; authentication on every /api/v1 operation but the document itself.
tests/e2e/test_fuzz_api.py checks the answers of a running gateway against it.
"""
from __future__ import annotations

import re
from unittest.mock import MagicMock

import pytest
from openapi_spec_validator import validate

from services.gateway import auth
from services.gateway.api import create_app
from services.gateway.errors import ATTENDANCE_STATUS, PIPELINE_STATUS
from services.gateway.openapi_spec import DOCUMENT, ERROR_TEXT
from shared.config import Settings

METHODS = {"get", "post", "put", "patch", "delete"}
# Served by create_app but not API: the web console's page and files, Flask's static folder.
NOT_API = {"/", "/console/<path:name>", "/static/<path:filename>"}
# Error statuses whose body is not the error envelope, and why.
NOT_ENVELOPE = {("/readyz", "get", "503"): "a readiness answer: which checks fail"}
OPEN_PATHS = {"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"}
KEY = "unit-test-key-" + "9" * 24


def template(rule: str) -> str:
    """A Flask rule as an OpenAPI path: ``<roll_no>`` -> ``{rollNo}``, ``<path:name>`` -> ``{name}``."""
    def camel(m: re.Match) -> str:
        head, *rest = m.group(1).split("_")
        return "{" + head + "".join(part.title() for part in rest) + "}"
    return re.sub(r"<(?:\w+:)?(\w+)>", camel, rule)


def build(**settings):
    return create_app(Settings(**settings), MagicMock(), MagicMock(), MagicMock())


@pytest.fixture(scope="module")
def app():
    return build()


def operations():
    for path, item in DOCUMENT["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def resolve(obj: dict) -> dict:
    while "$ref" in obj:
        section, name = obj["$ref"].split("/")[-2:]
        obj = DOCUMENT["components"][section][name]
    return obj


def test_the_document_is_valid_openapi_3():
    assert DOCUMENT["openapi"].startswith("3.")
    validate(DOCUMENT)  # raises on any violation of the OpenAPI 3 schema, and on unresolvable $refs


def test_the_app_serves_the_document_as_json_without_a_key():
    client = build(api_tokens=f"unit:{KEY}").test_client()
    res = client.get("/api/v1/openapi.json")
    assert res.status_code == 200 and res.mimetype == "application/json"
    assert res.get_json() == DOCUMENT
    # ... while the API itself needs the key.
    assert client.get("/api/v1/persons").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {KEY}"}).get_json()["operator"] == "unit"


def test_every_route_is_documented_and_every_documented_operation_served(app):
    served = {(template(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule not in NOT_API
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, method, _ in operations()}
    assert not served - documented, f"routes missing from the OpenAPI document: {sorted(served - documented)}"
    assert not documented - served, f"documented but not served: {sorted(documented - served)}"
    assert {p for p, _ in served if not p.startswith("/api/v1/")} == {"/healthz", "/readyz", "/metrics"}


def test_path_parameters_are_declared():
    for path, method, op in operations():
        params = [resolve(p) for p in DOCUMENT["paths"][path].get("parameters", []) + op.get("parameters", [])]
        declared = {p["name"] for p in params if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
        assert all(p["required"] for p in params if p["in"] == "path")


def test_operation_ids_are_unique():
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))


def test_every_error_answer_is_the_error_envelope():
    checked = 0
    for path, method, op in operations():
        for status, response in op["responses"].items():
            if int(status) < 400 or (path, method, status) in NOT_ENVELOPE:
                continue
            content = resolve(response)["content"]
            assert list(content) == ["application/json"], (method, path, status)
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, \
                (method, path, status)
            checked += 1
    assert checked > 100
    error = DOCUMENT["components"]["schemas"]["Error"]
    assert error["required"] == ["error"] and error["properties"]["error"]["required"] == ["code", "message"]


def test_every_operation_has_a_success_answer_and_no_500():
    for path, method, op in operations():
        assert any(s.startswith("2") for s in op["responses"]), (method, path)
        assert "500" not in op["responses"], f"{method} {path}: a 500 is a bug, never part of the contract"


def test_authentication_on_every_api_operation_but_the_document():
    assert DOCUMENT["security"] == [{"bearerAuth": []}]
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"] == {
        **DOCUMENT["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    for path, method, op in operations():
        if path in OPEN_PATHS:
            assert op["security"] == [], (method, path)
            continue
        assert "security" not in op, (method, path)  # the document's: a bearer key
        assert {"401", "403"} <= op["responses"].keys(), (method, path)


def test_open_paths_need_no_key_in_the_app_either():
    client = build(api_tokens=f"unit:{KEY}").test_client()
    for path in OPEN_PATHS - {"/readyz"}:  # /readyz answers 503 here: its probes find no database
        assert client.get(path).status_code == 200, path
    assert auth.required_scope("openapi.spec") is None


def test_every_status_the_gateway_maps_errors_to_is_documented():
    """Each status errors.py can give (but 500, a bug) has its description and response."""
    statuses = set(PIPELINE_STATUS.values()) | set(ATTENDANCE_STATUS.values()) | {401, 403, 413}
    assert statuses - {500} <= ERROR_TEXT.keys()


def test_documented_scopes_are_the_gateways():
    assert DOCUMENT["components"]["schemas"]["Scope"]["enum"] == sorted(auth.SCOPES)
