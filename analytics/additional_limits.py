"""Company and sector limits beside the legal one in a compliance report.

The EN 689 verdict of a SEG rests on the binding legal limit only. An employer's own limit
and its sector's limit are shown beside it, each with its own count of the group's results
above it (a result meets the row in force on its own date, in its own unit), and never
change the verdict, even when stricter (DOMAIN.md, "Limit values").
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

import msgspec
import polars as pl

from analytics.compliance import ComplianceRow
from analytics.exposure import Measured
from analytics.limits import Verdict, limits_in_force, verdict
from schemas.limits import AdditionalLimit, LimitUsed, LimitValue
from schemas.units import UnitError

__all__ = ["with_additional_limits"]


def with_additional_limits(
    rows: Sequence[ComplianceRow], indices: pl.DataFrame, limits: Sequence[LimitValue]
) -> list[ComplianceRow]:
    """`rows` of one employer's report, each with the company and sector 8-h limits in
    `limits` (that employer's own and its sector's) that applied to its results."""
    eight_hour = [limit for limit in limits if limit.limit_type == "TWA8h"]
    if not eight_hour:
        return list(rows)
    columns = indices.select("measurement_id", "sampling_date", "value", "unit", "censored")
    # A report row's ids are those of its results in `indices`; the guard keeps a row whose
    # ids are not all there (a caller passing part of the frame) from failing the report.
    results = {row[0]: _Result(*row[1:]) for row in columns.iter_rows()}
    return [
        msgspec.structs.replace(
            row, additional_limits=_counted(row, [results[i] for i in row.measurement_ids if i in results], eight_hour)
        )
        for row in rows
    ]


class _Result(msgspec.Struct, frozen=True):
    day: dt.date
    value: float
    unit: str
    censored: bool


def _counted(row: ComplianceRow, results: list[_Result], limits: list[LimitValue]) -> list[AdditionalLimit]:
    compared: Counter[LimitValue] = Counter()
    above: Counter[LimitValue] = Counter()
    for result in results:
        try:
            applicable = limits_in_force(
                limits,
                on=result.day,
                limit_type="TWA8h",
                unit=result.unit,
                cas=row.cas,
                substance_name=row.substance_name,
                employer_id=row.employer_id,
            )
        except UnitError:
            continue  # e.g. a ppm house norm for a dust without molar mass: not comparable
        for applied in applicable.additional:
            compared[applied.limit] += 1
            measured = Measured(value=result.value, censored=result.censored)
            above[applied.limit] += verdict(measured, applied) is Verdict.ABOVE
    return [
        AdditionalLimit(limit=LimitUsed.of(limit), sector_sbi=limit.sector_sbi, compared=n, above=above[limit])
        for limit, n in compared.items()
    ]
