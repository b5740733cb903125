"""The gallery's read model on the real database (shared/storage.py,
``gallery_people``): what a matcher loads equals the stored faces, it is built
once from the faces of a database from before it, kept by the enrollment path,
and an erasure leaves no vector in it. A scratch database, dropped after."""
from __future__ import annotations

import uuid

import numpy as np
import pytest

from shared import config
from shared.storage import Storage, encode_vector, face_id, now, person_id_of


@pytest.fixture
def storage():
    s = Storage(config.load().mongo_uri, f"gallery_read_model_{uuid.uuid4().hex[:8]}")
    yield s
    s.client.drop_database(s.db.name)


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return v / np.linalg.norm(v)


def loaded(storage: Storage) -> dict[str, tuple[str, np.ndarray]]:
    """``{face id: (person id, vector)}`` as a matcher's load reads them."""
    return {f: (p, v) for batch in storage.face_batches()
            for f, p, v in zip(batch.face_ids, batch.person_ids, batch.vectors)}


def stored(storage: Storage) -> dict[str, tuple[str, np.ndarray]]:
    return {d["_id"]: (d["person_id"], np.frombuffer(d["vector"], "<f4")) for d in storage.faces.find({})}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k][0] == b[k][0] and np.array_equal(a[k][1], b[k][1]) for k in a)


def test_a_database_from_before_the_read_model_gets_it_built_once(storage):
    people = [storage.create_person({"rollNo": f"R{i}", "name": f"P {i}"}) for i in range(3)]
    for i, person in enumerate(people):  # faces written as the older code wrote them: no entries
        for photo in range(i + 1):
            pid = person_id_of(storage.find_person(person["rollNo"]))
            storage.faces.insert_one({"_id": face_id("m", pid, f"{photo:064x}"), "person_id": pid,
                                      "rollNo": person["rollNo"], "model": "m",
                                      "vector": encode_vector(unit(10 * i + photo)), "photo_hash": f"{photo:064x}",
                                      "filename": "a.jpg", "created_at": now()})
    assert list(storage.face_batches()) == []
    storage.ensure_indexes()
    assert len(loaded(storage)) == 6 and same(loaded(storage), stored(storage))
    assert all("photos" in e for e in storage.gallery_people.find({}))  # face ids as binary photo hashes
    state = storage.gallery_state.find_one({"_id": "gallery_people"})
    assert state["people"] == 3 and state["vectors"] == 6
    storage.gallery_people.delete_many({})  # built once: a later start does not scan the faces again
    storage.ensure_indexes()
    assert list(storage.face_batches()) == []


def test_enrollment_keeps_the_entry_and_erasure_removes_it(storage):
    storage.ensure_indexes()
    person = storage.find_person(storage.create_person({"rollNo": "E1", "name": "Enrolled"})["rollNo"])
    other = storage.find_person(storage.create_person({"rollNo": "E2", "name": "Other"})["rollNo"])
    for photo in range(3):
        storage.store_face("m", person, f"{photo:064x}", unit(photo), "a.jpg")
    storage.store_face("m2", person, f"{9:064x}", unit(9)[:64] / np.linalg.norm(unit(9)[:64]), "b.jpg")
    storage.store_face("m", other, f"{5:064x}", unit(5), "c.jpg")
    for p in (person, other):
        storage.sync_images_count(person_id_of(p))  # what the gateway does once a request's photos are stored
    assert same(loaded(storage), stored(storage))
    assert {b.model: b.vectors.shape for b in storage.face_batches()} == {"m": (4, 128), "m2": (1, 64)}

    storage.erase_person("E1")
    assert storage.gallery_people.find_one({"_id": person_id_of(person)}) is None
    assert {p for p, _ in loaded(storage).values()} == {person_id_of(other)}
    assert same(loaded(storage), stored(storage))


def test_an_entry_written_after_the_erasure_does_not_outlive_the_person(storage):
    storage.ensure_indexes()
    person = storage.find_person(storage.create_person({"rollNo": "L1", "name": "Late"})["rollNo"])
    storage.store_face("m", person, f"{1:064x}", unit(1), "a.jpg")
    faces = list(storage.faces.find({"person_id": person_id_of(person)}))
    storage.erase_person("L1")
    # A sync that read the faces before the erasure writes its entry after it:
    storage._write_gallery_entry(person_id_of(person), faces)
    storage.sync_images_count(person_id_of(person))  # ... and ends by checking the person is still there
    assert storage.gallery_people.find_one({"_id": person_id_of(person)}) is None


def test_a_rebuild_keeps_no_entry_of_a_person_being_erased(storage):
    storage.ensure_indexes()
    person = storage.find_person(storage.create_person({"rollNo": "D1", "name": "Deleting"})["rollNo"])
    storage.store_face("m", person, f"{1:064x}", unit(1), "a.jpg")
    storage.persons.update_one({"_id": person["_id"]}, {"$set": {"deleting": True}})  # an erasure under way
    assert storage.rebuild_gallery_people() == {"people": 0, "vectors": 1}
    assert list(storage.face_batches()) == []
