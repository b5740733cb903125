"""A gateway with API_TOKENS: nothing under /api/ without a valid token; the
token's name lands in the audit trail; the CLI authenticates with ATTENDANCE_TOKEN."""
from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest
import requests

from tests.e2e.conftest import ROLL_NOS, largest_face_match, photos
from tests.e2e.test_cli import CLI

RAO = "rao-token-" + "7" * 24
CAMERA = "camera-token-" + "3" * 24


@pytest.fixture(scope="module")
def secured(stack, enrolled):
    gateway = stack.start("gateway-auth", "gateway", API_TOKENS=f"rao:{RAO},door-camera:{CAMERA}")
    stack.wait_ready("gateway-auth")
    yield gateway.url
    stack.retire("gateway-auth")


def as_(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def test_no_token_no_api(secured):
    for method, path in (("get", "/api/v1/persons"), ("get", "/api/v1/me"), ("delete", "/api/v1/persons/CEL001"),
                         ("post", "/api/v1/recognize"), ("get", "/api/v1/sessions")):
        for headers in ({}, as_("not-a-valid-token-at-all"), {"Authorization": f"Basic {RAO}"}):
            resp = requests.request(method, secured + path, headers=headers, timeout=10)
            assert resp.status_code == 401, (method, path, headers)
            assert resp.json()["error"]["code"] == "unauthorized"
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(secured + "/api/v1/persons/" + ROLL_NOS["madonna"], timeout=10).status_code == 401
    # A large upload without a token hears the 401, not a connection reset (the server
    # keeps the connection and discards the unread body).
    big = requests.post(secured + "/api/v1/recognize", files={"image": ("a.jpg", b"\xff\xd8\xff" + bytes(20 << 20))},
                        timeout=60)
    assert big.status_code == 401 and big.json()["error"]["code"] == "unauthorized"
    for path in ("/healthz", "/readyz", "/metrics", "/"):  # probes, Prometheus and the console page
        assert requests.get(secured + path, timeout=10).status_code == 200, path


def test_a_valid_token_is_served_and_named(secured):
    assert requests.get(secured + "/api/v1/me", headers=as_(RAO), timeout=10).json() == {
        "authentication": "required", "operator": "rao", "scope": "admin"}  # API_TOKENS are full-access keys
    path = photos("val", "madonna")[0]
    resp = requests.post(secured + "/api/v1/recognize", headers=as_(CAMERA),
                         files={"image": (path.name, path.read_bytes(), "image/jpeg")}, timeout=60)
    assert largest_face_match(resp) == ROLL_NOS["madonna"]


def test_the_open_gateway_says_so(api):
    assert requests.get(api.url("/me"), timeout=10).json() == {"authentication": "off"}


def test_changes_record_the_token(secured):
    ben, elton = ROLL_NOS["ben_afflek"], ROLL_NOS["elton_john"]
    now = dt.datetime.now(dt.timezone.utc)
    session = requests.post(secured + "/api/v1/sessions", headers=as_(RAO), timeout=10, json={
        "name": "Secured", "roster": [ben, elton], "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(hours=1)).isoformat()}).json()
    sid = session["id"]
    path = photos("val", "ben_afflek")[0]
    checked = requests.post(f"{secured}/api/v1/sessions/{sid}/checkins", headers=as_(CAMERA), timeout=60,
                            files=[("images", (path.name, path.read_bytes(), "image/jpeg"))]).json()
    assert [m["rollNo"] for m in checked["marked"]] == [ben]
    # No `by`: the correction is made in the token's name.
    fixed = requests.post(f"{secured}/api/v1/sessions/{sid}/marks", headers=as_(RAO), timeout=10,
                          json={"rollNo": elton, "status": "late", "reason": "signed the sheet"})
    assert fixed.status_code == 201, fixed.text
    audit = requests.get(f"{secured}/api/v1/sessions/{sid}/audit", headers=as_(RAO), timeout=10).json()["entries"]
    assert [(e["rollNo"], e["by"], e["token"]) for e in audit] == [(ben, "check-in", "door-camera"),
                                                                   (elton, "rao", "rao")]
    out = subprocess.run([str(CLI), "audit", sid], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, ATTENDANCE_URL=secured, ATTENDANCE_TOKEN=RAO))
    assert out.returncode == 0 and "by rao (token rao): signed the sheet" in out.stdout
    requests.delete(f"{secured}/api/v1/sessions/{sid}", headers=as_(RAO), timeout=10)


def test_the_cli_without_a_token_says_what_to_do(secured):
    env = {k: v for k, v in os.environ.items() if k != "ATTENDANCE_TOKEN"}
    out = subprocess.run([str(CLI), "persons"], capture_output=True, text=True, timeout=60,
                         env=dict(env, ATTENDANCE_URL=secured))
    assert out.returncode == 1 and "ATTENDANCE_TOKEN" in out.stderr


def test_a_malformed_token_list_stops_the_gateway_at_start(stack):
    bad = stack.start("gateway-bad-tokens", "gateway", API_TOKENS="rao:short")
    assert bad.proc.wait(timeout=60) == 2
    assert "shorter than 16 characters" in bad.log_tail()
    stack.services.pop("gateway-bad-tokens")
