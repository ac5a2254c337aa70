"""The legal exposure register: one entry per worker, substance, task and period."""

from __future__ import annotations

import datetime as dt
import uuid

from registry.access import Action, Gate, Record, scope_sql
from registry.services.organisations import require_own_site
from registry.store import Tx
from registry.store import exposure as table
from registry.store import people as people_table
from registry.store import substances as substance_table
from schemas.errors import FieldError, InvalidInput, NotFound
from schemas.exposure import RegistrationIn, RegistrationOut
from schemas.identifiers import normalise_cas
from schemas.units import canonical_unit

__all__ = ["create_registration", "get_registration", "list_registrations"]


def create_registration(tx: Tx, gate: Gate, entry: RegistrationIn) -> RegistrationOut:
    employer_id = gate.employer_id()
    related = people_table.related_employers(tx, [entry.worker_id])[entry.worker_id]
    if employer_id not in related:
        raise InvalidInput(
            [FieldError(field="worker_id", reason="this worker has no employment with your organisation")]
        )
    gate.check(
        Action.CREATE,
        Record(type="registration", subject_worker_id=entry.worker_id, related_employer_ids=related),
    )
    substance_id = _substance_id(tx, entry)
    if entry.site_id is not None:
        require_own_site(tx, employer_id, entry.site_id, "site_id")
    if entry.measurement_ids:
        _require_own_measurements(tx, employer_id, entry.measurement_ids)
    out = RegistrationOut(
        id=uuid.uuid4(),
        employer_id=employer_id,
        worker_id=entry.worker_id,
        substance_id=substance_id,
        substance_cas=normalise_cas(entry.substance_cas) if entry.substance_cas else None,
        site_id=entry.site_id,
        task=entry.task,
        period_start=entry.period_start,
        period_end=entry.period_end,
        level_value=entry.level_value,
        level_unit=canonical_unit(entry.level_unit) if entry.level_unit else None,
        level_band=entry.level_band,
        basis=entry.basis,
        measurement_ids=entry.measurement_ids,
        frequency=entry.frequency,
        hours_per_day=entry.hours_per_day,
        days_per_year=entry.days_per_year,
        controls=entry.controls,
        ppe=entry.ppe,
        recorded_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    table.insert_registration(tx, out)
    return out


def get_registration(tx: Tx, gate: Gate, registration_id: uuid.UUID) -> RegistrationOut:
    rows, _ = table.registration_rows(tx, ("TRUE", []), registration_id=registration_id, limit=1)
    row = rows[0] if rows else None
    gate.check(
        Action.READ,
        Record(
            type="registration",
            id=str(registration_id),
            owner_employer_id=row.employer_id if row else None,
            subject_worker_id=row.worker_id if row else None,
        ),
    )
    if row is None:
        raise NotFound(f"registration {registration_id} not found")
    return row


def list_registrations(
    tx: Tx, gate: Gate, worker_id: uuid.UUID | None, limit: int, offset: int
) -> tuple[list[RegistrationOut], int]:
    rows, total = table.registration_rows(tx, scope_sql(gate.actor), worker_id=worker_id, limit=limit, offset=offset)
    gate.note_list("registration", {r.worker_id for r in rows})
    return rows, total


def _substance_id(tx: Tx, entry: RegistrationIn) -> uuid.UUID:
    if entry.substance_id is not None:
        if tx.scalar("SELECT count(*) FROM substances WHERE id = ?", [entry.substance_id]) == 0:
            raise InvalidInput([FieldError(field="substance_id", reason="no substance with this id in the catalogue")])
        return entry.substance_id
    found = substance_table.substance_by_cas(tx, normalise_cas(entry.substance_cas or ""))
    if found is None:
        raise InvalidInput(
            [
                FieldError(
                    field="substance_cas",
                    reason="substance not in the catalogue; add it first with POST /api/v1/substances",
                )
            ]
        )
    return found.id


def _require_own_measurements(tx: Tx, employer_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    own = {
        row[0]
        for row in tx.all_in(
            "SELECT id FROM measurements WHERE id IN (SELECT id FROM _ids) AND employer_id = ?",
            ids,
            [employer_id],
        )
    }
    errors = [
        FieldError(
            field=f"measurement_ids[{i}]",
            reason="no measurement with this id belongs to your organisation",
        )
        for i, m in enumerate(ids)
        if m not in own
    ]
    if errors:
        raise InvalidInput(errors)
