"""Limit values in the store: the cited starter set, the official and sector lists an
operator imports, and what is in force on a date.

Storing a list is idempotent (analytics/limit_versions.py): rows already stored as they are
store nothing, a changed row supersedes the stored row of its identity, and a new one is
added. The starter set is applied the same way, once per version of the reference files, so
a store made with an earlier version takes up its corrections on the next start.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import msgspec

from analytics.limit_versions import LimitChanges, compare
from analytics.limits import REFERENCE_DIR, LimitImport, import_limits_csv, load_reference_limits, normalise_name
from registry.store import Database, Tx
from registry.store import limits as table
from registry.store import organisations as org_table
from schemas.errors import FieldError, InvalidInput
from schemas.identifiers import normalise_cas
from schemas.limits import LimitValue

__all__ = [
    "ImportOutcome",
    "apply_reference_limits",
    "import_limits",
    "limits_beside_legal",
    "limits_on",
    "reference_batch",
]

_REFERENCE_FILES = ("oel_reference.csv", "asbestos_types.csv")


class ImportOutcome(msgspec.Struct, frozen=True, kw_only=True):
    report: LimitImport  # the rows as read, or every rejected row
    changes: LimitChanges | None  # None when the list was refused
    batch: str | None  # the batch it was stored as; None when nothing was stored


def reference_batch() -> str:
    """The batch name of this version of the starter set: a digest of the files it is read from."""
    digest = hashlib.sha256()
    for name in _REFERENCE_FILES:
        digest.update((REFERENCE_DIR / name).read_bytes())
    return f"reference:{digest.hexdigest()[:16]}"


def apply_reference_limits(db: Database) -> LimitChanges | None:
    """Store analytics/reference/oel_reference.csv (with the asbestos types) unless this
    version was stored before; None when it was. Later lists come by import."""
    batch = reference_batch()
    with db.write() as tx:
        if batch in table.batches(tx):
            return None
        return _store(tx, load_reference_limits(), batch)


def import_limits(db: Database, text: str, label: str, *, sector: str | None = None) -> ImportOutcome:
    """Validate a CSV list and store what it changes, only if every row is good.

    `sector` (an SBI code) imports a sector body's catalogue: every row must then be a
    sector limit (LimitValue refuses any other with a sector), and belongs to that sector.
    Company limits are not imported: each employer manages its own through the API.
    """
    report = import_limits_csv(text, sector=sector)
    if report.rejected or not report.accepted:
        return ImportOutcome(report=report, changes=None, batch=None)
    _refuse_company_rows(report.accepted)
    batch = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}:{label}"
    with db.write() as tx:
        changes = _store(tx, report.accepted, batch)
    return ImportOutcome(report=report, changes=changes, batch=None if changes.nothing_to_store else batch)


def limits_on(tx: Tx, day: dt.date, substance: str | None = None) -> list[LimitValue]:
    """The rows in force on `day` (company limits excepted), for a substance named by CAS
    number or by (part of) its published name."""
    rows = table.limits_on(tx, day)
    if not substance:
        return rows
    try:
        cas = normalise_cas(substance)
    except ValueError:
        part = normalise_name(substance)
        return [row for row in rows if part in normalise_name(row.substance_name)]
    return [row for row in rows if row.cas == cas]


def limits_beside_legal(tx: Tx, employer_id: uuid.UUID) -> list[LimitValue]:
    """The company limits of this employer and the sector limits of its SBI code: what its
    reports show beside the legal limit, and what no one else's reports show."""
    employer = org_table.employer_by_id(tx, employer_id)
    return table.private_limits(tx, employer_id, employer.sbi_code if employer else None)


def _store(tx: Tx, limits: list[LimitValue], batch: str) -> LimitChanges:
    changes = compare(table.rows_in_use(tx), limits)
    if not changes.nothing_to_store:
        table.supersede(tx, changes.superseded, batch)
        table.insert_limits(tx, changes.new + changes.changed, batch)
    return changes


def _refuse_company_rows(limits: list[LimitValue]) -> None:
    if any(limit.jurisdiction == "company" for limit in limits):
        reason = "company limits are each employer's own: they are managed through POST /api/v1/limits/company"
        raise InvalidInput([FieldError(field="jurisdiction", reason=reason)])
