"""Optional bearer-token authentication of the API. Pure: no Flask here.

``API_TOKENS`` holds comma-separated ``name:token`` pairs, one per operator or
client (``rao:3f9c...,door-camera:77ab...``). Empty, the default, leaves the API
open, as on a developer's machine. Set, every request under ``/api/`` must carry
``Authorization: Bearer <token>``, and the token's name is recorded in the audit
trail of every change it makes: the API holds biometric data of children and
employees, and "who corrected this mark" must not rest on a name anybody can type.
"""
from __future__ import annotations

import hmac

MIN_TOKEN_LENGTH = 16


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


def authenticate(tokens: dict[str, str], authorization: str | None) -> str | None:
    """The name of the token an ``Authorization`` header presents, or None.

    Every token is compared in constant time, so the answer's timing says
    nothing about how much of a guess was right.
    """
    scheme, _, presented = (authorization or "").strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return None
    found = None
    for token, name in tokens.items():
        if hmac.compare_digest(token.encode(), presented.encode()):
            found = name
    return found
