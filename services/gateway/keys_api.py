"""HTTP API of API keys (/api/v1/keys): create (the key is shown once), list, revoke."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from services.gateway.auth import SCOPES
from services.gateway.errors import ApiError
from services.gateway.http import json_body, text_field
from services.gateway.key_store import KeyExists, KeyStore
from services.gateway.persons import ROLL_NO


def keys_blueprint(store: KeyStore) -> Blueprint:
    bp = Blueprint("keys", __name__, url_prefix="/api/v1")

    @bp.post("/keys")
    def create_key():
        body = json_body()
        name = text_field(body, "name")
        scope = text_field(body, "scope")
        if not ROLL_NO.match(name):  # the same alphabet: names appear in audit trails and logs
            raise ApiError(400, "bad_field", "name must be 1-64 letters, digits, '.', '_' or '-'")
        if scope not in SCOPES:
            raise ApiError(400, "bad_field", f"scope must be one of {', '.join(SCOPES)}")
        try:
            key, record = store.create(name, scope)
        except KeyExists:
            raise ApiError(409, "duplicate_key", f"an active key named {name} exists; revoke it first") from None
        return jsonify(dict(record, key=key)), 201

    @bp.get("/keys")
    def list_keys():
        return jsonify({"keys": store.list()})

    @bp.delete("/keys/<name>")
    def revoke_key(name):
        if not store.revoke(name):
            raise ApiError(404, "unknown_key", f"no active key named {name}")
        return Response(status=204)

    return bp
