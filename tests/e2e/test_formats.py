"""Every photo format a phone or a camera makes, end to end through HTTP: each
made here from a val photo of the data set (Pillow; HEIC with pillow-heif)."""
from __future__ import annotations

import datetime as dt
import io

import pillow_heif
import pytest
import requests
from PIL import Image

from shared import imaging
from tests.e2e.conftest import ENROLLED, HELD_OUT, ROLL_NOS, largest_face_match, photos

# (Pillow format, file suffix, content type) per sniff_format answer.
FORMATS = {
    "jpeg": ("JPEG", ".jpg", "image/jpeg"),
    "png": ("PNG", ".png", "image/png"),
    "webp": ("WEBP", ".webp", "image/webp"),
    "gif": ("GIF", ".gif", "image/gif"),
    "bmp": ("BMP", ".bmp", "image/bmp"),
    "tiff": ("TIFF", ".tiff", "image/tiff"),
    "heif": ("HEIF", ".heic", "image/heic"),
    "avif": ("AVIF", ".avif", "image/avif"),
}
UTC = dt.timezone.utc
NEWCOMER = "FMT-NEW"


def convert(path, fmt: str, image: Image.Image | None = None, **params) -> tuple[str, bytes, str]:
    """(file name, bytes, content type) of the photo at ``path`` (or ``image``) saved as ``fmt``."""
    pil_format, suffix, content_type = FORMATS[fmt]
    image = image if image is not None else Image.open(path).convert("RGB")
    buf = io.BytesIO()
    if fmt == "heif":
        pillow_heif.from_pillow(image).save(buf, format="HEIF", **params)
    else:
        image.save(buf, pil_format, **params)
    data = buf.getvalue()
    assert imaging.sniff_format(data) == fmt
    return path.stem[:24] + suffix, data, content_type


def recognize(api, name: str, data: bytes, content_type: str) -> requests.Response:
    return requests.post(api.url("/recognize"), files={"image": (name, data, content_type)}, timeout=120)


def accepted_names_in(message: str) -> bool:
    return all(name in message for name in ("JPEG", "PNG", "WebP", "GIF", "BMP", "TIFF", "HEIC/HEIF"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_photo_in_each_format_is_recognized(api, enrolled, fmt):
    person = ENROLLED[list(FORMATS).index(fmt) % len(ENROLLED)]
    path = photos("val", person)[1]
    resp = recognize(api, *convert(path, fmt))
    assert largest_face_match(resp) == ROLL_NOS[person], resp.text


def test_a_phone_portrait_stored_sideways_is_recognized_upright(api, enrolled):
    path = photos("val", "jerry_seinfeld")[2]  # 240x364: a portrait
    upright = Image.open(path).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn right to view": the camera stored the pixels a quarter turn to the left
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    assert stored.size == (upright.height, upright.width)
    name, data, content_type = convert(path, "jpeg", image=stored, exif=exif.tobytes(), quality=95)
    resp = recognize(api, name, data, content_type)
    assert largest_face_match(resp) == ROLL_NOS["jerry_seinfeld"], resp.text
    x, y, w, h = max(resp.json()["faces"], key=lambda f: f["box"][2] * f["box"][3])["box"]
    assert x + w <= upright.width + 2 and y + h <= upright.height + 2  # boxes in the upright photo
    assert h >= w * 0.9  # an upright face is not lying on its side


@pytest.fixture
def newcomer(api, enrolled):
    """Roll number for a person enrolled by a test; erased afterwards (the held-out
    person must stay a stranger for the recognition tests)."""
    yield NEWCOMER
    requests.delete(api.url(f"/persons/{NEWCOMER}"), timeout=30)


def test_a_new_person_is_enrolled_from_webp_and_heic_photos(api, newcomer):
    train = photos("train", HELD_OUT)
    uploads = [convert(p, "webp" if i % 2 else "heif") for i, p in enumerate(train[:8])]
    uploads.append(("notes.pdf", b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\n", "application/pdf"))
    resp = requests.post(api.url("/persons"), data={"rollNo": newcomer, "name": "Mindy Kaling"},
                         files=[("images", u) for u in uploads], timeout=300)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    by_name = {i["filename"]: i for i in body["images"]}
    accepted = [i for i in body["images"] if i["accepted"]]
    assert {i["filename"][-5:] for i in accepted} == {".webp", ".heic"}
    assert body["person"]["images_count"] == len(accepted) >= 6
    pdf = by_name["notes.pdf"]
    assert not pdf["accepted"] and pdf["reason"] == "not an image" and accepted_names_in(pdf["detail"])
    resp = recognize(api, *convert(photos("val", HELD_OUT)[0], "jpeg"))
    assert largest_face_match(resp) == newcomer, resp.text


def test_a_checkin_with_a_gif_and_a_heic_marks_both(api, enrolled):
    now = dt.datetime.now(UTC)
    elton, jerry = ROLL_NOS["elton_john"], ROLL_NOS["jerry_seinfeld"]
    resp = requests.post(api.url("/sessions"), json={
        "name": "Formats", "roster": [elton, jerry], "starts_at": (now - dt.timedelta(minutes=1)).isoformat(),
        "ends_at": (now + dt.timedelta(hours=1)).isoformat()}, timeout=10)
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    uploads = [convert(photos("val", "elton_john")[2], "gif"), convert(photos("val", "jerry_seinfeld")[3], "heif"),
               ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "image/svg+xml")]
    resp = requests.post(api.url(f"/sessions/{sid}/checkins"), files=[("images", u) for u in uploads], timeout=120)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert sorted(m["rollNo"] for m in body["marked"]) == sorted([elton, jerry])
    svg = next(p for p in body["photos"] if p["filename"] == "drawing.svg")
    assert svg["error"]["code"] == "not_an_image" and accepted_names_in(svg["error"]["message"])
    report = requests.get(api.url(f"/sessions/{sid}/report"), timeout=10).json()
    assert report["counts"]["present"] == 2


@pytest.mark.parametrize("name,data,content_type", [
    ("scan.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n", "application/pdf"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>', "image/svg+xml"),
    # A video's ftyp box: the same container as HEIF, not an image brand.
    ("clip.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(200), "video/mp4"),
])
def test_another_format_gets_415_listing_the_accepted_ones(api, name, data, content_type):
    resp = recognize(api, name, data, content_type)
    assert resp.status_code == 415, resp.text
    error = resp.json()["error"]
    assert error["code"] == "not_an_image" and accepted_names_in(error["message"])
    assert error["message"] == imaging.NOT_ACCEPTED
