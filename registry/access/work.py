"""One unit of work per request or CLI command: the only place that opens a transaction,
asks the policy and writes the audit.

A route or command builds a `Work` for its actor and purpose, and hands a use case to
`read` or `write`; the use case finds the transaction, the vault, the clock and the rules
on the `Work` it is given. Every decision, allowed or denied, becomes an audit entry: in
the same transaction as a write, or, for a read or a refused write, in a transaction of its
own once the work is done (so a refusal is logged even though its transaction rolled back).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from crypto import Vault
from registry.access.actors import Actor, Purpose
from registry.access.audit import AuditEntry, append
from registry.access.policy import Action, Decision, HistoryReach, Record, decide, history_reach, scope_sql
from registry.store.database import Database, Tx
from schemas.errors import ConcurrentWrite, Forbidden, NotFound

__all__ = ["Work"]

T = TypeVar("T")
_WRITE_ATTEMPTS = 20


class Work:
    def __init__(self, db: Database, vault: Vault, actor: Actor, purpose: Purpose) -> None:
        self.db = db
        self.vault = vault
        self.actor = actor
        self.purpose = purpose
        self.now = dt.datetime.now(dt.UTC)  # one clock reading for the whole unit
        self._tx: Tx | None = None
        self._pending: list[AuditEntry] = []

    @property
    def tx(self) -> Tx:
        if self._tx is None:
            raise RuntimeError("no transaction: run the use case through Work.read or Work.write")
        return self._tx

    def employer_id(self) -> uuid.UUID:
        """The employer the actor records for; recording needs one."""
        if self.actor.employer_id is None:
            raise Forbidden("recording is for an employer's API key or a hygienist under an employer's mandate")
        return self.actor.employer_id

    def read(self, use_case: Callable[[Work], T]) -> T:
        """Run `use_case` on a snapshot; its audit entries are written afterwards."""
        try:
            with self.db.read() as tx:
                self._tx = tx
                return use_case(self)
        finally:
            self._tx = None
            self._write_pending()

    def write(self, use_case: Callable[[Work], T]) -> T:
        """Run `use_case` and its audit entries in one durable write transaction.

        The transaction may be shared with other requests' units of work (group commit,
        Database.transact), and the use case may then run more than once: each run starts
        from the entries noted before it, and only the run that commits is answered.

        On PostgreSQL two API processes may race for the same row (the audit chain's next
        entry, an idempotency key); the loser's transaction is rolled back and run again on a
        fresh snapshot, where it sees the winner's row. Entries noted during a failed attempt
        are dropped with it; those of a refusal are written on their own.
        """

        def once() -> T:
            before = len(self._pending)
            ran = False  # the latest run got as far as its audit entries: the commit failed

            def unit(tx: Tx) -> T:
                nonlocal ran
                del self._pending[before:]  # noted by an earlier run, rolled back with its group
                ran = False
                self._tx = tx
                try:
                    result = use_case(self)
                    append(tx, self._pending)
                    ran = True
                    return result
                finally:
                    self._tx = None

            try:
                result = self.db.transact(unit)
            except ConcurrentWrite:
                del self._pending[before:]
                raise
            except BaseException:
                if ran:
                    self._pending.clear()  # written with the transaction that did not commit
                raise
            self._pending.clear()
            return result

        try:
            return _retrying(once)
        finally:
            self._write_pending()

    def check(self, action: Action, record: Record) -> Decision:
        """Allow (and note it) or raise: NotFound when the record is someone else's, so a
        refusal does not reveal that it exists; Forbidden for a purpose that does not fit, a
        role that may not record or list at all."""
        decision = decide(self.actor, action, record, self.purpose)
        self._note(action, record, decision)
        if decision.allowed:
            return decision
        if decision.reason.startswith("purpose"):
            raise Forbidden(decision.reason)
        if action is Action.CREATE:
            raise Forbidden(f"not allowed to record this: {decision.reason}")
        if action is Action.LIST:
            raise Forbidden(f"not allowed to list this: {decision.reason}")
        raise NotFound(f"{record.type} {record.id or ''} not found".replace("  ", " "))

    def note_list(self, record_type: str, subjects: set[uuid.UUID] | None = None) -> Decision:
        """A list read, already limited by `scope`: the role and purpose are checked here,
        then one entry is noted per worker whose data the page reveals (NEN 7513)."""
        scope = Record(type=record_type, owner_employer_id=self.actor.employer_id)
        decision = decide(self.actor, Action.LIST, scope, self.purpose)
        if not decision.allowed:
            self.check(Action.LIST, scope)  # notes the refusal and raises
        ordered: list[uuid.UUID | None] = sorted(subjects or (), key=str)
        for subject in ordered or [None]:
            self._note(Action.LIST, Record(type=record_type, subject_worker_id=subject), decision)
        return decision

    def scope(self, alias: str = "", *, worker_column: str | None = "worker_id") -> tuple[str, list[object]]:
        """The policy's WHERE fragment for what this actor may list."""
        return scope_sql(self.actor, alias, worker_column=worker_column)

    def history_reach(self) -> HistoryReach:
        return history_reach(self.actor)

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
                acting_for=self.actor.acting_for,
            )
        )

    def _write_pending(self) -> None:
        if not self._pending:
            return
        entries, self._pending = list(self._pending), []

        _retrying(lambda: self.db.transact(lambda tx: append(tx, entries)))


def _retrying(once: Callable[[], T]) -> T:
    """Run `once` until it does not lose a race for a row (PostgreSQL, several processes)."""
    for attempt in range(_WRITE_ATTEMPTS):
        try:
            return once()
        except ConcurrentWrite:
            if attempt == _WRITE_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.002, 0.02) * (attempt + 1))  # noqa: S311 (jitter, not secrecy)
    raise AssertionError("unreachable")
