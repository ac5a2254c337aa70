"""Recording and reading measurements.

A batch is all-or-nothing: every item is checked against the store (substance known,
worker employed here on the sampling date, SEG and site this employer's) and every bad
item is reported by index before anything is written.

A batch is handled as columns (schemas/measurement_columns.py): the store's rules are
joins of the batch's columns with what the store holds for the ids it names, and the rows
go in with one Arrow insert. One measurement (`record_measurement`) is checked by
`_Context.problems`, the same rules item by item, which tests hold the batch's equal to.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator, Sequence

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from crypto import Vault, WorkerCipher, WrappedKey
from registry.access import Action, Record, Work
from registry.services.compliance import warnings_of_columns, with_warnings
from registry.services.workers import NO_SUCH_WORKER
from registry.store import Tx
from registry.store import exposure as table
from registry.store import organisations as org_table
from registry.store import people as people_table
from registry.store import substances as substance_table
from registry.store.exposure import MeasurementFilter, MeasurementRow
from schemas.errors import FieldError, InvalidInput, NotFound
from schemas.exposure import BatchItemResult, BatchResult, MeasurementIn, MeasurementOut
from schemas.identifiers import normalise_cas
from schemas.measurement_columns import (
    UTC_TIMESTAMP,
    MeasurementColumns,
    Rule,
    odd_problems,
    rule_errors,
    span_minutes,
    uuid_array,
    uuid_objects,
)
from schemas.units import canonical_unit
from schemas.validation import BatchErrors

__all__ = [
    "MeasurementFilter",
    "RecordedBatch",
    "batch_store_problems",
    "biological_results_for_group_figures",
    "encrypt_result",
    "get_measurement",
    "list_measurements",
    "measurements_in_windows",
    "record_batch",
    "record_measurement",
    "record_measurements",
    "recorded_again",
    "with_warnings",
]

MEDICAL_WITHHELD = (
    "medisch: individuele biomonitoringsuitslagen zijn alleen zichtbaar voor de bedrijfsarts en de werknemer / "
    "medical: individual biological monitoring results are visible to the company doctor and the worker only"
)
# Why the store refuses an item (for one measurement and a batch alike).
NO_SUCH_SUBSTANCE_ID = "no substance with this id in the catalogue"
NO_SUCH_CAS = "substance not in the catalogue; add it first with POST /api/v1/substances"
NO_EMPLOYMENT = "this worker has no employment with your organisation"
NOT_EMPLOYED_ON = "this worker was not employed by your organisation on {}"
NO_SUCH_SEG = "no SEG with this id belongs to your organisation"
NO_SUCH_SITE = "no site with this id belongs to your organisation"


# What a stored row and the answer have in common (the answer adds result_withheld).
_SHARED_FIELDS = [f for f in MeasurementOut.__struct_fields__ if f in MeasurementRow.__struct_fields__]


class _Result(msgspec.Struct, frozen=True):
    """A biological result as encrypted into result_ct."""

    value: float | None
    below_lod: bool
    lod: float | None


class RecordedBatch:
    """What a batch stored: each item's new id and warnings, in the request's order (the
    default answer), and the stored rows, which become records only when asked for."""

    def __init__(self, positions: list[int], ids: list[uuid.UUID], warnings: list[list[str]], rows: pa.Table) -> None:
        self.positions = positions
        self.ids = ids
        self.warnings = warnings
        self.rows = rows

    def result(self) -> BatchResult:
        items = [
            BatchItemResult(index=index, id=measurement_id, status="created", warnings=warned)
            for index, measurement_id, warned in zip(self.positions, self.ids, self.warnings, strict=True)
        ]
        return BatchResult(total=len(items), items=items)

    def records(self) -> list[MeasurementOut]:
        """The stored records as the employer reads them: a biological value withheld (so a
        replay, which reads them back, answers the same)."""
        columns = self.rows.to_pydict()
        out = []
        for row, warned in enumerate(self.warnings):
            fields = {name: columns[name][row] for name in _SHARED_FIELDS if name != "substance_cas"}
            withheld = MEDICAL_WITHHELD if columns["result_ct"][row] is not None else None
            for name in ("sampling_start", "sampling_end", "recorded_at"):
                fields[name] = fields[name].replace(tzinfo=dt.UTC)
            out.append(
                MeasurementOut(
                    **fields, substance_cas=columns["substance_cas"][row], result_withheld=withheld, warnings=warned
                )
            )
        return out


def record_measurement(work: Work, item: MeasurementIn) -> MeasurementOut:
    """One measurement, already checked by its own rules: its errors name its fields
    without an items[i] prefix."""
    context = _Context.load(work.tx, work.employer_id(), [item])
    errors = list(context.problems(item))
    if errors:
        raise InvalidInput(errors)
    columns = MeasurementColumns([item], [0])
    catalogue = _Catalogue(by_cas=context.cas_ids, ids=context.known_substance_ids)
    recorded = _store(work, columns, columns.frame("worker_id"), catalogue, warn=False)
    return with_warnings(work.tx, recorded.records())[0]


def record_measurements(
    work: Work,
    items: Sequence[MeasurementIn],
    *,
    positions: Sequence[int] | None = None,
    earlier_errors: Sequence[FieldError] = (),
) -> list[MeasurementOut]:
    """Store `items` (all or nothing; each already checked by its own rules) and return the
    records. `positions` are their indexes in the request and `earlier_errors` the errors of
    the request's other items (full paths, items[i].field), so one answer lists every bad
    item, whatever rule it broke. (`record_batch` answers with ids only, which is cheaper.)"""
    columns = MeasurementColumns(items, positions if positions is not None else range(len(items)))
    errors = BatchErrors()
    errors.add_errors(earlier_errors)
    return record_batch(work, columns, errors).records()


def record_batch(work: Work, columns: MeasurementColumns, errors: BatchErrors | None = None) -> RecordedBatch:
    """Store a batch's items, all or nothing. `columns` holds the items that fit the schema's
    types, `errors` every error found so far (structure, MeasurementIn's rules): the items
    without one are checked against the store, and any error anywhere stores nothing and
    raises InvalidInput listing the first ones, with the totals."""
    errors = BatchErrors().merged(errors) if errors else BatchErrors()  # a unit of work may run again
    if columns.odd:  # always wrong; the caller may not have checked them
        unchecked = odd_problems(columns)
        errors.add_frame(unchecked.filter(~pl.col("index").is_in(list(errors.bad_items()))))
    frame = columns.frame("substance_cas", "substance_id", "worker_id", "seg_id", "site_id", "sampling_start")
    bad = errors.bad_items()
    good = frame.filter(~pl.col("index").is_in(list(bad))) if bad else frame
    catalogue = _Catalogue.load(work.tx)
    errors.add_frame(batch_store_problems(work.tx, work.employer_id(), good, catalogue))
    if errors:
        raise errors.invalid_input("measurements")
    return _store(work, columns, frame, catalogue)


def recorded_again(work: Work, ids: Sequence[uuid.UUID]) -> list[MeasurementOut]:
    """The records a batch stored, read back in its order with their warnings (a replay)."""
    items, _ = list_measurements(work, MeasurementFilter(), limit=len(ids), offset=0, ids=ids)
    position = {measurement_id: i for i, measurement_id in enumerate(ids)}
    items.sort(key=lambda m: position[m.id])
    return with_warnings(work.tx, items)


class _Catalogue(msgspec.Struct, frozen=True):
    """The substances: by CAS number, and every id."""

    by_cas: dict[str, uuid.UUID]
    ids: set[uuid.UUID]

    @classmethod
    def load(cls, tx: Tx) -> _Catalogue:
        return cls(by_cas=substance_table.substance_ids_by_cas(tx), ids=substance_table.substance_ids(tx))


def batch_store_problems(
    tx: Tx, employer_id: uuid.UUID, frame: pl.DataFrame, catalogue: _Catalogue | None = None
) -> pl.DataFrame:
    """The store's rules over a batch's columns (index, substance_cas, substance_id,
    worker_id, seg_id, site_id, sampling_start; ids as 16 bytes): the errors as index, field,
    reason, rank, in `_Context.problems`' order. Only the ids the batch names are read."""
    catalogue = catalogue or _Catalogue.load(tx)
    known = [u.bytes for u in catalogue.ids]
    own_ids = sorted(people_table.own_worker_ids(tx, employer_id, _named(frame, "worker_id")), key=str)
    own = [u.bytes for u in own_ids]
    periods = people_table.employment_periods(tx, employer_id, own_ids)  # only an own worker's matter
    segs = [u.bytes for u in table.own_seg_ids(tx, employer_id, _named(frame, "seg_id"))]
    sites = [u.bytes for u in org_table.own_site_ids(tx, employer_id, _named(frame, "site_id"))]
    employed = pl.DataFrame(
        [(w.bytes, start, end) for w, spans in periods.items() for start, end in spans],
        schema={"worker_id": pl.Binary, "start": pl.Date, "end": pl.Date},
        orient="row",
    )
    cas = _normalised_cas(frame)
    frame = frame.with_columns(cas.alias("_cas"), pl.col("sampling_start").dt.date().alias("_day"))
    day = pl.col("_day")
    covered = (
        frame.join(employed, on="worker_id")
        .filter((pl.col("start") <= day) & (pl.col("end").is_null() | (day <= pl.col("end"))))
        .get_column("row")
        .unique()
        .to_list()
    )
    worker = pl.col("worker_id")
    mine = worker.is_in(own)
    hired = mine & worker.is_in(employed.get_column("worker_id").unique().to_list())
    rules: list[Rule] = [
        (
            "substance_id",
            pl.col("substance_id").is_not_null() & ~pl.col("substance_id").is_in(known),
            NO_SUCH_SUBSTANCE_ID,
        ),
        ("substance_cas", pl.col("_cas").is_not_null() & ~pl.col("_cas").is_in(list(catalogue.by_cas)), NO_SUCH_CAS),
        ("worker_id", worker.is_not_null() & ~mine, NO_SUCH_WORKER),
        ("worker_id", mine & ~hired, NO_EMPLOYMENT),
        (
            "worker_id",
            hired & ~pl.col("row").is_in(covered),
            pl.format(NOT_EMPLOYED_ON, day.dt.strftime("%Y-%m-%d")),
        ),
        ("seg_id", pl.col("seg_id").is_not_null() & ~pl.col("seg_id").is_in(segs), NO_SUCH_SEG),
        ("site_id", pl.col("site_id").is_not_null() & ~pl.col("site_id").is_in(sites), NO_SUCH_SITE),
    ]
    return rule_errors(frame, rules)


def _named(frame: pl.DataFrame, column: str) -> list[uuid.UUID]:
    """The distinct ids a batch names in `column`."""
    return uuid_objects(b"".join(frame.get_column(column).drop_nulls().unique().sort().to_list()))


def _normalised_cas(frame: pl.DataFrame) -> pl.Series:
    """Each item's CAS number as the catalogue writes it (asked once per distinct value)."""
    written = frame.get_column("substance_cas")
    spelled = {cas: normalise_cas(cas) for cas in written.drop_nulls().unique().to_list()}
    return written.replace_strict(spelled, default=None, return_dtype=pl.String)


def _store(
    work: Work, columns: MeasurementColumns, frame: pl.DataFrame, catalogue: _Catalogue, *, warn: bool = True
) -> RecordedBatch:
    """Audit, then write the checked items as rows in one statement; with `warn`, what to
    check at once about each (over the columns: one measurement asks `with_warnings`)."""
    employer_id = work.employer_id()
    for worker_id in _named(frame, "worker_id"):
        work.check(
            Action.CREATE,
            Record(type="measurement", owner_employer_id=employer_id, subject_worker_id=worker_id),
        )
    rows, ids = _rows(work, columns, catalogue)
    table.insert_measurement_table(work.tx, rows)
    if not warn:
        return RecordedBatch(columns.positions, ids, [[] for _ in ids], rows)
    substance_ids = pl.from_arrow(rows.column("substance_id").combine_chunks().storage)
    assert isinstance(substance_ids, pl.Series)
    named = {b: str(uuid.UUID(bytes=b)) for b in substance_ids.unique().to_list()}
    results = pl.DataFrame(
        {
            "substance_id": substance_ids.replace_strict(named, return_dtype=pl.String),
            "unit": pl.from_arrow(rows.column("unit")),
            "level": pl.from_arrow(pc.coalesce(rows.column("value"), rows.column("lod"))),
            "biological": pl.from_arrow(pc.equal(rows.column("sample_type"), "biological")),
        }
    )
    warnings = warnings_of_columns(work.tx, results).to_list()
    return RecordedBatch(columns.positions, ids, warnings, rows)


def _rows(work: Work, columns: MeasurementColumns, catalogue: _Catalogue) -> tuple[pa.Table, list[uuid.UUID]]:
    """The table's rows for checked items: new ids, the substance by id, units and CAS
    numbers as the registry writes them, UTC timestamps, sampled minutes (stated, or the
    sampling span), and a biological result only as ciphertext under the worker's key."""
    given = columns.table
    n = len(columns)
    raw = _random_ids(n)
    ids = _uuid_array(pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw)]))
    id_values = uuid_objects(raw)
    cas = _mapped(given.column("substance_cas"), normalise_cas, pa.string())
    from_cas = _mapped(cas, lambda c: catalogue.by_cas[c].bytes, pa.binary(16))
    substance_id = pc.coalesce(given.column("substance_id").combine_chunks().storage, from_cas)
    biological = pc.equal(given.column("sample_type"), "biological").combine_chunks()
    value, below_lod, lod = given.column("value"), given.column("below_lod"), given.column("lod")
    result_ct: pa.Array = pa.nulls(n, pa.binary())
    if pc.any(biological).as_py():
        result_ct = _sealed_results(work, columns, biological, id_values)
        value = pc.if_else(biological, pa.scalar(None, pa.float64()), value)
        below_lod = pc.if_else(biological, pa.scalar(None, pa.bool_()), below_lod)
        lod = pc.if_else(biological, pa.scalar(None, pa.float64()), lod)
    span = span_minutes(columns.frame("sampling_start", "sampling_end"))
    rows = {
        "id": ids,
        "employer_id": uuid_array([work.employer_id()] * n),
        "sample_type": given.column("sample_type"),
        "substance_id": _uuid_array(substance_id),
        "worker_id": given.column("worker_id"),
        "seg_id": given.column("seg_id"),
        "site_id": given.column("site_id"),
        "value": value,
        "below_lod": below_lod,
        "lod": lod,
        "result_ct": result_ct,
        "unit": _mapped(given.column("unit"), canonical_unit, pa.string()),
        **{name: given.column(name) for name in ("matrix", "analyte", "sampling_start", "sampling_end")},
        "sampled_minutes": pc.coalesce(given.column("sampled_minutes"), pa.array(span, pa.float64())),
        **{
            name: given.column(name)
            for name in (
                "air_volume_l",
                "method",
                "lab",
                "lab_report_id",
                "chain_of_custody",
                "task",
                "location",
                "rpe",
                "protection_factor",
            )
        },
        "recorded_at": pa.array([work.now.astimezone(dt.UTC).replace(tzinfo=None)] * n, UTC_TIMESTAMP),
        "substance_cas": cas,  # answered, not stored
    }
    return pa.table(rows), id_values


def _random_ids(n: int) -> bytes:
    """n random (version 4) UUIDs as 16 bytes each, from the OS's CSPRNG like uuid.uuid4."""
    octets = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    octets[:, 6] = (octets[:, 6] & 0x0F) | 0x40  # version 4
    octets[:, 8] = (octets[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    return octets.tobytes()


def _uuid_array(storage: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(storage, pa.ChunkedArray):
        storage = storage.combine_chunks()
    return pa.ExtensionArray.from_storage(pa.uuid(), storage.cast(pa.binary(16)))


def _mapped(values: pa.Array | pa.ChunkedArray, spell: object, kind: pa.DataType) -> pa.Array:
    """`spell` applied once per distinct value (a CAS number, a unit), nulls kept."""
    assert callable(spell)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = values.dictionary_encode()
    spelled = pa.array([spell(v) for v in encoded.dictionary.to_pylist()], kind)
    return pc.take(spelled, encoded.indices)


def _sealed_results(
    work: Work, columns: MeasurementColumns, biological: pa.Array, ids: Sequence[uuid.UUID]
) -> pa.Array:
    """result_ct: each biological result encrypted under its worker's key, bound to its id."""
    rows = pc.indices_nonzero(biological).to_pylist()
    items = columns.items
    sealer = _Sealer.for_workers(work, sorted({w for r in rows if (w := items[r].worker_id)}, key=str))
    sealed: list[bytes | None] = [None] * len(items)
    for row in rows:
        item = items[row]
        assert item.worker_id is not None  # a biological sample belongs to a worker (its rules)
        sealed[row] = encrypt_result(sealer.cipher(item.worker_id), ids[row], item.value, item.below_lod, item.lod)
    return pa.array(sealed, pa.binary())


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


class _Context(msgspec.Struct):
    """What the store knows about the ids one measurement refers to: the store's rules item
    by item (the reference the batch's `batch_store_problems` is held equal to)."""

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

    def problems(self, item: MeasurementIn) -> Iterator[FieldError]:
        if item.substance_id is not None and item.substance_id not in self.known_substance_ids:
            yield FieldError(field="substance_id", reason=NO_SUCH_SUBSTANCE_ID)
        if item.substance_cas is not None and normalise_cas(item.substance_cas) not in self.cas_ids:
            yield FieldError(field="substance_cas", reason=NO_SUCH_CAS)
        if item.worker_id is not None:
            day = item.sampling_start.astimezone(dt.UTC).date()
            periods = self.employments.get(item.worker_id, [])
            if item.worker_id not in self.own_workers:
                yield FieldError(field="worker_id", reason=NO_SUCH_WORKER)
            elif not periods:
                yield FieldError(field="worker_id", reason=NO_EMPLOYMENT)
            elif not any(start <= day and (end is None or day <= end) for start, end in periods):
                yield FieldError(field="worker_id", reason=NOT_EMPLOYED_ON.format(day.isoformat()))
        if item.seg_id is not None and item.seg_id not in self.segs:
            yield FieldError(field="seg_id", reason=NO_SUCH_SEG)
        if item.site_id is not None and item.site_id not in self.sites:
            yield FieldError(field="site_id", reason=NO_SUCH_SITE)


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
