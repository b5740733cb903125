"""API authentication and scopes. Pure: no Flask, no database here.

Every request under ``/api/`` presents ``Authorization: Bearer <key>`` once
authentication is on. A key has a name (recorded in the audit trail of every
change it makes) and a scope:

* ``recognize`` - recognize and check-in only: a door camera or a kiosk;
* ``operator`` - also sessions, corrections, reports, reading people;
* ``admin`` - also people (enroll, edit, erase, export), keys and settings.

Each scope includes the ones before it. Keys live in the database as SHA-256
hashes only (a key is 32 random bytes: a fast hash is enough, and a database
dump yields no usable key) and are created and revoked at run time. Two kinds
come from the environment: ``API_ADMIN_KEY``, the bootstrap admin key, and
``API_TOKENS`` (``name:token,...``), the older full-access tokens. Authentication
is on when any of these exists; then a request without a valid key gets 401,
one whose key lacks the scope 403.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Callable

MIN_TOKEN_LENGTH = 16
SCOPES = ("recognize", "operator", "admin")  # each includes the ones before it
ADMIN = "admin"
BOOTSTRAP_NAME = "bootstrap-admin"
KEY_PREFIX = "atk_"


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the key's name and scope."""

    name: str
    scope: str


def allows(scope: str, required: str) -> bool:
    return SCOPES.index(scope) >= SCOPES.index(required)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_tokens(raw: str) -> dict[str, str]:
    """``{token: name}`` from ``API_TOKENS``; raises ``ValueError`` naming the
    bad entry by its name or position, never by its token."""
    tokens: dict[str, str] = {}
    for position, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
        if not entry:
            continue
        name, sep, token = (part.strip() for part in entry.partition(":"))
        if not sep or not name:
            raise ValueError(f"API_TOKENS entry {position} must be name:token")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"API_TOKENS: the token of {name!r} is shorter than {MIN_TOKEN_LENGTH} characters")
        if token in tokens:
            raise ValueError(f"API_TOKENS: {name!r} and {tokens[token]!r} have the same token")
        tokens[token] = name
    return tokens


def environment_keys(api_tokens: str, admin_key: str) -> dict[str, Principal]:
    """``{hash: principal}`` of the keys from the environment (all admin)."""
    if admin_key and len(admin_key) < MIN_TOKEN_LENGTH:
        raise ValueError(f"API_ADMIN_KEY is shorter than {MIN_TOKEN_LENGTH} characters")
    keys = {hash_key(token): Principal(name, ADMIN) for token, name in parse_tokens(api_tokens).items()}
    if admin_key:
        keys[hash_key(admin_key)] = Principal(BOOTSTRAP_NAME, ADMIN)
    return keys


def presented_key(authorization: str | None) -> str | None:
    scheme, _, key = (authorization or "").strip().partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def authenticate(env_keys: dict[str, Principal], lookup: Callable[[str], Principal | None],
                 authorization: str | None) -> Principal | None:
    """The principal of the key an ``Authorization`` header presents, or None.

    The environment's keys are compared in constant time, every one of them,
    so the answer's timing says nothing about how much of a guess was right;
    database keys are found by their hash (a guess's hash shares nothing
    predictable with a real key's).
    """
    key = presented_key(authorization)
    if key is None:
        return None
    digest = hash_key(key)
    found = None
    for known, principal in env_keys.items():
        if hmac.compare_digest(known, digest):
            found = principal
    return found or lookup(digest)


# The scope each API endpoint needs; an endpoint not listed needs admin.
ROUTE_SCOPES = {
    "api_me": "recognize",
    "openapi.spec": None,  # the API description holds no data
    "persons.recognize": "recognize",
    "persons.verify": "recognize",
    "attendance.checkin": "recognize",
    "persons.list_persons": "operator",
    "persons.get_person": "operator",
}
OPERATOR_BLUEPRINTS = ("attendance",)  # everything else of attendance: operator


def required_scope(endpoint: str | None) -> str | None:
    """The scope an endpoint needs (None: none at all)."""
    if endpoint in ROUTE_SCOPES:
        return ROUTE_SCOPES[endpoint]
    if endpoint and endpoint.split(".", 1)[0] in OPERATOR_BLUEPRINTS:
        return "operator"
    return ADMIN
