"""Bad input gets a clear JSON error and loses nothing."""
from __future__ import annotations

import numpy as np
import requests

from shared import imaging
from tests.e2e.conftest import ROLL_NOS, photos


def error_of(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    return body["error"]


def test_root_paths(api, stack):
    for service in stack.services.values():
        assert requests.get(service.url + "/healthz", timeout=5).status_code == 200
        ready = requests.get(service.url + "/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert "attendance_" in requests.get(service.url + "/metrics", timeout=5).text
    embedder = next(s for n, s in stack.services.items() if n.startswith("embedder"))
    model_line = [line for line in requests.get(embedder.url + "/metrics", timeout=5).text.splitlines()
                  if line.startswith("attendance_embedding_model_info{")]
    assert len(model_line) == 1 and model_line[0].endswith(" 1.0")
    print("\nembedder reports: " + model_line[0])
    console = requests.get(api.base + "/", timeout=5)
    assert console.status_code == 200 and "<form" in console.text and "api/v1/recognize" in console.text


def test_recognize_refuses_what_is_not_an_image(api):
    assert error_of(api.recognize(b"just some text"), 415)["code"] == "not_an_image"
    assert error_of(api.recognize(b""), 400)["code"] == "empty_image"
    # Looks like a JPEG, is not one: the detector answers, the gateway says 415.
    assert error_of(api.recognize(b"\xff\xd8\xff\xe0" + bytes(5000)), 415)["code"] == "not_an_image"
    assert error_of(requests.post(api.url("/recognize"), timeout=10), 400)["code"] == "missing_image"


def test_huge_upload_is_413(api):
    """40 MB against a 10 MiB limit: the client hears the 413, not a connection
    reset (the gateway reads the refused body to its end)."""
    for _ in range(3):
        resp = api.recognize(b"\xff\xd8\xff" + bytes(40 * 1024 * 1024))
        assert error_of(resp, 413)["code"] == "too_large"


def test_decompression_bomb_is_413_and_the_detector_survives(api, stack):
    """A 200-byte PNG that declares 100000 x 100000 pixels."""
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = imaging.PNG_MAGIC + struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + \
        struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + bytes(100)
    assert error_of(api.recognize(bomb, "bomb.png"), 413)["code"] == "image_too_large"
    assert stack.services["detector"].ready()


def test_photo_without_a_face_gives_no_faces(api):
    empty = np.full((240, 320, 3), 180, np.uint8)
    resp = api.recognize(imaging.encode_jpeg(empty))
    assert resp.status_code == 200 and resp.json()["faces"] == []


def test_enrollment_refuses_bad_photos_with_reasons_and_keeps_the_good(api):
    good = photos("train", "madonna")[0].read_bytes()
    two = imaging.encode_jpeg(imaging.side_by_side(imaging.decode_image(photos("val", "madonna")[1].read_bytes()),
                                                   imaging.decode_image(photos("val", "elton_john")[0].read_bytes())))
    blank = imaging.encode_jpeg(np.full((200, 200, 3), 90, np.uint8))
    files = [("images", ("good.jpg", good, "image/jpeg")), ("images", ("two.jpg", two, "image/jpeg")),
             ("images", ("blank.jpg", blank, "image/jpeg")), ("images", ("notes.txt", b"hello", "text/plain")),
             ("images", ("broken.jpg", b"\xff\xd8\xff" + bytes(100), "image/jpeg"))]
    # force: the good photo is of an enrolled person (a lookalike, see test_attendance_recognition.py)
    resp = requests.post(api.url("/persons"), data={"rollNo": "ERR-1", "name": "Mixed Bag", "force": "true"},
                         files=files, timeout=60)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    reasons = {i["filename"]: (i["accepted"], i["reason"]) for i in body["images"]}
    assert reasons == {"good.jpg": (True, None), "two.jpg": (False, "several faces"),
                       "blank.jpg": (False, "no face"), "notes.txt": (False, "not an image"),
                       "broken.jpg": (False, "not an image")}
    assert body["person"]["images_count"] == 1
    assert requests.delete(api.url("/persons/ERR-1"), timeout=10).status_code == 204


def test_person_errors(api, enrolled):
    taken = ROLL_NOS["madonna"]
    jpg = photos("train", "madonna")[0]
    assert error_of(api.enroll(taken, "Again", [jpg]), 409)["code"] == "duplicate_rollNo"
    assert error_of(api.enroll("", "No Roll", [jpg]), 400)["code"] == "missing_field"
    assert error_of(api.enroll("BAD ROLL", "x", [jpg]), 400)["code"] == "bad_field"
    assert error_of(requests.post(api.url("/persons"), data={"rollNo": "N1", "name": "n"}, timeout=10),
                    400)["code"] == "missing_images"
    for method in ("get", "patch", "delete"):
        resp = requests.request(method, api.url("/persons/NOBODY"), json={"name": "x"}, timeout=10)
        assert error_of(resp, 404)["code"] == "unknown_person"
    assert error_of(api.add_images("NOBODY", [("a.jpg", jpg.read_bytes())]), 404)["code"] == "unknown_person"
    assert error_of(requests.patch(api.url(f"/persons/{taken}"), json={"rollNo": "X"}, timeout=10), 400)
    assert error_of(requests.patch(api.url(f"/persons/{taken}"), data="nope", timeout=10), 400)
    assert error_of(requests.get(api.url("/nothing-here"), timeout=10), 404)
