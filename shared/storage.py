"""MongoDB access: persons and their stored face vectors.

Collections (database ``MONGO_DB``):

* ``persons`` - one document per rollNo (unique index): the prototype's record
  (rollNo, name, fatherName, department, contact, images_count) plus times.
* ``faces`` - one stored vector per accepted photo and model. Its ``_id`` is
  ``<model>:<rollNo>:<photo sha256>``, which makes storing the same photo twice
  (a redelivered job, a re-upload) a no-op.

Works against MongoDB and against FerretDB (the local and test stand-in).
"""
from __future__ import annotations

import datetime as dt

import pymongo
from pymongo.errors import DuplicateKeyError

PERSON_FIELDS = ("rollNo", "name", "fatherName", "department", "contact")
RECORD_FIELDS = PERSON_FIELDS + ("images_count",)


class DuplicatePerson(Exception):
    pass


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def face_id(model: str, roll_no: str, photo_hash: str) -> str:
    return f"{model}:{roll_no}:{photo_hash}"


def record(doc: dict | None) -> dict | None:
    """The public person record: exactly the prototype's fields."""
    if doc is None:
        return None
    out = {k: doc.get(k, "") for k in PERSON_FIELDS}
    out["images_count"] = int(doc.get("images_count", 0))
    return out


class Storage:
    def __init__(self, uri: str, db_name: str, timeout_ms: int = 5000):
        self.client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True)
        self.db = self.client[db_name]
        self.persons = self.db["persons"]
        self.faces = self.db["faces"]

    def ping(self) -> bool:
        try:
            self.client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False

    def ensure_indexes(self) -> None:
        self.persons.create_index([("rollNo", pymongo.ASCENDING)], unique=True, name="rollNo_unique")
        self.persons.create_index([("department", pymongo.ASCENDING)], name="department")
        self.faces.create_index([("rollNo", pymongo.ASCENDING), ("model", pymongo.ASCENDING)], name="rollNo_model")
        self.faces.create_index([("model", pymongo.ASCENDING)], name="model")

    # -- persons -------------------------------------------------------------
    def create_person(self, fields: dict) -> dict:
        doc = {k: fields.get(k, "") for k in PERSON_FIELDS}
        doc.update(images_count=0, created_at=now(), updated_at=now())
        try:
            self.persons.insert_one(doc)
        except DuplicateKeyError:
            raise DuplicatePerson(fields["rollNo"]) from None
        return record(doc)

    def get_person(self, roll_no: str) -> dict | None:
        return record(self.persons.find_one({"rollNo": roll_no}))

    def get_persons(self, roll_nos) -> dict[str, dict]:
        roll_nos = list(set(roll_nos))
        if not roll_nos:
            return {}
        return {d["rollNo"]: record(d) for d in self.persons.find({"rollNo": {"$in": roll_nos}})}

    def list_persons(self, department: str | None = None) -> list[dict]:
        query = {"department": department} if department else {}
        return [record(d) for d in self.persons.find(query).sort("rollNo", pymongo.ASCENDING)]

    def update_person(self, roll_no: str, changes: dict) -> dict | None:
        changes = {k: v for k, v in changes.items() if k in PERSON_FIELDS and k != "rollNo"}
        changes["updated_at"] = now()
        self.persons.update_one({"rollNo": roll_no}, {"$set": changes})
        return self.get_person(roll_no)

    def delete_person(self, roll_no: str) -> bool:
        """Remove the person and every stored vector of theirs.

        The person goes first: an enrollment storing a vector meanwhile either
        stored it before the vectors are deleted here, or finds the person gone
        when it checks after storing (see the matcher's ``enroll``).
        """
        existed = self.persons.delete_one({"rollNo": roll_no}).deleted_count > 0
        self.faces.delete_many({"rollNo": roll_no})
        return existed

    def delete_face(self, face_id: str) -> None:
        self.faces.delete_one({"_id": face_id})

    # -- faces ---------------------------------------------------------------
    def store_face(self, model: str, roll_no: str, photo_hash: str, vector, filename: str) -> tuple[str, bool]:
        """Store one vector; returns ``(face_id, newly_stored)``. Idempotent."""
        fid = face_id(model, roll_no, photo_hash)
        try:
            self.faces.insert_one({
                "_id": fid, "rollNo": roll_no, "model": model, "vector": [float(x) for x in vector],
                "photo_hash": photo_hash, "filename": filename, "created_at": now(),
            })
            return fid, True
        except DuplicateKeyError:
            return fid, False

    def recount_images(self, roll_no: str) -> int:
        """Set ``images_count`` to the number of distinct accepted photos.

        Counting (rather than incrementing) keeps the figure right when a job is
        redelivered after a crash between storing and counting.
        """
        hashes = {d["photo_hash"] for d in self.faces.find({"rollNo": roll_no}, {"photo_hash": 1})}
        self.persons.update_one({"rollNo": roll_no}, {"$set": {"images_count": len(hashes), "updated_at": now()}})
        return len(hashes)

    def iter_faces(self):
        """Every stored vector as ``(model, face_id, rollNo, vector)``."""
        for d in self.faces.find({}, {"rollNo": 1, "model": 1, "vector": 1}):
            yield d["model"], d["_id"], d["rollNo"], d["vector"]
