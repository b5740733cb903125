"""One request followed everywhere: the id a client sends (X-Request-ID) comes
back, travels with the job, and every service logs it (JSON logs)."""
from __future__ import annotations

import json
import time
import uuid

import requests

from tests.e2e.conftest import ROLL_NOS, photos
from tests.e2e.stack import LOG_DIR


def lines_with(request_id: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for path in LOG_DIR.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if request_id in line:
                entry = json.loads(line)  # every line of a JSON log is an object
                found.setdefault(entry["service"], []).append(entry)
    return found


def test_a_request_id_is_followed_through_every_service(api, stack, enrolled):
    request_id = "trace-" + uuid.uuid4().hex
    path = photos("val", "madonna")[0]
    resp = requests.post(api.url("/recognize"), headers={"X-Request-ID": request_id},
                         files={"image": (path.name, path.read_bytes(), "image/jpeg")}, timeout=60)
    assert resp.status_code == 200
    assert resp.headers["X-Request-ID"] == request_id and resp.json()["request_id"] == request_id
    deadline = time.time() + 10
    while set(lines_with(request_id)) < {"gateway", "detector", "embedder", "matcher"} and time.time() < deadline:
        time.sleep(0.2)
    found = lines_with(request_id)
    assert set(found) == {"gateway", "detector", "embedder", "matcher"}, found
    assert all(e["request_id"] == request_id for entries in found.values() for e in entries)
    text = json.dumps(found)
    assert "Madonna" not in text and ROLL_NOS["madonna"] not in text  # ids, never personal data


def test_a_request_without_an_id_gets_one(api):
    resp = requests.get(api.url("/persons"), timeout=10)
    assert len(resp.headers["X-Request-ID"]) == 32
    weird = requests.get(api.url("/persons"), headers={"X-Request-ID": "not ok\u00e9 " * 10}, timeout=10)
    assert weird.headers["X-Request-ID"] != "not ok"  # only plain tokens are taken over
