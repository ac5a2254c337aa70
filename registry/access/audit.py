"""The access log: append-only, hash-chained, no personal data in the clear.

entry_hash = SHA-256(prev_hash | canonical JSON of the entry), so removing or editing
any entry breaks every later hash; `verify_chain` finds the first broken link. Each process
that writes (one embedded server, or each of several API processes on PostgreSQL) keeps its
own chain, a stream, so no two processes ever race for the same next link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence

import msgspec

from registry.store.access_log import audit_rows
from registry.store.database import Tx
from schemas.errors import IntegrityFailure

__all__ = ["AuditEntry", "append", "verify_chain"]

GENESIS = "0" * 64


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    actor_type: str
    actor_id: str
    action: str
    resource_type: str
    resource_id: str | None = None
    subject_worker_id: uuid.UUID | None = None
    purpose: str | None = None
    outcome: str  # "allowed" | "denied"
    reason: str
    acting_for: str | None = None  # "employer:<id>" or "grant:<id>"; hashed only when set


_COLUMNS = (
    "stream, seq, occurred_at, actor_type, actor_id, action, resource_type, resource_id, "
    "subject_worker_id, purpose, outcome, reason, prev_hash, entry_hash, acting_for"
)


def append(tx: Tx, entries: Sequence[AuditEntry]) -> None:
    """Append entries, in order, to this process's stream inside the caller's transaction."""
    if not entries:
        return
    writer = tx.writer
    seq, prev = tx.audit_head or writer.audit_head or (0, GENESIS)
    now = dt.datetime.now(dt.UTC)
    columns: dict[str, list[object]] = {name.strip(): [] for name in _COLUMNS.split(",")}
    for entry in entries:
        seq += 1
        digest = _digest(prev, writer.id, seq, now, entry)
        for name, value in (
            ("stream", writer.id),
            ("seq", seq),
            ("occurred_at", now),
            ("actor_type", entry.actor_type),
            ("actor_id", entry.actor_id),
            ("action", entry.action),
            ("resource_type", entry.resource_type),
            ("resource_id", entry.resource_id),
            ("subject_worker_id", str(entry.subject_worker_id) if entry.subject_worker_id else None),
            ("purpose", entry.purpose),
            ("outcome", entry.outcome),
            ("reason", entry.reason),
            ("prev_hash", prev),
            ("entry_hash", digest),
            ("acting_for", entry.acting_for),
        ):
            columns[name].append(value)
        prev = digest
    tx.insert_columns("audit_log", columns)
    first_append = tx.audit_head is None
    tx.audit_head = (seq, prev)

    def advance() -> None:
        writer.audit_head = tx.audit_head

    if first_append:
        tx.after_commit(advance)


def verify_chain(tx: Tx) -> int:
    """Check every link of every stream; returns the number of entries, raises
    IntegrityFailure at the first break."""
    count = 0
    rows = audit_rows(tx, _COLUMNS)
    stream, prev, expected_seq = None, GENESIS, 0
    for row in rows:
        (
            name,
            seq,
            occurred_at,
            actor_type,
            actor_id,
            action,
            rtype,
            rid,
            subject,
            purpose,
            outcome,
            reason,
            p,
            h,
            acting,
        ) = row
        if name != stream:
            stream, prev, expected_seq = name, GENESIS, 0
        expected_seq += 1
        entry = AuditEntry(
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            resource_type=rtype,
            resource_id=rid,
            subject_worker_id=subject,
            purpose=purpose,
            outcome=outcome,
            reason=reason,
            acting_for=acting,
        )
        if seq != expected_seq or p != prev or h != _digest(prev, name, seq, occurred_at, entry):
            raise IntegrityFailure(f"audit log broken at entry {seq} of stream {name}")
        prev = h
        count += 1
    return count


def _digest(prev: str, stream: str, seq: int, occurred_at: dt.datetime, entry: AuditEntry) -> str:
    """Entries written before `acting_for` existed hash without it, so old chains still verify."""
    fields = msgspec.structs.asdict(entry)
    if fields["acting_for"] is None:
        del fields["acting_for"]
    hashed = {"stream": stream, "seq": seq, "occurred_at": occurred_at.isoformat(), "entry": fields}
    return hashlib.sha256(prev.encode("ascii") + b"|" + msgspec.json.encode(hashed)).hexdigest()
