"""Image decoding and geometry, shared by the gateway's checks and the detector."""
from __future__ import annotations

import hashlib

import cv2
import numpy as np

from shared.contracts import ErrorCode, JobError

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Refuse absurd pixel counts before decoding them (decompression bombs): 50 MP
# is more than any classroom camera produces.
MAX_PIXELS = 50_000_000


def sniff_format(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"`` or None, from the first bytes."""
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PNG_MAGIC):
        return "png"
    return None


def header_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR or a JPEG's SOF marker, without decoding.

    None when the header cannot be read (the decoder then has the last word).
    """
    if data.startswith(PNG_MAGIC) and len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(JPEG_MAGIC):
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


def photo_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes into an RGB uint8 array, or raise ``JobError``."""
    if not data:
        raise JobError(ErrorCode.NOT_AN_IMAGE, "the upload is empty")
    if sniff_format(data) is None:
        raise JobError(ErrorCode.NOT_AN_IMAGE, "not a JPEG or PNG image")
    size = header_dimensions(data)
    if size and size[0] * size[1] > MAX_PIXELS:
        # Checked before decoding: a small file can declare a gigapixel image.
        raise JobError(ErrorCode.IMAGE_TOO_LARGE,
                       f"the image is {size[0]}x{size[1]} pixels; at most {MAX_PIXELS} are accepted")
    buf = np.frombuffer(data, dtype=np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise JobError(ErrorCode.NOT_AN_IMAGE, "the image is corrupt or truncated and cannot be decoded")
    if bgr.shape[0] * bgr.shape[1] > MAX_PIXELS:
        raise JobError(ErrorCode.IMAGE_TOO_LARGE, f"the image has more than {MAX_PIXELS} pixels")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


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
