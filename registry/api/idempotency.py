"""Safe retries: a POST with an Idempotency-Key is carried out once per (employer, key).

The key, a keyed hash of the request and the ids it created are written in the same
transaction as the records, so after a crash either both exist or neither. A repeat
with the same request answers like the first time (re-read through the access rules, with
`Idempotent-Replayed: true`); the same key with another request is refused. "The same"
means the same JSON once decoded: a client that re-serialises its retry (other key order,
whitespace or escapes) gets the first answer, not a conflict.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import msgspec
from litestar import Request, Response
from litestar.utils.scope.state import ScopeState

from crypto import Vault
from registry.access import Work
from registry.store.idempotency import StoredOutcome, find_outcome, save_outcome
from schemas.errors import Conflict, FieldError, InvalidInput
from schemas.text import refuse_control_characters

__all__ = ["IDEMPOTENCY_HEADER", "Created", "create_once", "create_record"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_KEY = 255
T = TypeVar("T")

# What a create step returns: the response body, the ids it created, the status code.
Created = tuple[T, list[uuid.UUID], int]


def create_once(
    request: Request[Any, Any, Any],
    work: Work,
    *,
    resource_type: str,
    create: Callable[[Work], Created[T]],
    replay: Callable[[Work, list[uuid.UUID]], T],
) -> Response[T]:
    """Run `create` once per idempotency key, inside the unit of work's write transaction."""
    key = _idempotency_key(request)
    fingerprint = _fingerprint(request, work.vault) if key else ""
    employer_id = work.employer_id()

    def once(work: Work) -> Response[T]:
        previous = find_outcome(work.tx, employer_id, key) if key else None
        if previous is not None:
            if previous.request_hash != fingerprint:
                raise Conflict(f"{IDEMPOTENCY_HEADER} {key!r} was used for a different request")
            body = replay(work, previous.resource_ids)
            return Response(body, status_code=previous.status_code, headers={"Idempotent-Replayed": "true"})
        body, ids, status = create(work)
        if key:
            save_outcome(work.tx, employer_id, key, StoredOutcome(fingerprint, status, resource_type, ids))
        return Response(body, status_code=status)

    return work.write(once)


class _Record(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


R = TypeVar("R", bound=_Record)


def create_record(
    request: Request[Any, Any, Any],
    work: Work,
    *,
    resource_type: str,
    create: Callable[[Work], R],
    read: Callable[[Work, uuid.UUID], R],
) -> Response[R]:
    """The common case of `create_once`: one new record (201), replayed by reading it back."""

    def created(work: Work) -> Created[R]:
        record = create(work)
        return record, [record.id], 201

    def replay(work: Work, ids: list[uuid.UUID]) -> R:
        return read(work, ids[0])

    return create_once(request, work, resource_type=resource_type, create=created, replay=replay)


def _idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    try:
        if not 0 < len(key) <= _MAX_KEY:
            raise ValueError(f"1 to {_MAX_KEY} characters")
        return refuse_control_characters(key)
    except ValueError as exc:
        raise InvalidInput([FieldError(field=f"header:{IDEMPOTENCY_HEADER}", reason=str(exc))]) from None


def _fingerprint(request: Request[Any, Any, Any], vault: Vault) -> str:
    """Keyed hash (the blind index's) of method, path and the body in canonical form: decoded
    (Litestar cached the raw body when it decoded `data`, so it is valid JSON) and encoded
    again with sorted keys and no whitespace. Values are kept exactly, so any other
    difference is another request. Keyed, because a body holds a BSN: trying every valid BSN
    against a plain hash, with the rest of the body, would give it away."""
    body = ScopeState.from_scope(request.scope).body
    raw = body if isinstance(body, bytes) else b""
    try:
        canonical = msgspec.json.encode(msgspec.json.decode(raw), order="sorted").decode() if raw else ""
    except msgspec.DecodeError:  # a file (a lab's CSV or xlsx): the same bytes are the same request
        canonical = "sha256:" + hashlib.sha256(raw).hexdigest()
    return vault.blind_index("idempotency-request", f"{request.method} {request.url.path}\n{canonical}")
