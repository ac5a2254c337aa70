"""An employer's own limits: set, listed and withdrawn by the employer (or a hygienist under
its mandate, acting as the employer), seen by no one else.

Every query names the employer, so another employer's limit answers exactly like one that
does not exist. A withdrawn limit is kept, marked withdrawn, so a report made before still
names the row it used.
"""

from __future__ import annotations

import uuid

from analytics.limit_versions import compare
from registry.access import Action, Record, Work
from registry.store import limits as table
from schemas.company_limits import CompanyLimitIn, CompanyLimitOut
from schemas.errors import Conflict, NotFound
from schemas.validation import check

__all__ = ["create_company_limit", "get_company_limit", "list_company_limits", "withdraw_company_limit"]

_RECORD = "company_limit"


def create_company_limit(work: Work, limit_in: CompanyLimitIn) -> tuple[CompanyLimitOut, bool]:
    """(limit, created): the same limit set again returns the one stored; a different value
    for the same substance, type, start and population is refused until the old one is
    withdrawn, so two company limits never compete for one date."""
    employer_id = work.employer_id()
    work.check(Action.CREATE, Record(type=_RECORD, owner_employer_id=employer_id))
    limit = check(limit_in.as_limit(owner_employer_id=str(employer_id)))
    stored = table.company_limits(work.tx, employer_id)
    changes = compare(stored, [limit])
    if changes.unchanged:
        same = next(row_id for row_id, row in stored if row == limit)
        return CompanyLimitOut.of(same, limit), False
    if changes.changed:
        existing = changes.superseded[0]
        raise Conflict(
            f"company limit {existing} already sets this substance, type, start date and population; "
            f"withdraw it first (DELETE /api/v1/limits/company/{existing})"
        )
    (row_id,) = table.insert_limits(work.tx, [limit], f"company:{employer_id}")
    return CompanyLimitOut.of(row_id, limit), True


def list_company_limits(work: Work) -> list[CompanyLimitOut]:
    employer_id = work.employer_id()
    work.note_list(_RECORD)
    return [CompanyLimitOut.of(row_id, limit) for row_id, limit in table.company_limits(work.tx, employer_id)]


def get_company_limit(work: Work, limit_id: uuid.UUID) -> CompanyLimitOut:
    employer_id = work.employer_id()
    work.check(Action.READ, Record(type=_RECORD, id=str(limit_id), owner_employer_id=employer_id))
    found = table.company_limits(work.tx, employer_id, limit_id)
    if not found:
        raise NotFound(f"company limit {limit_id} not found")
    return CompanyLimitOut.of(*found[0])


def withdraw_company_limit(work: Work, limit_id: uuid.UUID) -> None:
    employer_id = work.employer_id()
    work.check(Action.CREATE, Record(type=_RECORD, id=str(limit_id), owner_employer_id=employer_id))
    withdrawn_by = f"withdrawn:{work.actor.kind}:{work.actor.id}"
    if not table.supersede(work.tx, [str(limit_id)], withdrawn_by, owner_employer_id=employer_id):
        raise NotFound(f"company limit {limit_id} not found")
