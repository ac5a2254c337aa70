"""The binding 8-h limit of each substance over time, in the units its measurements use.

limits_in_force (analytics/limits.py) decides which limit binds on one date. Between two
dates on which some limit row starts or ends nothing can change, so evaluating it once per
such interval gives the whole history as a small table that DuckDB joins with millions of
measurements. The rule stays in one place; the join does the volume.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import msgspec
import pyarrow as pa

from analytics.limits import ApplicableLimits, limits_in_force, normalise_name
from schemas.limits import LimitType, LimitValue
from schemas.units import UnitError

__all__ = ["CatalogueSubstance", "limit_timeline", "limits_for_person", "rows_for_people"]

_ONE_NAME = "substance"  # rows of one substance under one name, so name matching joins them
_EARLIEST = dt.date(1900, 1, 1)


class CatalogueSubstance(msgspec.Struct, frozen=True):
    """A substance of the registry's catalogue and the names limit lists use for it."""

    id: str
    cas: str | None
    names: tuple[str, ...]
    units: tuple[str, ...]  # the units its measurements are recorded in


def limit_timeline(
    limits: Sequence[LimitValue], substances: Iterable[CatalogueSubstance], limit_type: LimitType = "TWA8h"
) -> pa.Table:
    """Rows (substance_id, unit, valid_from, valid_to, limit_value, jurisdiction, limit_unit,
    limit_stated_value, limit_valid_from, limit_valid_to, citation): the binding legal limit
    expressed in `unit`, for the half-open interval [valid_from, valid_to)."""
    columns: dict[str, list[object]] = {name: [] for name in _SCHEMA.names}
    for substance in substances:
        rows = _rows_of(limits, substance, limit_type)
        if not rows:
            continue
        cuts = sorted({d for r in rows for d in (r.valid_from, r.valid_to) if d is not None})
        starts: list[dt.date | None] = [None, *cuts]
        ends: list[dt.date | None] = [*cuts, None]
        for unit in substance.units:
            for start, end in zip(starts, ends, strict=True):
                binding = _binding(rows, substance.cas, start or _EARLIEST, limit_type, unit)
                if binding is None:
                    continue
                limit, value = binding
                row = (
                    substance.id, unit, start, end, value, limit.jurisdiction, limit.unit, limit.value,
                    limit.valid_from, limit.valid_to, limit.source_citation,
                )  # fmt: skip
                for name, item in zip(_SCHEMA.names, row, strict=True):
                    columns[name].append(item)
    return pa.table(columns, schema=_SCHEMA)


_SCHEMA = pa.schema(
    [
        ("substance_id", pa.string()),
        ("unit", pa.string()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("limit_value", pa.float64()),
        ("jurisdiction", pa.string()),
        ("limit_unit", pa.string()),
        ("limit_stated_value", pa.float64()),
        ("limit_valid_from", pa.date32()),
        ("limit_valid_to", pa.date32()),
        ("citation", pa.string()),
    ]
)


def rows_for_people(
    limits: Sequence[LimitValue], substance: CatalogueSubstance, limit_type: LimitType
) -> list[LimitValue]:
    """The substance's rows of one type, those for a group of people (e.g. women of
    childbearing age) included: only a person's facts can pick them (`limits_for_person`),
    so the timeline, which serves every result alike, leaves them out."""
    return _rows_of(limits, substance, limit_type, populations=True)


def limits_for_person(
    rows: Sequence[LimitValue],
    substance: CatalogueSubstance,
    *,
    on: dt.date,
    limit_type: LimitType,
    unit: str,
    population: str | None,
) -> ApplicableLimits:
    """The limits in force on a date for a person of `population` (None: of no group), from
    `rows_for_people` (raises UnitError when a row cannot be put in `unit`)."""
    return limits_in_force(
        rows,
        on=on,
        limit_type=limit_type,
        unit=unit,
        cas=substance.cas,
        substance_name=_ONE_NAME,
        population=population,
    )


def _rows_of(
    limits: Sequence[LimitValue], substance: CatalogueSubstance, limit_type: LimitType, *, populations: bool = False
) -> list[LimitValue]:
    """The substance's rows of one type, under one name and CAS (EU rows often lack the CAS
    number that the Dutch rows of the same substance carry; the CAS finds the molar mass)."""
    names = {normalise_name(n) for n in substance.names}
    found = [
        msgspec.structs.replace(row, cas=substance.cas, substance_name=_ONE_NAME)
        for row in limits
        if row.limit_type == limit_type
        and (populations or row.population is None)
        and row.jurisdiction not in ("company", "sector")
        and ((substance.cas is not None and row.cas == substance.cas) or normalise_name(row.substance_name) in names)
    ]
    return found


def _binding(
    rows: list[LimitValue], cas: str | None, day: dt.date, limit_type: LimitType, unit: str
) -> tuple[LimitValue, float] | None:
    try:
        applicable = limits_in_force(
            rows,
            on=day,
            limit_type=limit_type,
            unit=unit,
            cas=cas,
            substance_name=_ONE_NAME,
        )
    except UnitError:
        return None  # e.g. a ppm limit and a dust measured in mg/m3 without molar mass
    if applicable.binding is None:
        return None
    return applicable.binding.limit, applicable.binding.value
