"""SEGs, measurements and exposure registrations as stored.

MeasurementRow is the table's shape: an air result in value/below_lod/lod, a biological
result only as result_ct (ciphertext under the worker's key).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
import pyarrow as pa

from registry.store.database import Tx, bulk_columns
from schemas.exposure import RegistrationOut, SegMemberOut, SegOut

__all__ = [
    "MeasurementFilter",
    "MeasurementRow",
    "Window",
    "count_measurements",
    "insert_measurement_table",
    "insert_measurements",
    "insert_registration",
    "insert_seg",
    "insert_seg_member",
    "insert_seg_members",
    "insert_segs",
    "measurement_rows",
    "measurements_in_windows",
    "own_measurement_ids",
    "own_seg_ids",
    "registration_rows",
    "registrations_in_windows",
    "results_in_units",
    "seg_and_substance_names",
    "seg_by_id",
    "seg_members",
    "seg_memberships_of_employer",
    "segs_in_scope",
    "units_in_use",
    "windows",
]


class MeasurementRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    employer_id: uuid.UUID
    sample_type: str
    substance_id: uuid.UUID
    substance_cas: str | None = None  # joined from substances on read; not a column
    worker_id: uuid.UUID | None
    seg_id: uuid.UUID | None
    site_id: uuid.UUID | None
    value: float | None
    below_lod: bool | None
    lod: float | None
    result_ct: bytes | None
    unit: str
    matrix: str | None
    analyte: str | None
    sampling_start: dt.datetime
    sampling_end: dt.datetime
    sampled_minutes: float
    air_volume_l: float | None
    method: str | None
    lab: str | None
    lab_report_id: str | None
    chain_of_custody: str | None
    task: str | None
    location: str | None
    rpe: str | None
    protection_factor: float | None
    recorded_at: dt.datetime


_MEASUREMENT_COLUMNS = [f for f in MeasurementRow.__struct_fields__ if f != "substance_cas"]
_MEASUREMENT_SELECT = (
    "SELECT " + ", ".join(f"m.{c}" for c in _MEASUREMENT_COLUMNS) + ", s.cas AS substance_cas "
    "FROM measurements m JOIN substances s ON s.id = m.substance_id"
)


def insert_measurements(tx: Tx, rows: Sequence[MeasurementRow]) -> None:
    columns: dict[str, list[Any]] = {c: [] for c in _MEASUREMENT_COLUMNS}
    for row in rows:
        for c in _MEASUREMENT_COLUMNS:
            value = getattr(row, c)
            columns[c].append(str(value) if isinstance(value, uuid.UUID) else value)
    tx.insert_columns("measurements", columns)


def insert_measurement_table(tx: Tx, rows: pa.Table) -> None:
    """A batch's rows in one statement, as Arrow columns named like the table's (ids as UUIDs,
    timestamps UTC without zone). A few rows go in as bound values: registering Arrow costs
    more than inserting one row."""
    if rows.num_rows <= 20:
        tx.insert_columns("measurements", {name: rows.column(name).to_pylist() for name in _MEASUREMENT_COLUMNS})
        return
    tx.register("_new_measurements", rows)
    try:
        names = ", ".join(_MEASUREMENT_COLUMNS)
        tx.execute(f"INSERT INTO measurements ({names}) SELECT {names} FROM _new_measurements")
    finally:
        tx.unregister("_new_measurements")


class MeasurementFilter(msgspec.Struct, kw_only=True, frozen=True):
    worker_id: uuid.UUID | None = None
    seg_id: uuid.UUID | None = None
    substance_cas: str | None = None
    sample_type: str | None = None
    sampled_from: dt.date | None = None
    sampled_before: dt.date | None = None


def measurement_rows(
    tx: Tx,
    scope: tuple[str, list[object]],
    where: MeasurementFilter | None = None,
    *,
    ids: Sequence[uuid.UUID] | None = None,
    limit: int | None = 100,  # None: all
    offset: int = 0,
) -> list[MeasurementRow]:
    """A page of measurements within the policy's scope, oldest first."""
    condition, params = _measurement_condition(scope, where, ids)
    return tx.structs(
        MeasurementRow,
        f"{_MEASUREMENT_SELECT} WHERE {condition} ORDER BY m.sampling_start, m.id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )


def count_measurements(
    tx: Tx,
    scope: tuple[str, list[object]],
    where: MeasurementFilter | None = None,
    *,
    ids: Sequence[uuid.UUID] | None = None,
) -> int:
    """How many measurements the scope and filter allow (a list page's total)."""
    condition, params = _measurement_condition(scope, where, ids)
    sql = f"SELECT count(*) FROM measurements m JOIN substances s ON s.id = m.substance_id WHERE {condition}"
    return int(tx.scalar(sql, params))


def _measurement_condition(
    scope: tuple[str, list[object]], where: MeasurementFilter | None, ids: Sequence[uuid.UUID] | None
) -> tuple[str, list[object]]:
    clauses, params = [scope[0]], list(scope[1])
    f = where or MeasurementFilter()
    for clause, value in (
        ("m.worker_id = ?", f.worker_id),
        ("m.seg_id = ?", f.seg_id),
        ("s.cas = ?", f.substance_cas),
        ("m.sample_type = ?", f.sample_type),
        ("m.sampling_start >= ?", f.sampled_from),
        ("m.sampling_start < ?", f.sampled_before),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if ids is not None:
        clauses.append("m.id IN (SELECT unnest(?::UUID[]))")
        params.append([str(i) for i in ids])
    return " AND ".join(clauses), params


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """Part of a worker's history: the records naming `worker_id`, limited to one employment
    (an agency's placement) and its period when those are given (dates inclusive)."""

    worker_id: uuid.UUID
    employment_id: uuid.UUID | None = None
    start: dt.date | None = None
    end: dt.date | None = None


_WINDOWS = "_history_windows"


@contextmanager
def windows(tx: Tx, parts: Sequence[Window]) -> Iterator[str]:
    """Register a history's windows for this transaction's queries; yields the relation to
    join (columns worker_id, employment_id, start_date, end_date)."""
    table = pa.table(
        {
            "worker_id": pa.array([str(w.worker_id) for w in parts], pa.string()),
            "employment_id": pa.array([str(w.employment_id) if w.employment_id else None for w in parts], pa.string()),
            "start_date": pa.array([w.start for w in parts], pa.date32()),
            "end_date": pa.array([w.end for w in parts], pa.date32()),
        }
    )
    tx.register(_WINDOWS, table)
    try:
        yield (
            "(SELECT CAST(worker_id AS UUID) AS worker_id, CAST(employment_id AS UUID) AS employment_id, "
            f"start_date, end_date FROM {_WINDOWS})"
        )
    finally:
        tx.unregister(_WINDOWS)


def measurements_in_windows(tx: Tx, view: str) -> list[MeasurementRow]:
    """A history's measurements, oldest first (each once, however many windows hold it)."""
    return tx.structs(
        MeasurementRow,
        f"{_MEASUREMENT_SELECT} WHERE m.id IN (SELECT m2.id FROM measurements m2 JOIN {view} v "
        "ON m2.worker_id = v.worker_id "
        "AND (v.start_date IS NULL OR CAST(m2.sampling_start AS DATE) >= v.start_date) "
        "AND (v.end_date IS NULL OR CAST(m2.sampling_start AS DATE) <= v.end_date)) "
        "ORDER BY m.sampling_start, m.id",
    )


def registrations_in_windows(tx: Tx, view: str) -> list[RegistrationOut]:
    """A history's register entries: those whose period overlaps a window's."""
    rows, _ = registration_rows(
        tx,
        (
            f"r.id IN (SELECT r2.id FROM registrations r2 JOIN {view} v ON r2.worker_id = v.worker_id "
            "AND (v.end_date IS NULL OR r2.period_start <= v.end_date) "
            "AND (v.start_date IS NULL OR r2.period_end IS NULL OR r2.period_end >= v.start_date))",
            [],
        ),
        limit=None,
    )
    return rows


def units_in_use(tx: Tx, where: str = "", params: Sequence[str] = ()) -> dict[str, list[str]]:
    """By substance id, the units of its personal air results `m` (limited by `where`)."""
    used_units: dict[str, list[str]] = {}
    for substance_id, unit in tx.all(
        "SELECT DISTINCT CAST(substance_id AS VARCHAR), unit FROM measurements m "
        f"WHERE sample_type = 'personal_air' {where}",
        params,
    ):
        used_units.setdefault(substance_id, []).append(unit)
    return used_units


def results_in_units(tx: Tx, pairs: Sequence[tuple[str, str]], where: str = "", params: Sequence[str] = ()) -> pa.Table:
    """The personal air results `m` (limited by `where`) of these (substance id, unit) pairs,
    for reports: ids, employer, SEG, worker, substance, sampling date and unit."""
    chosen = pa.table(
        {"substance_id": [p[0] for p in pairs], "unit": [p[1] for p in pairs]},
        schema=pa.schema([("substance_id", pa.string()), ("unit", pa.string())]),
    )
    tx.register("_chosen_units", chosen)
    try:
        return tx.arrow(
            "SELECT CAST(m.id AS VARCHAR) AS measurement_id, CAST(m.employer_id AS VARCHAR) AS employer_id, "
            "CAST(m.seg_id AS VARCHAR) AS seg_id, CAST(m.worker_id AS VARCHAR) AS worker_id, "
            "CAST(m.substance_id AS VARCHAR) AS substance_id, CAST(m.sampling_start AS DATE) AS sampling_date, m.unit "
            "FROM measurements m JOIN _chosen_units c ON CAST(c.substance_id AS UUID) = m.substance_id "
            f"AND c.unit = m.unit WHERE m.sample_type = 'personal_air' {where}",
            params,
        )
    finally:
        tx.unregister("_chosen_units")


def seg_and_substance_names(tx: Tx, where: str = "", params: Sequence[str] = ()) -> pa.Table:
    """The SEG and substance names of the results `m` (limited by `where`), for reports. LEFT
    JOIN: results without a SEG still need their substance's name."""
    return tx.arrow(
        "SELECT DISTINCT CAST(g.id AS VARCHAR) AS seg_id, g.name AS seg_name, "
        "CAST(s.id AS VARCHAR) AS substance_id, s.name AS substance_name, s.cas "
        "FROM measurements m LEFT JOIN segs g ON g.id = m.seg_id JOIN substances s ON s.id = m.substance_id "
        f"WHERE TRUE {where}",
        params,
    )


def own_measurement_ids(tx: Tx, employer_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these measurements this employer recorded."""
    rows = tx.all_in(
        "SELECT id FROM measurements WHERE id IN (SELECT id FROM _ids) AND employer_id = ?", ids, [employer_id]
    )
    return {row[0] for row in rows}


def measurement_by_id(tx: Tx, measurement_id: uuid.UUID) -> MeasurementRow | None:
    return tx.struct(MeasurementRow, f"{_MEASUREMENT_SELECT} WHERE m.id = ?", [measurement_id])


_SEG = "SELECT id, employer_id, name, site_id, description FROM segs"


def insert_seg(tx: Tx, seg: SegOut, now: dt.datetime) -> None:
    tx.execute(
        "INSERT INTO segs VALUES (?, ?, ?, ?, ?, ?)",
        [seg.id, seg.employer_id, seg.name, seg.site_id, seg.description, now],
    )


def insert_segs(tx: Tx, columns: Mapping[str, list[Any]], created_at: dt.datetime) -> None:
    """Many SEGs in one statement, given column-wise by SegOut's fields (a bulk load)."""
    tx.insert_columns("segs", bulk_columns(SegOut.__struct_fields__, columns, created_at))


def seg_by_id(tx: Tx, seg_id: uuid.UUID) -> SegOut | None:
    return tx.struct(SegOut, f"{_SEG} WHERE id = ?", [seg_id])


def segs_in_scope(tx: Tx, scope: tuple[str, list[object]]) -> list[SegOut]:
    return tx.structs(SegOut, f"{_SEG} WHERE {scope[0]} ORDER BY name, id", scope[1])


def own_seg_ids(tx: Tx, employer_id: uuid.UUID, seg_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these SEGs are this employer's (a batch checks only the ones it names)."""
    rows = tx.all_in(
        "SELECT id FROM segs WHERE id IN (SELECT id FROM _ids) AND employer_id = ?", seg_ids, [employer_id]
    )
    return {row[0] for row in rows}


def insert_seg_member(tx: Tx, member: SegMemberOut, now: dt.datetime) -> None:
    tx.execute(
        "INSERT INTO seg_members VALUES (?, ?, ?, ?, ?, ?)",
        [member.id, member.seg_id, member.worker_id, member.start_date, member.end_date, now],
    )


def insert_seg_members(tx: Tx, columns: Mapping[str, list[Any]], created_at: dt.datetime) -> None:
    """Many SEG member periods in one statement, given column-wise by SegMemberOut's fields (a bulk load)."""
    tx.insert_columns("seg_members", bulk_columns(SegMemberOut.__struct_fields__, columns, created_at))


def seg_memberships_of_employer(tx: Tx, employer_id: uuid.UUID) -> list[SegMemberOut]:
    """Every membership of this employer's SEGs."""
    return tx.structs(
        SegMemberOut,
        "SELECT m.id, m.seg_id, m.worker_id, m.start_date, m.end_date FROM seg_members m "
        "JOIN segs g ON g.id = m.seg_id WHERE g.employer_id = ? ORDER BY m.start_date, m.id",
        [employer_id],
    )


def seg_members(tx: Tx, seg_id: uuid.UUID) -> list[SegMemberOut]:
    return tx.structs(
        SegMemberOut,
        "SELECT id, seg_id, worker_id, start_date, end_date FROM seg_members WHERE seg_id = ? ORDER BY start_date",
        [seg_id],
    )


_REGISTRATION = (
    "SELECT r.id, r.employer_id, r.worker_id, r.substance_id, s.cas AS substance_cas, r.site_id, r.task, "
    "r.period_start, r.period_end, r.level_value, r.level_unit, r.level_band, r.basis, r.measurement_ids, "
    "r.frequency, r.hours_per_day, r.days_per_year, r.controls, r.ppe, r.recorded_at "
    "FROM registrations r JOIN substances s ON s.id = r.substance_id"
)


def insert_registration(tx: Tx, r: RegistrationOut) -> None:
    tx.execute(
        "INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            r.id,
            r.employer_id,
            r.worker_id,
            r.substance_id,
            r.site_id,
            r.task,
            r.period_start,
            r.period_end,
            r.level_value,
            r.level_unit,
            r.level_band,
            r.basis,
            msgspec.json.encode(r.measurement_ids).decode(),
            r.frequency,
            r.hours_per_day,
            r.days_per_year,
            r.controls,
            r.ppe,
            r.recorded_at,
        ],
    )


def registration_rows(
    tx: Tx,
    scope: tuple[str, list[object]],
    *,
    registration_id: uuid.UUID | None = None,
    worker_id: uuid.UUID | None = None,
    limit: int | None = 100,  # None: all
    offset: int = 0,
) -> tuple[list[RegistrationOut], int]:
    clauses, params = [scope[0]], list(scope[1])
    if registration_id is not None:
        clauses.append("r.id = ?")
        params.append(registration_id)
    if worker_id is not None:
        clauses.append("r.worker_id = ?")
        params.append(worker_id)
    condition = " AND ".join(clauses)
    total = tx.scalar(f"SELECT count(*) FROM registrations r WHERE {condition}", params)
    rows = tx.all(
        f"{_REGISTRATION} WHERE {condition} ORDER BY r.period_start, r.id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    out = []
    for row in rows:
        values = list(row)
        values[13] = msgspec.json.decode(values[13], type=list[uuid.UUID])
        out.append(RegistrationOut(**dict(zip(RegistrationOut.__struct_fields__, values, strict=True))))
    return out, int(total)
