"""Medical facts as stored: one ciphertext per recorded version, under the worker record's
data key; the row itself says only which record, who recorded it and when."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import msgspec

from registry.store.database import Tx

__all__ = ["EncryptedFacts", "facts_of_workers", "insert_facts"]


class EncryptedFacts(msgspec.Struct, frozen=True):
    id: uuid.UUID
    worker_id: uuid.UUID
    facts_ct: bytes
    recorded_by: str
    recorded_at: dt.datetime


_COLUMNS = ", ".join(EncryptedFacts.__struct_fields__)


def insert_facts(tx: Tx, facts: EncryptedFacts) -> None:
    f = facts
    tx.execute(
        f"INSERT INTO medical_facts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        [f.id, f.worker_id, f.facts_ct, f.recorded_by, f.recorded_at],
    )


def facts_of_workers(tx: Tx, worker_ids: Sequence[uuid.UUID]) -> list[EncryptedFacts]:
    """Every version recorded for these worker records, oldest recording first."""
    rows = tx.all_in(
        f"SELECT {_COLUMNS} FROM medical_facts WHERE worker_id IN (SELECT id FROM _ids) ORDER BY recorded_at, id",
        worker_ids,
    )
    return [EncryptedFacts(*row) for row in rows]
