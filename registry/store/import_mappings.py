"""Each employer's column mapping of lab files, as JSON (schemas.lab_import.ImportMapping)."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from registry.store.database import Tx

__all__ = ["StoredMapping", "mapping_of", "save_mapping"]


class StoredMapping(msgspec.Struct, frozen=True):
    mapping: str  # JSON, decoded by the service
    updated_by: str
    updated_at: dt.datetime


def mapping_of(tx: Tx, employer_id: uuid.UUID) -> StoredMapping | None:
    return tx.struct(
        StoredMapping,
        "SELECT mapping, updated_by, updated_at FROM import_mappings WHERE employer_id = ?",
        [employer_id],
    )


def save_mapping(tx: Tx, employer_id: uuid.UUID, stored: StoredMapping) -> None:
    """Replace the employer's mapping (a delete and an insert: both stores take them alike)."""
    tx.execute("DELETE FROM import_mappings WHERE employer_id = ?", [employer_id])
    tx.execute(
        "INSERT INTO import_mappings (employer_id, mapping, updated_by, updated_at) VALUES (?, ?, ?, ?)",
        [employer_id, stored.mapping, stored.updated_by, stored.updated_at],
    )
