"""The matcher's enrollment step, with a storage fake (pure logic: what is
stored, announced and answered)."""
import time

import pytest

from services.matcher.gallery import Gallery
from services.matcher.main import Matcher
from shared.contracts import ENROLL, GALLERY_EXCHANGE, Enrollment, Face, GalleryChange, Job, JobError


class FakeStorage:
    def __init__(self, person_seen: list[bool]):
        self.person_seen = list(person_seen)  # what successive get_person calls find
        self.faces: dict[str, str] = {}

    def get_person(self, roll_no):
        return {"rollNo": roll_no} if self.person_seen.pop(0) else None

    def store_face(self, model, roll_no, photo_hash, vector, filename):
        face_id = f"{model}:{roll_no}:{photo_hash}"
        new = face_id not in self.faces
        self.faces[face_id] = roll_no
        return face_id, new

    def delete_face(self, face_id):
        self.faces.pop(face_id, None)

    def recount_images(self, roll_no):
        return sum(r == roll_no for r in self.faces.values())


def enroll_job() -> Job:
    return Job(kind=ENROLL, reply_to="reply", correlation_id="c1", deadline=time.time() + 30, model="m",
               faces=[Face(box=[0, 0, 50, 50], confidence=0.99, vector=[1.0, 0.0])],
               enroll=Enrollment("R1", "h1", "a.jpg"))


def test_enrollment_stores_announces_and_answers():
    storage = FakeStorage([True, True])
    result = Matcher(storage, Gallery(), None, 3).enroll(enroll_job())
    (change,) = result.also
    assert storage.faces == {"m:R1:h1": "R1"}
    assert change.exchange == GALLERY_EXCHANGE and GalleryChange.from_bytes(change.body).op == "add"
    reply = result.reply
    assert reply.ok and reply.enrolled["images_count"] == 1 and reply.enrolled["duplicate"] is False


def test_a_person_deleted_while_their_photo_was_in_flight_leaves_no_vector():
    storage = FakeStorage([True, False])  # there when the job starts, gone once the vector is stored
    with pytest.raises(JobError) as err:
        Matcher(storage, Gallery(), None, 3).enroll(enroll_job())
    assert err.value.code == "unknown_person" and storage.faces == {}


def test_an_unknown_person_is_refused_before_anything_is_stored():
    storage = FakeStorage([False])
    with pytest.raises(JobError):
        Matcher(storage, Gallery(), None, 3).enroll(enroll_job())
    assert storage.faces == {}


class LoadingStorage:
    """A database read during which gallery changes arrive (as on the connection's thread)."""

    def __init__(self, stored, during_load):
        self.stored, self.during_load = stored, during_load

    def iter_faces(self):
        rows = list(self.stored)  # the database as read before the changes
        self.during_load()
        yield from rows


def test_changes_arriving_during_a_gallery_load_are_applied_on_top_of_it():
    gallery = Gallery()
    matcher = None

    def changes():
        matcher.apply(GalleryChange(op="add", rollNo="NEW", face_id="m:NEW:h", model="m", vector=(0.0, 1.0)))
        matcher.apply(GalleryChange(op="remove", rollNo="OLD"))

    matcher = Matcher(LoadingStorage([("m", "m:OLD:h", "OLD", [1.0, 0.0]), ("m", "m:KEEP:h", "KEEP", [0.6, 0.8])],
                                     changes), gallery, None, 3)
    matcher.reload()
    assert {c.rollNo for c in gallery.search("m", [0.0, 1.0], 5)} == {"NEW", "KEEP"}
    matcher.apply(GalleryChange(op="remove", rollNo="KEEP"))  # after the load: applied at once
    assert gallery.size() == 1
