"""Reading the audit log: the chains to verify, and for a worker who read their data, when, for whom, why."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from registry.store.database import Tx
from schemas.access import AccessLogEntry

__all__ = [
    "access_log_of_person",
    "audit_rows",
    "entries_about",
    "seal_entries",
    "sealed_entry_count",
    "unsealed_entries",
]


def audit_rows(tx: Tx, columns: str) -> list[tuple[Any, ...]]:
    """Every audit entry, stream by stream in order (for checking the hash chains)."""
    return tx.all(f"SELECT {columns} FROM audit_log ORDER BY stream, seq")


def access_log_of_person(tx: Tx, person: str, limit: int, offset: int) -> tuple[list[AccessLogEntry], int]:
    """Entries naming any of the person's worker ids, newest first, with the employer an
    API key, mandate or contract acted for resolved to its name."""
    where = "a.subject_worker_id IN (SELECT id FROM workers WHERE bsn_index = ?)"
    total = int(tx.scalar(f"SELECT count(*) FROM audit_log a WHERE {where}", [person]))
    entries = tx.structs(
        AccessLogEntry,
        "SELECT a.occurred_at, a.actor_type AS actor_role, a.actor_id AS actor, "
        "coalesce(e.name, ek.name) AS acting_for, a.action, a.resource_type AS record_type, a.purpose, a.outcome, "
        "a.reason FROM audit_log a "
        "LEFT JOIN employers e ON a.acting_for = 'employer:' || CAST(e.id AS VARCHAR) "
        "LEFT JOIN api_keys k ON a.actor_id = 'key:' || k.key_id "
        "LEFT JOIN employers ek ON ek.id = k.employer_id "
        f"WHERE {where} ORDER BY a.occurred_at DESC, a.stream, a.seq DESC LIMIT ? OFFSET ?",
        [person, limit, offset],
    )
    return entries, total


def entries_about(tx: Tx, resource_type: str, resource_id: str) -> int:
    """How many entries name this resource."""
    return int(
        tx.scalar(
            "SELECT count(*) FROM audit_log WHERE resource_type = ? AND resource_id = ?", [resource_type, resource_id]
        )
    )


def sealed_entry_count(tx: Tx) -> int:
    return int(tx.scalar("SELECT count(*) FROM audit_log WHERE seal IS NOT NULL"))


def unsealed_entries(tx: Tx) -> list[tuple[str, int, str]]:
    """(stream, seq, entry_hash) of entries written before sealing began."""
    return [(r[0], r[1], r[2]) for r in tx.all("SELECT stream, seq, entry_hash FROM audit_log WHERE seal IS NULL")]


def seal_entries(tx: Tx, seals: list[tuple[str, int, str]]) -> None:
    """Set the seal of each (stream, seq) in one statement."""
    if not seals:
        return
    streams, seqs, values = (list(column) for column in zip(*seals, strict=True))
    tx.register("_audit_seals", pa.table({"stream": streams, "seq": seqs, "seal": values}))
    try:
        tx.execute(
            "UPDATE audit_log SET seal = s.seal FROM _audit_seals s WHERE audit_log.stream = s.stream "
            "AND audit_log.seq = s.seq"
        )
    finally:
        tx.unregister("_audit_seals")
