"""Fixtures: one real stack per test session (each stage of
``shared.pipeline.STAGES``, the matcher twice, and the gateway, on a real
RabbitMQ and the real database server), the 5-celebrity data set, and four of
its five people enrolled over HTTP."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from dataset.celebrities import DATASET, ENROLLED, HELD_OUT, ROLL_NOS, display_name, photos
from shared.pipeline import GATEWAY, STAGES
from tests.e2e.stack import Stack

__all__ = ["DATASET", "ENROLLED", "HELD_OUT", "ROLL_NOS", "Api", "display_name", "largest_face_match", "photos"]

# The copies each stage runs as (default: one, named after the stage). Two
# matchers: enrollment must reach every matcher's gallery.
COPIES = {"matcher": ("matcher-a", "matcher-b")}
# Settings per stage: matchers check for missed gallery changes every 2 s, so
# that the tests of convergence wait seconds, not the default 10.
STAGE_ENV = {"matcher": {"GALLERY_SYNC_SECONDS": "2"}}


def largest_face_match(resp) -> str | None:
    """The rollNo matched to the largest face of a recognize answer (None: unknown)."""
    assert resp.status_code == 200, resp.text
    faces = resp.json()["faces"]
    assert len(faces) >= 1, "no face found"
    face = max(faces, key=lambda f: f["box"][2] * f["box"][3])
    return face["match"]["rollNo"] if face["match"] else None


@pytest.fixture(scope="session")
def stack():
    if not (DATASET / "val").is_dir():
        pytest.fail(f"data set missing at {DATASET}: run scripts/setup.sh")
    s = Stack()
    s.env["LOG_FORMAT"] = "json"  # as a log shipper reads them: one object per line, with the request id
    s.create()
    try:
        for stage in STAGES:
            for name in COPIES.get(stage.name, (stage.name,)):
                s.start(name, stage.name, **STAGE_ENV.get(stage.name, {}))
        s.start(GATEWAY.name, GATEWAY.name)
        s.wait_ready()
        yield s
    finally:
        s.destroy()


class Api:
    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def url(self, path: str) -> str:
        return f"{self.base}/api/v1{path}"

    def enroll(self, roll_no: str, name: str, files: list[Path], **fields) -> requests.Response:
        data = {"rollNo": roll_no, "name": name, **fields}
        uploads = [("images", (p.name, p.read_bytes(), "image/jpeg")) for p in files]
        return requests.post(self.url("/persons"), data=data, files=uploads, timeout=300)

    def add_images(self, roll_no: str, files: list[tuple[str, bytes]]) -> requests.Response:
        return requests.post(self.url(f"/persons/{roll_no}/images"),
                             files=[("images", (n, b, "image/jpeg")) for n, b in files], timeout=120)

    def recognize(self, image: bytes, filename: str = "photo.jpg") -> requests.Response:
        return requests.post(self.url("/recognize"), files={"image": (filename, image, "image/jpeg")}, timeout=120)


@pytest.fixture(scope="session")
def api(stack) -> Api:
    return Api(stack.services["gateway"].url)


@pytest.fixture(scope="session")
def enrolled(api) -> dict[str, dict]:
    """Enroll the four people from their train photos; returns the responses."""
    out = {}
    for person in ENROLLED:
        resp = api.enroll(ROLL_NOS[person], display_name(person), photos("train", person),
                          fatherName="Father of " + display_name(person), department="CEL", contact="9876543210")
        assert resp.status_code == 201, resp.text
        out[person] = resp.json()
    return out
