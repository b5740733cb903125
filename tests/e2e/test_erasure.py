"""Data that must not be lost or kept: erasure under races and retries, matchers
that converge by themselves, rollNos used again, counts under concurrency."""
from __future__ import annotations

import threading
import time

import pymongo
import requests

from dataset.celebrities import photos
from shared import config
from shared.storage import Storage, gallery_entry, person_id_of
from tests.e2e.conftest import ROLL_NOS, largest_face_match

MATCHERS = ("matcher-a", "matcher-b")


def database(stack):
    client = pymongo.MongoClient(stack.env.get("MONGO_URI", "mongodb://127.0.0.1:27017/"), serverSelectionTimeoutMS=5000)
    return client[stack.db]


def vectors(stack, matcher: str) -> float:
    return stack.services[matcher].metric("attendance_gallery_vectors")


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.25)


def stored_faces(db) -> int:
    return db.faces.count_documents({})


def gallery_entry_vectors(db, person_id: str) -> int | None:
    """How many vectors the person's gallery entry (what a matcher loads) holds; None: no entry."""
    entry = db.gallery_people.find_one({"_id": person_id})
    return None if entry is None else sum(entry["counts"])


def every_matcher_holds_the_database(stack, db) -> bool:
    return all(vectors(stack, m) == stored_faces(db) for m in MATCHERS)


def test_an_erasure_cut_short_is_finished_by_a_retry(api, stack, enrolled):
    db = database(stack)
    resp = api.enroll("ERASE-1", "Cut Short", photos("train", "mindy_kaling")[:3])
    assert resp.status_code == 201
    person = db.persons.find_one({"rollNo": "ERASE-1"})
    assert db.faces.count_documents({"person_id": person_id_of(person)}) >= 2
    assert gallery_entry_vectors(db, person_id_of(person)) == db.faces.count_documents({"person_id": person_id_of(person)})
    # The gateway died after marking the person, before removing anything else.
    db.persons.update_one({"_id": person["_id"]}, {"$set": {"deleting": True}})
    assert requests.get(api.url("/persons/ERASE-1"), timeout=10).status_code == 404  # already invisible

    assert requests.delete(api.url("/persons/ERASE-1"), timeout=10).status_code == 204  # the retry
    assert db.faces.count_documents({"person_id": person_id_of(person)}) == 0
    assert gallery_entry_vectors(db, person_id_of(person)) is None
    assert db.persons.find_one({"_id": person["_id"]}) is None
    assert requests.delete(api.url("/persons/ERASE-1"), timeout=10).status_code == 404  # nothing left
    wait_until(lambda: every_matcher_holds_the_database(stack, db), 15, "matchers dropped the vectors")


def test_an_enrollment_in_flight_during_an_erasure_leaves_no_vector_anywhere(api, stack, enrolled):
    db = database(stack)
    assert api.enroll("ERASE-2", "In Flight", photos("train", "mindy_kaling")[:1]).status_code == 201
    person = db.persons.find_one({"rollNo": "ERASE-2"})
    files = [(p.name, p.read_bytes()) for p in photos("train", "mindy_kaling")[1:]]
    adding = threading.Thread(target=lambda: api.add_images("ERASE-2", files))
    adding.start()
    time.sleep(0.4)  # some photos stored, others still in the pipeline
    assert requests.delete(api.url("/persons/ERASE-2"), timeout=30).status_code == 204
    adding.join(timeout=120)
    assert db.faces.count_documents({"person_id": person_id_of(person)}) == 0
    assert gallery_entry_vectors(db, person_id_of(person)) is None  # not even in the matchers' load copy
    wait_until(lambda: every_matcher_holds_the_database(stack, db), 15, "no matcher keeps a vector of ERASE-2")
    for path in photos("val", "mindy_kaling"):
        assert largest_face_match(api.recognize(path.read_bytes())) != "ERASE-2"


def test_a_matcher_that_missed_a_change_converges_by_itself(api, stack, enrolled):
    """A vector stored and counted whose message never went out (a publisher
    that died in between): every matcher notices by the gallery version."""
    db = database(stack)
    person = db.persons.find_one({"rollNo": ROLL_NOS["madonna"]})
    face = db.faces.find_one({"person_id": person_id_of(person)})
    before = {m: vectors(stack, m) for m in MATCHERS}
    lost = dict(face, _id=face["_id"] + "-lost", photo_hash=face["photo_hash"] + "-lost")
    storage = Storage(config.load().mongo_uri, stack.db)
    db.faces.insert_one(lost)
    storage.sync_images_count(person_id_of(person))  # counted, and in the gallery entry a load reads
    db.gallery_state.update_one({"_id": "version"}, {"$inc": {"n": 1}}, upsert=True)
    try:
        wait_until(lambda: all(vectors(stack, m) == before[m] + 1 for m in MATCHERS), 30,
                   "both matchers reloaded the missed change")
    finally:
        db.faces.delete_one({"_id": lost["_id"]})
        faces = list(db.faces.find({"person_id": person_id_of(person)}))
        db.gallery_people.replace_one({"_id": person_id_of(person)}, gallery_entry(person_id_of(person), faces))
        db.persons.update_one({"_id": person["_id"]}, {"$set": {"images_count": person["images_count"]}})
        db.gallery_state.update_one({"_id": "version"}, {"$inc": {"n": 1}})
    wait_until(lambda: all(vectors(stack, m) == before[m] for m in MATCHERS), 30, "and the removal")


def test_a_forged_gallery_message_changes_no_answer(api, stack, enrolled):
    """A gallery change names a face; the matcher reads it from the database.
    A message naming one person with another's face, or a face that does not
    exist, is ignored."""
    import pika

    from shared.contracts import GalleryChange
    from shared.pipeline import GALLERY_EXCHANGE

    db = database(stack)
    madonna = db.persons.find_one({"rollNo": ROLL_NOS["madonna"]})
    elton = db.persons.find_one({"rollNo": ROLL_NOS["elton_john"]})
    elton_face = db.faces.find_one({"person_id": person_id_of(elton)})
    before = {m: vectors(stack, m) for m in MATCHERS}
    conn = pika.BlockingConnection(pika.URLParameters(stack.env["AMQP_URL"]))
    try:
        ch = conn.channel()
        for change in (GalleryChange(op="add", person_id=person_id_of(madonna), face_id=elton_face["_id"]),
                       GalleryChange(op="add", person_id=person_id_of(madonna), face_id="forged:face:id")):
            ch.basic_publish(GALLERY_EXCHANGE, "", change.to_bytes())
    finally:
        conn.close()
    time.sleep(2)
    assert {m: vectors(stack, m) for m in MATCHERS} == before
    for path in photos("val", "elton_john"):
        assert largest_face_match(api.recognize(path.read_bytes())) == ROLL_NOS["elton_john"]


def test_a_rollno_enrolled_again_never_matches_the_old_face(api, stack, enrolled):
    db = database(stack)
    assert api.enroll("REUSED-1", "First Holder", photos("train", "mindy_kaling")[:4]).status_code == 201
    old = db.persons.find_one({"rollNo": "REUSED-1"})
    old_faces = list(db.faces.find({"person_id": person_id_of(old)}))
    assert requests.delete(api.url("/persons/REUSED-1"), timeout=10).status_code == 204
    assert api.enroll("REUSED-1", "Second Holder", photos("train", "ben_afflek")[:3]).status_code == 201
    # The old vectors come back as leftovers (a matcher that missed the
    # erasure, a restored backup): they belong to the old person, not the rollNo.
    db.faces.insert_many(old_faces)
    db.gallery_people.insert_one(gallery_entry(person_id_of(old), old_faces))  # the copy a matcher loads
    db.gallery_state.update_one({"_id": "version"}, {"$inc": {"n": 1}}, upsert=True)
    try:
        wait_until(lambda: every_matcher_holds_the_database(stack, db), 30, "matchers loaded the leftovers")
        for _ in range(2):  # both matchers
            for path in photos("val", "mindy_kaling"):
                assert largest_face_match(api.recognize(path.read_bytes())) != "REUSED-1"
    finally:
        db.faces.delete_many({"_id": {"$in": [f["_id"] for f in old_faces]}})
        db.gallery_people.delete_one({"_id": person_id_of(old)})
        db.gallery_state.update_one({"_id": "version"}, {"$inc": {"n": 1}})
        requests.delete(api.url("/persons/REUSED-1"), timeout=10)


def test_concurrent_enrollments_of_one_person_keep_the_count_right(api, stack, enrolled):
    db = database(stack)
    train = photos("train", "mindy_kaling")  # not enrolled: an enrolled person's photos are refused as lookalikes
    assert api.enroll("COUNT-1", "Counted", train[:1]).status_code == 201
    halves = [[(p.name, p.read_bytes()) for p in train[1::2]], [(p.name, p.read_bytes()) for p in train[2::2]]]
    answers = []
    threads = [threading.Thread(target=lambda h=h: answers.append(api.add_images("COUNT-1", h))) for h in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [a.status_code for a in answers] == [201, 201]
    person = db.persons.find_one({"rollNo": "COUNT-1"})
    stored = len({f["photo_hash"] for f in db.faces.find({"person_id": person_id_of(person)})})
    assert stored >= len(train) - 2  # (a photo without a usable face may be refused)
    assert requests.get(api.url("/persons/COUNT-1"), timeout=10).json()["images_count"] == stored
    assert gallery_entry_vectors(db, person_id_of(person)) == db.faces.count_documents(
        {"person_id": person_id_of(person)})  # racing requests lost no vector of the entry
    # and a redelivered or repeated photo changes nothing
    again = api.add_images("COUNT-1", halves[0][:2])
    assert again.json()["person"]["images_count"] == stored
    requests.delete(api.url("/persons/COUNT-1"), timeout=10)
