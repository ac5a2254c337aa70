"""Mandates (hygienists, sector bodies) and contracts (company doctors) given by employers."""

from __future__ import annotations

import datetime as dt
import uuid

from registry.store.database import Tx
from registry.store.organisations import utcnow
from schemas.access import GrantOut

__all__ = ["grants_in_force", "grants_of_employer", "insert_grant", "revoke_grant"]

_GRANT = "SELECT id, role, issuer, subject, employer_id, valid_from, valid_to, granted_by FROM grants"


def insert_grant(tx: Tx, grant: GrantOut) -> None:
    g = grant
    tx.execute(
        "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        [g.id, g.role, g.issuer, g.subject, g.employer_id, g.valid_from, g.valid_to, g.granted_by, utcnow()],
    )


def grants_in_force(tx: Tx, role: str, issuer: str, subject: str, day: dt.date) -> list[GrantOut]:
    """The person's grants of this role that hold on `day` (end date inclusive), not revoked."""
    return tx.structs(
        GrantOut,
        f"{_GRANT} WHERE subject = ? AND issuer = ? AND role = ? AND revoked_at IS NULL "
        "AND valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?) ORDER BY valid_from, id",
        [subject, issuer, role, day, day],
    )


def grants_of_employer(tx: Tx, employer_id: uuid.UUID) -> list[GrantOut]:
    return tx.structs(
        GrantOut, f"{_GRANT} WHERE employer_id = ? AND revoked_at IS NULL ORDER BY valid_from, id", [employer_id]
    )


def revoke_grant(tx: Tx, employer_id: uuid.UUID, grant_id: uuid.UUID) -> bool:
    found = tx.scalar(
        "SELECT count(*) FROM grants WHERE id = ? AND employer_id = ? AND revoked_at IS NULL", [grant_id, employer_id]
    )
    if found:
        tx.execute("UPDATE grants SET revoked_at = ? WHERE id = ?", [utcnow(), grant_id])
    return bool(found)
