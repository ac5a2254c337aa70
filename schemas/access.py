"""Mandates and contracts, who read a worker's data, and identity reconciliation items."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec

from schemas.common import ShortText, check_order
from schemas.errors import FieldError
from schemas.people import WorkerOut
from schemas.text import ONE_LINE

__all__ = [
    "AccessLogEntry",
    "GrantIn",
    "GrantOut",
    "GrantRole",
    "IdentityVersion",
    "ReconciliationItem",
    "ResolutionIn",
    "SignedIn",
]

# A hygienist or sector body records under an employer's mandate; a company doctor reads
# medical results under an employer's contract.
GrantRole = Literal["hygienist", "company_doctor"]


class GrantIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A mandate or contract an employer gives a person, known by their OpenID issuer and subject."""

    role: GrantRole
    issuer: Annotated[
        str, msgspec.Meta(min_length=1, max_length=500, pattern=ONE_LINE, description="the person's OpenID issuer")
    ]
    subject: Annotated[
        str, msgspec.Meta(min_length=1, max_length=255, pattern=ONE_LINE, description="`sub` at that issuer")
    ]
    valid_from: dt.date
    valid_to: Annotated[dt.date | None, msgspec.Meta(description="last day (inclusive); none: until revoked")] = None

    def problems(self) -> Iterator[FieldError]:
        yield from check_order("valid_from", self.valid_from, "valid_to", self.valid_to)


class GrantOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    role: str
    issuer: str
    subject: str
    employer_id: uuid.UUID
    valid_from: dt.date
    valid_to: dt.date | None
    granted_by: str


class SignedIn(msgspec.Struct, kw_only=True):
    """`GET /me` for someone signed in with OpenID Connect."""

    role: str
    subject: str
    acting_for_employer_ids: list[uuid.UUID]
    identities: list[WorkerOut]  # a worker: each employer's record of them
    project: str | None = None


class AccessLogEntry(msgspec.Struct, kw_only=True):
    """One read or write of a worker's data, as the worker sees it in their access log."""

    occurred_at: dt.datetime
    actor_role: str
    actor: str
    acting_for: str | None  # the employer's name, for a key, mandate or contract
    action: str
    record_type: str
    purpose: str | None
    outcome: str
    reason: str


class IdentityVersion(msgspec.Struct, kw_only=True):
    employer_id: uuid.UUID | None
    employer_name: str | None
    worker_id: uuid.UUID
    name: str
    date_of_birth: dt.date


class ReconciliationItem(msgspec.Struct, kw_only=True):
    """A person whose employers supplied differing names or birth dates (operator only)."""

    id: str  # "<person id>:<fingerprint>"
    differs: list[Literal["name", "date_of_birth"]]
    versions: list[IdentityVersion]
    resolved: bool
    resolution: str | None


class ResolutionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[ShortText, msgspec.Meta(description="what was decided, e.g. which employer corrected what")]
