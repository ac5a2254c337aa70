"""Compliance of every SEG with the limits in force: exposure indices in DuckDB, EN 689
and Bayesian statistics per group.

A result becomes an *exposure index*: the result divided by the binding 8-h limit in force
on its sampling date (limit_timeline). A SEG's indices are then tested against 1, so a
limit that changed between two measurements of the same SEG is handled exactly: each
result meets its own limit. Non-detects stay censored at LOD / limit, never zero.

8-h TWA assumption: a personal sample of at least MIN_SHIFT_SAMPLE_MINUTES is taken to
represent the whole shift (the unsampled time is assumed exposed like the sampled time,
which errs towards protecting the worker). Shorter samples of one worker's shift are
combined into one shift result when they cover that much, and otherwise still prove an
exceedance when their 8-h lower bound is above the limit (analytics/short_samples.py).
Every figure keeps the ids of its measurements and the citation of its limit, so it can
be traced back.

Every decision against a limit (preliminary test, exceedance, share above the limit) is
taken on the decimal values, never on a binary quotient (analytics/statistics/exact.py):
EN 689 runs on each result and its own limit, the indices are for the fit and for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from analytics.figures import Figures, figures_in_unit, one_unit, wording_for
from analytics.review import IMPLAUSIBLE, NOT_COMPARABLE_UNIT, ReviewFlag, implausible_reason, with_plausibility_bounds
from analytics.short_samples import MIN_SHIFT_SAMPLE_MINUTES, ShiftFromSamples
from analytics.source import Source
from analytics.statistics import (
    Assessment,
    BayesianResult,
    Prior,
    assess,
    bayesian_many,
    fit_lognormal_many,
)
from analytics.statistics.en689 import MIN_STATISTICAL_RESULTS
from analytics.statistics.exact import above, rounded
from analytics.wording import limit_text, shown
from schemas.limits import AdditionalLimit, LimitUsed

__all__ = [
    "LIMIT_IN_FORCE",
    "MIN_SHIFT_SAMPLE_MINUTES",
    "ComplianceRow",
    "Exceedance",
    "Source",
    "TrendRow",
    "above_limit",
    "compliance_report",
    "exceedances",
    "exposure_indices",
    "limit_used",
    "results_of",
    "trend",
]

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


class ComplianceRow(msgspec.Struct, frozen=True, kw_only=True):
    employer_id: str
    seg_id: str
    seg_name: str
    substance_id: str
    substance_name: str
    cas: str | None
    first_sample: dt.date
    last_sample: dt.date
    en689: Assessment  # on exposure indices: gm, p95 and ucl70_p95 are fractions of the limit
    bayesian: BayesianResult | None  # None when every result is a non-detect
    limits: list[LimitUsed]
    measurement_ids: list[str]
    # The employer's own and its sector's limits, beside the legal one (analytics/additional_limits.py).
    additional_limits: list[AdditionalLimit] = []
    figures: Figures | None = None  # GM, P95, its 70 % UCL and the limit, in the limit's unit
    review: list[ReviewFlag] = []  # results to look at before signing (analytics/review.py)
    # Shift results combined from several short samples: its measurement_ids[0] is the id listed above.
    combined_shifts: list[ShiftFromSamples] = []


class Exceedance(msgspec.Struct, frozen=True, kw_only=True):
    measurement_id: str
    seg_id: str | None
    worker_id: str | None
    substance_name: str
    sampling_date: dt.date
    value: float  # what was compared: see basis (for a STEL, the 15-minute average)
    unit: str
    limit: LimitUsed
    exposure_index: float
    basis: str = ""  # how `value` was made from the sample(s)
    measurement_ids: list[str] = []  # every sample behind `value`, measurement_id first
    limit_in_unit: float | None = None  # the limit expressed in `unit`
    summary: str = ""  # the finding in words, naming the limit
    review: list[str] = []  # reasons to check the result before acting on it


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
    source.register("_limit_timeline", with_plausibility_bounds(timeline))
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
                   t.limit_valid_from, t.limit_valid_to, t.citation,
                   coalesce(m.value, m.lod) > t.plausible_max AS implausible
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


_GROUP = ["employer_id", "seg_id", "substance_id"]
_LIMIT_COLUMNS = (
    "limit_type",
    "limit_stated_value",
    "limit_unit",
    "jurisdiction",
    "limit_valid_from",
    "limit_valid_to",
    "citation",
)


def compliance_report(
    indices: pl.DataFrame,
    names: pl.DataFrame,
    *,
    bayesian: bool = True,
    prior: Prior = "informedvar",
    made_from: Mapping[str, ShiftFromSamples] | None = None,
    not_comparable: pl.DataFrame | None = None,
) -> list[ComplianceRow]:
    """EN 689 (and Bayesian, under Expostats' `prior`) per employer, SEG and substance: each
    result against its own limit, figures also in the limit's unit. `names` maps ids to
    seg_name, substance_name and cas (columns seg_id, substance_id, ...); `made_from` tells
    how shift results were combined from short samples (analytics/short_samples.py);
    `not_comparable` lists results in a unit no limit can be put in (measurement_id,
    employer_id, seg_id, substance_id, sampling_date, reason), flagged where they belong."""
    frame = indices.filter(pl.col("seg_id").is_not_null()).sort(*_GROUP, "sampling_date", "measurement_id")
    grouped = (
        frame.group_by(_GROUP, maintain_order=True)
        .agg(
            pl.len().alias("n"),
            pl.col("measurement_id"),
            pl.col("sampling_date").min().alias("first_sample"),
            pl.col("sampling_date").max().alias("last_sample"),
            pl.struct(*_LIMIT_COLUMNS).unique(maintain_order=True).alias("limits"),
            pl.col("measurement_id").filter(pl.col("implausible")).alias("implausible_ids"),
            pl.col("unit").filter(pl.col("implausible")).unique().alias("implausible_units"),
        )
        .join(names, on=["seg_id", "substance_id"], how="left", maintain_order="left")
    )
    # Each group is a slice of the sorted columns: no per-result Python objects.
    count = grouped["n"].to_numpy()
    stop = np.cumsum(count)
    start = stop - count
    value, limit, index, stated = (
        frame[c].to_numpy() for c in ("value", "limit_value", "exposure_index", "limit_stated_value")
    )
    censored = frame["censored"].to_numpy()
    rows = grouped.drop("n").to_dicts()
    limits = [[limit_used(limit_row) for limit_row in row["limits"]] for row in rows]
    sets = [(index[a:b], censored[a:b]) for a, b in zip(start, stop, strict=True)]
    # Every group with enough results for the statistical test is fitted in one go; a group
    # judged against several limits of one unit also has its concentrations fitted, for figures.
    tested = [i for i, n in enumerate(count) if n >= MIN_STATISTICAL_RESULTS]
    fits = dict(zip(tested, fit_lognormal_many([sets[i] for i in tested]), strict=True))
    several = [i for i in tested if len(limits[i]) > 1 and one_unit(limits[i])]
    in_unit = [(index[start[i] : stop[i]] * stated[start[i] : stop[i]], sets[i][1]) for i in several]
    concentration_fits = dict(zip(several, fit_lognormal_many(in_unit), strict=True))
    with_detects = [i for i, (_, c) in enumerate(sets) if not c.all()]
    posteriors: dict[int, BayesianResult] = {}
    if bayesian and with_detects:
        results = bayesian_many([sets[i] for i in with_detects], 1.0, prior=prior)
        posteriors = dict(zip(with_detects, results, strict=True))
    flagged = _unit_flags(not_comparable)
    report = []
    for i, row in enumerate(rows):
        a, b = start[i], stop[i]
        en689 = assess(value[a:b], censored[a:b], limit[a:b], fit=fits.get(i), wording=wording_for(limits[i]))
        key = (row["employer_id"], row["seg_id"], row["substance_id"])
        report.append(
            ComplianceRow(
                **_group_of(row),
                first_sample=row["first_sample"],
                last_sample=row["last_sample"],
                en689=en689,
                bayesian=posteriors.get(i),
                limits=limits[i],
                measurement_ids=row["measurement_id"],
                figures=figures_in_unit(limits[i], en689, concentration_fits.get(i)),
                review=_implausible_flags(row) + flagged.pop(key, []),
                combined_shifts=[made_from[m] for m in row["measurement_id"] if m in made_from] if made_from else [],
            )
        )
    return report + _uncompared_groups(flagged, not_comparable, names)


def _group_of(row: dict[str, Any]) -> dict[str, Any]:
    """The fields that name a report row's group: employer, SEG and substance."""
    return {name: row[name] for name in ("employer_id", "seg_id", "seg_name", "substance_id", "substance_name", "cas")}


def _implausible_flags(row: dict[str, Any]) -> list[ReviewFlag]:
    ids = row["implausible_ids"]
    if not ids:
        return []
    return [
        ReviewFlag(flag=IMPLAUSIBLE, measurement_ids=ids, reason=implausible_reason(len(ids), row["implausible_units"]))
    ]


def _unit_flags(not_comparable: pl.DataFrame | None) -> dict[tuple[str, str, str], list[ReviewFlag]]:
    """By (employer, SEG, substance): its results no limit could be put in the unit of."""
    if not_comparable is None:
        return {}
    grouped = (
        not_comparable.filter(pl.col("seg_id").is_not_null())
        .sort("sampling_date", "measurement_id")
        .group_by(*_GROUP, "reason", maintain_order=True)
        .agg(pl.col("measurement_id"))
    )
    flags: dict[tuple[str, str, str], list[ReviewFlag]] = {}
    for row in grouped.iter_rows(named=True):
        flag = ReviewFlag(flag=NOT_COMPARABLE_UNIT, measurement_ids=row["measurement_id"], reason=row["reason"])
        flags.setdefault((row["employer_id"], row["seg_id"], row["substance_id"]), []).append(flag)
    return flags


def _uncompared_groups(
    flagged: Mapping[tuple[str, str, str], list[ReviewFlag]], not_comparable: pl.DataFrame | None, names: pl.DataFrame
) -> list[ComplianceRow]:
    """A row for each SEG and substance whose results were all in a unit no limit fits, so
    the report shows it rather than leaving it out without a word."""
    if not flagged or not_comparable is None:
        return []
    keys = pl.DataFrame(list(flagged), schema=_GROUP, orient="row")
    dates = (
        not_comparable.join(keys, on=_GROUP)
        .group_by(_GROUP, maintain_order=True)
        .agg(pl.col("sampling_date").min().alias("first"), pl.col("sampling_date").max().alias("last"))
        .join(names, on=["seg_id", "substance_id"], how="left")
    )
    return [
        ComplianceRow(
            **_group_of(row),
            first_sample=row["first"],
            last_sample=row["last"],
            en689=_not_compared(flagged[(row["employer_id"], row["seg_id"], row["substance_id"])]),
            bayesian=None,
            limits=[],
            measurement_ids=[],
            review=flagged[(row["employer_id"], row["seg_id"], row["substance_id"])],
        )
        for row in dates.iter_rows(named=True)
    ]


def _not_compared(flags: list[ReviewFlag]) -> Assessment:
    return Assessment(
        decision="insufficient_data",
        test="none",
        n=0,
        n_censored=0,
        gm=None,
        gsd=None,
        ur=None,
        ur_critical=None,
        ucl70_p95=None,
        method=None,
        warnings=[],
        reassess_within_months=None,
        reason="No result could be compared with a limit: " + "; ".join(flag.reason for flag in flags) + ".",
    )


def above_limit(frame: pl.DataFrame) -> npt.NDArray[np.bool_]:
    """Per row of exposure_indices: a detected result above its limit, on the decimals
    (`value` and `limit_value` are in the result's unit)."""
    detected = ~frame["censored"].to_numpy()
    return detected & above(frame["value"].to_numpy(), frame["limit_value"].to_numpy())


def exceedances(
    compared: pl.DataFrame, names: pl.DataFrame, made_from: Mapping[str, ShiftFromSamples] | None = None
) -> list[Exceedance]:
    """Detected results above the limit in force on their date, worst first. `compared` holds
    exposure_indices rows (8-h and STEL) and short-sample rows, whose making `made_from` tells
    (analytics/short_samples.py): a lower bound above the 8-h limit is an exceedance too."""
    found = (
        compared.filter(pl.Series(above_limit(compared)))
        .join(_substance_names(names), on="substance_id", how="left")
        .sort("exposure_index", "measurement_id", descending=[True, False])
    )
    made = made_from or {}
    return [_exceedance(row, made.get(row["measurement_id"])) for row in found.to_dicts()]


_STEL_BASIS = "15-min average of a sample of at most 15 min (no exposure in the rest of the 15 min)"
_SHIFT_BASIS = "8-h TWA: a sample of at least 2 h taken as representative of the shift"


def _exceedance(row: dict[str, Any], made: ShiftFromSamples | None) -> Exceedance:
    limit = limit_used(row)
    value = float(rounded(row["value"]))
    in_unit = float(rounded(row["limit_value"]))
    if row["limit_type"] == "STEL15min":
        basis, what = _STEL_BASIS, "The 15-min average"
    elif made is not None:
        basis = made.basis
        what = "The 8-h TWA of at least" if made.kind == "lower_bound" else "The 8-h TWA"
    else:
        basis, what = _SHIFT_BASIS, "The 8-h TWA"
    converted = f" = {shown(in_unit)} {row['unit']}" if row["unit"] != limit.unit else ""
    return Exceedance(
        measurement_id=row["measurement_id"],
        seg_id=row["seg_id"],
        worker_id=row["worker_id"],
        substance_name=row["substance_name"],
        sampling_date=row["sampling_date"],
        value=value,
        unit=row["unit"],
        limit=limit,
        exposure_index=float(rounded(row["exposure_index"])),
        basis=basis,
        measurement_ids=made.measurement_ids if made else [row["measurement_id"]],
        limit_in_unit=in_unit,
        summary=f"{what} {shown(value)} {row['unit']} is above the limit of {limit_text(limit)}{converted}.",
        review=[implausible_reason(1, [row["unit"]])] if row["implausible"] else [],
    )


def trend(indices: pl.DataFrame, names: pl.DataFrame) -> list[TrendRow]:
    """Per substance and year: how many results, their median index, the share above the limit."""
    table = (
        indices.with_columns(pl.Series("above", above_limit(indices)))
        .join(_substance_names(names), on="substance_id", how="left")
        .with_columns(pl.col("sampling_date").dt.year().alias("year"))
        .group_by("substance_name", "year")
        .agg(
            pl.len().alias("n"),
            pl.col("censored").sum().alias("n_censored"),
            pl.col("exposure_index").median().alias("median_index"),
            pl.col("above").mean().alias("share_above_limit"),
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
