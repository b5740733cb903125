"""MongoDB access: persons, their stored face vectors, and the gallery version.

Collections (database ``MONGO_DB``):

* ``persons`` - one document per person. ``_id`` is the person's id, a random
  hex string that is never reused: a rollNo deleted and enrolled again is a new
  person, so a vector of the old one can never match the new one. ``rollNo``
  is unique (index). A person being erased carries ``deleting: true`` until the
  erasure is complete; such a person is invisible to readers.
* ``faces`` - one stored vector per accepted photo and model. ``_id`` is
  ``<model>:<person id>:<photo sha256>``, which makes storing the same photo
  twice (a redelivered job, a re-upload) a no-op. The vector is binary
  float32 (512 bytes for 128-d instead of ~1.2 KB as a list of doubles).
* ``gallery_state`` - ``{_id: "version", n}``: a counter every gallery change
  increments. Each change message carries it; a matcher that sees the counter
  ahead of the changes it received missed one and reloads (see the matcher).

Hot reads are by ``_id``: FerretDB's SQLite backend (the local and test
database) pushes down only filters that are exactly ``{_id: ...}``, and MongoDB
serves them from its primary index.
Works against MongoDB and against FerretDB.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import NamedTuple

import bson
import numpy as np
import pymongo
from bson.binary import Binary
from pymongo.errors import DuplicateKeyError

PERSON_FIELDS = ("rollNo", "name", "fatherName", "department", "contact")
RECORD_FIELDS = PERSON_FIELDS + ("images_count",)
VISIBLE = {"deleting": {"$ne": True}}
# Errors that mean "the database cannot be reached now" (not "the request is wrong").
UNAVAILABLE_ERRORS = (pymongo.errors.ConnectionFailure, pymongo.errors.ServerSelectionTimeoutError)


class DuplicatePerson(Exception):
    pass


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def face_id(model: str, person_id: str, photo_hash: str) -> str:
    return f"{model}:{person_id}:{photo_hash}"


def new_person_id() -> str:
    return uuid.uuid4().hex


def person_id_of(doc: dict) -> str:
    """The id of a person document (older documents have an ObjectId)."""
    return str(doc["_id"])


def record(doc: dict | None) -> dict | None:
    """The public person record: exactly the prototype's fields."""
    if doc is None:
        return None
    out = {k: doc.get(k, "") for k in PERSON_FIELDS}
    out["images_count"] = int(doc.get("images_count", 0))
    return out


def encode_vector(vector) -> Binary:
    return Binary(np.asarray(vector, dtype="<f4").tobytes())


def decode_vector(stored) -> np.ndarray:
    """A stored vector: binary float32, or (older documents) a list of numbers."""
    if isinstance(stored, (bytes, Binary)):
        return np.frombuffer(bytes(stored), dtype="<f4")
    return np.asarray(stored, dtype=np.float32)


FACE_BATCH = 10_000  # documents per batch of a gallery load


class FaceBatch(NamedTuple):
    """Stored faces of one model; ``vectors`` is ``(len(face_ids), dims)`` float32."""

    model: str
    face_ids: list[str]
    person_ids: list[str]
    vectors: np.ndarray


def faces_of_batch(docs: list[dict]) -> list[FaceBatch]:
    """Decoded face documents as batches, one per model and vector size."""
    groups: dict[tuple[str, int], tuple[list, list, list]] = {}
    for d in docs:
        person_id, vector = d.get("person_id"), d.get("vector")
        if person_id is None or vector is None:
            continue
        raw = vector if isinstance(vector, bytes) else np.asarray(vector, "<f4").tobytes()
        ids, persons, vectors = groups.setdefault((d["model"], len(raw)), ([], [], []))
        ids.append(d["_id"])
        persons.append(person_id)
        vectors.append(raw)
    return [FaceBatch(model, ids, persons, np.frombuffer(b"".join(vectors), "<f4").reshape(len(ids), size // 4))
            for (model, size), (ids, persons, vectors) in groups.items()]


class Storage:
    def __init__(self, uri: str, db_name: str, timeout_ms: int = 5000):
        self.client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True)
        self.db = self.client[db_name]
        self.persons = self.db["persons"]
        self.faces = self.db["faces"]
        self.gallery_state = self.db["gallery_state"]

    def ping(self) -> bool:
        try:
            self.client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False

    def ensure_indexes(self) -> None:
        self.persons.create_index([("rollNo", pymongo.ASCENDING)], unique=True, name="rollNo_unique")
        self.persons.create_index([("department", pymongo.ASCENDING)], name="department")
        self.faces.create_index([("person_id", pymongo.ASCENDING), ("model", pymongo.ASCENDING)],
                                name="person_id_model")
        self.faces.create_index([("model", pymongo.ASCENDING)], name="model")
        self._migrate_faces()

    def _migrate_faces(self) -> None:
        """Faces stored before person ids existed get their person's id (once)."""
        for face in self.faces.find({"person_id": {"$exists": False}}, {"rollNo": 1}):
            person = self.persons.find_one({"rollNo": face["rollNo"]}, {"_id": 1})
            if person is None:
                self.faces.delete_one({"_id": face["_id"]})  # an orphan of an erased person
                continue
            self.faces.update_one({"_id": face["_id"]}, {"$set": {"person_id": person_id_of(person)}})

    # -- persons -------------------------------------------------------------
    def create_person(self, fields: dict) -> dict:
        doc = {k: fields.get(k, "") for k in PERSON_FIELDS}
        doc.update(_id=new_person_id(), images_count=0, created_at=now(), updated_at=now())
        try:
            self.persons.insert_one(doc)
        except DuplicateKeyError:
            raise DuplicatePerson(fields["rollNo"]) from None
        return record(doc)

    def find_person(self, roll_no: str) -> dict | None:
        """The whole document of a visible person (with ``_id``), by rollNo."""
        return self.persons.find_one({"rollNo": roll_no, **VISIBLE})

    def person_by_id(self, person_id: str) -> dict | None:
        """The whole document of a visible person, by id (a key lookup)."""
        doc = self.persons.find_one({"_id": person_id})
        return doc if doc is not None and not doc.get("deleting") else None

    def get_person(self, roll_no: str) -> dict | None:
        return record(self.find_person(roll_no))

    def get_persons(self, roll_nos) -> dict[str, dict]:
        roll_nos = list(set(roll_nos))
        if not roll_nos:
            return {}
        return {d["rollNo"]: record(d) for d in self.persons.find({"rollNo": {"$in": roll_nos}, **VISIBLE})}

    def persons_by_id(self, person_ids) -> dict[str, dict]:
        """``{person id: whole document}`` of the visible ones among ``person_ids``."""
        person_ids = list(set(person_ids))
        if not person_ids:
            return {}
        return {person_id_of(d): d for d in self.persons.find({"_id": {"$in": person_ids}, **VISIBLE})}

    def person_ids_by_roll(self, roll_nos) -> dict[str, str]:
        """``{rollNo: person id}`` of the visible people among ``roll_nos``."""
        roll_nos = list(set(roll_nos))
        if not roll_nos:
            return {}
        return {d["rollNo"]: person_id_of(d) for d in self.persons.find({"rollNo": {"$in": roll_nos}, **VISIBLE},
                                                                        {"rollNo": 1})}

    def list_persons(self, department: str | None = None) -> list[dict]:
        query = dict(VISIBLE, **({"department": department} if department else {}))
        return [record(d) for d in self.persons.find(query).sort("rollNo", pymongo.ASCENDING)]

    def update_person(self, roll_no: str, changes: dict) -> dict | None:
        changes = {k: v for k, v in changes.items() if k in PERSON_FIELDS and k != "rollNo"}
        changes["updated_at"] = now()
        self.persons.update_one({"rollNo": roll_no, **VISIBLE}, {"$set": changes})
        return self.get_person(roll_no)

    def erase_person(self, roll_no: str) -> str | None:
        """Erase a person and every stored vector of theirs; returns their id,
        or None when there is no such person.

        Retriable: the person is first marked ``deleting`` (invisible from then
        on), then their vectors go, then the person. A failure part-way leaves
        the mark, and calling this again finishes the job. An enrollment storing
        a vector meanwhile finds the person marked or gone when it checks after
        storing, and removes its vector (see the matcher's ``enroll``).
        """
        doc = self.persons.find_one_and_update({"rollNo": roll_no}, {"$set": {"deleting": True}})
        if doc is None:
            return None
        pid = person_id_of(doc)
        self.faces.delete_many({"person_id": pid})
        self.persons.delete_one({"_id": doc["_id"]})
        return pid

    # -- faces ---------------------------------------------------------------
    def store_face(self, model: str, person: dict, photo_hash: str, vector, filename: str) -> tuple[str, bool]:
        """Store one vector of ``person`` (a person document); returns
        ``(face_id, newly_stored)``. Idempotent."""
        pid = person_id_of(person)
        fid = face_id(model, pid, photo_hash)
        try:
            self.faces.insert_one({
                "_id": fid, "person_id": pid, "rollNo": person["rollNo"], "model": model,
                "vector": encode_vector(vector), "photo_hash": photo_hash, "filename": filename, "created_at": now(),
            })
            return fid, True
        except DuplicateKeyError:
            return fid, False

    def delete_face(self, face_id: str) -> None:
        self.faces.delete_one({"_id": face_id})

    def face(self, face_id: str) -> tuple[str, str, str, np.ndarray] | None:
        """``(model, face_id, person_id, vector)`` of one stored face, by id."""
        d = self.faces.find_one({"_id": face_id}, {"person_id": 1, "model": 1, "vector": 1})
        return (d["model"], d["_id"], d["person_id"], decode_vector(d["vector"])) if d else None

    def sync_images_count(self, person_id: str, attempts: int = 5) -> int:
        """Set ``images_count`` to the number of distinct photos with a stored
        vector, and return it. Called once a request's photos are all stored.

        ``$max`` keeps the count from going down when two requests for one
        person race (photos are never removed one by one, so it only grows).
        FerretDB's SQLite backend applies an update as read-modify-write outside
        a transaction, so two racing updates can lose one: the count is read
        back and written again until it holds.
        """
        count = 0
        for _ in range(attempts):
            count = len({d["photo_hash"] for d in self.faces.find({"person_id": person_id}, {"photo_hash": 1})})
            self.persons.update_one({"_id": person_id}, {"$max": {"images_count": count}, "$set": {"updated_at": now()}})
            stored = self.persons.find_one({"_id": person_id}, {"images_count": 1})
            if stored is None or stored.get("images_count", 0) >= count:
                break
        return count

    def faces_of(self, person_id: str) -> list[dict]:
        """The stored faces of a person, for an export: model, photo hash,
        file name, time, and the vector itself (it is their biometric data)."""
        return [{"model": d["model"], "photo_hash": d["photo_hash"], "filename": d.get("filename", ""),
                 "stored_at": d["created_at"], "vector": [float(x) for x in decode_vector(d["vector"])]}
                for d in self.faces.find({"person_id": person_id})]

    def iter_faces(self):
        """Every stored vector as ``(model, face_id, person_id, vector)``."""
        for batch in self.face_batches():
            yield from zip([batch.model] * len(batch.face_ids), batch.face_ids, batch.person_ids, batch.vectors)

    def face_batches(self, batch_size: int = FACE_BATCH):
        """Every stored vector, as :class:`FaceBatch` es: what a gallery load
        reads (``Gallery.replace_all`` takes them as they are).

        The documents arrive as raw BSON batches of ``batch_size`` with only
        model, person id and vector, are decoded by the C decoder, and the
        vectors of a batch become one matrix with one ``np.frombuffer``: no
        per-row numpy work. A face without a person id (not migrated yet) is
        left out, as before. (FerretDB decodes every whole document it reads,
        projection or not; that, not this loop, is the cost of a load there.)
        """
        projection = {"person_id": 1, "model": 1, "vector": 1}
        for raw in self.faces.find_raw_batches({}, projection, batch_size=batch_size):
            yield from faces_of_batch(bson.decode_all(raw))

    # -- matching settings ---------------------------------------------------
    def thresholds(self, model: str) -> dict:
        """The matching thresholds set at run time for ``model`` (may be empty):
        ``match_threshold``, ``review_floor``."""
        doc = self.gallery_state.find_one({"_id": f"thresholds:{model}"}) or {}
        return {k: float(doc[k]) for k in ("match_threshold", "review_floor") if doc.get(k) is not None}

    def set_thresholds(self, model: str, values: dict) -> dict:
        self.gallery_state.update_one({"_id": f"thresholds:{model}"}, {"$set": dict(values, updated_at=now())},
                                      upsert=True)
        return self.thresholds(model)

    # -- gallery version -----------------------------------------------------
    def bump_gallery_version(self) -> int:
        """Count one gallery change; returns the new version."""
        doc = self.gallery_state.find_one_and_update(
            {"_id": "version"}, {"$inc": {"n": 1}}, upsert=True, return_document=pymongo.ReturnDocument.AFTER)
        return int(doc["n"])

    def gallery_version(self) -> int:
        doc = self.gallery_state.find_one({"_id": "version"})
        return int(doc["n"]) if doc else 0
