"""Exposure statistics per cell of chosen dimensions (substance, sector, year, task) over
de-identified facts, with primary disclosure control.

A fact is a shift-long personal air result (as in the compliance report) stripped of who
and where: the worker and employer ids are only counted, never returned. Per cell: how
many workers, employers and results, the geometric mean and GSD, percentiles, the share of
non-detects and the share above the binding limit in force on each result's date.

Primary suppression (on by default, rules in `Disclosure`): a cell with fewer than k
workers or fewer than three employers, or where one employer contributes more than half
of the results, is returned marked as suppressed with the reason and no figures. This is
the building block for researcher access; secondary suppression (recovering a cell from
margins or from two overlapping queries) is not handled here yet, so results are for the
operator, not for researchers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, get_args

import msgspec
import pyarrow as pa

from analytics.compliance import LIMIT_IN_FORCE, MIN_SHIFT_SAMPLE_MINUTES, Source
from analytics.sectors import sections_table
from analytics.statistics.exact import above_sql

__all__ = ["AggregateCell", "Dimension", "Disclosure", "aggregate"]

Dimension = Literal["substance", "sector", "year", "task"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)

# SQL of each dimension over measurements m, substances s and the SBI section table sec.
_DIMENSION_SQL: dict[Dimension, str] = {
    "substance": "s.name",
    "sector": "coalesce(sec.section, 'onbekend')",
    "year": "CAST(year(m.sampling_start) AS VARCHAR)",
    "task": "coalesce(lower(trim(m.task)), 'onbekend')",
}

# A non-detect counts as LOD/sqrt(2) in the statistics of a cell (Hornung & Reed 1990,
# Appl. Occup. Environ. Hyg. 5(1):46-51): simple and stable at national scale; the share of
# non-detects is reported beside it so a reader can judge.
NON_DETECT_METHOD = "non-detects as LOD/sqrt(2) (Hornung & Reed 1990)"


class Disclosure(msgspec.Struct, frozen=True, kw_only=True):
    """Primary suppression rules (defaults after CBS/Eurostat practice for business data)."""

    min_workers: int = 10
    min_employers: int = 3
    max_employer_share: float = 0.5


class AggregateCell(msgspec.Struct, frozen=True, kw_only=True):
    dimensions: dict[str, str]
    unit: str
    suppressed: bool
    suppression_reason: str | None = None
    workers: int | None = None
    employers: int | None = None
    measurements: int | None = None
    geometric_mean: float | None = None
    gsd: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    non_detect_share: float | None = None
    compared_with_limit: int | None = None
    share_above_limit: float | None = None  # of the results compared with a limit


def aggregate(
    source: Source,
    timeline: pa.Table,
    by: Sequence[Dimension],
    disclosure: Disclosure | None = None,
    *,
    substance_cas: str | None = None,
) -> list[AggregateCell]:
    """One cell per combination of `by` (and unit) over every shift-long personal air result,
    optionally of one substance; sorted by the dimensions."""
    rules = disclosure or Disclosure()
    chosen = _checked(by)
    keys = ", ".join(f"{_DIMENSION_SQL[d]} AS {d}" for d in chosen)
    names = ", ".join(chosen)
    filters, params = ("AND s.cas = ?", [substance_cas]) if substance_cas else ("", [])
    source.register("_limit_timeline", timeline)
    source.register("_sbi_sections", sections_table())
    try:
        table = source.arrow(
            f"""
            WITH facts AS MATERIALIZED (
                SELECT {keys}, m.unit, w.bsn_index AS person, m.employer_id,
                       coalesce(m.below_lod, FALSE) AS non_detect,
                       CASE WHEN coalesce(m.below_lod, FALSE) THEN m.lod / sqrt(2) ELSE m.value END AS value,
                       coalesce(m.value, m.lod) / t.limit_value AS exposure_index,
                       {above_sql("coalesce(m.value, m.lod)", "t.limit_value")} AS above_limit
                FROM measurements m
                JOIN substances s ON s.id = m.substance_id
                JOIN employers e ON e.id = m.employer_id
                -- a person recorded by two employers is one person: worker ids are per employer
                LEFT JOIN workers w ON w.id = m.worker_id
                LEFT JOIN _sbi_sections sec ON sec.division = left(e.sbi_code, 2)
                LEFT JOIN _limit_timeline t ON {LIMIT_IN_FORCE}
                WHERE m.sample_type = 'personal_air'
                  AND m.sampled_minutes >= {MIN_SHIFT_SAMPLE_MINUTES}
                  AND coalesce(m.value, m.lod) > 0
                  {filters}
            ),
            cells AS (
                SELECT {names}, unit,
                       count(DISTINCT person) AS workers,
                       count(*) AS measurements,
                       exp(avg(ln(value))) AS geometric_mean,
                       exp(stddev_samp(ln(value))) AS gsd,
                       quantile_cont(value, [0.5, 0.9, 0.95]) AS percentiles,
                       avg(CAST(non_detect AS INTEGER)) AS non_detect_share,
                       count(exposure_index) AS compared_with_limit,
                       avg(CASE WHEN exposure_index IS NULL THEN NULL
                                WHEN NOT non_detect AND above_limit THEN 1.0 ELSE 0.0 END) AS share_above_limit
                FROM facts GROUP BY ALL
            ),
            per_employer AS (
                SELECT {names}, unit, count(*) AS employers, max(n) AS largest
                FROM (SELECT {names}, unit, employer_id, count(*) AS n FROM facts GROUP BY ALL)
                GROUP BY ALL
            )
            SELECT * FROM cells JOIN per_employer USING ({names}, unit)
            ORDER BY ALL
            """,
            params,
        )
    finally:
        source.unregister("_limit_timeline")
        source.unregister("_sbi_sections")
    return [_cell(row, chosen, rules) for row in table.to_pylist()]


def _checked(by: Sequence[Dimension]) -> list[Dimension]:
    chosen = list(dict.fromkeys(by))
    unknown = [d for d in chosen if d not in DIMENSIONS]
    if unknown or not chosen:
        raise ValueError(f"group by one or more of {', '.join(DIMENSIONS)}; got {', '.join(map(str, by)) or 'none'}")
    if "substance" not in chosen:
        # Statistics across substances (and units) would mix incomparable concentrations.
        chosen.insert(0, "substance")
    return chosen


def _cell(row: dict[str, object], chosen: Sequence[Dimension], rules: Disclosure) -> AggregateCell:
    dimensions: dict[str, str] = {d: str(row[d]) for d in chosen}
    unit = str(row["unit"])
    reason = _suppression(row, rules)
    if reason is not None:
        return AggregateCell(dimensions=dimensions, unit=unit, suppressed=True, suppression_reason=reason)
    percentiles = row["percentiles"]
    assert isinstance(percentiles, list)
    p50, p90, p95 = (_float(p) for p in percentiles)
    gsd = row["gsd"]
    return AggregateCell(
        dimensions=dimensions,
        unit=unit,
        suppressed=False,
        workers=_int(row["workers"]),
        employers=_int(row["employers"]),
        measurements=_int(row["measurements"]),
        geometric_mean=_float(row["geometric_mean"]),
        gsd=_float(gsd) if gsd is not None and math.isfinite(_float(gsd)) else None,
        p50=p50,
        p90=p90,
        p95=p95,
        non_detect_share=_float(row["non_detect_share"]),
        compared_with_limit=_int(row["compared_with_limit"]),
        share_above_limit=None if row["share_above_limit"] is None else _float(row["share_above_limit"]),
    )


def _suppression(row: dict[str, object], rules: Disclosure) -> str | None:
    reasons = []
    if _int(row["workers"]) < rules.min_workers:
        reasons.append(f"fewer than {rules.min_workers} workers")
    if _int(row["employers"]) < rules.min_employers:
        reasons.append(f"fewer than {rules.min_employers} employers")
    if _int(row["largest"]) > rules.max_employer_share * _int(row["measurements"]):
        reasons.append(f"one employer has more than {rules.max_employer_share:.0%} of the results")
    return "; ".join(reasons) or None


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _float(value: object) -> float:
    assert isinstance(value, (int, float))
    return float(value)
