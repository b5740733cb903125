"""Message contracts between gateway, detector, embedder and matcher.

One job is one image. It travels through the stages of ``shared/pipeline.py``
(gateway -> detector -> embedder -> matcher) and each stage returns a *new* job
with its output in place of its input: the detector swaps the image for face
crops, the embedder swaps crops for vectors, the matcher answers the gateway
with a :class:`Reply` on the job's reply queue. Every record here is frozen: a
stage cannot change the job another part of the process still holds.

Messages are JSON (UTF-8); binary fields (the image, crops) are base64. ``v`` is
the contract version; a consumer refuses a message of another version, or one
whose fields have the wrong type, with a clear ``bad_message`` error instead of
misreading it (:func:`Job.from_bytes` checks every field).
"""
from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from shared.pipeline import (DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, GALLERY_EXCHANGE,  # noqa: F401 - re-exported
                             STAGES, WORK_QUEUES)

CONTRACT_VERSION = 1

# The stage queues by name, for code and tests that address one stage.
DETECT_QUEUE, EMBED_QUEUE, MATCH_QUEUE = (s.queue for s in STAGES)

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
    DATABASE_UNAVAILABLE = "database_unavailable"  # answered at once, not retried: the client may retry
    LOOKALIKE = "lookalike"  # an enrollment photo matches another enrolled person


class JobError(Exception):
    """A job that cannot be processed for a reason the client must hear about.

    Raised by the pure cores; the worker loop turns it into an error
    :class:`Reply` instead of crashing or retrying. ``details`` carries what a
    client can act on (the lookalike's rollNo and similarity).
    """

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def bad_message(message: str) -> JobError:
    return JobError(ErrorCode.BAD_MESSAGE, message)


# --- field checks for decoding ------------------------------------------------
def _get(obj: dict, key: str, types: type | tuple[type, ...], *, required: bool = True, where: str = "job"):
    """``obj[key]`` if it has one of ``types`` (bool is never a number here)."""
    if key not in obj or obj[key] is None:
        if required:
            raise bad_message(f"{where} has no {key!r}")
        return None
    value = obj[key]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise bad_message(f"{where}.{key} must be {_names(types)}, not a boolean")
    if not isinstance(value, types):
        raise bad_message(f"{where}.{key} must be {_names(types)}, not {type(value).__name__}")
    return value


def _names(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join({int: "an integer", float: "a number", str: "a string", list: "a list",
                        dict: "an object", bool: "a boolean"}.get(t, t.__name__) for t in types)


def _ints(value, length: int | None, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or (length is not None and len(value) != length) \
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        size = f" of {length}" if length is not None else ""
        raise bad_message(f"{where} must be a list{size} of integers")
    return tuple(value)


def _json_object(body: bytes, what: str) -> dict:
    """A message body as a JSON object, or ``bad_message`` saying what is wrong."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_message(f"malformed {what}: not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise bad_message(f"malformed {what}: a JSON {type(obj).__name__}, not an object")
    return obj


def _floats(value, where: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise bad_message(f"{where} must be a list of numbers")
    return tuple(float(x) for x in value)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise bad_message(f"{where} is not base64") from None


def encode_array(arr: np.ndarray) -> dict:
    """A uint8 image array as JSON: shape plus base64 of its bytes."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return {"shape": list(arr.shape), "data": _b64(arr.tobytes())}


def decode_array(obj: dict) -> np.ndarray:
    if not isinstance(obj, dict):
        raise bad_message("a crop must be an object with shape and data")
    shape = _ints(obj.get("shape"), None, "crop.shape")
    data = _unb64(_get(obj, "data", str, where="crop"), "crop.data")
    arr = np.frombuffer(data, dtype=np.uint8)
    if any(n < 0 for n in shape) or arr.size != int(np.prod(shape)):
        raise bad_message("crop data does not match its shape")
    return arr.reshape(shape)


# --- records ------------------------------------------------------------------
@dataclass(frozen=True)
class Enrollment:
    """Whom an enrollment photo is for, and which photo it is (its sha256)."""

    rollNo: str
    photo_hash: str
    filename: str = ""
    force: bool = False  # store it even when it looks like another enrolled person

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: Any) -> "Enrollment":
        if not isinstance(obj, dict):
            raise bad_message("job.enroll must be an object")
        roll_no = _get(obj, "rollNo", str, where="enroll")
        photo_hash = _get(obj, "photo_hash", str, where="enroll")
        if not roll_no or not photo_hash:
            raise bad_message("enroll needs a rollNo and a photo_hash")
        return cls(roll_no, photo_hash, _get(obj, "filename", str, required=False, where="enroll") or "",
                   bool(_get(obj, "force", bool, required=False, where="enroll")))


@dataclass(frozen=True)
class MatchScope:
    """How a recognition is matched, when not against everybody alone.

    ``roster``: the rollNos of a session, matched first (a check-in);
    ``verify``: the rollNo a 1:1 verification compares with;
    ``want_vectors``: the answer carries each face's vector (a check-in keeps
    the vectors of faces that need review, to enroll them if confirmed).
    """

    roster: tuple[str, ...] = ()
    verify: str | None = None
    want_vectors: bool = False

    def to_dict(self) -> dict:
        return {"roster": list(self.roster), "verify": self.verify, "want_vectors": self.want_vectors}

    @classmethod
    def from_dict(cls, obj: Any) -> "MatchScope":
        if not isinstance(obj, dict):
            raise bad_message("job.scope must be an object")
        roster = _get(obj, "roster", list, required=False, where="scope") or []
        if not all(isinstance(r, str) for r in roster):
            raise bad_message("scope.roster must be a list of rollNos")
        return cls(tuple(roster), _get(obj, "verify", str, required=False, where="scope"),
                   bool(_get(obj, "want_vectors", bool, required=False, where="scope")))


@dataclass(frozen=True)
class Face:
    """One face as it moves through the pipeline.

    ``box`` is ``(x, y, w, h)`` in the submitted image. The detector fills
    ``crop`` (an image region around the face) and ``face_box`` (the face inside
    that crop); the embedder replaces them by ``vector`` (L2-normalised).
    """

    box: tuple[int, int, int, int]
    confidence: float
    landmarks: dict[str, tuple[int, int]] = field(default_factory=dict)
    crop: dict | None = None
    face_box: tuple[int, int, int, int] | None = None
    vector: tuple[float, ...] | None = None

    def with_vector(self, vector) -> "Face":
        """This face with its vector in place of its crop."""
        return replace(self, crop=None, face_box=None, vector=tuple(round(float(x), 6) for x in vector))

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"box": list(self.box), "confidence": self.confidence,
                               "landmarks": {k: list(v) for k, v in self.landmarks.items()}}
        if self.crop is not None:
            out["crop"] = self.crop
        if self.face_box is not None:
            out["face_box"] = list(self.face_box)
        if self.vector is not None:
            out["vector"] = list(self.vector)
        return out

    @classmethod
    def from_dict(cls, obj: Any) -> "Face":
        if not isinstance(obj, dict):
            raise bad_message("each face must be an object")
        landmarks = _get(obj, "landmarks", dict, required=False, where="face") or {}
        crop = _get(obj, "crop", dict, required=False, where="face")
        face_box = obj.get("face_box")
        return cls(
            box=_ints(obj.get("box"), 4, "face.box"),
            confidence=float(_get(obj, "confidence", (int, float), where="face")),
            landmarks={str(k): _ints(v, 2, f"face.landmarks.{k}") for k, v in landmarks.items()},
            crop=crop,
            face_box=_ints(face_box, 4, "face.face_box") if face_box is not None else None,
            vector=_floats(obj.get("vector"), "face.vector"),
        )


@dataclass(frozen=True)
class Job:
    """A unit of work: one image, for recognition or for enrollment of one person.

    ``enroll`` says whom the photo is for (enrollment only). ``image`` is set
    until the detector ran, ``faces`` after it; ``model`` names the embedding
    model once the embedder ran. Stages derive new jobs with :meth:`evolve`.
    """

    kind: str
    reply_to: str
    correlation_id: str
    deadline: float
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    image: bytes | None = None
    faces: tuple[Face, ...] | None = None
    model: str | None = None
    enroll: Enrollment | None = None
    scope: MatchScope | None = None
    request_id: str | None = None  # the HTTP request's id: every service logs it with the job
    v: int = CONTRACT_VERSION

    def __post_init__(self):
        if self.faces is not None and not isinstance(self.faces, tuple):
            object.__setattr__(self, "faces", tuple(self.faces))

    def evolve(self, **changes) -> "Job":
        """A copy with ``changes``: how a stage hands on its output."""
        return replace(self, **changes)

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
            obj["enroll"] = self.enroll.to_dict()
        if self.scope is not None:
            obj["scope"] = self.scope.to_dict()
        if self.request_id is not None:
            obj["request_id"] = self.request_id
        return json.dumps(obj, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> "Job":
        """Decode and check a job; any defect raises ``JobError(bad_message)``."""
        obj = _json_object(body, "job message")
        version = obj.get("v", 0)
        if version != CONTRACT_VERSION:
            raise bad_message(f"unsupported contract version {version!r}")
        kind = _get(obj, "kind", str)
        if kind not in KINDS:
            raise bad_message(f"unknown job kind {kind!r}")
        faces = _get(obj, "faces", list, required=False)
        image = _get(obj, "image", str, required=False)
        enroll = obj.get("enroll")
        scope = obj.get("scope")
        return cls(
            v=version,
            job_id=_get(obj, "job_id", str),
            kind=kind,
            reply_to=_get(obj, "reply_to", str),
            correlation_id=_get(obj, "correlation_id", str),
            deadline=float(_get(obj, "deadline", (int, float))),
            image=_unb64(image, "job.image") if image is not None else None,
            faces=tuple(Face.from_dict(f) for f in faces) if faces is not None else None,
            model=_get(obj, "model", str, required=False),
            enroll=Enrollment.from_dict(enroll) if enroll is not None else None,
            scope=MatchScope.from_dict(scope) if scope is not None else None,
            request_id=_get(obj, "request_id", str, required=False),
        )


@dataclass(frozen=True)
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
    def failure(cls, job_id: str, code: str, message: str, details: dict | None = None) -> "Reply":
        error = {"code": code, "message": message}
        if details:
            error["details"] = details
        return cls(job_id=job_id, ok=False, error=error)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> "Reply":
        obj = _json_object(body, "reply")
        return cls(
            job_id=str(_get(obj, "job_id", str, where="reply")),
            ok=bool(_get(obj, "ok", bool, where="reply")),
            faces=_get(obj, "faces", list, required=False, where="reply") or [],
            enrolled=_get(obj, "enrolled", dict, required=False, where="reply"),
            error=_get(obj, "error", dict, required=False, where="reply"),
            v=int(obj.get("v", CONTRACT_VERSION)),
        )


GALLERY_OPS = ("add", "remove", "update", "settings")


@dataclass(frozen=True)
class GalleryChange:
    """A change of the gallery, fanned out to every matcher copy.

    ``op`` is ``add`` (the stored face ``face_id`` of ``person_id``),
    ``remove`` (every face of ``person_id``), ``update`` (the person's record
    changed: cached copies are stale) or ``settings`` (the matching thresholds
    changed; ``person_id`` is empty). It carries no vector: a matcher
    reads the face from the database, the only source it trusts, so a forged
    message can make no face match anybody. ``version`` is the gallery version
    the change made (see ``shared/storage.py``), by which a matcher notices a
    change it never received.
    """

    op: str
    person_id: str
    face_id: str | None = None
    version: int = 0
    v: int = CONTRACT_VERSION

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> "GalleryChange":
        obj = _json_object(body, "gallery change")
        op = obj.get("op")
        if op not in GALLERY_OPS:
            raise bad_message(f"unknown gallery op {op!r}")
        face = _get(obj, "face_id", str, required=op == "add", where="change")
        return cls(op=op, person_id=_get(obj, "person_id", str, where="change"), face_id=face,
                   version=_get(obj, "version", int, required=False, where="change") or 0,
                   v=_get(obj, "v", int, required=False, where="change") or CONTRACT_VERSION)
