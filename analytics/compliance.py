"""Compliance of every SEG with the limits in force: exposure indices in DuckDB, EN 689
and Bayesian statistics per group.

A result becomes an *exposure index*: the result divided by the binding 8-h limit in force
on its sampling date (limit_timeline). A SEG's indices are then tested against 1, so a
limit that changed between two measurements of the same SEG is handled exactly: each
result meets its own limit. Non-detects stay censored at LOD / limit, never zero.

8-h TWA assumption: a personal sample of at least MIN_SHIFT_SAMPLE_MINUTES is taken to
represent the whole shift (the unsampled time is assumed exposed like the sampled time,
which errs towards protecting the worker); shorter samples are task samples and are not
compared with an 8-h limit. Every figure keeps the ids of its measurements and the
citation of its limit, so it can be traced back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa

from analytics.statistics import Assessment, BayesianResult, assess, bayesian_many, fit_lognormal_many
from analytics.statistics.en689 import MIN_STATISTICAL_RESULTS
from schemas.limits import LimitUsed

__all__ = [
    "LIMIT_IN_FORCE",
    "MIN_SHIFT_SAMPLE_MINUTES",
    "ComplianceRow",
    "Exceedance",
    "TrendRow",
    "compliance_report",
    "exceedances",
    "exposure_indices",
    "limit_used",
    "results_of",
    "trend",
]

# EN 689:2018 §5.3.2 asks for measurements that represent the shift; shorter samples
# describe tasks. Two hours is the shortest sample we let stand for a whole shift.
MIN_SHIFT_SAMPLE_MINUTES = 120.0
# A STEL is a 15-minute average: a sample of at most 15 minutes is averaged over 15 minutes
# with no exposure outside it (analytics/exposure.py stel_15min); longer ones are not compared.
STEL_MINUTES = 15.0
# Joins a measurement `m` to the row of a limit timeline `t` in force on its sampling date.
# The small timeline is cast to the store's types, never the measurements: casting 10 M ids
# to text and timestamps to dates took 12 s of a 0.5 s join. A timestamp is on or after a
# date exactly when its date is.
LIMIT_IN_FORCE = """CAST(t.substance_id AS UUID) = m.substance_id AND t.unit = m.unit
             AND m.sampling_start >= coalesce(t.valid_from, DATE '0001-01-01')
             AND m.sampling_start < coalesce(t.valid_to, DATE '9999-12-31')"""


class Source(Protocol):
    """What the analytics need from the store: SQL in, Arrow out (registry.store.Tx)."""

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table: ...

    def register(self, name: str, table: pa.Table) -> None: ...

    def unregister(self, name: str) -> None: ...


class ComplianceRow(msgspec.Struct, frozen=True, kw_only=True):
    employer_id: str
    seg_id: str
    seg_name: str
    substance_id: str
    substance_name: str
    cas: str | None
    first_sample: dt.date
    last_sample: dt.date
    en689: Assessment  # on exposure indices: gm and ucl70_p95 are fractions of the limit
    bayesian: BayesianResult | None  # None when every result is a non-detect
    limits: list[LimitUsed]
    measurement_ids: list[str]


class Exceedance(msgspec.Struct, frozen=True, kw_only=True):
    measurement_id: str
    seg_id: str | None
    worker_id: str | None
    substance_name: str
    sampling_date: dt.date
    value: float  # for a STEL comparison: the 15-minute average
    unit: str
    limit: LimitUsed
    exposure_index: float


class TrendRow(msgspec.Struct, frozen=True, kw_only=True):
    substance_name: str
    year: int
    n: int
    n_censored: int
    median_index: float
    share_above_limit: float


def exposure_indices(
    source: Source,
    timeline: pa.Table,
    employer_id: str | None = None,
    *,
    short_term: bool = False,
    results: str = "measurements",
) -> pl.DataFrame:
    """One row per personal air result with a binding limit on its date: shift-long samples
    against the 8-h timeline, or (`short_term`) samples of at most 15 min, as 15-min
    averages, against the STEL timeline. Limited to one employer's results when given.
    `results` names the relation read: the measurements table, or a
    registered table with its columns (a few rows already read need no scan of the store)."""
    where, params = results_of(employer_id)
    if short_term:
        average = f"coalesce(m.value, m.lod) * m.sampled_minutes / {STEL_MINUTES}"
        duration = f"m.sampled_minutes <= {STEL_MINUTES}"
    else:
        average = "coalesce(m.value, m.lod)"
        duration = f"m.sampled_minutes >= {MIN_SHIFT_SAMPLE_MINUTES}"
    source.register("_limit_timeline", timeline)
    try:
        table = source.arrow(
            f"""
            SELECT CAST(m.id AS VARCHAR) AS measurement_id,
                   CAST(m.employer_id AS VARCHAR) AS employer_id,
                   CAST(m.seg_id AS VARCHAR) AS seg_id,
                   CAST(m.worker_id AS VARCHAR) AS worker_id,
                   CAST(m.substance_id AS VARCHAR) AS substance_id,
                   CAST(m.sampling_start AS DATE) AS sampling_date,
                   {average} AS value,
                   coalesce(m.below_lod, FALSE) AS censored,
                   m.unit,
                   {average} / t.limit_value AS exposure_index,
                   '{"STEL15min" if short_term else "TWA8h"}' AS limit_type,
                   t.limit_value, t.jurisdiction, t.limit_unit, t.limit_stated_value,
                   t.limit_valid_from, t.limit_valid_to, t.citation
            FROM {results} m
            JOIN _limit_timeline t ON {LIMIT_IN_FORCE}
            WHERE m.sample_type = 'personal_air'
              AND {duration}
              AND coalesce(m.value, m.lod) > 0
              {where}
            """,
            params,
        )
    finally:
        source.unregister("_limit_timeline")
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table, not a single column
    return frame


def results_of(employer_id: str | None) -> tuple[str, list[str]]:
    """An `AND ...` condition (and its parameter) limiting measurements `m` to one
    employer's results; empty for all of them."""
    return ("AND m.employer_id = CAST(? AS UUID)", [employer_id]) if employer_id else ("", [])


def compliance_report(indices: pl.DataFrame, names: pl.DataFrame, *, bayesian: bool = True) -> list[ComplianceRow]:
    """EN 689 (and Bayesian) per employer, SEG and substance. `names` maps ids to
    seg_name, substance_name and cas (columns seg_id, substance_id, ...)."""
    grouped = (
        indices.filter(pl.col("seg_id").is_not_null())
        .sort("employer_id", "seg_id", "substance_id", "sampling_date", "measurement_id")
        .group_by(["employer_id", "seg_id", "substance_id"], maintain_order=True)
        .agg(
            pl.col("exposure_index"),
            pl.col("censored"),
            pl.col("measurement_id"),
            pl.col("sampling_date").min().alias("first_sample"),
            pl.col("sampling_date").max().alias("last_sample"),
            pl.struct(
                "limit_type",
                "limit_stated_value",
                "limit_unit",
                "jurisdiction",
                "limit_valid_from",
                "limit_valid_to",
                "citation",
            )
            .unique(maintain_order=True)
            .alias("limits"),
        )
        .join(names, on=["seg_id", "substance_id"], how="left")
    )
    rows = grouped.to_dicts()
    arrays = [(np.asarray(r["exposure_index"], dtype=float), np.asarray(r["censored"], dtype=bool)) for r in rows]
    # Every group with enough results for the statistical test is fitted in one go.
    tested = [i for i, (v, _) in enumerate(arrays) if v.size >= MIN_STATISTICAL_RESULTS]
    fits = dict(zip(tested, fit_lognormal_many([arrays[i] for i in tested]), strict=True))
    with_detects = [i for i, (_, c) in enumerate(arrays) if not c.all()]
    posteriors: dict[int, BayesianResult] = {}
    if bayesian and with_detects:
        results = bayesian_many([arrays[i] for i in with_detects], 1.0)
        posteriors = dict(zip(with_detects, results, strict=True))
    return [
        ComplianceRow(
            employer_id=row["employer_id"],
            seg_id=row["seg_id"],
            seg_name=row["seg_name"],
            substance_id=row["substance_id"],
            substance_name=row["substance_name"],
            cas=row["cas"],
            first_sample=row["first_sample"],
            last_sample=row["last_sample"],
            en689=assess(values, censored, 1.0, fit=fits.get(i)),
            bayesian=posteriors.get(i),
            limits=[limit_used(limit) for limit in row["limits"]],
            measurement_ids=row["measurement_id"],
        )
        for i, (row, (values, censored)) in enumerate(zip(rows, arrays, strict=True))
    ]


def exceedances(indices: pl.DataFrame, names: pl.DataFrame) -> list[Exceedance]:
    """Detected results above the limit in force on their date, worst first."""
    above = (
        indices.filter(~pl.col("censored") & (pl.col("exposure_index") > 1.0))
        .join(_substance_names(names), on="substance_id", how="left")
        .sort("exposure_index", descending=True)
    )
    return [
        Exceedance(
            measurement_id=row["measurement_id"],
            seg_id=row["seg_id"],
            worker_id=row["worker_id"],
            substance_name=row["substance_name"],
            sampling_date=row["sampling_date"],
            value=row["value"],
            unit=row["unit"],
            limit=limit_used(row),
            exposure_index=row["exposure_index"],
        )
        for row in above.to_dicts()
    ]


def trend(indices: pl.DataFrame, names: pl.DataFrame) -> list[TrendRow]:
    """Per substance and year: how many results, their median index, the share above 1."""
    table = (
        indices.join(_substance_names(names), on="substance_id", how="left")
        .with_columns(pl.col("sampling_date").dt.year().alias("year"))
        .group_by("substance_name", "year")
        .agg(
            pl.len().alias("n"),
            pl.col("censored").sum().alias("n_censored"),
            pl.col("exposure_index").median().alias("median_index"),
            ((pl.col("exposure_index") > 1.0) & ~pl.col("censored")).mean().alias("share_above_limit"),
        )
        .sort("substance_name", "year")
    )
    return [msgspec.convert(row, TrendRow) for row in table.to_dicts()]


def _substance_names(names: pl.DataFrame) -> pl.DataFrame:
    return names.select("substance_id", "substance_name").unique()


def limit_used(row: dict[str, Any]) -> LimitUsed:
    """The limit columns of an exposure_indices row."""
    return LimitUsed(
        limit_type=row["limit_type"],
        value=row["limit_stated_value"],
        unit=row["limit_unit"],
        jurisdiction=row["jurisdiction"],
        valid_from=row["limit_valid_from"],
        valid_to=row["limit_valid_to"],
        citation=row["citation"],
    )
