"""Splitting photo uploads into requests the gateway accepts. Pure.

The gateway refuses a request body larger than its ``MAX_UPLOAD_BYTES``
(10 MiB by default) with 413. A class's enrollment photos straight from a phone
are 2-5 MB each, so the CLI never sends all of a person's photos at once: it
groups them into requests of at most ``DEFAULT_REQUEST_BYTES``, and halves a
group the gateway still refuses (its limit may be set lower). Results of the
requests are merged so the user sees one answer, as if sent at once.
"""
from __future__ import annotations

from pathlib import Path

# Below the gateway's default limit, leaving room for the multipart framing.
DEFAULT_REQUEST_BYTES = 8 * 1024 * 1024

# A photo the gateway refuses as too large even when sent alone.
TOO_LARGE = {"code": "too_large", "message": "the photo is larger than the gateway accepts"}


def batches(paths: list[Path], max_bytes: int = DEFAULT_REQUEST_BYTES) -> list[list[Path]]:
    """Consecutive groups of ``paths`` whose sizes add up to at most ``max_bytes``.

    Order is kept. A file larger than ``max_bytes`` travels alone (the gateway
    then decides whether it is too large).
    """
    groups: list[list[Path]] = []
    current: list[Path] = []
    size = 0
    for path in paths:
        n = path.stat().st_size
        if current and size + n > max_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(path)
        size += n
    if current:
        groups.append(current)
    return groups


def halves(group: list[Path]) -> list[list[Path]]:
    middle = len(group) // 2
    return [group[:middle], group[middle:]]


def merge_enrollments(results) -> dict:
    """``{"person", "images"}`` from ``(group, answer)`` pairs of several
    enrollment requests; ``answer`` None is a single photo refused as too large."""
    person, images = None, []
    for group, answer in results:
        if answer is None:
            images.append({"filename": group[0].name, "accepted": False, "reason": "image too large",
                           "code": TOO_LARGE["code"], "detail": TOO_LARGE["message"]})
        else:
            person = answer["person"]
            images += answer["images"]
    return {"person": person, "images": images}


def merge_checkins(answers: list[dict]) -> dict:
    """One check-in answer from the answers of several requests to one session.

    A person marked by an earlier request and seen again later is reported once,
    as marked; people off the roster are listed once; unknown faces add up.
    """
    marked: list[dict] = []
    already: set[str] = set()
    off_roster: dict[str, dict] = {}
    photos: list[dict] = []
    unknown = 0
    for answer in answers:
        marked += answer.get("marked", [])
        already |= set(answer.get("already_marked", []))
        off_roster.update({p["rollNo"]: p for p in answer.get("not_on_roster", [])})
        photos += answer.get("photos", [])
        unknown += answer.get("unknown_faces", 0)
    already -= {m["rollNo"] for m in marked}
    merged = dict(answers[-1]) if answers else {}
    merged.update(marked=marked, already_marked=sorted(already), not_on_roster=list(off_roster.values()),
                  unknown_faces=unknown, photos=photos)
    return merged
