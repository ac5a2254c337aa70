"""Who is asking, on whose behalf, and for what purpose."""

from __future__ import annotations

import enum
import uuid

import msgspec

__all__ = ["Actor", "ActorKind", "Purpose"]


class ActorKind(enum.StrEnum):
    EMPLOYER = "employer"  # an employer's or agency's API key
    HYGIENIST = "hygienist"  # an occupational hygienist or sector body under an employer's mandate
    COMPANY_DOCTOR = "company_doctor"  # contracted by employers for a period
    WORKER = "worker"  # a (former) worker, signed in with their BSN
    INSPECTOR = "inspector"  # the labour inspectorate (NLA)
    RESEARCHER = "researcher"  # an approved research project
    OPERATOR = "operator"  # the registry operator (CLI, operator sign-in)


class Purpose(enum.StrEnum):
    """Why personal data is read (AVG art. 5(1)(b) purpose limitation)."""

    PREVENTION = "prevention"
    LEGAL_DUTY = "legal_duty"
    TSB_CLAIM = "tsb_claim"
    MEDICAL_CARE = "medical_care"
    INSPECTION = "inspection"
    RESEARCH = "research"
    ADMINISTRATION = "administration"
    SELF_ACCESS = "self_access"  # a worker reading their own data (AVG art. 15)


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The caller as the rules see it; built once per request from a verified credential."""

    kind: ActorKind
    id: str  # "key:<key id>", "oidc:<subject>@<issuer>", or "cli"
    # The employer it records for: an employer's own key, or the mandate a hygienist acts under.
    employer_id: uuid.UUID | None = None
    # Whose records it may read: for a company doctor every contracting employer in force.
    employer_ids: frozenset[uuid.UUID] = frozenset()
    person: str | None = None  # a worker: their BSN blind index, which names all their records
    project: str | None = None  # a researcher's approved project
    acting_for: str | None = None  # for the audit: "employer:<id>" or "grant:<id>"

    def label(self) -> str:
        return f"{self.kind}:{self.id}"
