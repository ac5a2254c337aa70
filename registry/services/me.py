"""What a signed-in person sees of themself: who they are to the registry, their whole
history across all employers, and who read their data."""

from __future__ import annotations

import uuid

from registry.access import Action, ActorKind, Record, Work
from registry.services.history import worker_history
from registry.services.medical_facts import read_facts
from registry.services.workers import open_identities
from registry.store import access_log as log_table
from registry.store import people as people_table
from schemas.access import AccessLogEntry, SignedIn
from schemas.errors import Forbidden, NotFound
from schemas.history import WorkerHistory
from schemas.medical import MedicalFactsOut

__all__ = ["my_access_log", "my_history", "my_medical_facts", "signed_in"]

NOTHING_REGISTERED = "Er is niets over u geregistreerd. / Nothing is registered about you."


def signed_in(work: Work) -> SignedIn:
    """The caller's role and, for a worker, each employer's record of them (an audited read)."""
    actor = work.actor
    identities = []
    if actor.kind is ActorKind.WORKER and actor.person is not None:
        rows = people_table.workers_of_person(work.tx, actor.person)
        for row in rows:
            work.check(
                Action.READ,
                Record(type="worker", id=str(row.id), subject_person=row.bsn_index, subject_worker_id=row.id),
            )
        identities = open_identities(work, rows)
    return SignedIn(
        role=actor.kind,
        subject=actor.id,
        acting_for_employer_ids=sorted(actor.employer_ids, key=str),
        identities=identities,
        project=actor.project,
    )


def my_history(work: Work) -> WorkerHistory:
    """The worker's whole history, biological values included (the policy's reach: the person)."""
    first = _first_record(work)
    return worker_history(work, first)


def my_medical_facts(work: Work) -> list[MedicalFactsOut]:
    """What company doctors recorded about the worker for limits that depend on the person,
    on any employer's record of them."""
    _first_record(work)
    assert work.actor.person is not None  # _first_record found a record of the person
    return read_facts(work, people_table.workers_of_person(work.tx, work.actor.person))


def my_access_log(work: Work, limit: int, offset: int) -> tuple[list[AccessLogEntry], int]:
    first = _first_record(work)
    person = work.actor.person
    assert person is not None  # _first_record found a record of the person
    work.check(Action.READ, Record(type="access_log", subject_person=person, subject_worker_id=first))
    return log_table.access_log_of_person(work.tx, person, limit, offset)


def _first_record(work: Work) -> uuid.UUID:
    if work.actor.kind is not ActorKind.WORKER:
        raise Forbidden("this is a worker's own view; sign in as a worker")
    rows = people_table.workers_of_person(work.tx, work.actor.person) if work.actor.person else []
    if not rows:
        raise NotFound(NOTHING_REGISTERED)
    return rows[0].id
