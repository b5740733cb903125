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


FACE_BATCH = 1000  # gallery entries (people) per batch of a gallery load


class FaceBatch(NamedTuple):
    """Stored faces of one model; ``vectors`` is ``(len(face_ids), dims)`` float32."""

    model: str
    face_ids: list[str]
    person_ids: list[str]
    vectors: np.ndarray


GALLERY_PEOPLE_VERSION = 2  # bump when the entries' format changes: ensure_indexes rebuilds them
PHOTO_HASH_BYTES = 32  # sha256


def gallery_entry(person_id: str, faces: list[dict]) -> dict:
    """A person's gallery entry from their face documents (``_id``, ``model``,
    ``vector``, ``photo_hash``).

    Flat on purpose (FerretDB decodes a document of scalars and binaries about
    twice as fast as one with an array of sub-documents): per model, in
    ``models``/``counts``/``dims``, its vectors one after the other in the one
    binary ``vectors``, and their face ids as the binary sha256 of each photo
    in ``photos`` (a face id is ``<model>:<person id>:<photo hash>``); where a
    face id is not of that form (an older document), all ids as one string
    ``faces`` instead.
    """
    models: dict[str, list[dict]] = {}
    for d in sorted(faces, key=lambda d: d["_id"]):
        raw = d["vector"] if isinstance(d["vector"], bytes) else np.asarray(d["vector"], "<f4").tobytes()
        same_model = models.setdefault(d["model"], [])
        if same_model and len(raw) != len(same_model[0]["raw"]):
            continue  # vectors of one model differ in size: the first size wins, as in the gallery
        same_model.append({"id": d["_id"], "hash": d.get("photo_hash", ""), "raw": raw})
    rows = [(model, row) for model, rows_of_model in models.items() for row in rows_of_model]
    entry = {"_id": person_id, "n": len(faces), "models": list(models),
             "counts": [len(r) for r in models.values()], "dims": [len(r[0]["raw"]) // 4 for r in models.values()],
             "vectors": Binary(b"".join(row["raw"] for _, row in rows))}
    if all(_canonical(model, person_id, row) for model, row in rows):
        entry["photos"] = Binary(b"".join(bytes.fromhex(row["hash"]) for _, row in rows))
    else:
        entry["faces"] = "\n".join(row["id"] for _, row in rows)
    return entry


def _canonical(model: str, person_id: str, row: dict) -> bool:
    h = row["hash"]
    return len(h) == 2 * PHOTO_HASH_BYTES and row["id"] == face_id(model, person_id, h) and h == h.lower() \
        and all(c in "0123456789abcdef" for c in h)


def batches_of_entries(docs: list[dict]) -> list[FaceBatch]:
    """Gallery entries as batches, one per model and vector size."""
    groups: dict[tuple[str, int], tuple[list, list, list]] = {}
    for d in docs:
        pid, vectors, row, offset = d["_id"], d["vectors"], 0, 0
        photos, explicit = d.get("photos"), d["faces"].split("\n") if d.get("faces") else None
        for model, count, dims in zip(d["models"], d["counts"], d["dims"]):
            ids, persons, parts = groups.setdefault((model, dims), ([], [], []))
            if explicit is not None:
                ids.extend(explicit[row:row + count])
            else:
                ids.extend(face_id(model, pid, photos[k * PHOTO_HASH_BYTES:(k + 1) * PHOTO_HASH_BYTES].hex())
                           for k in range(row, row + count))
            persons.extend([pid] * count)
            parts.append(vectors[offset:offset + count * dims * 4])
            offset += count * dims * 4
            row += count
    return [FaceBatch(model, ids, persons, np.frombuffer(b"".join(parts), "<f4").reshape(len(ids), dims))
            for (model, dims), (ids, persons, parts) in groups.items()]


class Storage:
    def __init__(self, uri: str, db_name: str, timeout_ms: int = 5000):
        self.client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True)
        self.db = self.client[db_name]
        self.persons = self.db["persons"]
        self.faces = self.db["faces"]
        self.gallery_people = self.db["gallery_people"]
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
        state = self.gallery_state.find_one({"_id": "gallery_people"}) or {}
        if state.get("version") != GALLERY_PEOPLE_VERSION:
            built = self.rebuild_gallery_people()
            self.gallery_state.replace_one({"_id": "gallery_people"}, {
                "_id": "gallery_people", "version": GALLERY_PEOPLE_VERSION, "built_at": now(), **built}, upsert=True)

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
        self.gallery_people.delete_one({"_id": pid})
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
        vector, bring the person's ``gallery_people`` entry to their stored
        vectors, and return the count. Called once a request's photos are all
        stored (every path that stores a face ends here).

        ``$max`` keeps the count from going down when two requests for one
        person race (photos are only ever added, until the person is erased),
        and a gallery entry is only replaced by one with more vectors.
        FerretDB's SQLite backend applies an update as read-modify-write outside
        a transaction, so two racing updates can lose one: both are read back
        and written again until they hold.
        """
        count = 0
        for _ in range(attempts):
            faces = list(self.faces.find({"person_id": person_id}, {"photo_hash": 1, "model": 1, "vector": 1}))
            count = len({d["photo_hash"] for d in faces})
            self.persons.update_one({"_id": person_id}, {"$max": {"images_count": count}, "$set": {"updated_at": now()}})
            entry_held = self._write_gallery_entry(person_id, faces)
            stored = self.persons.find_one({"_id": person_id}, {"images_count": 1})
            if stored is None or (stored.get("images_count", 0) >= count and entry_held):
                break
        if self.person_by_id(person_id) is None:
            # Erased meanwhile: the erasure may have deleted the entry before
            # this wrote it; it must not outlive the person.
            self.gallery_people.delete_one({"_id": person_id})
        return count

    # -- the gallery's read model ----------------------------------------------
    # ``gallery_people``: one flat document per person, ``_id`` the person id
    # (its fields: ``gallery_entry``). It is what a matcher loads. FerretDB
    # decodes every stored document it reads, at ~0.1 ms each whatever the
    # projection; a person's ten vectors in one entry load ~4x faster than ten
    # face documents (bench/matcher.py: 1M vectors in 41-49 s instead of 104). ``faces`` stays the record (exports,
    # erasure, counting); this copy is kept by ``sync_images_count``, removed
    # by ``erase_person``, and rebuilt from ``faces`` when its format changes.
    def _write_gallery_entry(self, person_id: str, faces: list[dict]) -> bool:
        """Store ``faces`` (the person's face documents) as their gallery entry
        unless the stored one has as many vectors; whether the stored entry
        now holds at least as many."""
        doc = gallery_entry(person_id, faces)
        stored = self.gallery_people.find_one({"_id": person_id}, {"n": 1})
        if stored is not None and stored.get("n", 0) >= doc["n"]:
            return True
        if not faces:
            return True
        self.gallery_people.replace_one({"_id": person_id}, doc, upsert=True)
        stored = self.gallery_people.find_one({"_id": person_id}, {"n": 1})
        return stored is not None and stored.get("n", 0) >= doc["n"]

    def rebuild_gallery_people(self) -> dict:
        """Build every gallery entry from ``faces`` (once, for a database from
        before them, or to repair one). Returns counts."""
        by_person: dict[str, list[dict]] = {}
        for d in self.faces.find({}, {"person_id": 1, "model": 1, "vector": 1, "photo_hash": 1}):
            if d.get("person_id") is not None:
                by_person.setdefault(d["person_id"], []).append(d)
        self.gallery_people.delete_many({})
        docs = [gallery_entry(pid, faces) for pid, faces in by_person.items()]
        for i in range(0, len(docs), 1000):
            self.gallery_people.insert_many(docs[i:i + 1000])
        # An erasure that ran meanwhile may have deleted an entry before this
        # wrote it: keep only the entries of people still visible.
        visible = {person_id_of(d) for d in self.persons.find(VISIBLE, {"_id": 1})}
        orphans = [pid for pid in by_person if pid not in visible]
        for pid in orphans:
            self.gallery_people.delete_one({"_id": pid})
        return {"people": len(by_person) - len(orphans), "vectors": sum(len(f) for f in by_person.values())}

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
        reads (``Gallery.replace_all`` takes them as they are), from the
        gallery entries (see ``gallery_people`` above).

        The documents arrive as raw BSON batches, are decoded by the C
        decoder, and the vectors of a batch become one matrix per model: no
        per-row numpy work.
        """
        for raw in self.gallery_people.find_raw_batches({}, batch_size=batch_size):
            yield from batches_of_entries(bson.decode_all(raw))

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
