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

from registry.access import Work
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
    work: Work,
    *,
    resource_type: str,
    create: Callable[[Work], Created[T]],
    replay: Callable[[Work, list[uuid.UUID]], T],
) -> Response[T]:
    """Run `create` once per idempotency key, inside the unit of work's write transaction."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 0 < len(key) <= _MAX_KEY:
        raise InvalidInput([FieldError(field=f"header:{IDEMPOTENCY_HEADER}", reason=f"1 to {_MAX_KEY} characters")])
    fingerprint = _fingerprint(request)
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


def _fingerprint(request: Request[Any, Any, Any]) -> str:
    """Hash of method, path and the raw body (cached by Litestar when it decoded `data`)."""
    body = ScopeState.from_scope(request.scope).body
    raw = body if isinstance(body, bytes) else b""
    return hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + raw).hexdigest()
