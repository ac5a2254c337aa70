"""The one place where access is decided and audited.

A service asks the gate before it reveals or records personal data; the gate applies the
policy, notes an audit entry for the answer (allowed or denied, with the reason) and
raises when denied. Entries are written with the service's own transaction (`flush`),
or, for a refusal that aborted it, by `audited` in a transaction of their own.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from registry.access.actors import Actor, Purpose
from registry.access.audit import AuditEntry, append
from registry.access.policy import Action, Decision, Record, decide
from registry.store.database import Database, Tx
from schemas.errors import ConcurrentWrite, Forbidden, NotFound

__all__ = ["Gate", "audited"]

T = TypeVar("T")
_WRITE_ATTEMPTS = 20


class Gate:
    def __init__(self, actor: Actor, purpose: Purpose) -> None:
        self.actor = actor
        self.purpose = purpose
        self._pending: list[AuditEntry] = []

    def employer_id(self) -> uuid.UUID:
        """The employer the actor acts for; employer-only actions need one."""
        if self.actor.employer_id is None:
            raise Forbidden("this action is for an employer's API key")
        return self.actor.employer_id

    def check(self, action: Action, record: Record) -> Decision:
        """Allow (and note it) or raise: NotFound when the record is someone else's, so a
        refusal does not reveal that it exists; Forbidden for a purpose that does not fit."""
        decision = decide(self.actor, action, record, self.purpose)
        self._note(action, record, decision)
        if decision.allowed:
            return decision
        if decision.reason.startswith("purpose"):
            raise Forbidden(decision.reason)
        if action is Action.CREATE:
            raise Forbidden(f"not allowed to record this: {decision.reason}")
        raise NotFound(f"{record.type} {record.id} not found")

    def note_list(self, record_type: str, subjects: set[uuid.UUID] | None = None) -> None:
        """A list read, already limited by `scope_sql`: the role and purpose are checked here,
        then one entry is noted per worker whose data the page reveals (NEN 7513)."""
        own_scope = Record(type=record_type, owner_employer_id=self.actor.employer_id)
        decision = decide(self.actor, Action.LIST, own_scope, self.purpose)
        if not decision.allowed:
            self.check(Action.LIST, own_scope)  # notes the refusal and raises
        ordered: list[uuid.UUID | None] = sorted(subjects or (), key=str)
        for subject in ordered or [None]:
            self._note(Action.LIST, Record(type=record_type, subject_worker_id=subject), decision)

    def flush(self, tx: Tx) -> None:
        """Append what was noted to the audit log, in the caller's transaction."""
        append(tx, self._pending)
        self._pending.clear()

    def write(self, db: Database, work: Callable[[Tx], T]) -> T:
        """Run `work` and append its audit entries in one write transaction.

        On PostgreSQL two API processes may race for the same row (the audit chain's next
        entry, an idempotency key); the loser's transaction is rolled back and run again on a
        fresh snapshot, where it sees the winner's row. Entries noted during a failed attempt
        are dropped with it.
        """
        for attempt in range(_WRITE_ATTEMPTS):
            before = len(self._pending)
            try:
                with db.write() as tx:
                    result = work(tx)
                    self.flush(tx)
                return result
            except ConcurrentWrite:
                del self._pending[before:]
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.002, 0.02) * (attempt + 1))  # noqa: S311 (jitter, not secrecy)
        raise AssertionError("unreachable")

    def _note(self, action: Action, record: Record, decision: Decision) -> None:
        self._pending.append(
            AuditEntry(
                actor_type=self.actor.kind,
                actor_id=self.actor.id,
                action=action,
                resource_type=record.type,
                resource_id=record.id,
                subject_worker_id=record.subject_worker_id,
                purpose=self.purpose,
                outcome="allowed" if decision.allowed else "denied",
                reason=decision.reason,
            )
        )


@contextmanager
def audited(db: Database, actor: Actor, purpose: Purpose) -> Iterator[Gate]:
    """A gate for one request; whatever it noted and was not flushed is written at the end."""
    gate = Gate(actor, purpose)
    try:
        yield gate
    finally:
        if gate._pending:
            gate.write(db, lambda tx: None)
