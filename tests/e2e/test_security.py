"""Security and privacy on the real stack: keys with scopes, revocation at once,
no personal data in any log, the right of access and erasure, a gateway that
will not open the API to the network, and the console's headers."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest
import requests

from launcher.supervisor import ROOT
from tests.e2e.conftest import ROLL_NOS, largest_face_match, photos
from tests.e2e.stack import LOG_DIR, free_port

ADMIN_KEY = "bootstrap-" + "9" * 30
PERSON = {"rollNo": "PRIV-7731", "name": "Zenobia Quillfeather", "fatherName": "Barnaby Quillfeather",
          "department": "PRIVDEPT", "contact": "5550199321"}


def as_(key: str | None) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


@pytest.fixture(scope="module")
def secured(stack, enrolled, api):
    """A gateway with a bootstrap admin key and keys of each scope made with it.
    Keys in the database turn authentication on for every gateway of that
    database (the session's too): all are revoked at the end."""
    gateway = stack.start("gateway-secure", "gateway", API_ADMIN_KEY=ADMIN_KEY)
    stack.wait_ready("gateway-secure")
    base = gateway.url + "/api/v1"
    keys = {"admin": ADMIN_KEY}
    for scope in ("operator", "recognize"):
        resp = requests.post(base + "/keys", json={"name": f"test-{scope}", "scope": scope}, headers=as_(ADMIN_KEY),
                             timeout=10)
        assert resp.status_code == 201, resp.text
        assert resp.json()["scope"] == scope and resp.json()["key"].startswith("atk_")
        keys[scope] = resp.json()["key"]
    yield base, keys
    for key in requests.get(base + "/keys", headers=as_(ADMIN_KEY), timeout=10).json()["keys"]:
        if not key["revoked_at"]:
            requests.delete(base + f"/keys/{key['name']}", headers=as_(ADMIN_KEY), timeout=10)
    stack.retire("gateway-secure")
    deadline = time.time() + 10
    while requests.get(api.url("/me"), timeout=10).status_code != 200 and time.time() < deadline:
        time.sleep(0.5)


def call(base, method, path, key, **kw):
    return requests.request(method, base + path, headers=as_(key), timeout=60, **kw)


def a_session(base, key) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    resp = call(base, "post", "/sessions", key, json={
        "name": "Security lecture", "roster": [ROLL_NOS["madonna"]],
        "starts_at": (now - dt.timedelta(minutes=5)).isoformat(), "ends_at": (now + dt.timedelta(hours=1)).isoformat()})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_each_scope_is_allowed_and_refused_per_route(secured):
    base, keys = secured
    session = a_session(base, keys["operator"])
    photo = photos("val", "madonna")[0]
    stranger = photos("val", "mindy_kaling")[0]  # nobody enrolled looks like her

    def image():
        return {"image": (photo.name, photo.read_bytes(), "image/jpeg")}

    def images():
        return {"images": (photo.name, photo.read_bytes(), "image/jpeg")}

    routes = [  # (method, path, kwargs factory, least scope, success status)
        ("post", "/recognize", lambda: {"files": image()}, "recognize", 200),
        ("post", f"/sessions/{session}/checkins", lambda: {"files": images(), "data": {"force": "true"}},
         "recognize", 200),
        ("get", "/persons", dict, "operator", 200),
        ("get", f"/persons/{ROLL_NOS['madonna']}", dict, "operator", 200),
        ("get", "/sessions", dict, "operator", 200),
        ("get", f"/sessions/{session}/report", dict, "operator", 200),
        ("get", f"/sessions/{session}/audit", dict, "operator", 200),
        ("get", f"/departments/CEL/report", dict, "operator", 200),
        ("post", f"/sessions/{session}/marks", lambda: {"json": {"rollNo": ROLL_NOS["madonna"], "reason": "test"}},
         "operator", 200),
        ("get", "/keys", dict, "admin", 200),
        ("get", f"/persons/{ROLL_NOS['madonna']}/export", dict, "admin", 200),
        ("patch", f"/persons/{ROLL_NOS['madonna']}", lambda: {"json": {"contact": "9876543210"}}, "admin", 200),
        ("post", "/persons", lambda: {"data": {"rollNo": "SCOPE-1", "name": "Scope"},
                                      "files": {"images": (stranger.name, stranger.read_bytes(), "image/jpeg")}},
         "admin", 201),
        ("delete", "/persons/SCOPE-1", dict, "admin", 204),
    ]
    ranks = ["recognize", "operator", "admin"]
    for method, path, kwargs, least, ok in routes:
        assert call(base, method, path, None, **kwargs()).status_code == 401, (method, path)
        for scope in ranks:
            resp = call(base, method, path, keys[scope], **kwargs())
            if ranks.index(scope) >= ranks.index(least):
                assert resp.status_code in (ok, 201 if ok == 200 else ok), (method, path, scope, resp.text)
            else:
                assert resp.status_code == 403, (method, path, scope, resp.status_code)
                assert resp.json()["error"]["code"] == "forbidden"


def test_the_audit_trail_names_the_key(secured):
    base, keys = secured
    session = a_session(base, keys["operator"])
    assert call(base, "post", f"/sessions/{session}/marks", keys["operator"],
                json={"rollNo": ROLL_NOS["madonna"], "reason": "came late"}).status_code == 201
    (entry,) = call(base, "get", f"/sessions/{session}/audit", keys["operator"]).json()["entries"]
    assert entry["token"] == "test-operator" and entry["by"] == "test-operator"
    assert call(base, "get", "/me", keys["recognize"]).json() == {
        "authentication": "required", "operator": "test-recognize", "scope": "recognize"}


def test_a_revoked_key_is_refused_at_once(secured):
    base, keys = secured
    made = call(base, "post", "/keys", keys["admin"], json={"name": "short-lived", "scope": "operator"}).json()
    assert call(base, "get", "/persons", made["key"]).status_code == 200
    assert call(base, "delete", "/keys/short-lived", keys["admin"]).status_code == 204
    assert call(base, "get", "/persons", made["key"]).status_code == 401
    listed = {k["name"]: k for k in call(base, "get", "/keys", keys["admin"]).json()["keys"]}
    assert listed["short-lived"]["revoked_at"] and "key" not in listed["short-lived"]
    assert call(base, "delete", "/keys/short-lived", keys["admin"]).status_code == 404


def test_export_then_erase_then_export(secured):
    base, keys = secured
    admin = keys["admin"]
    files = [("images", (p.name, p.read_bytes(), "image/jpeg")) for p in photos("train", "mindy_kaling")[:3]]
    created = call(base, "post", "/persons", admin, data=PERSON, files=files)
    assert created.status_code == 201, created.text
    roll = PERSON["rollNo"]
    now = dt.datetime.now(dt.timezone.utc)
    session = call(base, "post", "/sessions", admin, json={
        "name": "Privacy", "roster": [roll, ROLL_NOS["madonna"]], "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
        "ends_at": (now + dt.timedelta(hours=1)).isoformat()}).json()["id"]
    assert call(base, "post", f"/sessions/{session}/marks", admin, json={"rollNo": roll, "reason": "here"}).ok

    exported = call(base, "get", f"/persons/{roll}/export", admin).json()
    assert exported["person"] == dict(exported["person"], **PERSON)
    faces = exported["faces"]
    assert len(faces) == created.json()["person"]["images_count"] >= 2
    assert all(len(f["photo_hash"]) == 64 and len(f["vector"]) == 128 for f in faces)
    attendance = exported["attendance"]
    assert [s["id"] for s in attendance["sessions"]] == [session]
    assert [m["rollNo"] for m in attendance["marks"]] == [roll] and attendance["audit"][0]["rollNo"] == roll

    assert call(base, "delete", f"/persons/{roll}?erase_attendance=true", admin).status_code == 204
    assert call(base, "get", f"/persons/{roll}/export", admin).status_code == 404
    assert roll not in call(base, "get", f"/sessions/{session}", admin).json()["roster"]
    assert all(e["rollNo"] != roll for e in call(base, "get", f"/sessions/{session}/audit", admin).json()["entries"])
    for path in photos("val", "mindy_kaling"):
        assert largest_face_match(call(base, "post", "/recognize", admin, files={
            "image": (path.name, path.read_bytes(), "image/jpeg")})) != roll


def test_nothing_personal_in_any_log(secured, stack):
    """After an enroll, a recognize and a check-in with those details: none of
    the name, father's name, contact or rollNo appears in any service's log."""
    base, keys = secured
    person = dict(PERSON, rollNo="PRIV-8842", name="Ottoline Vasquez-Brightwater", contact="5550177654",
                  fatherName="Percival Brightwater")
    files = [("images", (p.name, p.read_bytes(), "image/jpeg")) for p in photos("train", "mindy_kaling")[:2]]
    assert call(base, "post", "/persons", keys["admin"], data=person, files=files).status_code == 201
    val = photos("val", "mindy_kaling")[0]
    assert largest_face_match(call(base, "post", "/recognize", keys["recognize"], files={
        "image": (val.name, val.read_bytes(), "image/jpeg")})) == person["rollNo"]
    now = dt.datetime.now(dt.timezone.utc)
    session = call(base, "post", "/sessions", keys["operator"], json={
        "name": "Logs", "roster": [person["rollNo"]], "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
        "ends_at": (now + dt.timedelta(hours=1)).isoformat()}).json()["id"]
    checked = call(base, "post", f"/sessions/{session}/checkins", keys["recognize"],
                   files={"images": (val.name, val.read_bytes(), "image/jpeg")})
    assert [m["rollNo"] for m in checked.json()["marked"]] == [person["rollNo"]]
    assert call(base, "get", f"/persons/{person['rollNo']}", keys["operator"]).status_code == 200
    assert call(base, "delete", f"/persons/{person['rollNo']}", keys["admin"]).status_code == 204
    logs = {p.name: p.read_text(errors="replace") for p in LOG_DIR.glob("*.log")}
    assert logs and any("gateway.access" in text for text in logs.values())
    for secret in (person["name"], "Vasquez", person["fatherName"], person["contact"], person["rollNo"]):
        leaks = [name for name, text in logs.items() if secret in text]
        assert not leaks, f"{secret!r} is in {leaks}"


def test_the_gateway_will_not_open_the_api_to_the_network_without_keys(stack):
    env = dict(stack.env, GATEWAY_HOST="0.0.0.0", GATEWAY_PORT=str(free_port()))
    env.pop("API_TOKENS", None)
    env.pop("API_ADMIN_KEY", None)
    done = subprocess.run([sys.executable, "-m", "services.gateway"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "without authentication" in done.stderr


def test_every_answer_carries_the_security_headers(api):
    for path in ("/", "/console/main.js", "/api/v1/persons", "/healthz"):
        headers = requests.get(api.base + path, timeout=10).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["X-Request-ID"]
    assert requests.get(api.base + "/healthz", headers={"X-Request-ID": "trace-me-42"},
                        timeout=10).headers["X-Request-ID"] == "trace-me-42"
