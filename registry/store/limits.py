"""Limit values as stored: each import is one batch, never partly applied; a row is never
deleted, only marked superseded (by a later batch) or withdrawn (a company limit)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Hashable, Sequence

import msgspec

from registry.store.database import Tx
from schemas.limits import LimitValue

__all__ = [
    "batches",
    "company_limits",
    "insert_limits",
    "limit_values",
    "limits_on",
    "private_limits",
    "rows_in_use",
    "stamp",
    "supersede",
]

_FIELDS = list(LimitValue.__struct_fields__)
_SELECT = f"SELECT CAST(id AS VARCHAR), {', '.join(_FIELDS)} FROM limit_values WHERE superseded_at IS NULL"
_PUBLIC = "jurisdiction NOT IN ('company', 'sector')"
_IN_FORCE = "(valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR ? < valid_to)"
_ORDER = "ORDER BY substance_name, jurisdiction, limit_type, valid_from NULLS FIRST, unit, value"


def insert_limits(tx: Tx, limits: Sequence[LimitValue], batch: str) -> list[str]:
    """Store the rows under `batch`; returns their ids."""
    now = dt.datetime.now(dt.UTC)
    ids = [str(uuid.uuid4()) for _ in limits]
    columns: dict[str, list[object]] = {"id": list(ids)}
    for name in _FIELDS:
        columns[name] = [getattr(limit, name) for limit in limits]
    columns["import_batch"] = [batch] * len(limits)
    columns["imported_at"] = [now] * len(limits)
    tx.insert_columns("limit_values", columns)
    return ids


def limit_values(tx: Tx) -> list[LimitValue]:
    """The legal and informative rows in use; company and sector limits are private to their
    owners (private_limits)."""
    return [limit for _, limit in _rows(tx, f"{_SELECT} AND {_PUBLIC} {_ORDER}")]


def rows_in_use(tx: Tx) -> list[tuple[str, LimitValue]]:
    """Every row in use except company limits (their employers manage them), with its id."""
    return _rows(tx, f"{_SELECT} AND jurisdiction <> 'company' {_ORDER}")


def limits_on(tx: Tx, day: dt.date) -> list[LimitValue]:
    """The rows in force on `day`, company limits excepted."""
    return [
        limit for _, limit in _rows(tx, f"{_SELECT} AND jurisdiction <> 'company' AND {_IN_FORCE} {_ORDER}", [day, day])
    ]


def private_limits(tx: Tx, employer_id: uuid.UUID, sbi_code: str | None) -> list[LimitValue]:
    """The employer's own company limits and the sector limits of its SBI code."""
    sql = (
        f"{_SELECT} AND ((jurisdiction = 'company' AND owner_employer_id = ?) "
        f"OR (jurisdiction = 'sector' AND starts_with(?, sector_sbi))) {_ORDER}"
    )
    return [limit for _, limit in _rows(tx, sql, [str(employer_id), sbi_code or ""])]


def company_limits(tx: Tx, employer_id: uuid.UUID, limit_id: uuid.UUID | None = None) -> list[tuple[str, LimitValue]]:
    """One employer's company limits in use (or the one with `limit_id`), with their ids."""
    sql = f"{_SELECT} AND jurisdiction = 'company' AND owner_employer_id = ?"
    params: list[object] = [str(employer_id)]
    if limit_id is not None:
        sql += " AND id = ?"
        params.append(limit_id)
    return _rows(tx, f"{sql} {_ORDER}", params)


def supersede(tx: Tx, ids: Sequence[str], by: str, *, owner_employer_id: uuid.UUID | None = None) -> int:
    """Mark rows in use as superseded `by` a batch (or withdrawn); with `owner_employer_id`,
    only that employer's company limits. Returns how many rows it marked."""
    if not ids:
        return 0
    marks = ", ".join("?" for _ in ids)
    owner = " AND jurisdiction = 'company' AND owner_employer_id = ?" if owner_employer_id else ""
    params: list[object] = [dt.datetime.now(dt.UTC), by, *ids, *([str(owner_employer_id)] if owner_employer_id else [])]
    where = f"superseded_at IS NULL AND CAST(id AS VARCHAR) IN ({marks}){owner}"
    found = int(tx.scalar(f"SELECT count(*) FROM limit_values WHERE {where}", params[2:]))
    tx.execute(f"UPDATE limit_values SET superseded_at = ?, superseded_by = ? WHERE {where}", params)
    return found


def stamp(tx: Tx) -> Hashable | None:
    """The version of the limit values `tx` sees (Tx.stamp), to keep what is derived from them.
    On PostgreSQL it is how many rows there are and how many are marked: every change adds a
    row or marks one (insert_limits, supersede; a row is never deleted, nor its mark undone),
    so every committed change, by whichever process, changes it."""
    return tx.stamp("limit_values", "SELECT count(*), count(superseded_at) FROM limit_values")


def batches(tx: Tx) -> dict[str, int]:
    return dict(tx.all("SELECT import_batch, count(*) FROM limit_values GROUP BY import_batch"))


def _rows(tx: Tx, sql: str, params: Sequence[object] = ()) -> list[tuple[str, LimitValue]]:
    return [
        (row[0], msgspec.convert(dict(zip(_FIELDS, row[1:], strict=True)), LimitValue)) for row in tx.all(sql, params)
    ]
