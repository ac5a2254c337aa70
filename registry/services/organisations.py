"""Employers and their API keys (operator tasks), and an employer's sites."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from crypto import issue_api_key
from registry.access import Action, Record, Work
from registry.store import Tx
from registry.store import organisations as table
from schemas.errors import Conflict, FieldError, InvalidInput, NotFound
from schemas.identifiers import normalise_kvk, normalise_sbi
from schemas.organisation import EmployerIn, EmployerOut, SiteIn, SiteOut

__all__ = [
    "NewApiKey",
    "create_api_key",
    "create_api_keys",
    "create_employer",
    "create_site",
    "get_site",
    "list_sites",
    "require_own_site",
]


class NewApiKey(msgspec.Struct, frozen=True):
    employer_id: uuid.UUID
    key_id: str
    api_key: str


def create_employer(tx: Tx, employer: EmployerIn) -> EmployerOut:
    kvk = normalise_kvk(employer.kvk)
    if table.employer_by_kvk(tx, kvk) is not None:
        raise Conflict(f"an employer with KvK number {kvk} is already registered")
    sbi = normalise_sbi(employer.sbi_code) if employer.sbi_code else None
    return table.insert_employer(tx, kvk, employer.name.strip(), sbi)


def create_api_key(tx: Tx, employer_id: uuid.UUID, label: str | None = None) -> NewApiKey:
    if table.employer_by_id(tx, employer_id) is None:
        raise NotFound(f"employer {employer_id} not found")
    (key,) = create_api_keys(tx, [employer_id], label)
    return key


def create_api_keys(tx: Tx, employer_ids: Sequence[uuid.UUID], label: str | None = None) -> list[NewApiKey]:
    """A key for each of these employers (known to exist), in one write."""
    issued = [(employer_id, issue_api_key()) for employer_id in employer_ids]
    table.insert_api_keys(tx, [(key.key_id, employer_id, key.secret_hash) for employer_id, key in issued], label)
    return [NewApiKey(employer_id=employer_id, key_id=key.key_id, api_key=key.token) for employer_id, key in issued]


def create_site(work: Work, site: SiteIn) -> SiteOut:
    employer_id = work.employer_id()
    work.check(Action.CREATE, Record(type="site", owner_employer_id=employer_id))
    if site.parent_id is not None:
        require_own_site(work.tx, employer_id, site.parent_id, "parent_id")
    out = SiteOut(
        id=uuid.uuid4(),
        employer_id=employer_id,
        name=site.name.strip(),
        kind=site.kind,
        parent_id=site.parent_id,
        city=site.city,
    )
    table.insert_site(work.tx, out)
    return out


def get_site(work: Work, site_id: uuid.UUID) -> SiteOut:
    site = table.site_by_id(work.tx, site_id)
    work.check(Action.READ, Record(type="site", id=str(site_id), owner_employer_id=site.employer_id if site else None))
    if site is None:
        raise NotFound(f"site {site_id} not found")
    return site


def list_sites(work: Work) -> list[SiteOut]:
    work.note_list("site")
    return table.sites_in_scope(work.tx, work.scope(worker_column=None))


def require_own_site(tx: Tx, employer_id: uuid.UUID, site_id: uuid.UUID, field: str) -> None:
    site = table.site_by_id(tx, site_id)
    if site is None or site.employer_id != employer_id:
        raise InvalidInput([FieldError(field=field, reason="no site with this id belongs to your organisation")])
