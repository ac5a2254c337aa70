"""Exposure statistics per cell of chosen dimensions (substance, sector, year, task) over
de-identified facts, with primary disclosure control.

A fact is a shift-long personal air result (as in the compliance report) stripped of who
and where: the person and the employer are only counted, never returned. Per cell: how
many workers, employers and results, the geometric mean and GSD, percentiles, the share of
non-detects and the share above the binding limit in force on each result's date.

Primary suppression (on by default, rules in `Disclosure`): a cell with fewer than k
workers or fewer than three employers, or where one employer contributes more than half
of the results, is returned marked as suppressed with the reason and no figures. This is
the building block for researcher access; secondary suppression (recovering a cell from
margins or from two overlapping queries) is not handled here yet, so results are for the
operator, not for researchers.

A function of frames (registry.store.frames: exposure_results, worker_persons,
employer_sectors, substance_names) and of the limit timeline, computed in one DuckDB query:
each result meets the row of its substance and unit's *calendar* in force on its date (the
timeline with its gaps filled, numbered per substance name and unit), so every statistic is
grouped on that small integer rather than on ids and names; only the cells come back to Python.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal, get_args

import msgspec
import pyarrow as pa

from analytics.sectors import sections_table
from analytics.short_samples import MIN_SHIFT_SAMPLE_MINUTES
from analytics.source import Source
from analytics.statistics.exact import above_sql

__all__ = ["AggregateCell", "Dimension", "Disclosure", "aggregate", "exposure_series"]

Dimension = Literal["substance", "sector", "year", "task"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)

# SQL of each dimension but the substance (the cell series) over results r and the SBI
# section sec of each employer, and how it is shown.
_DIMENSION_SQL: dict[Dimension, str] = {
    "sector": "coalesce(sec.section, 'onbekend')",
    "year": "year(r.sampling_start)",
    "task": "coalesce(lower(trim(r.task)), 'onbekend')",
}
_SHOWN_SQL: dict[Dimension, str] = {
    "substance": "s.substance",
    "sector": "c.sector",
    "year": "CAST(c.year AS VARCHAR)",
    "task": "c.task",
}

# A non-detect counts as LOD/sqrt(2) in the statistics of a cell (Hornung & Reed 1990,
# Appl. Occup. Environ. Hyg. 5(1):46-51): simple and stable at national scale; the share of
# non-detects is reported beside it so a reader can judge.
NON_DETECT_METHOD = "non-detects as LOD/sqrt(2) (Hornung & Reed 1990)"

# The calendar's open ends, as the compliance join reads a timeline's missing dates.
_EARLIEST = dt.datetime(1, 1, 1)
_LATEST = dt.datetime(9999, 12, 31)
_CALENDAR = pa.schema(
    [
        ("series", pa.int32()),
        ("substance_id", pa.string()),
        ("unit", pa.string()),
        ("valid_from", pa.timestamp("us")),
        ("valid_to", pa.timestamp("us")),
        ("limit_value", pa.float64()),
    ]
)


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


def exposure_series(source: Source) -> pa.Table:
    """(substance_id, unit, substance, cas): each substance and unit of the personal air
    results, with the substance's name and CAS number; what the limit timeline must cover."""
    return source.arrow(
        """
        SELECT CAST(r.substance_id AS VARCHAR) AS substance_id, r.unit, s.name AS substance, s.cas
        FROM (SELECT DISTINCT substance_id, unit FROM exposure_results WHERE sample_type = 'personal_air') r
        JOIN substance_names s ON s.substance_id = r.substance_id
        ORDER BY ALL
        """
    )


def aggregate(
    source: Source,
    series: pa.Table,
    timeline: pa.Table,
    by: Sequence[Dimension],
    disclosure: Disclosure | None = None,
    *,
    substance_cas: str | None = None,
) -> list[AggregateCell]:
    """One cell per combination of `by` (and unit) over every shift-long personal air result,
    optionally of one substance; sorted by the dimensions. `series` is exposure_series(source),
    `timeline` the binding 8-h limits of its substances in its units (analytics.timeline)."""
    rules = disclosure or Disclosure()
    chosen = _checked(by)
    calendar, names = _calendar(series, timeline, substance_cas)
    source.register("_aggregate_calendar", calendar)
    source.register("_aggregate_series", names)
    source.register("_sbi_sections", sections_table())
    try:
        table = source.arrow(_query(chosen))
    finally:
        for name in ("_aggregate_calendar", "_aggregate_series", "_sbi_sections"):
            source.unregister(name)
    return [_cell(row, chosen, rules) for row in table.to_pylist()]


def _query(chosen: Sequence[Dimension]) -> str:
    others = [d for d in chosen if d != "substance"]
    keys = ", ".join(["series", *others])
    dimensions = "".join(f", {_DIMENSION_SQL[d]} AS {d}" for d in others)
    sector = (
        """LEFT JOIN (SELECT e.employer_id, sec.section FROM employer_sectors e
                      LEFT JOIN _sbi_sections sec ON sec.division = left(e.sbi_code, 2)) sec
              ON sec.employer_id = r.employer_id"""
        if "sector" in chosen
        else ""
    )
    shown = ", ".join(f"{_SHOWN_SQL[d]} AS {d}" for d in chosen)
    level = "coalesce(r.value, r.lod)"
    return f"""
        WITH facts AS MATERIALIZED (
            SELECT k.series{dimensions}, p.person, r.employer_id,
                   coalesce(r.below_lod, FALSE) AS non_detect,
                   CASE WHEN coalesce(r.below_lod, FALSE) THEN r.lod / sqrt(2) ELSE r.value END AS value,
                   -- NULL: no limit to compare with (a limit is > 0, so every level has an index)
                   CASE WHEN k.limit_value IS NULL THEN NULL
                        WHEN NOT coalesce(r.below_lod, FALSE) AND {above_sql(level, "k.limit_value")} THEN 1.0
                        ELSE 0.0 END AS above_limit
            FROM exposure_results r
            -- a person recorded by two employers is one person: worker ids are per employer
            LEFT JOIN worker_persons p ON p.worker_id = r.worker_id
            {sector}
            JOIN _aggregate_calendar k
              ON CAST(k.substance_id AS UUID) = r.substance_id AND k.unit = r.unit
             AND r.sampling_start >= k.valid_from AND r.sampling_start < k.valid_to
            WHERE r.sample_type = 'personal_air'
              AND r.sampled_minutes >= {MIN_SHIFT_SAMPLE_MINUTES}
              AND {level} > 0
        ),
        cells AS (
            SELECT {keys},
                   count(DISTINCT person) AS workers,
                   count(*) AS measurements,
                   exp(avg(ln(value))) AS geometric_mean,
                   exp(stddev_samp(ln(value))) AS gsd,
                   quantile_cont(value, [0.5, 0.9, 0.95]) AS percentiles,
                   avg(CAST(non_detect AS INTEGER)) AS non_detect_share,
                   count(above_limit) AS compared_with_limit,
                   avg(above_limit) AS share_above_limit
            FROM facts GROUP BY {keys}
        ),
        per_employer AS (
            SELECT {keys}, count(*) AS employers, max(n) AS largest
            FROM (SELECT {keys}, employer_id, count(*) AS n FROM facts GROUP BY {keys}, employer_id)
            GROUP BY {keys}
        )
        SELECT {shown}, s.unit, c.workers, c.measurements, c.geometric_mean, c.gsd, c.percentiles,
               c.non_detect_share, c.compared_with_limit, c.share_above_limit, e.employers, e.largest
        FROM cells c
        JOIN per_employer e USING ({keys})
        JOIN _aggregate_series s USING (series)
        ORDER BY {", ".join(chosen)}, unit
        """


def _calendar(series: pa.Table, timeline: pa.Table, substance_cas: str | None) -> tuple[pa.Table, pa.Table]:
    """The calendar: per substance and unit of `series` (of one CAS number if given), its
    timeline rows and the gaps between them (no limit), so that every date falls in exactly
    one row; each numbered by its cell series (substance name and unit: two catalogue entries
    of one name are one substance, as a reader sees it). And the series' names."""
    pairs = [row for row in series.to_pylist() if substance_cas is None or row["cas"] == substance_cas]
    numbers = {key: i for i, key in enumerate(sorted({(row["substance"], row["unit"]) for row in pairs}))}
    limits: dict[tuple[str, str], list[tuple[dt.datetime, dt.datetime, float]]] = {}
    for row in timeline.select(["substance_id", "unit", "valid_from", "valid_to", "limit_value"]).to_pylist():
        start = _EARLIEST if row["valid_from"] is None else _midnight(row["valid_from"])
        end = _LATEST if row["valid_to"] is None else _midnight(row["valid_to"])
        limits.setdefault((row["substance_id"], row["unit"]), []).append((start, end, row["limit_value"]))
    rows: list[tuple[int, str, str, dt.datetime, dt.datetime, float | None]] = []
    for pair in pairs:
        number, key = numbers[(pair["substance"], pair["unit"])], (pair["substance_id"], pair["unit"])
        since = _EARLIEST
        for start, end, value in sorted(limits.get(key, [])):
            if start > since:
                rows.append((number, *key, since, start, None))
            rows.append((number, *key, start, end, value))
            since = end
        if since < _LATEST:
            rows.append((number, *key, since, _LATEST, None))
    calendar = pa.Table.from_pylist([dict(zip(_CALENDAR.names, row, strict=True)) for row in rows], schema=_CALENDAR)
    names = pa.table(
        {
            "series": pa.array(list(numbers.values()), pa.int32()),
            "substance": [substance for substance, _ in numbers],
            "unit": [unit for _, unit in numbers],
        }
    )
    return calendar, names


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


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
