"""Reconciliation of identities: when employers registered one person (one BSN) with a
different name or birth date, the operator, never another employer, is told."""

from __future__ import annotations

import hashlib
import uuid

from registry.access import Action, Record, Work
from registry.services.workers import open_identities
from registry.store import organisations as org_table
from registry.store import people as table
from schemas.access import IdentityVersion, ReconciliationItem
from schemas.errors import NotFound

__all__ = ["reconciliation_items", "resolve_item"]


def reconciliation_items(work: Work, *, include_resolved: bool = False) -> list[ReconciliationItem]:
    work.note_list("identity_reconciliation")
    tx = work.tx
    persons = table.persons_with_several_identities(tx)
    names = {e.id: e.name for e in org_table.list_employers(tx)}
    resolutions = table.resolutions_of(tx, persons)
    items = []
    for person in persons:
        rows = table.workers_of_person(tx, person)
        versions = [
            IdentityVersion(
                employer_id=row.employer_id,
                employer_name=names.get(row.employer_id) if row.employer_id else None,
                worker_id=row.id,
                name=identity.name,
                date_of_birth=identity.date_of_birth,
            )
            for row, identity in zip(rows, open_identities(work, rows), strict=True)
        ]
        differs = [
            field
            for field in ("name", "date_of_birth")
            if len({" ".join(str(getattr(v, field)).casefold().split()) for v in versions}) > 1
        ]
        if not differs:
            continue
        fingerprint = _fingerprint(rows)
        resolution = resolutions.get((person, fingerprint))
        if resolution is not None and not include_resolved:
            continue
        for row in rows:
            work.check(
                Action.READ,
                Record(type="identity_reconciliation", subject_person_id=person, subject_worker_id=row.id),
            )
        items.append(
            ReconciliationItem(
                id=f"{person}:{fingerprint}",
                differs=differs,  # type: ignore[arg-type]  # the two literal field names
                versions=versions,
                resolved=resolution is not None,
                resolution=resolution[0] if resolution else None,
            )
        )
    return items


def resolve_item(work: Work, item_id: str, note: str) -> None:
    """Record the operator's decision; a later registration of the person reopens the item."""
    person_text, _, fingerprint = item_id.partition(":")
    try:
        person = uuid.UUID(person_text)
    except ValueError:
        raise NotFound(f"reconciliation item {item_id} not found") from None
    work.check(Action.CREATE, Record(type="identity_resolution", id=item_id, subject_person_id=person))
    rows = table.workers_of_person(work.tx, person)
    if len(rows) < 2 or _fingerprint(rows) != fingerprint:
        raise NotFound(f"reconciliation item {item_id} not found (or changed since it was listed)")
    if (person, fingerprint) not in table.resolutions_of(work.tx, [person]):
        table.insert_resolution(work.tx, person, fingerprint, note, work.actor.id)


def _fingerprint(rows: list[table.EncryptedWorker]) -> str:
    return hashlib.sha256("|".join(sorted(str(r.id) for r in rows)).encode()).hexdigest()[:16]
