"""Per-request dependencies: who is calling (API key), for which purpose, with which runtime."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from crypto import parse_api_key, verify_api_key
from registry.access import Actor, ActorKind, Purpose
from registry.runtime import Runtime
from registry.store import organisations as org_table
from schemas.errors import FieldError, InvalidInput, Unauthenticated

__all__ = ["authenticate", "purpose_of", "runtime_of"]

PURPOSE_HEADER = "X-Purpose"
# An employer's key serves its legal duty to keep the exposure register (Arbobesluit
# art. 4.10c) unless the request states another purpose the role allows.
EMPLOYER_DEFAULT_PURPOSE = Purpose.LEGAL_DUTY


def runtime_of(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def authenticate(request: Request[Any, Any, Any], state: State) -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send your API key as 'Authorization: Bearer <key>'")
    parsed = parse_api_key(token.strip())
    if parsed is None:
        raise Unauthenticated("the API key is not valid")
    key_id, secret = parsed
    with runtime_of(state).db.read() as tx:
        row = org_table.api_key(tx, key_id)
    if row is None or not verify_api_key(secret, row.secret_hash):
        raise Unauthenticated("the API key is not valid")
    if row.revoked_at is not None:
        raise Unauthenticated("the API key was revoked")
    return Actor(kind=ActorKind.EMPLOYER, id=f"key:{key_id}", employer_id=row.employer_id)


def purpose_of(request: Request[Any, Any, Any]) -> Purpose:
    stated = request.headers.get(PURPOSE_HEADER)
    if stated is None:
        return EMPLOYER_DEFAULT_PURPOSE
    try:
        return Purpose(stated.strip().lower())
    except ValueError:
        allowed = ", ".join(p.value for p in Purpose)
        raise InvalidInput(
            [
                FieldError(
                    field=f"header:{PURPOSE_HEADER}",
                    reason=f"unknown purpose {stated!r}; one of: {allowed}",
                )
            ]
        ) from None
