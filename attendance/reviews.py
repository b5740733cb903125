"""Near misses for a person to decide: the review queue of a session.

A check-in face whose best roster member is below the match threshold but
close (the matcher's review floor and margin) is not silently absent: it
becomes an open review item with the candidate, the similarity, the photo and
the face's box. An operator confirms it (the person is marked, audited like a
correction; optionally the face becomes a new enrollment photo of theirs) or
rejects it (audited too). The face's vector is kept only while the item is
open: it is biometric data, and a decided item needs none.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import TYPE_CHECKING, Callable

from bson.binary import Binary

from attendance.errors import ReviewDecided, UnknownReview
from attendance.rules import MARK_STATUSES, PRESENT
from attendance.sessions import find_session
from attendance.times import iso, now

if TYPE_CHECKING:
    from attendance.store import AttendanceStore

OPEN, CONFIRMED, REJECTED = "open", "confirmed", "rejected"


def open_review(store: AttendanceStore, session_id: str, entry: dict, face: dict) -> dict:
    """Store one near miss of a check-in photo as an open review item."""
    import numpy as np

    review = face["review"]
    vector = face.get("vector")
    item = {
        "_id": uuid.uuid4().hex[:12], "session_id": session_id, "rollNo": review["rollNo"], "name": review["name"],
        "similarity": review["similarity"], "photo": entry["filename"], "photo_hash": entry.get("photo_hash"),
        "box": list(face["box"]), "confidence": face.get("confidence"), "model": face.get("model"),
        "vector": Binary(np.asarray(vector, dtype="<f4").tobytes()) if vector else None,
        "status": OPEN, "created_at": now(),
    }
    store.reviews.insert_one(item)
    return item


def public_review(item: dict) -> dict:
    return {"id": item["_id"], "rollNo": item["rollNo"], "name": item["name"], "similarity": item["similarity"],
            "photo": item["photo"], "box": item["box"], "status": item["status"],
            "created_at": iso(item.get("created_at")), "decided_at": iso(item.get("decided_at")),
            "decided_by": item.get("decided_by"), "reason": item.get("reason"),
            "enrolled": item.get("enrolled")}


def reviews_of(store: AttendanceStore, session_id: str, status: str | None = OPEN) -> list[dict]:
    find_session(store, session_id)
    query = {"session_id": session_id, **({"status": status} if status else {})}
    return [public_review(r) for r in store.reviews.find(query).sort("created_at", 1)]


def _open_item(store: AttendanceStore, session_id: str, review_id: str) -> dict:
    find_session(store, session_id)
    item = store.reviews.find_one({"_id": review_id})
    if item is None or item["session_id"] != session_id:
        raise UnknownReview(f"no review {review_id} in session {session_id}")
    if item["status"] != OPEN:
        raise ReviewDecided(f"review {review_id} was already {item['status']}")
    return item


def face_photo_hash(item: dict) -> str:
    """An id for one face of a photo (a group photo holds many): the photo's hash and the box."""
    return hashlib.sha256(f"{item['photo_hash']}:{item['box']}".encode()).hexdigest()


# enroll(rollNo, model, vector, photo_hash, filename, box, confidence) -> None, or why the face was not enrolled
Enroller = Callable[..., "str | None"]


def confirm(store: AttendanceStore, session_id: str, review_id: str, by: str, reason: str, token: str | None,
            status: str = PRESENT, enroll: Enroller | None = None) -> dict:
    """The face was that person: mark them (audited, source ``review``) and,
    with ``enroll``, add the face to their enrollment photos."""
    import numpy as np

    if status not in MARK_STATUSES:
        raise ValueError(status)
    item = _open_item(store, session_id, review_id)
    mark = {"session_id": session_id, "rollNo": item["rollNo"], "status": status, "marked_at": item["created_at"],
            "similarity": item["similarity"], "photo": item["photo"], "photo_hash": item["photo_hash"],
            "source": "review"}
    replaced = store.set_mark(mark, by=by, reason=f"review {review_id} confirmed: {reason}", token=token)
    enrolled, refused = False, None
    if enroll is not None:
        if item.get("vector") is None or not item.get("model"):
            refused = "the face's vector was not kept"
        else:
            vector = np.frombuffer(bytes(item["vector"]), dtype="<f4")
            refused = enroll(item["rollNo"], item["model"], vector, face_photo_hash(item), item["photo"],
                             item["box"], item.get("confidence"))
            enrolled = refused is None
    _decide(store, item, CONFIRMED, by, reason, enrolled=enrolled)
    return {"review": public_review(store.reviews.find_one({"_id": review_id})), "replaced": replaced,
            "enrolled": enrolled, "enroll_refused": refused}


def reject(store: AttendanceStore, session_id: str, review_id: str, by: str, reason: str,
           token: str | None) -> dict:
    """The face was not that person: nothing is marked; the decision is audited."""
    item = _open_item(store, session_id, review_id)
    store.audit_event(session_id, item["rollNo"], "review_rejected", by, token,
                      f"review {review_id} rejected: {reason}")
    _decide(store, item, REJECTED, by, reason)
    return {"review": public_review(store.reviews.find_one({"_id": review_id}))}


def _decide(store: AttendanceStore, item: dict, status: str, by: str, reason: str, **extra) -> None:
    store.reviews.update_one({"_id": item["_id"]}, {
        "$set": {"status": status, "decided_at": dt.datetime.now(dt.timezone.utc), "decided_by": by,
                 "reason": reason, **extra},
        "$unset": {"vector": ""}})
