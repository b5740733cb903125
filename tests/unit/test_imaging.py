import numpy as np
import pytest

from shared import imaging
from shared.contracts import ErrorCode, JobError


def gradient(h=60, w=80):
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    img[..., 1] = 128
    return img


def test_jpeg_round_trip_decodes_to_rgb():
    img = gradient()
    out = imaging.decode_image(imaging.encode_jpeg(img, quality=100))
    assert out.shape == img.shape
    assert abs(int(out[30, 70, 0]) - int(img[30, 70, 0])) < 8  # red channel stayed red (RGB, not BGR)


@pytest.mark.parametrize("data,code", [
    (b"", ErrorCode.NOT_AN_IMAGE),
    (b"hello, I am a text file", ErrorCode.NOT_AN_IMAGE),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 20, ErrorCode.NOT_AN_IMAGE),  # JPEG header, no image
])
def test_broken_uploads_raise_a_clear_error(data, code):
    with pytest.raises(JobError) as err:
        imaging.decode_image(data)
    assert err.value.code == code


def test_truncated_jpeg_is_refused_or_decoded_never_crashes():
    data = imaging.encode_jpeg(gradient())
    try:
        imaging.decode_image(data[: len(data) // 3])
    except JobError as err:
        assert err.code == ErrorCode.NOT_AN_IMAGE


def test_downscale_keeps_aspect_and_reports_scale():
    small, scale = imaging.downscale(np.zeros((1000, 2000, 3), np.uint8), 500)
    assert small.shape[:2] == (250, 500) and scale == 0.25
    same, one = imaging.downscale(np.zeros((10, 20, 3), np.uint8), 500)
    assert same.shape[:2] == (10, 20) and one == 1.0


def test_expand_box_clips_to_the_image():
    assert imaging.expand_box([10, 10, 20, 20], 0.5, 100, 100) == [0, 0, 40, 40]
    assert imaging.expand_box([80, 80, 20, 20], 0.25, 100, 100) == [75, 75, 25, 25]


def test_crop_with_context_locates_the_face_inside_the_crop():
    img = gradient(200, 200)
    crop, face_box = imaging.crop_with_context(img, [50, 60, 40, 40], 0.5)
    assert crop.shape[:2] == (80, 80)
    x, y, w, h = face_box
    assert (x, y, w, h) == (20, 20, 40, 40)
    assert np.array_equal(crop[y:y + h, x:x + w], img[60:100, 50:90])


def test_side_by_side_pads_to_the_taller_image():
    out = imaging.side_by_side(np.ones((10, 5, 3), np.uint8), np.ones((20, 7, 3), np.uint8))
    assert out.shape == (20, 12, 3)
    assert out[15, 0, 0] == 0 and out[15, 6, 0] == 1


def test_header_dimensions_of_real_encodings():
    img = gradient(37, 53)
    assert imaging.header_dimensions(imaging.encode_jpeg(img)) == (53, 37)
    import cv2
    ok, png = cv2.imencode(".png", img)
    assert imaging.header_dimensions(png.tobytes()) == (53, 37)
    assert imaging.header_dimensions(b"\xff\xd8\xff") is None


def test_decompression_bomb_is_refused_before_decoding():
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    bomb = imaging.PNG_MAGIC + chunk + b"\x00" * 100
    with pytest.raises(JobError) as err:
        imaging.decode_image(bomb)
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE and "100000x100000" in err.value.message
