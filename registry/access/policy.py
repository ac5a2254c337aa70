"""The access rules: who may do what with which record, for which purpose.

Pure functions of the actor, the record's facts and the purpose; every answer carries a
reason that goes into the audit log. Deny by default: anything not granted here is
refused. List queries use `scope_sql`, so a total never counts a record the actor may
not see, and `history_reach` says how far a worker's history extends for the actor.
"""

from __future__ import annotations

import enum
import uuid

import msgspec

from registry.access.actors import Actor, ActorKind, Purpose

__all__ = [
    "DEFAULT_PURPOSE",
    "ROLE_PURPOSES",
    "Action",
    "Decision",
    "HistoryReach",
    "Record",
    "decide",
    "history_reach",
    "scope_sql",
]

# Purposes each role may state (DOMAIN.md, actors table). An employer uses personal data
# for prevention and its legal duty to register exposure (Arbobesluit art. 4.10c); a hygienist
# under mandate does so for the employer.
ROLE_PURPOSES: dict[ActorKind, frozenset[Purpose]] = {
    ActorKind.EMPLOYER: frozenset({Purpose.PREVENTION, Purpose.LEGAL_DUTY}),
    ActorKind.HYGIENIST: frozenset({Purpose.PREVENTION, Purpose.LEGAL_DUTY}),
    ActorKind.COMPANY_DOCTOR: frozenset({Purpose.MEDICAL_CARE}),
    ActorKind.WORKER: frozenset({Purpose.SELF_ACCESS, Purpose.TSB_CLAIM}),
    ActorKind.INSPECTOR: frozenset({Purpose.INSPECTION}),
    ActorKind.RESEARCHER: frozenset({Purpose.RESEARCH}),
    # The operator keeps the registry and answers a worker's request made to it (AVG art. 15,
    # a TSB claim).
    ActorKind.OPERATOR: frozenset({Purpose.ADMINISTRATION, Purpose.TSB_CLAIM}),
}

# The purpose of a request that states none.
DEFAULT_PURPOSE: dict[ActorKind, Purpose] = {
    ActorKind.EMPLOYER: Purpose.LEGAL_DUTY,
    ActorKind.HYGIENIST: Purpose.LEGAL_DUTY,
    ActorKind.COMPANY_DOCTOR: Purpose.MEDICAL_CARE,
    ActorKind.WORKER: Purpose.SELF_ACCESS,
    ActorKind.INSPECTOR: Purpose.INSPECTION,
    ActorKind.RESEARCHER: Purpose.RESEARCH,
    ActorKind.OPERATOR: Purpose.ADMINISTRATION,
}

# The registry's own administration: only the operator reads or records it.
_ADMINISTRATION = frozenset({"identity_reconciliation", "identity_resolution"})
# Records that are medical data through and through (nothing is left once the medical values
# are withheld): the company doctor records and reads them, the worker reads their own.
_MEDICAL = frozenset({"medical_facts"})
_MEDICAL_ROLES = frozenset({ActorKind.COMPANY_DOCTOR, ActorKind.WORKER})


class Action(enum.StrEnum):
    READ = "read"
    LIST = "list"
    CREATE = "create"


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """The facts about a record the rules need; the store supplies them."""

    type: str
    id: str | None = None
    owner_employer_id: uuid.UUID | None = None  # the employer that recorded it
    subject_person: str | None = None  # the person it is about (BSN blind index)
    subject_worker_id: uuid.UUID | None = None  # for the audit: the worker id it names
    medical: bool = False


class Decision(msgspec.Struct, frozen=True):
    allowed: bool
    reason: str
    # Whether individual medical values (biological monitoring) stay withheld from this actor
    # in whatever the read reveals, the record itself or a history it opens.
    redact_medical: bool = True


class HistoryReach(enum.Enum):
    """How far a worker's history extends for an actor."""

    PERSON = "every employer's records of the person"
    EMPLOYER = "the records of the worker's employer"
    EMPLOYER_AND_PLACEMENTS = "the employer's records and those of the placements it arranged as agency"


def decide(actor: Actor, action: Action, record: Record, purpose: Purpose) -> Decision:
    if purpose not in ROLE_PURPOSES.get(actor.kind, frozenset()):
        return Decision(False, f"purpose {purpose} does not fit role {actor.kind}")
    if record.type in _MEDICAL and actor.kind not in _MEDICAL_ROLES:
        return Decision(False, "medical data: for the company doctor and the worker only")
    rule = _RULES.get(actor.kind)
    if rule is None:
        return Decision(False, "no rule grants this role access")
    return rule(actor, action, record)


def _employer(actor: Actor, action: Action, record: Record) -> Decision:
    """An employer's key, or a hygienist under that employer's mandate: the employer's own
    records; individual biological values withheld (medical confidentiality)."""
    own = actor.employer_id
    if own is None:
        return Decision(False, "no employer to act for")
    if record.type in _ADMINISTRATION:
        return Decision(False, "registry administration is the operator's")
    if action is Action.LIST:
        return Decision(True, "list limited to records of this employer")
    if record.owner_employer_id != own:
        return Decision(False, "recorded by another employer")
    if action is Action.CREATE:
        return Decision(True, "employer records for its own workers")
    return Decision(True, "recorded by this employer", redact_medical=True)


def _company_doctor(actor: Actor, action: Action, record: Record) -> Decision:
    """Medical results of the workers of the employers that contract the doctor, while the
    contract is in force (the actor's employer_ids hold only contracts in force); of those
    workers the doctor also records the medical facts a limit for a group of people needs."""
    if record.type in _ADMINISTRATION or (action is Action.CREATE and record.type not in _MEDICAL):
        return Decision(False, "a company doctor reads medical results; the employer records")
    if action is Action.LIST:
        return Decision(
            bool(actor.employer_ids), "list limited to contracting employers' records", redact_medical=False
        )
    if record.owner_employer_id is not None and record.owner_employer_id in actor.employer_ids:
        return Decision(True, "contracted by the employer that recorded it", redact_medical=False)
    return Decision(False, "no contract in force with the employer that recorded it")


def _worker(actor: Actor, action: Action, record: Record) -> Decision:
    """Everything about themself, across all employers, medical values included, for as long
    as it is kept; nothing about anyone else."""
    if action is Action.CREATE or record.type in _ADMINISTRATION:
        return Decision(False, "a worker reads their own records; employers record")
    if action is Action.LIST:
        return Decision(actor.person is not None, "list limited to the worker's own records", redact_medical=False)
    if actor.person is not None and record.subject_person == actor.person:
        return Decision(True, "the worker's own data", redact_medical=False)
    return Decision(False, "not about this worker")


def _inspector(actor: Actor, action: Action, record: Record) -> Decision:
    """Supervision of one employer's exposure register at a time (the one it names):
    exposure, never medical values."""
    if action is Action.CREATE:
        return Decision(False, "the inspectorate reads")
    if record.type in _ADMINISTRATION:
        return Decision(False, "registry administration is the operator's")
    if action is Action.LIST:
        return Decision(bool(actor.employer_ids), "list limited to the register of the employer inspected")
    if record.owner_employer_id is not None and record.owner_employer_id in actor.employer_ids:
        return Decision(True, "supervision of this employer's exposure register")
    return Decision(False, "not of the employer inspected")


def _operator(actor: Actor, action: Action, record: Record) -> Decision:
    if action is Action.CREATE:
        if record.type in _ADMINISTRATION:
            return Decision(True, "registry administration")
        return Decision(False, "the operator does not record exposure")
    return Decision(True, "registry operator", redact_medical=True)


def _researcher(actor: Actor, action: Action, record: Record) -> Decision:
    return Decision(False, "researchers see anonymised aggregates only, never records about a person")


_RULES = {
    ActorKind.EMPLOYER: _employer,
    ActorKind.HYGIENIST: _employer,
    ActorKind.COMPANY_DOCTOR: _company_doctor,
    ActorKind.WORKER: _worker,
    ActorKind.INSPECTOR: _inspector,
    ActorKind.OPERATOR: _operator,
    ActorKind.RESEARCHER: _researcher,
}


def history_reach(actor: Actor) -> HistoryReach:
    """A worker and the operator answering the worker see the person's whole history; an
    employer sees its own records, and as an agency also the placements it arranged."""
    if actor.kind in (ActorKind.WORKER, ActorKind.OPERATOR):
        return HistoryReach.PERSON
    if actor.kind in (ActorKind.EMPLOYER, ActorKind.HYGIENIST):
        return HistoryReach.EMPLOYER_AND_PLACEMENTS
    return HistoryReach.EMPLOYER


def scope_sql(actor: Actor, alias: str = "", *, worker_column: str | None = "worker_id") -> tuple[str, list[object]]:
    """A WHERE fragment limiting a list to the records `actor` may see. Records belong to the
    employer that made them (`employer_id`); a worker sees the records naming any of their
    worker ids (`worker_column`; None for records that name no worker)."""
    prefix = f"{alias}." if alias else ""
    if actor.kind in (ActorKind.EMPLOYER, ActorKind.HYGIENIST) and actor.employer_id is not None:
        return f"{prefix}employer_id = ?", [actor.employer_id]
    if actor.kind in (ActorKind.COMPANY_DOCTOR, ActorKind.INSPECTOR) and actor.employer_ids:
        ids = sorted(actor.employer_ids, key=str)
        return f"{prefix}employer_id IN ({', '.join('?' * len(ids))})", list(ids)
    if actor.kind is ActorKind.WORKER and actor.person is not None and worker_column is not None:
        return f"{prefix}{worker_column} IN (SELECT id FROM workers WHERE bsn_index = ?)", [actor.person]
    if actor.kind is ActorKind.OPERATOR:
        return "TRUE", []
    return "FALSE", []
