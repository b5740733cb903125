"""API keys in MongoDB (collection ``api_keys``): created and revoked at run
time, stored as SHA-256 hashes only (``_id``), looked up by hash (a key lookup
on MongoDB and FerretDB alike)."""
from __future__ import annotations

import datetime as dt

from services.gateway.auth import Principal, hash_key, new_key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class KeyExists(Exception):
    pass


class KeyStore:
    def __init__(self, db):
        self.keys = db["api_keys"]

    def create(self, name: str, scope: str) -> tuple[str, dict]:
        """A new key (returned once, never stored) and its public record."""
        if self.keys.find_one({"name": name, "revoked_at": None}) is not None:
            raise KeyExists(name)
        key = new_key()
        doc = {"_id": hash_key(key), "name": name, "scope": scope, "created_at": _now(), "revoked_at": None}
        self.keys.insert_one(doc)
        return key, public(doc)

    def find(self, digest: str) -> Principal | None:
        doc = self.keys.find_one({"_id": digest})
        if doc is None or doc.get("revoked_at") is not None:
            return None
        return Principal(doc["name"], doc["scope"])

    def list(self) -> list[dict]:
        return [public(d) for d in self.keys.find({}).sort("created_at", 1)]

    def revoke(self, name: str) -> bool:
        return self.keys.update_many({"name": name, "revoked_at": None},
                                     {"$set": {"revoked_at": _now()}}).modified_count > 0

    def any_active(self) -> bool:
        return self.keys.find_one({"revoked_at": None}, {"_id": 1}) is not None


def public(doc: dict) -> dict:
    iso = (lambda t: t.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z") if t else None)
    return {"name": doc["name"], "scope": doc["scope"], "created_at": iso(doc["created_at"]),
            "revoked_at": iso(doc.get("revoked_at"))}
