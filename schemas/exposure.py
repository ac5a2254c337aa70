"""Similar exposure groups, measurements and exposure registrations: what is recorded."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec

from schemas.common import (
    Line,
    LongText,
    Name,
    Positive,
    ShortText,
    check_identifier,
    check_not_future,
    check_order,
)
from schemas.errors import FieldError
from schemas.identifiers import normalise_cas
from schemas.units import Dimension, UnitError, canonical_unit, dimension_of

__all__ = [
    "MAX_BATCH_ITEMS",
    "BatchItemResult",
    "BatchResult",
    "MeasurementBatch",
    "MeasurementIn",
    "MeasurementOut",
    "RegistrationIn",
    "RegistrationOut",
    "SampleType",
    "SegIn",
    "SegMemberIn",
    "SegMemberOut",
    "SegOut",
]

MAX_BATCH_ITEMS = 10_000

SampleType = Literal["personal_air", "static_air", "biological"]
Matrix = Literal["blood", "urine", "exhaled_air", "hair", "other"]
LevelBand = Literal["below_10pct_limit", "below_50pct_limit", "below_limit", "above_limit"]
LevelBasis = Literal["measured", "analogy", "model", "expert_estimate"]
Frequency = Literal["daily", "weekly", "monthly", "occasionally"]


class SegIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A similar exposure group (EN 689): workers sharing tasks and exposure."""

    name: Name
    site_id: uuid.UUID | None = None
    description: LongText | None = None


class SegOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    employer_id: uuid.UUID
    name: str
    site_id: uuid.UUID | None
    description: str | None


class SegMemberIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    worker_id: uuid.UUID
    start_date: dt.date
    end_date: dt.date | None = None

    def problems(self) -> Iterator[FieldError]:
        yield from check_not_future("start_date", self.start_date)
        yield from check_order("start_date", self.start_date, "end_date", self.end_date)


class SegMemberOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    seg_id: uuid.UUID
    worker_id: uuid.UUID
    start_date: dt.date
    end_date: dt.date | None


# Why a measurement is refused: the rules below, and their vectorised form for a batch
# (schemas/measurement_columns.py), give the same reasons.
NAME_THE_SUBSTANCE = "name the substance by substance_cas or substance_id"
CAS_OR_ID = "give substance_cas or substance_id, not both"
LOD_NEEDED = "a result below the limit of detection needs the lod"
NO_VALUE_BELOW_LOD = "a result below the lod has no value; send only lod"
VALUE_NEEDED = "required unless below_lod is true (then send lod)"
BIOLOGICAL_WORKER = "a biological sample belongs to a worker"
BIOLOGICAL_MATRIX = "required for a biological sample (blood, urine, ...)"
BIOLOGICAL_ANALYTE = "required for a biological sample"
AIR_VOLUME_OF_AIR = "only an air sample has an air volume"
MATRIX_OF_BIOLOGICAL = "only a biological sample has a matrix"
PERSONAL_NAMES_WHO = "a personal sample names the worker or the SEG it represents"
STATIC_NOT_WORN = "a static sample is not worn by a worker; use seg_id or site_id"
LONGER_THAN_SAMPLING = "is longer than sampling_end - sampling_start"
RPE_NEEDED = "name the respiratory protection the protection_factor belongs to"
AIR_DIMENSIONS = frozenset({Dimension.MASS_CONCENTRATION, Dimension.VOLUME_FRACTION, Dimension.FIBRE_CONCENTRATION})
BIOLOGICAL_DIMENSIONS = frozenset(
    {Dimension.BIOLOGICAL_MASS_PER_VOLUME, Dimension.BIOLOGICAL_MOLAR, Dimension.BIOLOGICAL_PER_CREATININE}
)


def unit_problems(unit: str, *, biological: bool) -> list[FieldError]:
    """Whether `unit` is a unit of the sample's kind (a batch asks once per distinct unit)."""
    if biological:
        return list(_check_unit("unit", unit, BIOLOGICAL_DIMENSIONS, "a biological sample"))
    return list(_check_unit("unit", unit, AIR_DIMENSIONS, "an air sample"))


def _check_unit(field: str, unit: str, allowed: frozenset[Dimension], what: str) -> Iterator[FieldError]:
    try:
        dimension = dimension_of(unit)
    except UnitError as exc:
        yield FieldError(field=field, reason=str(exc))
        return
    if dimension not in allowed:
        yield FieldError(field=field, reason=f"{canonical_unit(unit)} is not a unit for {what}")


def _substance_problems(cas: str | None, substance_id: uuid.UUID | None) -> Iterator[FieldError]:
    """A substance is named by CAS number or, for agents without one (hardwood dust,
    diesel exhaust), by the catalogue's substance_id."""
    if cas is None and substance_id is None:
        yield FieldError(field="substance_cas", reason=NAME_THE_SUBSTANCE)
    elif cas is not None and substance_id is not None:
        yield FieldError(field="substance_id", reason=CAS_OR_ID)
    yield from check_identifier("substance_cas", cas, normalise_cas)


# gc=False: a measurement holds scalars only (no reference cycle is possible), so the
# thousands of a batch are never traversed by the garbage collector.
class MeasurementIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """One sample's result, as a lab reports it.

    A non-detect is `below_lod: true` with the `lod`; its value is never stored as 0.
    Biological results are medical data: stored encrypted with the worker's key and
    hidden from the employer (it sees group results only).
    """

    sample_type: SampleType
    substance_cas: Annotated[Line, msgspec.Meta(examples=["71-43-2"])] | None = None
    substance_id: uuid.UUID | None = None
    worker_id: uuid.UUID | None = None
    seg_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    value: Positive | None = None
    below_lod: bool = False
    lod: Positive | None = None
    unit: Annotated[Line, msgspec.Meta(examples=["mg/m3"])]
    matrix: Matrix | None = None
    analyte: ShortText | None = None
    sampling_start: dt.datetime
    sampling_end: dt.datetime
    sampled_minutes: Positive | None = None
    air_volume_l: Positive | None = None
    method: ShortText | None = None
    lab: ShortText | None = None
    lab_report_id: ShortText | None = None
    chain_of_custody: ShortText | None = None
    task: ShortText | None = None
    location: ShortText | None = None
    rpe: ShortText | None = None
    protection_factor: Annotated[float, msgspec.Meta(ge=1)] | None = None

    def problems(self) -> Iterator[FieldError]:
        """The rules of one measurement. A batch checks the same rules over whole columns
        (schemas/measurement_columns.py); tests hold the two equal."""
        yield from _substance_problems(self.substance_cas, self.substance_id)
        yield from self._result_problems()
        yield from self._sample_type_problems()
        yield from check_not_future("sampling_start", self.sampling_start)
        yield from check_not_future("sampling_end", self.sampling_end)
        yield from check_order("sampling_start", self.sampling_start, "sampling_end", self.sampling_end, strict=True)
        if self.sampled_minutes is not None and self.sampling_start.tzinfo and self.sampling_end.tzinfo:
            span = (self.sampling_end - self.sampling_start).total_seconds() / 60
            if self.sampled_minutes > span + 1e-9:
                yield FieldError(field="sampled_minutes", reason=LONGER_THAN_SAMPLING)
        if self.protection_factor is not None and self.rpe is None:
            yield FieldError(field="rpe", reason=RPE_NEEDED)

    def _result_problems(self) -> Iterator[FieldError]:
        if self.below_lod:
            if self.lod is None:
                yield FieldError(field="lod", reason=LOD_NEEDED)
            if self.value is not None:
                yield FieldError(field="value", reason=NO_VALUE_BELOW_LOD)
        elif self.value is None:
            yield FieldError(field="value", reason=VALUE_NEEDED)

    def _sample_type_problems(self) -> Iterator[FieldError]:
        if self.sample_type == "biological":
            yield from unit_problems(self.unit, biological=True)
            if self.worker_id is None:
                yield FieldError(field="worker_id", reason=BIOLOGICAL_WORKER)
            if self.matrix is None:
                yield FieldError(field="matrix", reason=BIOLOGICAL_MATRIX)
            if self.analyte is None:
                yield FieldError(field="analyte", reason=BIOLOGICAL_ANALYTE)
            if self.air_volume_l is not None:
                yield FieldError(field="air_volume_l", reason=AIR_VOLUME_OF_AIR)
            return
        yield from unit_problems(self.unit, biological=False)
        if self.matrix is not None:
            yield FieldError(field="matrix", reason=MATRIX_OF_BIOLOGICAL)
        if self.sample_type == "personal_air" and self.worker_id is None and self.seg_id is None:
            yield FieldError(field="worker_id", reason=PERSONAL_NAMES_WHO)
        if self.sample_type == "static_air" and self.worker_id is not None:
            yield FieldError(field="worker_id", reason=STATIC_NOT_WORN)


class MeasurementBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Up to 10,000 measurements, stored all-or-nothing."""

    items: Annotated[list[MeasurementIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH_ITEMS)]


class MeasurementOut(msgspec.Struct, kw_only=True, gc=False):
    id: uuid.UUID
    employer_id: uuid.UUID
    sample_type: str
    substance_id: uuid.UUID
    substance_cas: str | None
    worker_id: uuid.UUID | None
    seg_id: uuid.UUID | None
    site_id: uuid.UUID | None
    value: float | None
    below_lod: bool | None
    lod: float | None
    unit: str
    result_withheld: str | None = None
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
    # In the answer to recording it: what to check at once (a unit no limit of the substance
    # fits, a value beyond its plausibility bound), Dutch first.
    warnings: list[str] = []


class BatchItemResult(msgspec.Struct, kw_only=True, gc=False):
    """One item of a stored batch: its index in the request, the new measurement's id, and
    what to check at once (as MeasurementOut.warnings)."""

    index: int
    id: uuid.UUID
    status: Literal["created"]
    warnings: list[str]


class BatchResult(msgspec.Struct, kw_only=True):
    """The default answer to a batch (`Prefer: return=minimal`): every item was stored, in the
    request's order. `Prefer: return=representation` answers with the stored records instead."""

    total: int
    items: list[BatchItemResult]


class RegistrationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An entry of the legal exposure register (Arbobesluit 4.10c; TRGS 410-like): who was
    exposed to what, doing which task, when, how much, on what basis, and with which controls."""

    worker_id: uuid.UUID
    substance_cas: Line | None = None
    substance_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    task: ShortText
    period_start: dt.date
    period_end: dt.date | None = None
    level_value: Positive | None = None
    level_unit: Line | None = None
    level_band: LevelBand | None = None
    basis: LevelBasis
    measurement_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    frequency: Frequency | None = None
    hours_per_day: Annotated[float, msgspec.Meta(gt=0, le=24)] | None = None
    days_per_year: Annotated[int, msgspec.Meta(ge=1, le=366)] | None = None
    controls: LongText | None = None
    ppe: LongText | None = None

    def problems(self) -> Iterator[FieldError]:
        yield from _substance_problems(self.substance_cas, self.substance_id)
        yield from check_not_future("period_start", self.period_start)
        yield from check_not_future("period_end", self.period_end)
        yield from check_order("period_start", self.period_start, "period_end", self.period_end)
        if self.level_value is None and self.level_band is None:
            yield FieldError(
                field="level_value",
                reason="give the level as level_value + level_unit, or as level_band",
            )
        if self.level_value is not None and self.level_unit is None:
            yield FieldError(field="level_unit", reason="required with level_value")
        if self.level_unit is not None:
            yield from _check_unit("level_unit", self.level_unit, AIR_DIMENSIONS, "an exposure level")
        if self.basis == "measured" and not self.measurement_ids and self.level_value is None:
            yield FieldError(
                field="measurement_ids",
                reason="a measured level names its measurements or its value",
            )


class RegistrationOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    employer_id: uuid.UUID
    worker_id: uuid.UUID
    substance_id: uuid.UUID
    substance_cas: str | None
    site_id: uuid.UUID | None
    task: str
    period_start: dt.date
    period_end: dt.date | None
    level_value: float | None
    level_unit: str | None
    level_band: str | None
    basis: str
    measurement_ids: list[uuid.UUID]
    frequency: str | None
    hours_per_day: float | None
    days_per_year: int | None
    controls: str | None
    ppe: str | None
    recorded_at: dt.datetime
