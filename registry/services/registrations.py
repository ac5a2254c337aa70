"""The legal exposure register: one entry per worker, substance, task and period."""

from __future__ import annotations

import uuid

from registry.access import Action, Record, Work
from registry.services.organisations import require_own_site
from registry.services.workers import NO_SUCH_WORKER
from registry.store import Tx
from registry.store import exposure as table
from registry.store import people as people_table
from registry.store import substances as substance_table
from schemas.errors import FieldError, InvalidInput, NotFound
from schemas.exposure import RegistrationIn, RegistrationOut
from schemas.identifiers import normalise_cas
from schemas.units import canonical_unit

__all__ = ["create_registration", "get_registration", "list_registrations"]


def create_registration(work: Work, entry: RegistrationIn) -> RegistrationOut:
    tx = work.tx
    employer_id = work.employer_id()
    if people_table.own_worker(tx, employer_id, entry.worker_id) is None:
        raise InvalidInput([FieldError(field="worker_id", reason=NO_SUCH_WORKER)])
    if not people_table.employment_periods(tx, employer_id, [entry.worker_id]):
        raise InvalidInput(
            [FieldError(field="worker_id", reason="this worker has no employment with your organisation")]
        )
    work.check(
        Action.CREATE,
        Record(type="registration", owner_employer_id=employer_id, subject_worker_id=entry.worker_id),
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
        recorded_at=work.now.replace(microsecond=0),
    )
    table.insert_registration(tx, out)
    return out


def get_registration(work: Work, registration_id: uuid.UUID) -> RegistrationOut:
    rows, _ = table.registration_rows(work.tx, ("TRUE", []), registration_id=registration_id, limit=1)
    row = rows[0] if rows else None
    person = people_table.persons_of_workers(work.tx, [row.worker_id]).get(row.worker_id) if row else None
    work.check(
        Action.READ,
        Record(
            type="registration",
            id=str(registration_id),
            owner_employer_id=row.employer_id if row else None,
            subject_person=person,
            subject_worker_id=row.worker_id if row else None,
        ),
    )
    if row is None:
        raise NotFound(f"registration {registration_id} not found")
    return row


def list_registrations(
    work: Work, worker_id: uuid.UUID | None, limit: int, offset: int
) -> tuple[list[RegistrationOut], int]:
    rows, total = table.registration_rows(work.tx, work.scope("r"), worker_id=worker_id, limit=limit, offset=offset)
    work.note_list("registration", {r.worker_id for r in rows})
    return rows, total


def _substance_id(tx: Tx, entry: RegistrationIn) -> uuid.UUID:
    if entry.substance_id is not None:
        if not substance_table.substance_exists(tx, entry.substance_id):
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
    own = table.own_measurement_ids(tx, employer_id, ids)
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
