"""The check values of the key file's keys, kept beside the data they protect."""

from __future__ import annotations

from collections.abc import Mapping

from registry.store.database import Tx
from registry.store.organisations import utcnow

__all__ = ["insert_checks", "stored_checks"]


def stored_checks(tx: Tx) -> dict[str, str]:
    return {row[0]: row[1] for row in tx.all("SELECT name, check_value FROM key_checks")}


def insert_checks(tx: Tx, checks: Mapping[str, str]) -> None:
    now = utcnow()
    for name, value in sorted(checks.items()):
        tx.execute("INSERT INTO key_checks VALUES (?, ?, ?)", [name, value, now])
