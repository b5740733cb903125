"""The matcher's enrollment, change and reload steps, with a storage fake
(pure logic: what is stored, announced, answered and held in memory)."""
import time

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from services.matcher.gallery import Gallery
from services.matcher.matcher import Matcher
from shared.contracts import (ENROLL, GALLERY_EXCHANGE, RECOGNIZE, Enrollment, ErrorCode, Face, GalleryChange, Job,
                              JobError)


class FakeStorage:
    """Persons by id, faces by id, a gallery version; ``visible`` scripts what
    successive person look-ups find (True: there, False: erased)."""

    def __init__(self, visible=None):
        self.visible = list(visible or [])
        self.persons = {"p1": {"_id": "p1", "rollNo": "R1", "name": "Ann"}}
        self.faces: dict[str, tuple] = {}
        self.version = 0
        self.down = False

    def _there(self):
        return self.visible.pop(0) if self.visible else True

    def find_person(self, roll_no):
        doc = self.persons.get("p1")
        return doc if doc and doc["rollNo"] == roll_no and self._there() else None

    def person_by_id(self, pid):
        return self.persons.get(pid) if self._there() else None

    def persons_by_id(self, pids):
        if self.down:
            raise ServerSelectionTimeoutError("down")
        return {p: self.persons[p] for p in pids if p in self.persons}

    def store_face(self, model, person, photo_hash, vector, filename):
        fid = f"{model}:{person['_id']}:{photo_hash}"
        new = fid not in self.faces
        self.faces[fid] = (model, fid, person["_id"], list(vector))
        return fid, new

    def delete_face(self, face_id):
        self.faces.pop(face_id, None)

    def face(self, face_id):
        return self.faces.get(face_id)

    def person_ids_by_roll(self, roll_nos):
        return {d["rollNo"]: pid for pid, d in self.persons.items() if d["rollNo"] in roll_nos}

    def thresholds(self, model):
        return {}

    def bump_gallery_version(self):
        self.version += 1
        return self.version

    def gallery_version(self):
        return self.version

    def face_batches(self):  # rows: Gallery.replace_all takes them as well as batches
        return list(self.faces.values())


def enroll_job(photo="h1") -> Job:
    return Job(kind=ENROLL, reply_to="reply", correlation_id="c1", deadline=time.time() + 30, model="m",
               faces=[Face(box=[0, 0, 50, 50], confidence=0.99, vector=[1.0, 0.0])],
               enroll=Enrollment("R1", photo, "a.jpg"))


def recognize_job() -> Job:
    return Job(kind=RECOGNIZE, reply_to="reply", correlation_id="c2", deadline=time.time() + 30, model="m",
               faces=[Face(box=[0, 0, 50, 50], confidence=0.99, vector=[1.0, 0.0])])


def matcher(storage) -> Matcher:
    return Matcher(storage, Gallery(), 0.5, 3)


def test_enrollment_stores_announces_and_answers():
    storage = FakeStorage()
    result = matcher(storage).enroll(enroll_job())
    (change,) = result.also
    assert set(storage.faces) == {"m:p1:h1"}
    assert change.exchange == GALLERY_EXCHANGE
    announced = GalleryChange.from_bytes(change.body)
    assert announced.op == "add" and announced.face_id == "m:p1:h1" and announced.version == 1
    reply = result.reply
    assert reply.ok and reply.enrolled["duplicate"] is False


def test_the_same_photo_again_is_stored_once():
    storage = FakeStorage()
    m = matcher(storage)
    m.enroll(enroll_job())
    again = m.enroll(enroll_job()).reply
    assert again.enrolled["duplicate"] is True and len(storage.faces) == 1


def test_a_person_deleted_while_their_photo_was_in_flight_leaves_no_vector():
    storage = FakeStorage([True, False])  # there when the job starts, gone once the vector is stored
    with pytest.raises(JobError) as err:
        matcher(storage).enroll(enroll_job())
    assert err.value.code == "unknown_person" and storage.faces == {}


def test_an_unknown_person_is_refused_before_anything_is_stored():
    storage = FakeStorage([False])
    with pytest.raises(JobError):
        matcher(storage).enroll(enroll_job())
    assert storage.faces == {}


def test_with_the_database_down_jobs_are_answered_at_once_not_retried():
    storage = FakeStorage()
    m = matcher(storage)
    m.database_ok = False
    with pytest.raises(JobError) as err:
        m.handle(enroll_job())
    assert err.value.code == ErrorCode.DATABASE_UNAVAILABLE and storage.faces == {}
    # recognition of a face whose person is not cached needs the database
    m.database_ok = True
    m.gallery.add("m", "m:p1:h0", "p1", [1.0, 0.0])
    storage.down = True
    with pytest.raises(JobError) as err:
        m.handle(recognize_job())
    assert err.value.code == ErrorCode.DATABASE_UNAVAILABLE and m.database_ok is False


def test_recognition_reads_cached_records_and_a_change_drops_them():
    storage = FakeStorage()
    m = matcher(storage)
    m.gallery.add("m", "m:p1:h0", "p1", [1.0, 0.0])
    assert m.recognize(recognize_job()).faces[0]["match"]["name"] == "Ann"
    storage.persons["p1"]["name"] = "Anna"
    storage.down = True  # cached: no database needed
    assert m.recognize(recognize_job()).faces[0]["match"]["name"] == "Ann"
    storage.down = False
    m.apply(GalleryChange(op="update", person_id="p1", version=1))
    assert m.recognize(recognize_job()).faces[0]["match"]["name"] == "Anna"


def test_a_gallery_change_is_read_from_the_database_not_from_the_message():
    storage = FakeStorage()
    m = matcher(storage)
    m.apply(GalleryChange(op="add", person_id="p1", face_id="m:p1:forged", version=1))
    assert m.gallery.size() == 0  # no such stored face: nothing added
    storage.faces["m:p1:h1"] = ("m", "m:p1:h1", "p1", [0.0, 1.0])
    m.apply(GalleryChange(op="add", person_id="someone-else", face_id="m:p1:h1", version=2))
    assert m.gallery.size() == 0  # the face is not that person's
    m.apply(GalleryChange(op="add", person_id="p1", face_id="m:p1:h1", version=3))
    assert m.gallery.size() == 1


def test_a_missed_change_is_caught_by_the_version_and_reloaded():
    storage = FakeStorage()
    m = matcher(storage)
    m.reload()
    storage.faces["m:p1:h9"] = ("m", "m:p1:h9", "p1", [1.0, 0.0])
    storage.bump_gallery_version()  # stored and counted, but its message was lost
    m.check_version()
    assert m.gallery.size() == 0  # one check of grace: it may be in flight
    m.check_version()
    assert m.gallery.size() == 1 and m.changes.base == 1


class LoadingStorage(FakeStorage):
    """A database read during which gallery changes arrive (as on the change thread)."""

    def __init__(self, stored, during_load):
        super().__init__()
        self.stored, self.during_load = stored, during_load

    def face_batches(self):  # rows: Gallery.replace_all takes them as well as batches
        rows = list(self.stored)  # the database as read before the changes
        self.during_load()
        yield from rows


def test_changes_arriving_during_a_gallery_load_are_applied_on_top_of_it():
    m = None

    def changes():
        m.storage.faces["m:NEW:h"] = ("m", "m:NEW:h", "NEW", [0.0, 1.0])
        m.apply(GalleryChange(op="add", person_id="NEW", face_id="m:NEW:h", version=1))
        m.apply(GalleryChange(op="remove", person_id="OLD", version=2))

    m = matcher(LoadingStorage([("m", "m:OLD:h", "OLD", [1.0, 0.0]), ("m", "m:KEEP:h", "KEEP", [0.6, 0.8])],
                               changes))
    m.reload()
    assert {c.person_id for c in m.gallery.search("m", [0.0, 1.0], 5)} == {"NEW", "KEEP"}
    m.apply(GalleryChange(op="remove", person_id="KEEP", version=3))  # after the load: applied at once
    assert m.gallery.size() == 1


def test_an_enrollment_photo_of_another_enrolled_person_is_refused_unless_forced():
    storage = FakeStorage()
    storage.persons["p2"] = {"_id": "p2", "rollNo": "R2", "name": "Bea"}
    m = matcher(storage)
    m.gallery.add("m", "m:p2:h0", "p2", [1.0, 0.0])  # R2 looks exactly like the photo
    with pytest.raises(JobError) as err:
        m.enroll(enroll_job())
    assert err.value.code == "lookalike" and err.value.details["rollNo"] == "R2" and storage.faces == {}
    forced = Job(**{**enroll_job().__dict__, "enroll": Enrollment("R1", "h1", "a.jpg", force=True)})
    reply = m.enroll(forced).reply
    assert reply.enrolled["lookalike"]["rollNo"] == "R2" and len(storage.faces) == 1


def test_verification_compares_with_the_named_person_only():
    from shared.contracts import MatchScope

    storage = FakeStorage()
    m = matcher(storage)
    m.gallery.add("m", "m:p1:h0", "p1", [0.6, 0.8])
    job = Job(**{**recognize_job().__dict__, "scope": MatchScope(verify="R1")})
    (face,) = m.recognize(job).faces
    assert face["verify_similarity"] == 0.6 and face["threshold"] == 0.5
    job = Job(**{**recognize_job().__dict__, "scope": MatchScope(verify="NOBODY")})
    assert m.recognize(job).faces[0]["verify_similarity"] is None
