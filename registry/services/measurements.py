"""Recording and reading measurements.

A batch is all-or-nothing: every item is checked against the store (substance known,
worker employed here on the sampling date, SEG and site this employer's) and every bad
item is reported by index before anything is written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence

import msgspec

from crypto import Vault, WorkerCipher, WrappedKey
from registry.access import Action, Record, Work
from registry.services.compliance import with_warnings
from registry.services.workers import NO_SUCH_WORKER
from registry.store import Tx
from registry.store import exposure as table
from registry.store import organisations as org_table
from registry.store import people as people_table
from registry.store import substances as substance_table
from registry.store.exposure import MeasurementFilter, MeasurementRow
from schemas.errors import FieldError, InvalidInput, NotFound
from schemas.exposure import MeasurementIn, MeasurementOut
from schemas.identifiers import normalise_cas
from schemas.units import canonical_unit

__all__ = [
    "MeasurementFilter",
    "biological_results_for_group_figures",
    "encrypt_result",
    "get_measurement",
    "list_measurements",
    "measurements_in_windows",
    "record_measurements",
    "with_warnings",
]

MEDICAL_WITHHELD = (
    "medisch: individuele biomonitoringsuitslagen zijn alleen zichtbaar voor de bedrijfsarts en de werknemer / "
    "medical: individual biological monitoring results are visible to the company doctor and the worker only"
)


# What a stored row and the answer have in common (the answer adds result_withheld).
_SHARED_FIELDS = [f for f in MeasurementOut.__struct_fields__ if f in MeasurementRow.__struct_fields__]


class _Result(msgspec.Struct, frozen=True):
    """A biological result as encrypted into result_ct."""

    value: float | None
    below_lod: bool
    lod: float | None


def record_measurements(
    work: Work,
    items: Sequence[MeasurementIn],
    *,
    positions: Sequence[int] | None = None,
    earlier_errors: Sequence[FieldError] = (),
    single: bool = False,
) -> list[MeasurementOut]:
    """Store `items` (all or nothing). `positions` are their indexes in the request and
    `earlier_errors` the schema errors of the request's other items, so one answer lists
    every bad item, whatever rule it broke. A `single` measurement's errors name its fields
    without an items[i] prefix."""
    tx = work.tx
    employer_id = work.employer_id()
    context = _Context.load(tx, employer_id, items)
    where = positions or range(len(items))
    errors = list(earlier_errors) + [
        e if single else e.under(f"items[{i}]")
        for i, item in zip(where, items, strict=True)
        for e in context.problems(item)
    ]
    if errors:
        raise InvalidInput(sorted(errors, key=_item_order))
    for worker_id in sorted({i.worker_id for i in items if i.worker_id}, key=str):
        work.check(
            Action.CREATE,
            Record(type="measurement", owner_employer_id=employer_id, subject_worker_id=worker_id),
        )
    biological = sorted({i.worker_id for i in items if i.sample_type == "biological" and i.worker_id}, key=str)
    sealer = _Sealer.for_workers(work, biological)
    rows = [_row(sealer, employer_id, context.substance_id(item), item, work.now) for item in items]
    table.insert_measurements(tx, rows)
    # The answer follows the read rules too: an employer does not get individual biological
    # results back, not even the ones it just sent (so a replay answers the same).
    return with_warnings(tx, [_out(sealer, row, redact=True) for row in rows])


def get_measurement(work: Work, measurement_id: uuid.UUID) -> MeasurementOut:
    row = table.measurement_by_id(work.tx, measurement_id)
    record = Record(type="measurement", id=str(measurement_id))
    if row is not None:
        person = people_table.persons_of_workers(work.tx, [row.worker_id]).get(row.worker_id) if row.worker_id else None
        record = Record(
            type="measurement",
            id=str(measurement_id),
            owner_employer_id=row.employer_id,
            subject_person=person,
            subject_worker_id=row.worker_id,
            medical=row.sample_type == "biological",
        )
    decision = work.check(Action.READ, record)
    if row is None:
        raise NotFound(f"measurement {measurement_id} not found")
    return _opened(work, [row], redact=decision.redact_medical)[0]


def list_measurements(
    work: Work,
    where: MeasurementFilter,
    limit: int,
    offset: int,
    ids: Sequence[uuid.UUID] | None = None,
) -> tuple[list[MeasurementOut], int]:
    scope = work.scope("m")
    rows = table.measurement_rows(work.tx, scope, where, ids=ids, limit=limit, offset=offset)
    total = table.count_measurements(work.tx, scope, where, ids=ids)
    decision = work.note_list("measurement", {r.worker_id for r in rows if r.worker_id})
    return _opened(work, rows, redact=decision.redact_medical), total


def measurements_in_windows(work: Work, view: str, *, redact: bool) -> list[MeasurementOut]:
    """A history's results (see store.exposure.windows), oldest first; the caller has
    checked access."""
    return _opened(work, table.measurements_in_windows(work.tx, view), redact=redact)


def biological_results_for_group_figures(work: Work) -> list[MeasurementOut]:
    """This employer's biological results with their values opened, for group figures: the
    caller returns counts, never a value (medical confidentiality)."""
    rows = table.measurement_rows(work.tx, work.scope("m"), MeasurementFilter(sample_type="biological"), limit=None)
    return _opened(work, rows, redact=False)


def _opened(work: Work, rows: Sequence[MeasurementRow], *, redact: bool) -> list[MeasurementOut]:
    """Rows as answers: biological values decrypted for an actor who may see them."""
    workers = [] if redact else sorted({r.worker_id for r in rows if r.result_ct is not None and r.worker_id}, key=str)
    sealer = _Sealer.for_workers(work, workers)
    return [_out(sealer, row, redact=redact) for row in rows]


class _Sealer(msgspec.Struct, frozen=True):
    """The keys that open (and seal) biological values: each worker record's data key."""

    vault: Vault
    key_ids: dict[uuid.UUID, uuid.UUID]  # worker id -> its data key's id
    keys: dict[uuid.UUID, WrappedKey]

    @classmethod
    def for_workers(cls, work: Work, worker_ids: Sequence[uuid.UUID]) -> _Sealer:
        key_ids = people_table.key_ids_of_workers(work.tx, worker_ids)
        keys = people_table.KeyTable(work.tx).wrapped_keys_for(sorted(set(key_ids.values()), key=str))
        return cls(work.vault, key_ids, keys)

    def cipher(self, worker_id: uuid.UUID) -> WorkerCipher:
        key_id = self.key_ids[worker_id]
        return self.vault.worker_cipher(key_id, self.keys.get(key_id))


def _item_order(error: FieldError) -> tuple[int, str]:
    index = error.field.removeprefix("items[").split("]", 1)[0]
    return (int(index) if index.isascii() and index.isdecimal() else -1, error.field)


class _Context(msgspec.Struct):
    """What the store knows about the ids a batch refers to, loaded once per batch."""

    employer_id: uuid.UUID
    cas_ids: dict[str, uuid.UUID]
    known_substance_ids: set[uuid.UUID]
    own_workers: set[uuid.UUID]
    employments: dict[uuid.UUID, list[tuple[dt.date, dt.date | None]]]
    segs: set[uuid.UUID]
    sites: set[uuid.UUID]

    @classmethod
    def load(cls, tx: Tx, employer_id: uuid.UUID, items: Sequence[MeasurementIn]) -> _Context:
        workers = sorted({i.worker_id for i in items if i.worker_id}, key=str)
        return cls(
            employer_id=employer_id,
            cas_ids=substance_table.substance_ids_by_cas(tx),
            known_substance_ids=substance_table.substance_ids(tx),
            own_workers=people_table.own_worker_ids(tx, employer_id, workers),
            employments=people_table.employment_periods(tx, employer_id, workers),
            segs=table.own_seg_ids(tx, employer_id, sorted({i.seg_id for i in items if i.seg_id}, key=str)),
            sites=org_table.own_site_ids(tx, employer_id, sorted({i.site_id for i in items if i.site_id}, key=str)),
        )

    def substance_id(self, item: MeasurementIn) -> uuid.UUID:
        if item.substance_id is not None:
            return item.substance_id
        return self.cas_ids[normalise_cas(item.substance_cas or "")]

    def problems(self, item: MeasurementIn) -> Iterator[FieldError]:
        if item.substance_id is not None and item.substance_id not in self.known_substance_ids:
            yield FieldError(field="substance_id", reason="no substance with this id in the catalogue")
        if item.substance_cas is not None and normalise_cas(item.substance_cas) not in self.cas_ids:
            yield FieldError(
                field="substance_cas",
                reason="substance not in the catalogue; add it first with POST /api/v1/substances",
            )
        if item.worker_id is not None:
            day = item.sampling_start.astimezone(dt.UTC).date()
            periods = self.employments.get(item.worker_id, [])
            if item.worker_id not in self.own_workers:
                yield FieldError(field="worker_id", reason=NO_SUCH_WORKER)
            elif not periods:
                yield FieldError(field="worker_id", reason="this worker has no employment with your organisation")
            elif not any(start <= day and (end is None or day <= end) for start, end in periods):
                yield FieldError(
                    field="worker_id",
                    reason=f"this worker was not employed by your organisation on {day.isoformat()}",
                )
        if item.seg_id is not None and item.seg_id not in self.segs:
            yield FieldError(field="seg_id", reason="no SEG with this id belongs to your organisation")
        if item.site_id is not None and item.site_id not in self.sites:
            yield FieldError(field="site_id", reason="no site with this id belongs to your organisation")


def _row(
    sealer: _Sealer,
    employer_id: uuid.UUID,
    substance_id: uuid.UUID,
    item: MeasurementIn,
    now: dt.datetime,
) -> MeasurementRow:
    measurement_id = uuid.uuid4()
    start = item.sampling_start.astimezone(dt.UTC)
    end = item.sampling_end.astimezone(dt.UTC)
    minutes = item.sampled_minutes or (end - start).total_seconds() / 60
    value, below_lod, lod = item.value, item.below_lod, item.lod
    stored_below_lod: bool | None = below_lod
    result_ct: bytes | None = None
    if item.sample_type == "biological" and item.worker_id is not None:
        result_ct = encrypt_result(sealer.cipher(item.worker_id), measurement_id, item.value, item.below_lod, item.lod)
        value, stored_below_lod, lod = None, None, None
    return MeasurementRow(
        id=measurement_id,
        employer_id=employer_id,
        sample_type=item.sample_type,
        substance_id=substance_id,
        substance_cas=normalise_cas(item.substance_cas) if item.substance_cas else None,
        worker_id=item.worker_id,
        seg_id=item.seg_id,
        site_id=item.site_id,
        value=value,
        below_lod=stored_below_lod,
        lod=lod,
        result_ct=result_ct,
        unit=canonical_unit(item.unit),
        matrix=item.matrix,
        analyte=item.analyte,
        sampling_start=start,
        sampling_end=end,
        sampled_minutes=minutes,
        air_volume_l=item.air_volume_l,
        method=item.method,
        lab=item.lab,
        lab_report_id=item.lab_report_id,
        chain_of_custody=item.chain_of_custody,
        task=item.task,
        location=item.location,
        rpe=item.rpe,
        protection_factor=item.protection_factor,
        recorded_at=now,
    )


def encrypt_result(
    cipher: WorkerCipher, measurement_id: uuid.UUID, value: float | None, below_lod: bool, lod: float | None
) -> bytes:
    """A biological result as stored: ciphertext under the worker's key, bound to the record."""
    result = _Result(value=value, below_lod=below_lod, lod=lod)
    return cipher.encrypt(_result_context(measurement_id), msgspec.json.encode(result))


def _result_context(measurement_id: uuid.UUID) -> str:
    return f"measurements.result:{measurement_id}"


def _out(sealer: _Sealer, row: MeasurementRow, *, redact: bool) -> MeasurementOut:
    value, below_lod, lod, withheld = row.value, row.below_lod, row.lod, None
    if row.result_ct is not None:
        if redact or row.worker_id is None:
            withheld = MEDICAL_WITHHELD
        else:
            result = msgspec.json.decode(
                sealer.cipher(row.worker_id).decrypt(_result_context(row.id), row.result_ct), type=_Result
            )
            value, below_lod, lod = result.value, result.below_lod, result.lod
    fields = {f: getattr(row, f) for f in _SHARED_FIELDS}
    fields.update(value=value, below_lod=below_lod, lod=lod, result_withheld=withheld)
    return MeasurementOut(**fields)
