"""The access log: append-only, hash-chained, sealed, anchored; no personal data in the clear.

entry_hash = SHA-256(prev_hash | canonical JSON of the entry), so removing or editing any
entry breaks every later hash. Anyone with SQL access could recompute that chain, so each
entry also carries a seal under a key from the key file, and every commit's newest head is
appended to the anchor file beside the key file (crypto.audit_seal). `verify_chain` names
every changed, removed, reordered or truncated entry. Each process that writes (one embedded
server, or each of several API processes on PostgreSQL) keeps its own chain, a stream, so
no two processes ever race for the same next link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence

import msgspec

from crypto.audit_seal import AnchorFile, AnchorState, AuditSeal
from registry.store.access_log import audit_rows, seal_entries, sealed_entry_count, unsealed_entries
from registry.store.database import Tx
from schemas.errors import IntegrityFailure

__all__ = ["AuditEntry", "ChainReport", "append", "start_sealing", "verify_chain"]

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
    "subject_worker_id, purpose, outcome, reason, prev_hash, entry_hash, acting_for, seal"
)
_MAX_NAMED = 20  # problems named one by one; the rest are counted


def append(tx: Tx, entries: Sequence[AuditEntry]) -> None:
    """Append entries, in order, to this process's stream inside the caller's transaction."""
    if not entries:
        return
    writer = tx.writer
    if writer.seal is None:
        raise IntegrityFailure("the store was opened without the key file's audit seal; nothing was written")
    seq, prev, seal = tx.audit_head or writer.audit_head or (0, GENESIS, "")
    now = dt.datetime.now(dt.UTC)
    columns: dict[str, list[object]] = {name.strip(): [] for name in _COLUMNS.split(",")}
    for entry in entries:
        seq += 1
        digest = _digest(prev, writer.id, seq, now, entry)
        seal = writer.seal.seal(writer.id, seq, digest)
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
            ("seal", seal),
        ):
            columns[name].append(value)
        prev = digest
    tx.insert_columns("audit_log", columns)
    first_append = tx.audit_head is None
    tx.audit_head = (seq, prev, seal)

    def advance() -> None:
        writer.audit_head = tx.audit_head
        if writer.anchor is not None and tx.audit_head is not None:
            writer.anchor.record(writer.id, tx.audit_head[0], tx.audit_head[2])

    if first_append:
        tx.after_commit(advance)


class ChainReport(msgspec.Struct, frozen=True):
    entries: int
    streams: int
    anchored_streams: int
    legacy_entries: int  # written before sealing began, sealed at the cut-over
    sealed_since: dt.datetime | None
    anchor_recreated: bool  # the anchor file was lost and started again: older heads are not anchored


def verify_chain(tx: Tx, seal: AuditSeal, anchor: AnchorState) -> ChainReport:
    """Check every entry's hash, link and seal, and every anchored head; raise
    IntegrityFailure naming each changed, removed, reordered or truncated entry."""
    problems: list[str] = []
    last_seq: dict[str, int] = {}
    stream, prev, expected = None, GENESIS, 1
    count = 0
    for row in audit_rows(tx, _COLUMNS):
        name, seq, occurred_at, *fields, p, h, acting, stored_seal = row
        if name != stream:
            stream, prev, expected = name, GENESIS, 1
        entry = AuditEntry(**dict(zip(_ENTRY_FIELDS, fields, strict=True)), acting_for=acting)
        if seq > expected:
            problems.append(f"entries {expected} to {seq - 1} of stream {name} were removed")
        elif problem := _entry_problem(
            hash_matches=h == _digest(p, name, seq, occurred_at, entry),
            sealed=seal.matches(name, seq, h, stored_seal),
            has_seal=stored_seal is not None,
            linked=p == prev,
        ):
            problems.append(
                f"entry {seq} of stream {name} ({occurred_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"{entry.action} {entry.resource_type}) {problem}"
            )
        anchored_seq, anchored_seal = anchor.heads.get(name, (0, ""))
        if seq == anchored_seq and stored_seal != anchored_seal:
            problems.append(f"entry {seq} of stream {name} differs from the anchor file's record of it")
        prev, expected = h, seq + 1
        last_seq[name] = seq
        count += 1
    problems += _anchor_problems(anchor, last_seq)
    if problems:
        named = problems[:_MAX_NAMED] + (
            [f"... and {len(problems) - _MAX_NAMED} more"] if len(problems) > _MAX_NAMED else []
        )
        raise IntegrityFailure("audit log NOT intact:\n  " + "\n  ".join(named))
    header = anchor.header
    return ChainReport(
        entries=count,
        streams=len(last_seq),
        anchored_streams=len(anchor.heads),
        legacy_entries=header.legacy_entries if header else 0,
        sealed_since=header.sealed_since if header else None,
        anchor_recreated=header.recreated if header else False,
    )


def _entry_problem(*, hash_matches: bool, sealed: bool, has_seal: bool, linked: bool) -> str | None:
    """What is wrong with one entry, the plainest explanation first."""
    if not hash_matches:
        return "was changed: its content does not match its hash"
    if not has_seal:
        return "has no seal: written or rewritten without the key file"
    if not sealed:
        return "was changed: its seal does not match (chain recomputed without the key)"
    if not linked:
        return "does not follow the entry before it: an entry was removed, replaced or reordered"
    return None


_ENTRY_FIELDS = (
    "actor_type",
    "actor_id",
    "action",
    "resource_type",
    "resource_id",
    "subject_worker_id",
    "purpose",
    "outcome",
    "reason",
)


def _anchor_problems(anchor: AnchorState, last_seq: dict[str, int]) -> list[str]:
    """Each head the anchor file recorded must still be in the store (its seal is compared
    while the entries are read)."""
    if anchor.header is None and last_seq:
        return ["the anchor file is missing: removal of the newest entries could not be detected"]
    problems = []
    for stream, (seq, _seal) in sorted(anchor.heads.items()):
        if stream not in last_seq:
            problems.append(f"stream {stream} was removed: the anchor file records {seq} entries")
        elif last_seq[stream] < seq:
            problems.append(
                f"stream {stream} was truncated: entries {last_seq[stream] + 1} to {seq} are missing "
                f"(the anchor file records {seq})"
            )
    if anchor.damaged_lines:
        problems.append(f"the anchor file has {anchor.damaged_lines} unreadable line(s)")
    return problems


def start_sealing(tx: Tx, seal: AuditSeal, anchor: AnchorFile) -> int:
    """Once per store: seal the entries written before sealing existed and start the anchor
    file. Returns how many were sealed. A store whose log is already sealed but whose anchor
    file is gone is not re-sealed (that would bless any entry edited meanwhile)."""
    if anchor.exists():
        return 0
    if sealed_entry_count(tx):
        tx.after_commit(lambda: anchor.start(legacy_entries=0, recreated=True))
        return 0
    legacy = unsealed_entries(tx)
    seal_entries(tx, [(stream, seq, seal.seal(stream, seq, h)) for stream, seq, h in legacy])
    tx.after_commit(lambda: anchor.start(legacy_entries=len(legacy)))
    return len(legacy)


def _digest(prev: str, stream: str, seq: int, occurred_at: dt.datetime, entry: AuditEntry) -> str:
    """Entries written before `acting_for` existed hash without it, so old chains still verify."""
    fields = msgspec.structs.asdict(entry)
    if fields["acting_for"] is None:
        del fields["acting_for"]
    hashed = {"stream": stream, "seq": seq, "occurred_at": occurred_at.isoformat(), "entry": fields}
    return hashlib.sha256(prev.encode("ascii") + b"|" + msgspec.json.encode(hashed)).hexdigest()
