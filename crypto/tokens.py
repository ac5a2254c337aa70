"""API keys: shown once, stored only as a hash, looked up by a public key id.

A key is `brk_<key_id>_<secret>`; the secret has 256 bits of entropy, so a single
SHA-256 is enough (a slow password hash protects low-entropy secrets, not these).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import msgspec

__all__ = ["IssuedApiKey", "issue_api_key", "parse_api_key", "verify_api_key"]

_PREFIX = "brk"


class IssuedApiKey(msgspec.Struct, frozen=True):
    key_id: str
    token: str  # give to the client once; never stored
    secret_hash: str  # store this


def issue_api_key() -> IssuedApiKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return IssuedApiKey(key_id=key_id, token=f"{_PREFIX}_{key_id}_{secret}", secret_hash=_hash(secret))


def parse_api_key(token: str) -> tuple[str, str] | None:
    """(key_id, secret), or None when the token is not shaped like one of ours."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or len(parts[1]) != 16 or not parts[2]:
        return None
    return parts[1], parts[2]


def verify_api_key(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(_hash(secret), secret_hash)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
