"""Mandates and contracts: an employer lets a hygienist record for it, or a company doctor
read its workers' medical results, for a period."""

from __future__ import annotations

import uuid

from registry.access import Action, ActorKind, Record, Work
from registry.store import grants as table
from schemas.access import GrantIn, GrantOut
from schemas.errors import Forbidden, NotFound

__all__ = ["create_grant", "get_grant", "list_grants", "revoke_grant"]


def create_grant(work: Work, grant: GrantIn) -> GrantOut:
    employer_id = _granting_employer(work)
    work.check(Action.CREATE, Record(type="grant", owner_employer_id=employer_id))
    out = GrantOut(
        id=uuid.uuid4(),
        role=grant.role,
        issuer=grant.issuer,
        subject=grant.subject,
        employer_id=employer_id,
        valid_from=grant.valid_from,
        valid_to=grant.valid_to,
        granted_by=work.actor.id,
    )
    table.insert_grant(work.tx, out)
    return out


def get_grant(work: Work, grant_id: uuid.UUID) -> GrantOut:
    found = next((g for g in list_grants(work) if g.id == grant_id), None)
    if found is None:
        raise NotFound(f"grant {grant_id} not found")
    return found


def list_grants(work: Work) -> list[GrantOut]:
    employer_id = _granting_employer(work)
    work.note_list("grant")
    return table.grants_of_employer(work.tx, employer_id)


def revoke_grant(work: Work, grant_id: uuid.UUID) -> None:
    employer_id = _granting_employer(work)
    work.check(Action.CREATE, Record(type="grant", id=str(grant_id), owner_employer_id=employer_id))
    if not table.revoke_grant(work.tx, employer_id, grant_id):
        raise NotFound(f"grant {grant_id} not found")


def _granting_employer(work: Work) -> uuid.UUID:
    """Only the employer itself gives (or sees) mandates and contracts, not a hygienist acting for it."""
    if work.actor.kind is not ActorKind.EMPLOYER:
        raise Forbidden("mandates and contracts are given by the employer's own API key")
    return work.employer_id()
