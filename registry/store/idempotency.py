"""Idempotency keys: the first outcome of a request, by (employer, key)."""

from __future__ import annotations

import uuid

import msgspec

from registry.store.database import Tx
from registry.store.organisations import utcnow

__all__ = ["StoredOutcome", "find_outcome", "save_outcome"]


class StoredOutcome(msgspec.Struct, frozen=True):
    request_hash: str
    status_code: int
    resource_type: str
    resource_ids: list[uuid.UUID]


def find_outcome(tx: Tx, employer_id: uuid.UUID, key: str) -> StoredOutcome | None:
    row = tx.one(
        "SELECT request_hash, status_code, resource_type, resource_ids FROM idempotency_keys "
        "WHERE employer_id = ? AND idempotency_key = ?",
        [employer_id, key],
    )
    if row is None:
        return None
    return StoredOutcome(row[0], row[1], row[2], msgspec.json.decode(row[3], type=list[uuid.UUID]))


def save_outcome(tx: Tx, employer_id: uuid.UUID, key: str, outcome: StoredOutcome) -> None:
    tx.execute(
        "INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            employer_id,
            key,
            outcome.request_hash,
            outcome.status_code,
            outcome.resource_type,
            msgspec.json.encode(outcome.resource_ids).decode(),
            utcnow(),
        ],
    )
