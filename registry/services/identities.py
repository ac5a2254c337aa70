"""Reconciliation of identities: when employers registered one person (one BSN) with a
different name or birth date, the operator, never another employer, is told."""

from __future__ import annotations

import hashlib
from typing import Literal

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
    names = {e.id: e.name for e in org_table.list_employers(tx)}
    groups = {_fingerprint(rows): rows for rows in table.persons_with_several_records(tx)}
    resolutions = table.resolutions_of(tx, sorted(groups))
    items = []
    for fingerprint, rows in groups.items():
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
        differs = [field for field in _FIELDS if len({_folded(getattr(v, field)) for v in versions}) > 1]
        resolution = resolutions.get(fingerprint)
        if not differs or (resolution is not None and not include_resolved):
            continue
        for row in rows:
            work.check(
                Action.READ,
                Record(type="identity_reconciliation", subject_person=row.bsn_index, subject_worker_id=row.id),
            )
        items.append(
            ReconciliationItem(
                id=fingerprint,
                differs=differs,
                versions=versions,
                resolved=resolution is not None,
                resolution=resolution[0] if resolution else None,
            )
        )
    return items


def resolve_item(work: Work, item_id: str, note: str) -> None:
    """Record the operator's decision; a later registration of the person reopens the item
    (its set of worker records, and so its id, changes)."""
    work.check(Action.CREATE, Record(type="identity_resolution", id=item_id))
    if item_id not in {_fingerprint(rows) for rows in table.persons_with_several_records(work.tx)}:
        raise NotFound(f"reconciliation item {item_id} not found (or changed since it was listed)")
    if item_id not in table.resolutions_of(work.tx, [item_id]):
        table.insert_resolution(work.tx, item_id, note, work.actor.id)


_FIELDS: tuple[Literal["name"], Literal["date_of_birth"]] = ("name", "date_of_birth")


def _folded(value: object) -> str:
    """Case and spacing aside: "Jan  de Vries" and "jan de vries" are one name."""
    return " ".join(str(value).casefold().split())


def _fingerprint(rows: list[table.EncryptedWorker]) -> str:
    """An item's id: the set of worker records compared (no person identifier in it)."""
    return hashlib.sha256("|".join(sorted(str(r.id) for r in rows)).encode()).hexdigest()[:24]
