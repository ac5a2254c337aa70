"""Limit values as stored: each import is one batch, never partly applied."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import msgspec

from registry.store.database import Tx
from schemas.limits import LimitValue

__all__ = ["batches", "insert_limits", "limit_values"]

_FIELDS = list(LimitValue.__struct_fields__)


def insert_limits(tx: Tx, limits: Sequence[LimitValue], batch: str) -> None:
    now = dt.datetime.now(dt.UTC)
    columns: dict[str, list[object]] = {"id": [str(uuid.uuid4()) for _ in limits]}
    for name in _FIELDS:
        columns[name] = [getattr(limit, name) for limit in limits]
    columns["import_batch"] = [batch] * len(limits)
    columns["imported_at"] = [now] * len(limits)
    tx.insert_columns("limit_values", columns)


def limit_values(tx: Tx) -> list[LimitValue]:
    rows = tx.all(f"SELECT {', '.join(_FIELDS)} FROM limit_values ORDER BY substance_name, valid_from")
    return [msgspec.convert(dict(zip(_FIELDS, row, strict=True)), LimitValue) for row in rows]


def batches(tx: Tx) -> dict[str, int]:
    return dict(tx.all("SELECT import_batch, count(*) FROM limit_values GROUP BY import_batch"))
