"""Limit values in the store: the cited starter set, and official lists an operator imports."""

from __future__ import annotations

import datetime as dt

from analytics.limits import LimitImport, import_limits_csv, load_reference_limits
from registry.store import Database
from registry.store import limits as table

__all__ = ["REFERENCE_BATCH", "import_limits", "load_reference_limits_once"]

REFERENCE_BATCH = "reference"


def load_reference_limits_once(db: Database) -> int:
    """Load analytics/reference/oel_reference.csv on first start; later lists come by import."""
    with db.write() as tx:
        if REFERENCE_BATCH in table.batches(tx):
            return 0
        limits = load_reference_limits()
        table.insert_limits(tx, limits, REFERENCE_BATCH)
    return len(limits)


def import_limits(db: Database, text: str, label: str) -> tuple[LimitImport, str | None]:
    """Validate a CSV list; store it only if every row is good. Returns the report and the
    batch name under which it was stored (None when nothing was stored)."""
    report = import_limits_csv(text)
    if report.rejected or not report.accepted:
        return report, None
    batch = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}:{label}"
    with db.write() as tx:
        table.insert_limits(tx, report.accepted, batch)
    return report, batch
