"""The access rules: who may do what with which record, for which purpose.

Pure functions of the actor, the record's facts and the purpose; every answer carries a
reason that goes into the audit log. Deny by default: anything not granted here is
refused. List queries use `scope_sql`, so a total never counts a record the actor may
not see.
"""

from __future__ import annotations

import enum
import uuid

import msgspec

from registry.access.actors import Actor, ActorKind, Purpose

__all__ = ["Action", "Decision", "Record", "decide", "scope_sql"]

# Purposes each role may state (DOMAIN.md, actors table). An employer uses personal data
# for prevention and its legal duty to register exposure (Arbobesluit art. 4.10c).
ROLE_PURPOSES: dict[ActorKind, frozenset[Purpose]] = {
    ActorKind.EMPLOYER: frozenset({Purpose.PREVENTION, Purpose.LEGAL_DUTY}),
    # The operator also answers a worker's request for their own history (AVG art. 15, a
    # TSB claim): the worker portal will let workers ask themselves.
    ActorKind.ADMIN: frozenset({Purpose.ADMINISTRATION, Purpose.TSB_CLAIM}),
}


class Action(enum.StrEnum):
    READ = "read"
    LIST = "list"
    CREATE = "create"


class Record(msgspec.Struct, frozen=True):
    """The facts about a record the rules need; the store supplies them."""

    type: str
    id: str | None = None
    owner_employer_id: uuid.UUID | None = None
    subject_worker_id: uuid.UUID | None = None
    medical: bool = False
    related_employer_ids: frozenset[uuid.UUID] = frozenset()


class Decision(msgspec.Struct, frozen=True):
    allowed: bool
    reason: str
    redact_medical: bool = False


def decide(actor: Actor, action: Action, record: Record, purpose: Purpose) -> Decision:
    if purpose not in ROLE_PURPOSES.get(actor.kind, frozenset()):
        return Decision(False, f"purpose {purpose} does not fit role {actor.kind}")
    if actor.kind is ActorKind.ADMIN:
        return Decision(True, "registry operator", redact_medical=True)
    if actor.kind is ActorKind.EMPLOYER:
        return _employer(actor, action, record)
    return Decision(False, "no rule grants this role access")


def _employer(actor: Actor, action: Action, record: Record) -> Decision:
    own = actor.employer_id
    if action is Action.LIST:
        # The list query itself is limited by scope_sql; this decides the role may list at all.
        if record.owner_employer_id == own:
            return Decision(True, "list limited to records of this employer")
        return Decision(False, "list outside this employer")
    if record.type in ("worker", "worker_history"):
        if action is Action.CREATE:
            return Decision(True, "employer registers a worker it employs")
        if own in record.related_employer_ids:
            # What the employer recorded itself (scope_sql), biological values withheld.
            return Decision(True, "worker has an employment with this employer", redact_medical=True)
        return Decision(False, "worker has no employment with this employer")
    if action is Action.CREATE:
        if record.subject_worker_id is not None and own not in record.related_employer_ids:
            return Decision(False, "worker has no employment with this employer")
        return Decision(True, "employer records for its own workers")
    if record.owner_employer_id == own:
        # Individual biological-monitoring results are medical data: the employer sees that
        # they exist, not their values (medical confidentiality; group results only).
        return Decision(True, "recorded by this employer", redact_medical=record.medical)
    return Decision(False, "recorded by another employer")


def scope_sql(
    actor: Actor, table_alias: str = "", owner_columns: tuple[str, ...] = ("employer_id",)
) -> tuple[str, list[object]]:
    """A WHERE fragment limiting a list to what `actor` may see of employer-owned records.
    `owner_columns` names every column that makes an employer a party to the record (an
    employment belongs to the hiring company and to the agency)."""
    prefix = f"{table_alias}." if table_alias else ""
    if actor.kind is ActorKind.EMPLOYER and actor.employer_id is not None:
        either = " OR ".join(f"{prefix}{column} = ?" for column in owner_columns)
        return f"({either})", [actor.employer_id] * len(owner_columns)
    if actor.kind is ActorKind.ADMIN:
        return "TRUE", []
    return "FALSE", []
