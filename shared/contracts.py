"""Message contracts between gateway, detector, embedder and matcher.

One job is one image. It travels gateway -> detector -> embedder -> matcher and
each stage replaces its input by its output: the detector swaps the image for
face crops, the embedder swaps crops for vectors, the matcher answers the
gateway with a :class:`Reply` on the job's reply queue.

Messages are JSON (UTF-8). Binary fields (the image, crops) are base64.
``v`` is the contract version; a consumer refuses a message of another major
version with a clear error instead of misreading it.
"""
from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

CONTRACT_VERSION = 1

# --- topology names ---------------------------------------------------------
DETECT_QUEUE = "faces.detect"
EMBED_QUEUE = "faces.embed"
MATCH_QUEUE = "faces.match"
WORK_QUEUES = (DETECT_QUEUE, EMBED_QUEUE, MATCH_QUEUE)
DEAD_LETTER_EXCHANGE = "faces.dead-letter"
DEAD_LETTER_QUEUE = "faces.dead"
GALLERY_EXCHANGE = "gallery.changes"

# --- job kinds --------------------------------------------------------------
RECOGNIZE = "recognize"
ENROLL = "enroll"
KINDS = (RECOGNIZE, ENROLL)


class ErrorCode:
    """Machine-readable reasons carried by error replies and refused photos."""

    NOT_AN_IMAGE = "not_an_image"
    IMAGE_TOO_LARGE = "image_too_large"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    UNKNOWN_PERSON = "unknown_person"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    BAD_MESSAGE = "bad_message"
    JOB_FAILED = "job_failed"  # kept crashing a worker; moved to the dead-letter queue


class JobError(Exception):
    """A job that cannot be processed for a reason the client must hear about.

    Raised by the pure cores; the worker loop turns it into an error
    :class:`Reply` instead of crashing or retrying.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def encode_array(arr: np.ndarray) -> dict:
    """A uint8 image array as JSON: shape plus base64 of its bytes."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return {"shape": list(arr.shape), "data": _b64(arr.tobytes())}


def decode_array(obj: dict) -> np.ndarray:
    shape = tuple(int(n) for n in obj["shape"])
    data = _unb64(obj["data"])
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size != int(np.prod(shape)):
        raise JobError(ErrorCode.BAD_MESSAGE, "crop data does not match its shape")
    return arr.reshape(shape)


@dataclass
class Face:
    """One face as it moves through the pipeline.

    ``box`` is ``[x, y, w, h]`` in the submitted image. The detector fills
    ``crop`` (an image region around the face) and ``face_box`` (the face inside
    that crop); the embedder replaces them by ``vector`` (L2-normalised).
    """

    box: list[int]
    confidence: float
    landmarks: dict[str, list[int]] = field(default_factory=dict)
    crop: dict | None = None
    face_box: list[int] | None = None
    vector: list[float] | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, obj: dict) -> "Face":
        return cls(
            box=[int(n) for n in obj["box"]],
            confidence=float(obj["confidence"]),
            landmarks=obj.get("landmarks") or {},
            crop=obj.get("crop"),
            face_box=obj.get("face_box"),
            vector=obj.get("vector"),
        )


@dataclass
class Job:
    """A unit of work: one image, for recognition or for enrollment of one person.

    ``enroll`` holds ``rollNo``, ``filename`` and ``photo_hash`` for enrollment.
    ``image`` is set until the detector ran, ``faces`` after it; ``model`` names
    the embedding model once the embedder ran.
    """

    kind: str
    reply_to: str
    correlation_id: str
    deadline: float
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    image: bytes | None = None
    faces: list[Face] | None = None
    model: str | None = None
    enroll: dict | None = None
    v: int = CONTRACT_VERSION

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) > self.deadline

    def to_bytes(self) -> bytes:
        obj: dict[str, Any] = {
            "v": self.v,
            "job_id": self.job_id,
            "kind": self.kind,
            "reply_to": self.reply_to,
            "correlation_id": self.correlation_id,
            "deadline": self.deadline,
        }
        if self.image is not None:
            obj["image"] = _b64(self.image)
        if self.faces is not None:
            obj["faces"] = [f.to_dict() for f in self.faces]
        if self.model is not None:
            obj["model"] = self.model
        if self.enroll is not None:
            obj["enroll"] = self.enroll
        return json.dumps(obj, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> "Job":
        try:
            obj = json.loads(body)
            version = int(obj.get("v", 0))
            if version != CONTRACT_VERSION:
                raise JobError(ErrorCode.BAD_MESSAGE, f"unsupported contract version {version}")
            if obj["kind"] not in KINDS:
                raise JobError(ErrorCode.BAD_MESSAGE, f"unknown job kind {obj['kind']!r}")
            return cls(
                v=version,
                job_id=str(obj["job_id"]),
                kind=obj["kind"],
                reply_to=str(obj["reply_to"]),
                correlation_id=str(obj["correlation_id"]),
                deadline=float(obj["deadline"]),
                image=_unb64(obj["image"]) if "image" in obj else None,
                faces=[Face.from_dict(f) for f in obj["faces"]] if "faces" in obj else None,
                model=obj.get("model"),
                enroll=obj.get("enroll"),
            )
        except JobError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise JobError(ErrorCode.BAD_MESSAGE, f"malformed job message: {exc}") from None


@dataclass
class Reply:
    """The pipeline's answer to the gateway, published on the job's reply queue.

    On success ``faces`` holds, per face, ``box``, ``confidence``, ``match``
    (person record or None), ``similarity`` and ``candidates``; for enrollment
    ``enrolled`` tells what was stored. On failure ``error`` is
    ``{"code": ..., "message": ...}``.
    """

    job_id: str
    ok: bool
    faces: list[dict] = field(default_factory=list)
    enrolled: dict | None = None
    error: dict | None = None
    v: int = CONTRACT_VERSION

    @classmethod
    def failure(cls, job_id: str, code: str, message: str) -> "Reply":
        return cls(job_id=job_id, ok=False, error={"code": code, "message": message})

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> "Reply":
        obj = json.loads(body)
        return cls(
            job_id=obj["job_id"],
            ok=bool(obj["ok"]),
            faces=obj.get("faces") or [],
            enrolled=obj.get("enrolled"),
            error=obj.get("error"),
            v=int(obj.get("v", CONTRACT_VERSION)),
        )


@dataclass
class GalleryChange:
    """A change of the gallery, fanned out to every matcher copy.

    ``op`` is ``add`` (one stored vector: ``face_id``, ``rollNo``, ``model``,
    ``vector``) or ``remove`` (all vectors of ``rollNo``).
    """

    op: str
    rollNo: str
    face_id: str | None = None
    model: str | None = None
    vector: list[float] | None = None
    v: int = CONTRACT_VERSION

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> "GalleryChange":
        obj = json.loads(body)
        if obj.get("op") not in ("add", "remove"):
            raise JobError(ErrorCode.BAD_MESSAGE, f"unknown gallery op {obj.get('op')!r}")
        return cls(**obj)
