import io
import struct

import cv2
import numpy as np
import pytest
from PIL import Image

from dataset.celebrities import DATASET, photos
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
    ok, png = cv2.imencode(".png", img)
    assert imaging.header_dimensions(png.tobytes()) == (53, 37)
    assert imaging.header_dimensions(b"\xff\xd8\xff") is None


def test_decompression_bomb_is_refused_before_decoding():
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    bomb = imaging.PNG_MAGIC + chunk + b"\x00" * 100
    with pytest.raises(JobError) as err:
        imaging.decode_image(bomb)
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE and "100000x100000" in err.value.message


# --- every accepted format, made here from a real face photo of the data set ----------------------------

FORMATS = ["jpeg", "png", "webp", "gif", "bmp", "tiff", "heif", "avif"]
# Mean absolute difference (0..255) allowed against the original per format:
# 0 for lossless; a palette of 256 colours (GIF) and lossy codecs differ a little.
TOLERANCE = {"jpeg": 3, "png": 0, "webp": 4, "gif": 4, "bmp": 0, "tiff": 0, "heif": 3, "avif": 4}


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    """``im`` saved as ``fmt`` (a key of imaging.ACCEPTED) by Pillow, HEIF by pillow-heif."""
    buf = io.BytesIO()
    if fmt == "heif":
        import pillow_heif

        pillow_heif.from_pillow(im).save(buf, format="HEIF", **params)
    else:
        im.save(buf, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP",
                      "tiff": "TIFF", "avif": "AVIF"}[fmt], **params)
    return buf.getvalue()


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture(scope="module")
def face() -> Image.Image:
    """A real face photo, 200x200 RGB (val photo of the data set)."""
    if not (DATASET / "val").is_dir():
        pytest.skip(f"data set missing at {DATASET}: run scripts/setup.sh")
    return Image.open(photos("val", "madonna")[0]).convert("RGB")


class PixelsDecoded(BaseException):
    """Not an Exception: decode_image's handlers of decoder failures must not catch it."""


@pytest.fixture()
def no_decoding(monkeypatch):
    """Fail the test if any pixel is decoded: OpenCV or any Pillow plugin's load()."""
    import importlib

    from PIL import ImageFile

    def refuse(*args, **kwargs):
        raise PixelsDecoded()

    monkeypatch.setattr(imaging.cv2, "imdecode", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    for module, name in imaging._PLUGINS.values():
        cls = getattr(importlib.import_module(module), name)
        for klass in cls.__mro__:
            if "load" in vars(klass) and klass is not Image.Image:
                monkeypatch.setattr(klass, "load", refuse)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_accepted_format_decodes_to_the_same_photo(face, fmt):
    data = encode(face, fmt)
    assert imaging.sniff_format(data) == fmt
    assert imaging.header_dimensions(data) == face.size
    out = imaging.decode_image(data)
    assert out.dtype == np.uint8 and out.shape == (face.height, face.width, 3)
    assert mean_diff(out, np.asarray(face)) <= TOLERANCE[fmt]


def sideways(upright: Image.Image) -> tuple[Image.Image, bytes]:
    """What a phone stores for ``upright`` held in portrait: the pixels turned a
    quarter to the left, and EXIF orientation 6 (turn right to view)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return upright.transpose(Image.Transpose.ROTATE_90), exif.tobytes()


@pytest.mark.parametrize("fmt", ["jpeg", "jpeg-by-pillow", "png", "webp", "tiff", "heif", "avif"])
def test_exif_orientation_makes_a_sideways_stored_photo_upright(face, fmt, monkeypatch):
    upright = face.crop((20, 0, 180, 200))  # a portrait, 160x200
    stored, exif = sideways(upright)
    assert stored.size == (200, 160)
    if fmt == "jpeg-by-pillow":  # the decoder for JPEGs that OpenCV cannot read
        monkeypatch.setattr(imaging, "_decode_jpeg_opencv", lambda data: None)
        fmt = "jpeg"
    out = imaging.decode_image(encode(stored, fmt, exif=exif))
    assert out.shape == (200, 160, 3)
    assert mean_diff(out, np.asarray(upright)) <= TOLERANCE[fmt] + 1


@pytest.mark.parametrize("mode", ["L", "P", "1", "CMYK", "I;16", "RGBA", "LA", "PA"])
def test_every_colour_mode_becomes_rgb(face, mode):
    if mode == "I;16":  # 16-bit grayscale, as scanners and some cameras save
        gray = np.asarray(face.convert("L")).astype(np.uint16) * 257
        im, expected = Image.fromarray(gray), np.asarray(face.convert("L").convert("RGB"))
    elif mode == "PA":
        im = face.convert("P").convert("PA")
        expected = np.asarray(face.convert("P").convert("RGB"))
    else:
        im = face.convert(mode)
        expected = np.asarray(im.convert("RGB"))
    assert im.mode == mode
    fmt = "tiff" if mode in ("CMYK", "PA") else "png"
    out = imaging.decode_image(encode(im, fmt))
    assert out.dtype == np.uint8 and out.shape == (face.height, face.width, 3)
    assert mean_diff(out, expected) <= 1


def test_a_cmyk_jpeg_becomes_rgb(face):
    out = imaging.decode_image(encode(face.convert("CMYK"), "jpeg"))
    assert out.shape == (face.height, face.width, 3)
    assert mean_diff(out, np.asarray(face)) <= 6


def test_sixteen_bit_rgb_is_scaled_to_eight(face):
    rgb16 = np.asarray(face).astype(np.uint16) * 257
    for ext in (".png", ".tiff"):
        ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
        out = imaging.decode_image(buf.tobytes())
        assert out.dtype == np.uint8 and mean_diff(out, np.asarray(face)) <= 1, ext


@pytest.mark.parametrize("fmt", ["png", "webp", "tiff", "heif", "avif"])
def test_transparency_is_composited_on_white(face, fmt):
    rgba = face.convert("RGBA")
    alpha = np.full((face.height, face.width), 255, np.uint8)
    alpha[:, :50] = 0  # the left quarter fully transparent
    rgba.putalpha(Image.fromarray(alpha))
    out = imaging.decode_image(encode(rgba, fmt))
    assert out.shape == (face.height, face.width, 3)
    assert out[:, :45].min() >= 245  # white, not black (nor the hidden pixels)
    assert mean_diff(out[:, 55:], np.asarray(face)[:, 55:]) <= TOLERANCE[fmt] + 1


def test_a_palette_with_a_transparent_colour_is_composited_on_white(face):
    pal = face.convert("P")
    index = pal.getpixel((0, 0))
    out = imaging.decode_image(encode(pal, "gif", transparency=index))
    assert (out[0, 0] == 255).all()


@pytest.mark.parametrize("fmt", ["gif", "tiff", "webp"])
def test_of_several_frames_the_first_is_decoded(face, fmt):
    black = Image.new("RGB", face.size)
    data = encode(face, fmt, save_all=True, append_images=[black])
    assert Image.open(io.BytesIO(data)).n_frames == 2
    out = imaging.decode_image(data)
    assert mean_diff(out, np.asarray(face)) <= TOLERANCE[fmt] + 2


def test_only_the_first_frame_of_a_many_frame_gif_is_decoded(face, monkeypatch):
    from PIL import GifImagePlugin

    data = encode(face, "gif", save_all=True, append_images=[Image.new("RGB", face.size, (i, 0, 0))
                                                               for i in range(1, 200)])
    seeks = []
    real = GifImagePlugin.GifImageFile._seek
    monkeypatch.setattr(GifImagePlugin.GifImageFile, "_seek",
                        lambda self, frame, *a, **k: (seeks.append(frame), real(self, frame, *a, **k))[1])
    imaging.decode_image(data)
    assert set(seeks) == {0}


# -- headers declaring gigapixel images: refused before a pixel is decoded ---------------------------------

def _jpeg_bomb(data, w, h):
    i = data.index(b"\xff\xc0")  # baseline start of frame: length, precision, height, width
    return data[:i + 5] + struct.pack(">HH", h, w) + data[i + 9:]


def _tiff_bomb(data, w, h):
    data = bytearray(data)
    assert data[:2] == b"II"
    ifd = struct.unpack_from("<I", data, 4)[0]
    for k in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * k
        tag, kind = struct.unpack_from("<HH", data, entry)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG
            struct.pack_into("<H" if kind == 3 else "<I", data, entry + 8, w if tag == 256 else h)
    return bytes(data)


def _webp_vp8x_bomb(data, w, h):
    assert data[12:16] == b"VP8X"  # extended format (here: with EXIF): a 24-bit canvas size
    return data[:24] + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little") + data[30:]


def _webp_vp8_bomb(data, w, h):
    assert data[12:16] == b"VP8 "  # simple lossy: 14-bit sizes after the key frame's start code
    return data[:26] + struct.pack("<HH", w, h) + data[30:]


def _webp_vp8l_bomb(data, w, h):
    assert data[12:16] == b"VP8L"  # simple lossless: 14-bit sizes minus one
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1) | (w - 1) | ((h - 1) << 14)
    return data[:21] + bits.to_bytes(4, "little") + data[25:]


def _ispe_bomb(data, w, h):
    i = data.index(b"ispe")  # HEIF/AVIF image spatial extents: version/flags, width, height
    return data[:i + 8] + struct.pack(">II", w, h) + data[i + 16:]


_ORIENTED = Image.Exif()
_ORIENTED[0x0112] = 1
BOMBS = {
    "jpeg": (lambda face: _jpeg_bomb(encode(face, "jpeg"), 60000, 60000), "60000x60000"),
    "png": (lambda face: encode(face, "png")[:16] + struct.pack(">II", 40000, 40000) + encode(face, "png")[24:],
            "40000x40000"),
    "gif": (lambda face: encode(face, "gif")[:6] + struct.pack("<HH", 60000, 60000) + encode(face, "gif")[10:],
            "60000x60000"),
    "bmp": (lambda face: encode(face, "bmp")[:18] + struct.pack("<ii", 40000, -40000) + encode(face, "bmp")[26:],
            "40000x40000"),
    "tiff": (lambda face: _tiff_bomb(encode(face, "tiff"), 40000, 40000), "40000x40000"),
    "webp-extended": (lambda face: _webp_vp8x_bomb(encode(face, "webp", exif=_ORIENTED.tobytes()), 40000, 40000),
                      "40000x40000"),
    "webp-lossy": (lambda face: _webp_vp8_bomb(encode(face, "webp"), 16383, 16383), "16383x16383"),
    "webp-lossless": (lambda face: _webp_vp8l_bomb(encode(face, "webp", lossless=True), 16384, 16384),
                      "16384x16384"),
    "heif": (lambda face: _ispe_bomb(encode(face, "heif"), 32000, 32000), "32000x32000"),
    # libavif itself refuses more than 16384x16384 when parsing (not_an_image); below that, our limit.
    "avif": (lambda face: _ispe_bomb(encode(face, "avif"), 16000, 16000), "16000x16000"),
}


@pytest.mark.parametrize("kind", BOMBS)
def test_a_header_declaring_a_huge_image_is_refused_before_decoding(face, kind, no_decoding):
    make, size = BOMBS[kind]
    bomb = make(face)
    assert imaging.sniff_format(bomb) == kind.split("-")[0]
    assert "x".join(map(str, imaging.header_dimensions(bomb))) == size
    with pytest.raises(JobError) as err:
        imaging.decode_image(bomb)
    assert err.value.code == ErrorCode.IMAGE_TOO_LARGE and size in err.value.message


# -- what is not an accepted photo ---------------------------------------------------------------------------

OTHER_FILES = {
    "pdf": b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    "mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64,
    "canon-cr3": b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + b"\x00" * 64,
    "text-starting-BM": b"BM is not a bitmap, it is a sentence" + b" " * 30,
    "ico": b"\x00\x00\x01\x00\x01\x00\x10\x10" + b"\x00" * 64,
}


@pytest.mark.parametrize("kind", OTHER_FILES)
def test_another_format_is_refused_naming_the_accepted_ones(kind):
    assert imaging.sniff_format(OTHER_FILES[kind]) is None
    with pytest.raises(JobError) as err:
        imaging.decode_image(OTHER_FILES[kind])
    assert err.value.code == ErrorCode.NOT_AN_IMAGE
    assert err.value.message == imaging.NOT_ACCEPTED
    for name in ("JPEG", "PNG", "WebP", "GIF", "BMP", "TIFF", "HEIC", "HEIF", "AVIF"):
        assert name in err.value.message


@pytest.mark.parametrize("header,fmt", [
    (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heicmiaf", "heif"),  # an iPhone photo
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "heif"),
    (b"\x00\x00\x00\x18ftypheix\x00\x00\x00\x00mif1heix", "heif"),
    (b"\x00\x00\x00\x18ftypmsf1\x00\x00\x00\x00msf1hevc", "heif"),  # a burst (image sequence)
    (b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miafMA1B", "avif"),
    (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", "avif"),  # AV1 inside: not libheif's HEVC
    (b"\x00\x00\x00\x08ftyp", None),  # an ftyp box too short to hold a brand
])
def test_heif_and_avif_are_told_by_their_ftyp_brands(header, fmt):
    assert imaging.sniff_format(header + b"\x00" * 32) == fmt


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's TIFF plugin warns of the tags it skips
@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_or_corrupt_files_give_not_an_image_and_nothing_else(face, fmt):
    data = encode(face, fmt)
    broken = {
        "header only": data[:40],
        "cut at a third": data[: len(data) // 3],
        "cut at two thirds": data[: 2 * len(data) // 3],
        "last byte missing": data[:-1],
        "garbage after the header": data[:40] + bytes(range(256)) * 8,
        "middle overwritten": data[: len(data) // 2] + b"\xff" * 64 + data[len(data) // 2 + 64:],
    }
    for what, bad in broken.items():
        try:
            out = imaging.decode_image(bad)
        except JobError as err:
            assert err.code == ErrorCode.NOT_AN_IMAGE, (what, err)
        else:  # a decoder may fill in what is missing or damaged (libjpeg does): a valid image then
            assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, what
    with pytest.raises(JobError) as err:
        imaging.decode_image(data[: len(data) // 3])
    if fmt != "jpeg":  # libjpeg decodes a truncated JPEG, grey where the data stops
        assert err.value.code == ErrorCode.NOT_AN_IMAGE
