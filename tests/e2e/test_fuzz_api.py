"""Property-based fuzz of the whole HTTP API (schemathesis) against a running
gateway, checked against its OpenAPI document (served at /api/v1/openapi.json).

Every operation of the document gets generated requests, valid and invalid by
the document (``mode: all``), with the examples and coverage phases (boundary
values, missing and malformed parameters, unexpected methods) and a short
fuzzing phase whose values are mixed with a dictionary of values worth trying
(the ends of the calendar, zone names that are not zones, the seeded rollNos).
Each answer must:

* not be a server error. 503 and 504 are allowed, as the documented answers
  "pipeline/database unavailable" and "pipeline too slow": this machine may be
  running a CI whose tests restart RabbitMQ meanwhile, and those answers are
  the API's contract for exactly that (tests/e2e/test_resilience.py checks
  when they are given). They must still be the error envelope. A 500 is a bug;
* be the error envelope ``{"error": {"code": str, "message": str}}`` when it
  is an error (/readyz's 503 is a readiness answer);
* conform to the document: a documented status, content type, headers and
  body schema; a request without the key gets 401 (authentication is on).

Where it runs: a gateway of its own (``gateway-fuzz``, authentication on with
a key of its own) on the session stack's broker and workers, but on a database
of its own. So the fuzz may create, change and delete anything - persons,
sessions, keys - without touching the people other tests rely on (CEL001..
CEL004 of the stack's database; checked at the end), and without turning on
authentication for the stack's gateway (a key in its database would). Its
database holds copies of the four enrolled people's records (not their faces:
recognition still finds them, through the stack's matchers), sessions with a
photo check-in and a correction, and a key of the recognize scope; generated
path parameters are mixed with these real ones, so the fuzz reaches past "404
unknown" (deletions excepted: test_deletions_by_the_document). Gallery changes it
announces (erasing a copy of a person) carry versions far below any matcher's,
which the matchers ignore, and person ids no matcher holds.
"""
from __future__ import annotations

import datetime as dt
import os
import time

import pymongo
import pytest
import requests
import schemathesis
from hypothesis import strategies as st

from services.gateway.openapi_spec import DOCUMENT
from tests.e2e.conftest import ENROLLED, ROLL_NOS, photos

KEY = "fuzz-key-" + "5" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}
# Below any version a matcher holds: announcements from this gateway's database are ignored.
FAR_PAST_VERSION = -(10 ** 9)
MAX_EXAMPLES = 60  # per operation, fuzzing phase; the examples and coverage phases add their own
# Operations that send photos through the pipeline: few examples.
SLOW = {("POST", "/api/v1/persons"), ("POST", "/api/v1/persons/{rollNo}/images"), ("POST", "/api/v1/recognize"),
        ("POST", "/api/v1/sessions/{sessionId}/checkins"), ("POST", "/api/v1/persons/{rollNo}/verify")}
SLOW_EXAMPLES = 3
# Operations that would remove the seeded thing their path names: generated path parameters
# only (test_deletions_by_the_document deletes seeded ones, last).
DESTROYS = {("DELETE", "/api/v1/persons/{rollNo}"), ("DELETE", "/api/v1/sessions/{sessionId}"),
            ("DELETE", "/api/v1/keys/{name}"), ("POST", "/api/v1/sessions/{sessionId}/close")}
# Statuses of a server error the contract allows (see the module docstring).
UNAVAILABLE = {503, 504}
BUDGET_SECONDS = 180
# Values worth trying (a fuzzer's dictionary), mixed into what is generated: where times and
# zones are read, the ends of the calendar with offsets that push them past it, impossible dates,
# and zone names that are not zones (directories of the zone database, a name longer than a file
# name may be, paths); where rollNos and departments are read, the seeded people's.
EDGE_TIMES = ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+05:30", "9999-12-31T23:59:59-05:00",
              "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-29", "2026-11-25T24:00:00",
              "2026-11-25T09:00:00+23:59", "2026-11-25T09:00:00.123456789+05:30", "1970-01-01T00:00:00Z"]
EDGE_ZONES = ["America", "Etc", "z" * 300, "UTC", "Z", "+23:59", "-24:00", "posixrules", "localtime",
              "/etc/localtime", "../../etc/passwd", "zone.tab", "Asia/Kolkata"]
DICTIONARIES = {
    "edge-times": ("query.from", "query.to", "body.starts_at", "body.ends_at", "body.at"),
    "edge-zones": ("query.tz",),
    "enrolled": ("body.rollNo", "body.roster[*]"),
    "departments": ("body.department", "query.department"),
}


def config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "auth": {"openapi": {"bearerAuth": {"bearer": KEY}}},  # ignored_auth then checks 401 without it
        "request-timeout": 60,
        # The same cases every run (CI); FUZZ_EXPLORE=1 draws new ones.
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": not os.environ.get("FUZZ_EXPLORE"),
                       "no-shrink": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "dictionaries": {"edge-times": {"values": EDGE_TIMES}, "edge-zones": {"values": EDGE_ZONES},
                         "enrolled": {"values": sorted(ROLL_NOS[p] for p in ENROLLED)},
                         "departments": {"values": ["CEL"]}},
        "parameters": {field: {"dictionary": name, "probability": 0.4}
                       for name, fields in DICTIONARIES.items() for field in fields},
        "checks": {
            # Replaced by no_server_error below (503/504 are the contract's).
            "not_a_server_error": {"enabled": False},
            # The API ignores query parameters it does not know, and reads `force` and
            # `erase_attendance` as "true or not": lenient by design, not a bug.
            "negative_data_rejection": {"enabled": False},
            # Valid by the document is not enough to succeed: an unknown rollNo is a 404.
            "positive_data_acceptance": {"enabled": False},
        },
        "operations": [
            *({"include-name": f"{method} {path}", "generation": {"max-examples": SLOW_EXAMPLES}}
              for method, path in sorted(SLOW)),
            # The gateway authenticates every /api/ request before routing it (fail closed): a
            # method this open route lacks answers 401 without a key (405 with one).
            {"include-name": "GET /api/v1/openapi.json", "checks": {"unsupported_method": {"enabled": False}}},
        ],
    })


def no_server_error(ctx, response, case):
    if response.status_code >= 500 and response.status_code not in UNAVAILABLE:
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")


def error_envelope(ctx, response, case):
    if response.status_code < 400 or case.operation.path == "/readyz":
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} is not JSON: {response.text[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str), \
        f"{response.status_code} is not the error envelope: {body!r}"


# -- the gateway under fuzz, with data of its own -----------------------------------------------------
def call(base: str, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, base + "/api/v1" + path, headers={**AUTH, **kw.pop("headers", {})},
                            timeout=120, **kw)


def seed(base: str, enrolled: dict) -> dict:
    """The four enrolled people's records (without photos), two sessions (one
    open with a check-in from a real photo and a correction, one closed), a key
    of the recognize scope. Returns the real values of path parameters."""
    for person in ENROLLED:
        record = enrolled[person]["person"]
        fields = {k: v for k, v in record.items() if k != "images_count"}
        resp = call(base, "post", "/persons", data=fields, files=[("images", ("none.jpg", b"", "image/jpeg"))])
        assert resp.status_code == 201, resp.text
    now = dt.datetime.now(dt.timezone.utc)
    roster = sorted(ROLL_NOS[p] for p in ENROLLED)
    sessions = []
    for name in ("Fuzz open", "Fuzz closed"):
        resp = call(base, "post", "/sessions", json={
            "name": name, "roster": roster, "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(), "grace_minutes": 10})
        assert resp.status_code == 201, resp.text
        sessions.append(resp.json()["id"])
    open_id, closed_id = sessions
    photo = photos("val", "madonna")[0]
    checked = call(base, "post", f"/sessions/{open_id}/checkins",
                   files=[("images", (photo.name, photo.read_bytes(), "image/jpeg"))])
    assert checked.status_code == 200, checked.text
    assert [m["rollNo"] for m in checked.json()["marked"]] == [ROLL_NOS["madonna"]], checked.text
    marked = call(base, "post", f"/sessions/{open_id}/marks",
                  json={"rollNo": ROLL_NOS["elton_john"], "status": "late", "reason": "signed the sheet", "by": "fuzz"})
    assert marked.status_code == 201, marked.text
    assert call(base, "post", f"/sessions/{closed_id}/close").status_code == 200
    key = call(base, "post", "/keys", json={"name": "fuzz-camera", "scope": "recognize"})
    assert key.status_code == 201, key.text
    return {"rollNo": [ROLL_NOS["ben_afflek"], ROLL_NOS["madonna"]], "sessionId": sessions, "department": ["CEL"],
            "name": ["fuzz-camera"], "camera_key": key.json()["key"]}


@pytest.fixture(scope="module")
def fuzz_timer(request):
    started = time.monotonic()
    yield
    seconds = time.monotonic() - started
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\ntest_fuzz_api: its gateway, seeding, the fuzz and the dedicated cases "
                                f"took {seconds:.0f} s (budget {BUDGET_SECONDS} s)")


def stack_keys(stack) -> int:
    """How many API keys the stack's own database holds."""
    with pymongo.MongoClient(stack.env.get("MONGO_URI", "mongodb://127.0.0.1:27017/"),
                             serverSelectionTimeoutMS=5000) as mongo:
        return mongo[stack.db]["api_keys"].count_documents({})


@pytest.fixture(scope="module")
def fuzz_gateway(stack, enrolled, fuzz_timer):
    db = f"{stack.db}_fuzz"
    mongo = pymongo.MongoClient(stack.env.get("MONGO_URI", "mongodb://127.0.0.1:27017/"), serverSelectionTimeoutMS=5000)
    mongo[db]["gallery_state"].insert_one({"_id": "version", "n": FAR_PAST_VERSION})
    gateway = stack.start("gateway-fuzz", "gateway", MONGO_DB=db, API_TOKENS=f"fuzz:{KEY}")
    try:
        stack.wait_ready("gateway-fuzz")
        yield gateway.url, dict(seed(gateway.url, enrolled), stack_keys=stack_keys(stack))
    finally:
        stack.retire("gateway-fuzz")
        mongo.drop_database(db)
        mongo.close()


# The document the gateway serves (test_the_gateway_serves_this_document): loaded at import, as
# schemathesis's pytest integration needs (its fixture-loaded schemas do not run on this pytest).
schema = schemathesis.openapi.from_dict(DOCUMENT, config=config())
REAL: dict = {}  # real values of path parameters, from seed(): set by the fixture below


@pytest.fixture(scope="module")
def fuzz_base(fuzz_gateway) -> str:
    base, real = fuzz_gateway
    REAL.update(real)
    return base


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, the real values of the fuzz's database (a seeded person,
    session, department, key) instead of generated ones - but not where that
    would remove them: the other operations need the seeded data to stay."""
    op = context.operation
    names = [k for k in path_parameters or {} if k in REAL]
    if not names or (op.method.upper(), op.path) in DESTROYS:
        return st.just(path_parameters)
    real_ones = st.fixed_dictionaries({k: st.sampled_from(REAL[k]) for k in names})
    return st.one_of(st.just(path_parameters), real_ones.map(lambda chosen: {**path_parameters, **chosen}))


@schema.parametrize()
def test_every_operation_answers_by_its_document(case, fuzz_base):
    case.call_and_validate(base_url=fuzz_base, additional_checks=[no_server_error, error_envelope])


# -- dedicated cases: what random data cannot reach ------------------------------------------------------
def operation(base: str, method: str, path: str):
    return schema[path][method]


def test_the_gateway_serves_this_document(fuzz_gateway):
    base, _ = fuzz_gateway
    resp = requests.get(base + "/api/v1/openapi.json", timeout=10)  # no key: it holds no data
    assert resp.status_code == 200 and resp.json() == DOCUMENT


def test_real_answers_conform(fuzz_gateway):
    """A recognized photo, a person's export, reports in every format: by the document."""
    base, real = fuzz_gateway
    photo = photos("val", "ben_afflek")[0]
    resp = call(base, "post", "/recognize", files={"image": (photo.name, photo.read_bytes(), "image/jpeg")})
    assert resp.status_code == 200 and any(f["match"] for f in resp.json()["faces"]), resp.text
    operation(base, "POST", "/api/v1/recognize").validate_response(resp)
    resp = call(base, "post", f"/persons/{ROLL_NOS['ben_afflek']}/verify",
                files={"image": (photo.name, photo.read_bytes(), "image/jpeg")})
    assert resp.status_code == 200 and resp.json()["verified"], resp.text
    operation(base, "POST", "/api/v1/persons/{rollNo}/verify").validate_response(resp)
    session = real["sessionId"][0]
    for method, path, template in (
            ("GET", f"/persons/{ROLL_NOS['madonna']}/export", "/api/v1/persons/{rollNo}/export"),
            ("GET", f"/sessions/{session}", "/api/v1/sessions/{sessionId}"),
            ("GET", f"/sessions/{session}/audit", "/api/v1/sessions/{sessionId}/audit"),
            ("GET", f"/sessions/{session}/checkins", "/api/v1/sessions/{sessionId}/checkins"),
            ("GET", f"/sessions/{session}/reviews?status=all", "/api/v1/sessions/{sessionId}/reviews"),
            ("GET", f"/sessions/{session}/report?format=print&tz=Asia/Kolkata", "/api/v1/sessions/{sessionId}/report"),
            ("GET", f"/sessions/{session}/report?format=csv", "/api/v1/sessions/{sessionId}/report"),
            ("GET", f"/persons/{ROLL_NOS['madonna']}/report?tz=%2B05:30", "/api/v1/persons/{rollNo}/report"),
            ("GET", "/departments/CEL/report", "/api/v1/departments/{department}/report")):
        resp = call(base, method, path)
        assert resp.status_code == 200, (path, resp.text)
        operation(base, method, template).validate_response(resp)
    export = call(base, "get", f"/persons/{ROLL_NOS['madonna']}/export").json()
    assert {s["id"] for s in export["attendance"]["sessions"]} >= set(real["sessionId"]), export


def test_a_key_without_the_scope_is_forbidden(fuzz_gateway):
    base, real = fuzz_gateway
    camera = {"Authorization": f"Bearer {real['camera_key']}"}
    resp = requests.get(base + "/api/v1/persons", headers=camera, timeout=10)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    operation(base, "GET", "/api/v1/persons").validate_response(resp)
    assert requests.get(base + "/api/v1/me", headers=camera, timeout=10).json()["scope"] == "recognize"


def test_deletions_by_the_document(fuzz_gateway):
    """The deletions the fuzz only sends with generated path parameters, on
    seeded data: erase a person with their attendance, delete a session,
    revoke a key; each answers 204, then 404."""
    base, real = fuzz_gateway
    for path, template, code in (
            (f"/persons/{ROLL_NOS['jerry_seinfeld']}?erase_attendance=true", "/api/v1/persons/{rollNo}",
             "unknown_person"),
            (f"/sessions/{real['sessionId'][1]}", "/api/v1/sessions/{sessionId}", "unknown_session"),
            ("/keys/fuzz-camera", "/api/v1/keys/{name}", "unknown_key")):
        resp = call(base, "delete", path)
        assert resp.status_code == 204, (path, resp.text)
        operation(base, "DELETE", template).validate_response(resp)
        again = call(base, "delete", path)
        assert again.status_code == 404 and again.json()["error"]["code"] == code, (path, again.text)
    assert requests.get(base + "/api/v1/me", headers={"Authorization": f"Bearer {real['camera_key']}"},
                        timeout=10).status_code == 401  # revoked at once


def test_the_stack_and_its_people_are_untouched(api, enrolled, stack, fuzz_gateway):
    """The fuzz ran on its own database: the four enrolled people are all there,
    unchanged, and the stack's database got no API key from it."""
    for person in ENROLLED:
        resp = requests.get(api.url(f"/persons/{ROLL_NOS[person]}"), timeout=10)
        assert resp.status_code == 200, resp.text
        record, before = resp.json(), enrolled[person]["person"]
        assert {k: v for k, v in record.items() if k != "images_count"} == \
            {k: v for k, v in before.items() if k != "images_count"}
    _, real = fuzz_gateway
    assert stack_keys(stack) == real["stack_keys"]
