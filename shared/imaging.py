"""Image decoding and geometry, shared by the gateway's checks and the detector.

Accepted photos: whatever a phone or a camera saves, see ``ACCEPTED``. The
format is told by the first bytes (``sniff_format``), never by a file name or a
content type; the gateway and the check-in only sniff, the detector decodes
(``decode_image``). Pillow and pillow-heif are imported on first decode, so a
service that only sniffs (the gateway) does not need them.
"""
from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np

from shared.contracts import ErrorCode, JobError

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GIF_MAGICS = (b"GIF87a", b"GIF89a")
TIFF_MAGICS = (b"II*\x00", b"MM\x00*")
# ISO base media file format (HEIF, AVIF): an ``ftyp`` box first, whose major
# and compatible brands say what the file holds.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})  # image / image sequence, any codec
AVIF_BRANDS = frozenset({b"avif", b"avis"})
# BMP: the DIB header sizes that exist (core, info, v2..v5); checked because
# "BM" alone is too weak a signature.
BMP_DIB_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})

# sniff_format's answers and the names users know them by, in the order they are listed.
# AVIF is accepted too, though no camera saves it by default: photos saved from
# the web or shared from a gallery app come as AVIF, Pillow's wheel decodes it
# (libavif bundled: no other package), and it shares HEIF's container, so the
# sniffing must tell its brand from HEIF's anyway (see _iso_brand).
ACCEPTED = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
            "heif": "HEIC/HEIF", "avif": "AVIF"}
ACCEPTED_NAMES = ", ".join(ACCEPTED.values())
# What the gateway, the check-in and the detector say about anything else.
NOT_ACCEPTED = f"not an image in an accepted format ({ACCEPTED_NAMES})"

# Refuse absurd pixel counts before decoding them (decompression bombs): 50 MP
# is more than any classroom camera produces.
MAX_PIXELS = 50_000_000


def sniff_format(data: bytes) -> str | None:
    """A key of ``ACCEPTED`` (``"jpeg"``, ``"png"``, ``"webp"``, ``"gif"``,
    ``"bmp"``, ``"tiff"``, ``"heif"``, ``"avif"``) or None, from the first bytes."""
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(GIF_MAGICS) and len(data) >= 13:  # signature and logical screen descriptor
        return "gif"
    if data.startswith(b"BM") and len(data) >= 18 and int.from_bytes(data[14:18], "little") in BMP_DIB_SIZES:
        return "bmp"
    if data.startswith(TIFF_MAGICS) and len(data) >= 8:  # byte order, 42, first IFD's offset
        return "tiff"
    if data[4:8] == b"ftyp":
        return _iso_brand(data)
    return None


def _iso_brand(data: bytes) -> str | None:
    """``"heif"``, ``"avif"`` or None from an ``ftyp`` box.

    A brand that names the codec decides (the major brand first): an AVIF file
    lists ``mif1``, the codec-neutral HEIF brand, too, and its AV1 pictures are
    Pillow's to decode, not libheif's (whose wheel decodes HEVC only). A file
    with nothing but ``mif1``/``msf1`` goes to libheif.
    """
    size = int.from_bytes(data[:4], "big")
    if size < 16:
        return None
    major = data[8:12]
    brands = {major} | {data[i:i + 4] for i in range(16, min(size, len(data)) - 3, 4)}
    if major in HEIF_BRANDS - GENERIC_HEIF_BRANDS:
        return "heif"
    if brands & AVIF_BRANDS:
        return "avif"
    if brands & HEIF_BRANDS:
        return "heif"
    return None


def header_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) that the header declares, without decoding the pixels.

    Read from the bytes for JPEG, PNG, WebP, GIF and BMP; TIFF, HEIF and AVIF
    headers are parsed by their Pillow plugin (which reads no pixel data).
    None when the header cannot be read (the decoder then has the last word).
    """
    fmt = sniff_format(data)
    if fmt is None:
        return None
    size = _byte_header_size(data, fmt)
    if size is not None or fmt not in _HEADER_BY_PLUGIN:
        return size
    try:
        return _open(data, fmt).size
    except Exception:  # noqa: BLE001 - an unreadable header has no dimensions
        return None


def _byte_header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    if fmt == "png":
        if len(data) >= 24 and data[12:16] == b"IHDR":
            return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return None
    if fmt == "jpeg":
        return _jpeg_size(data)
    if fmt == "gif" and len(data) >= 10:  # the logical screen
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if fmt == "bmp" and len(data) >= 26:
        if int.from_bytes(data[14:18], "little") == 12:  # OS/2 core header: 16-bit sizes
            return int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
        width = int.from_bytes(data[18:22], "little", signed=True)
        height = int.from_bytes(data[22:26], "little", signed=True)  # negative: stored top-down
        return abs(width), abs(height)
    if fmt == "webp" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":  # extended: the canvas, 24 bits each, minus one
            return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
        if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy key frame, 14 bits each
            return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                    int.from_bytes(data[28:30], "little") & 0x3FFF)
        if chunk == b"VP8L" and data[20] == 0x2F:  # lossless, 14 bits each, minus one
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """From the first start-of-frame marker."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xDA)):  # markers without a length
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            height = int.from_bytes(data[i + 5:i + 7], "big")
            width = int.from_bytes(data[i + 7:i + 9], "big")
            return width, height
        i += 2 + length
    return None


# Pillow's plugin for each format (module, class). Opening with the sniffed
# format's own plugin means a file is decoded as what its first bytes say, by
# no other plugin, and that the size check below is ours: Pillow's own
# (Image.open's, at 89 and 179 MP) is laxer than MAX_PIXELS.
_PLUGINS = {
    "jpeg": ("PIL.JpegImagePlugin", "JpegImageFile"),
    "png": ("PIL.PngImagePlugin", "PngImageFile"),
    "webp": ("PIL.WebPImagePlugin", "WebPImageFile"),
    "gif": ("PIL.GifImagePlugin", "GifImageFile"),
    "bmp": ("PIL.BmpImagePlugin", "BmpImageFile"),
    "tiff": ("PIL.TiffImagePlugin", "TiffImageFile"),
    "heif": ("pillow_heif.as_plugin", "HeifImageFile"),
    "avif": ("PIL.AvifImagePlugin", "AvifImageFile"),
}
_HEADER_BY_PLUGIN = frozenset({"tiff", "heif", "avif"})


def _plugin(fmt: str):
    """The Pillow image class of ``fmt``. An ImportError is left to propagate: a
    service without Pillow or pillow-heif is badly installed, the photo is fine."""
    import importlib

    module, name = _PLUGINS[fmt]
    return getattr(importlib.import_module(module), name)


def _open(data: bytes, fmt: str):
    """The Pillow image of ``data``: header parsed, no pixels decoded yet."""
    return _plugin(fmt)(io.BytesIO(data))


def photo_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _too_large(size: tuple[int, int]) -> JobError:
    return JobError(ErrorCode.IMAGE_TOO_LARGE,
                    f"the image is {size[0]}x{size[1]} pixels; at most {MAX_PIXELS} are accepted")


def _corrupt(fmt: str) -> JobError:
    return JobError(ErrorCode.NOT_AN_IMAGE,
                    f"the {ACCEPTED[fmt]} image is corrupt or truncated and cannot be decoded")


def decode_image(data: bytes) -> np.ndarray:
    """Decode an accepted photo into an upright RGB uint8 array, or raise ``JobError``.

    ``not_an_image`` for what is empty, not in an accepted format, corrupt or
    truncated; ``image_too_large`` for more than ``MAX_PIXELS`` pixels, told from
    the header before any pixel is decoded. Only the first frame of an animated
    GIF/WebP or a multi-page TIFF is decoded. The EXIF orientation is applied
    (a portrait a phone stored sideways comes out upright) and every colour
    mode becomes RGB: alpha is composited on white, 16-bit is scaled to 8.
    """
    if not data:
        raise JobError(ErrorCode.NOT_AN_IMAGE, "the upload is empty")
    fmt = sniff_format(data)
    if fmt is None:
        raise JobError(ErrorCode.NOT_AN_IMAGE, NOT_ACCEPTED)
    size = _byte_header_size(data, fmt)
    if size and size[0] * size[1] > MAX_PIXELS:
        # Checked before decoding: a small file can declare a gigapixel image.
        raise _too_large(size)
    if fmt == "jpeg":
        # OpenCV decodes a 12-megapixel JPEG twice as fast as Pillow on the
        # project's 2-core machine (62 ms against 123 ms), and applies the EXIF
        # orientation itself.
        rgb = _decode_jpeg_opencv(data)
        if rgb is not None:
            if rgb.shape[0] * rgb.shape[1] > MAX_PIXELS:
                raise JobError(ErrorCode.IMAGE_TOO_LARGE, f"the image has more than {MAX_PIXELS} pixels")
            return rgb
        # What OpenCV cannot read (a JPEG variant it lacks), Pillow may.
    return _decode_pillow(data, fmt)


def _decode_jpeg_opencv(data: bytes) -> np.ndarray | None:
    try:
        rgb = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR_RGB)
    except cv2.error:
        return None
    if rgb is None or rgb.size == 0:
        return None
    return rgb


def _decode_pillow(data: bytes, fmt: str) -> np.ndarray:
    from PIL import Image, ImageOps

    plugin = _plugin(fmt)
    try:
        im = plugin(io.BytesIO(data))
    except Image.DecompressionBombError as err:  # a GIF frame far larger than its screen
        raise JobError(ErrorCode.IMAGE_TOO_LARGE, str(err)) from None
    except Exception:  # noqa: BLE001 - a broken header raises anything from SyntaxError to struct.error
        raise _corrupt(fmt) from None
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise _too_large(im.size)
    if width * height == 0:
        raise _corrupt(fmt)
    try:
        im.load()  # the first frame only: GIF, WebP and TIFF frames are decoded when seeked to
        # In place: without an orientation to apply, no copy of the pixels (and
        # no second decode, which a copy of a WebP costs).
        ImageOps.exif_transpose(im, in_place=True)
        return _to_rgb(im)
    except JobError:
        raise
    except Image.DecompressionBombError as err:
        raise JobError(ErrorCode.IMAGE_TOO_LARGE, str(err)) from None
    except Exception:  # noqa: BLE001 - decoders fail with OSError, ValueError, SyntaxError, ...
        raise _corrupt(fmt) from None


def _to_rgb(im) -> np.ndarray:
    """Pillow image of any mode -> RGB uint8 array (alpha on white, 16-bit scaled)."""
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return np.array(im)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # 16-bit grayscale (PNG, TIFF)
        gray = np.clip(np.asarray(im).astype(np.int64), 0, None)
        if mode == "I" and gray.max(initial=0) > 0xFFFF:  # 32-bit integers: their own range
            gray = gray * 255 // int(gray.max())
        else:
            gray = gray >> 8
        return np.repeat(gray.astype(np.uint8)[..., None], 3, axis=2)
    if mode == "F":  # floating point TIFF: 0..1 or 0..255
        gray = np.asarray(im, dtype=np.float32)
        if gray.max(initial=0.0) <= 1.0:
            gray = gray * 255.0
        return np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    if "A" in mode or "a" in mode or "transparency" in im.info:  # RGBA, LA, PA, P/L/RGB with tRNS
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.array(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.array(im.convert("RGB"))  # P, L, 1, CMYK, YCbCr, ...


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the longer side is at most ``max_side``; returns (image, scale)."""
    h, w = image.shape[:2]
    longest = max(h, w)
    if max_side <= 0 or longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return small, scale


def expand_box(box, fraction: float, width: int, height: int) -> list[int]:
    """``[x, y, w, h]`` grown by ``fraction`` of its larger side on every side,
    clipped to a ``width`` x ``height`` image."""
    x, y, w, h = box
    pad = fraction * max(w, h)
    x0 = max(0, int(round(x - pad)))
    y0 = max(0, int(round(y - pad)))
    x1 = min(width, int(round(x + w + pad)))
    y1 = min(height, int(round(y + h + pad)))
    return [x0, y0, max(0, x1 - x0), max(0, y1 - y0)]


def crop_with_context(image: np.ndarray, box, context: float) -> tuple[np.ndarray, list[int]]:
    """Cut the face ``box`` with ``context`` (fraction of the box) around it.

    Returns the crop and the face box in crop coordinates, so that a later stage
    can apply the margin its model was trained with.
    """
    h, w = image.shape[:2]
    cx, cy, cw, ch = expand_box(box, context, w, h)
    crop = image[cy:cy + ch, cx:cx + cw].copy()
    x, y, bw, bh = box
    face_box = [int(x - cx), int(y - cy), int(bw), int(bh)]
    return crop, face_box


def shrink_crop(crop: np.ndarray, face_box, face_px: int) -> tuple[np.ndarray, list[int]]:
    """Scale ``crop`` down so the face's larger side is at most ``face_px``
    (never up); the face box is scaled with it."""
    x, y, w, h = face_box
    scale = face_px / max(w, h, 1)
    if scale >= 1.0:
        return crop, list(face_box)
    ch, cw = crop.shape[:2]
    small = cv2.resize(crop, (max(1, round(cw * scale)), max(1, round(ch * scale))), interpolation=cv2.INTER_AREA)
    return small, [int(round(v * scale)) for v in (x, y, w, h)]


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two images next to each other on one canvas (same height, padded)."""
    height = max(left.shape[0], right.shape[0])

    def pad(img):
        out = np.zeros((height, img.shape[1], 3), dtype=np.uint8)
        out[: img.shape[0], :] = img
        return out

    return np.concatenate([pad(left), pad(right)], axis=1)


def encode_jpeg(image_rgb: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
