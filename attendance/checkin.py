"""Check-in: attendance marked from photos of who is there.

A door camera or a teacher sends photos. Each goes through recognition; every
roster member recognized is marked present or late by the time of the
check-in, once per session (the store refuses a second mark). People recognized
but not on the roster, and faces nobody matches, are reported, not marked. A
photo that fails - not an image, recognition failed - is reported in its own
entry and the other photos still count: one bad frame must not lose a
classroom's attendance.

Recognition comes in as a *recognizer*: a callable from images to one
:class:`~shared.contracts.Reply` per image, in order. The gateway passes one
that runs the pipeline over RabbitMQ; tests pass a fake. So this module knows
neither HTTP nor the broker.

A check-in is admitted first (the session exists and is open, the time is
inside its window unless forced), and only then are its photos recognized.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from attendance.errors import SessionClosed
from attendance.reviews import open_review, public_review
from attendance.rules import CLOSED, classify_faces, window_of
from attendance.sessions import find_session
from attendance.times import iso, now, parse_time
from shared import imaging
from shared.contracts import ErrorCode, Reply

if TYPE_CHECKING:
    from attendance.store import AttendanceStore

# Recognize the images, the session's roster (rollNos) matched first; one
# Reply per image, in order, each face with its vector (to keep a near miss's).
Recognizer = Callable[[list[bytes], list[str]], list[Reply]]

CHECKIN_BY = "check-in"  # who the audit trail says made a mark from a photo


@dataclass(frozen=True)
class Photo:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Admission:
    """A check-in its session accepts: when it happens and the status it gives."""

    session: dict
    at: dt.datetime
    status: str


@dataclass
class CheckinOutcome:
    """What the photos of one check-in did to a session."""

    session_id: str
    at: dt.datetime
    photos: list[dict]  # per photo: what it was, what it found or why it failed
    marked: list[dict]
    already_marked: list[str]
    not_on_roster: list[dict]
    unknown_faces: int
    needs_review: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"session": self.session_id, "at": iso(self.at), "photos": self.photos, "marked": self.marked,
                "already_marked": self.already_marked, "not_on_roster": self.not_on_roster,
                "unknown_faces": self.unknown_faces, "needs_review": self.needs_review}


class CheckIns:
    def __init__(self, store: AttendanceStore, recognize: Recognizer):
        self.store = store
        self.recognize = recognize

    def admit(self, session_id: str, at=None, force: bool = False) -> Admission:
        """Accept a check-in at ``at`` (an ISO 8601 string or a datetime; now
        when empty), or refuse it: the session is closed, or the time is outside
        its window and ``force`` is not set."""
        session = find_session(self.store, session_id)
        if session.get("status") == CLOSED:
            raise SessionClosed(f"session {session_id} is closed; correct marks by hand instead")
        when = parse_time(at, "at") if at else now()
        window = window_of(session)
        window.check(when, force=force)
        return Admission(session, when, window.status_at(when))

    def record(self, admission: Admission, photos: list[Photo], token: str | None = None) -> CheckinOutcome:
        """Recognize the photos and mark the roster members they show.

        ``token`` names the API token of the request, for the audit trail.
        """
        session_id = admission.session["_id"]
        entries, images = self._screen(photos)
        replies = self.recognize([data for _, data in images], sorted(admission.session["roster"]))
        roster = set(admission.session["roster"])
        outcome = CheckinOutcome(session_id, admission.at, entries, [], [], [], 0)
        already, off_roster, near_misses = set(), {}, []
        for (entry, _), reply in zip(images, replies):
            if not reply.ok:
                entry["error"] = reply.error
                continue
            near_misses += [(entry, face) for face in reply.faces
                            if face.get("review") and face["review"]["rollNo"] in roster]
            on, off, unknown = classify_faces(reply.faces, roster)
            entry.update(faces=len(reply.faces), unknown_faces=unknown,
                         recognized=[p["rollNo"] for p in on], not_on_roster=[p["rollNo"] for p in off])
            outcome.unknown_faces += unknown
            off_roster.update({p["rollNo"]: p for p in off})
            for person in on:
                if self._mark(admission, person, entry, token):
                    outcome.marked.append({"rollNo": person["rollNo"], "name": person["name"],
                                           "status": admission.status, "similarity": person["similarity"],
                                           "photo": entry["filename"]})
                else:
                    already.add(person["rollNo"])
            self.store.log_checkin({"session_id": session_id, "at": admission.at, **entry})
        # Seen in two photos of this check-in: marked by the first, not "already" marked.
        outcome.already_marked = sorted(already - {m["rollNo"] for m in outcome.marked})
        outcome.not_on_roster = list(off_roster.values())
        outcome.needs_review = self._open_reviews(admission, near_misses)
        return outcome

    def _open_reviews(self, admission: Admission, near_misses: list[tuple[dict, dict]]) -> list[dict]:
        """Near misses of roster members without a mark become review items
        (one per person and check-in, the closest face), kept with the face's
        vector so that a confirmation can enroll it."""
        marked = {m["rollNo"] for m in self.store.marks_of_session(admission.session["_id"])}
        best: dict[str, tuple[dict, dict]] = {}
        for entry, face in near_misses:
            roll_no = face["review"]["rollNo"]
            if roll_no not in marked and (roll_no not in best or
                                          face["review"]["similarity"] > best[roll_no][1]["review"]["similarity"]):
                best[roll_no] = (entry, face)
        opened = []
        for roll_no, (entry, face) in sorted(best.items()):
            item = open_review(self.store, admission.session["_id"], entry, face)
            opened.append(public_review(item))
        return opened

    @staticmethod
    def _screen(photos: list[Photo]) -> tuple[list[dict], list[tuple[dict, bytes]]]:
        """One entry per photo; the images worth recognizing, with their entries.
        What is not a photo in an accepted format is refused here, without a trip through the pipeline."""
        entries, images = [], []
        for photo in photos:
            entry = {"filename": photo.filename or "unnamed"}
            entries.append(entry)
            if imaging.sniff_format(photo.data) is None:
                entry["error"] = {"code": ErrorCode.NOT_AN_IMAGE, "message": imaging.NOT_ACCEPTED}
            else:
                entry["photo_hash"] = imaging.photo_hash(photo.data)
                images.append((entry, photo.data))
        return entries, images

    def _mark(self, admission: Admission, person: dict, entry: dict, token: str | None) -> bool:
        """Mark one recognized roster member; False when they already have a mark."""
        mark = {"session_id": admission.session["_id"], "rollNo": person["rollNo"], "status": admission.status,
                "marked_at": admission.at, "similarity": person["similarity"], "photo": entry["filename"],
                "photo_hash": entry["photo_hash"], "source": "photo"}
        return self.store.add_mark(mark, by=CHECKIN_BY, reason=f"recognized in photo {entry['filename']}",
                                   token=token)

    def log(self, session_id: str) -> list[dict]:
        """The check-in log of a session: one entry per recognized photo."""
        find_session(self.store, session_id)
        entries = self.store.checkins_of_session(session_id)
        for e in entries:
            e["at"], e["logged_at"] = iso(e.get("at")), iso(e.get("logged_at"))
        return entries
