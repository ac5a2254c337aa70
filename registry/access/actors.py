"""Who is asking, and for what purpose."""

from __future__ import annotations

import enum
import uuid

import msgspec

__all__ = ["Actor", "ActorKind", "Purpose"]


class ActorKind(enum.StrEnum):
    EMPLOYER = "employer"
    ADMIN = "admin"  # the registry operator, through the CLI


class Purpose(enum.StrEnum):
    """Why personal data is read (AVG art. 5(1)(b) purpose limitation)."""

    PREVENTION = "prevention"
    LEGAL_DUTY = "legal_duty"
    TSB_CLAIM = "tsb_claim"
    MEDICAL_CARE = "medical_care"
    INSPECTION = "inspection"
    RESEARCH = "research"
    ADMINISTRATION = "administration"


class Actor(msgspec.Struct, frozen=True):
    kind: ActorKind
    id: str  # api key id for an employer's integration; "cli" for the operator
    employer_id: uuid.UUID | None = None

    def label(self) -> str:
        return f"{self.kind}:{self.id}"
