"""Safe retries: a POST with an Idempotency-Key is carried out once per (employer, key).

The key, a hash of the request and the ids it created are written in the same
transaction as the records, so after a crash either both exist or neither. A repeat
with the same body answers like the first time (re-read through the access rules, with
`Idempotent-Replayed: true`); the same key with another body is refused.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from litestar import Request, Response
from litestar.utils.scope.state import ScopeState

from registry.access import Actor, Gate, Purpose, audited
from registry.runtime import Runtime
from registry.store import Tx
from registry.store.idempotency import StoredOutcome, find_outcome, save_outcome
from schemas.errors import Conflict, FieldError, InvalidInput

__all__ = ["IDEMPOTENCY_HEADER", "Created", "create_once", "create_record"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_KEY = 255
T = TypeVar("T")

# What a create step returns: the response body, the ids it created, the status code.
Created = tuple[T, list[uuid.UUID], int]


def create_once(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    actor: Actor,
    purpose: Purpose,
    *,
    resource_type: str,
    create: Callable[[Tx, Gate], Created[T]],
    replay: Callable[[Tx, Gate, list[uuid.UUID]], T],
) -> Response[T]:
    """Run `create` once per idempotency key, inside one audited write transaction."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 0 < len(key) <= _MAX_KEY:
        raise InvalidInput([FieldError(field=f"header:{IDEMPOTENCY_HEADER}", reason=f"1 to {_MAX_KEY} characters")])
    fingerprint = _fingerprint(request)

    def once(tx: Tx) -> Response[T]:
        previous = find_outcome(tx, employer_id, key) if key else None
        if previous is not None:
            if previous.request_hash != fingerprint:
                raise Conflict(f"{IDEMPOTENCY_HEADER} {key!r} was used for a different request")
            body = replay(tx, gate, previous.resource_ids)
            return Response(body, status_code=previous.status_code, headers={"Idempotent-Replayed": "true"})
        body, ids, status = create(tx, gate)
        if key:
            save_outcome(tx, employer_id, key, StoredOutcome(fingerprint, status, resource_type, ids))
        return Response(body, status_code=status)

    with audited(runtime.db, actor, purpose) as gate:
        employer_id = gate.employer_id()
        return gate.write(runtime.db, once)


class _Record(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


R = TypeVar("R", bound=_Record)


def create_record(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    actor: Actor,
    purpose: Purpose,
    *,
    resource_type: str,
    create: Callable[[Tx, Gate], R],
    read: Callable[[Tx, Gate, uuid.UUID], R],
) -> Response[R]:
    """The common case of `create_once`: one new record (201), replayed by reading it back."""

    def created(tx: Tx, gate: Gate) -> Created[R]:
        record = create(tx, gate)
        return record, [record.id], 201

    def replay(tx: Tx, gate: Gate, ids: list[uuid.UUID]) -> R:
        return read(tx, gate, ids[0])

    return create_once(request, runtime, actor, purpose, resource_type=resource_type, create=created, replay=replay)


def _fingerprint(request: Request[Any, Any, Any]) -> str:
    """Hash of method, path and the raw body (cached by Litestar when it decoded `data`)."""
    body = ScopeState.from_scope(request.scope).body
    raw = body if isinstance(body, bytes) else b""
    return hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + raw).hexdigest()
