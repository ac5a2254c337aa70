"""Compliance of every SEG with the limits in force: exposure indices in DuckDB, EN 689
and Bayesian statistics per group, computed for all groups at once over whole columns.

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
import functools
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import scipy

from analytics.figures import Figures, figures_in_unit, one_unit, wording_for
from analytics.review import IMPLAUSIBLE, NOT_COMPARABLE_UNIT, ReviewFlag, implausible_reason, with_plausibility_bounds
from analytics.short_samples import MIN_SHIFT_SAMPLE_MINUTES, ShiftFromSamples
from analytics.source import Source
from analytics.statistics import (
    Assessment,
    BayesianResult,
    LimitWording,
    Prior,
    Sets,
    assess_sets,
    bayesian_sets,
    fit_lognormal_sets,
)
from analytics.statistics.en689 import MIN_STATISTICAL_RESULTS
from analytics.statistics.exact import above, rounded
from analytics.wording import limit_text, shown
from schemas.limits import AdditionalLimit, LimitUsed

__all__ = [
    "LIMIT_IN_FORCE",
    "MIN_SHIFT_SAMPLE_MINUTES",
    "ComplianceRow",
    "EmployerRange",
    "Employers",
    "Exceedance",
    "Source",
    "TrendRow",
    "above_limit",
    "compliance_report",
    "exceedances",
    "exposure_indices",
    "group_keys",
    "limit_used",
    "report_version",
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


# A row and its parts (Assessment, BayesianResult, Estimate, Figures) are plain data that never
# form a reference cycle: gc=False leaves them untracked by the cyclic garbage collector, which
# otherwise walked the ~10^5 rows of a national report over and over.
class ComplianceRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
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
    employer_id: Employers = None,
    *,
    short_term: bool = False,
    results: str = "measurements",
) -> pl.DataFrame:
    """One row per personal air result with a binding limit on its date: shift-long samples
    against the 8-h timeline, or (`short_term`) samples of at most 15 min, as 15-min
    averages, against the STEL timeline. Limited to one employer's results (or several
    employers') when given.
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


class EmployerRange(NamedTuple):
    """The employers whose ids lie from `first` to `last` (as the store orders UUIDs)."""

    first: str
    last: str


Employers = str | Sequence[str] | EmployerRange | None  # one employer, several, a range, or all


def results_of(employers: Employers) -> tuple[str, list[str]]:
    """An `AND ...` condition (and its parameters) limiting measurements `m` to one
    employer's results, to several employers' (ids as text) or to a range of employers;
    empty for all of them."""
    if employers is None:
        return "", []
    if isinstance(employers, str):
        return "AND m.employer_id = CAST(? AS UUID)", [employers]
    if isinstance(employers, EmployerRange):
        return "AND m.employer_id BETWEEN CAST(? AS UUID) AND CAST(? AS UUID)", [employers.first, employers.last]
    listed = ", ".join(f"'{uuid.UUID(employer)}'" for employer in employers)  # uuid.UUID: nothing to inject
    return (f"AND m.employer_id IN ({listed})" if listed else "AND FALSE"), []


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
    employer_id, seg_id, substance_id, sampling_date, reason), flagged where they belong.

    The statistics of all groups run over whole columns (analytics/statistics/sets.py); rows
    come sorted by group, those of groups with no comparable result last. A group's row
    depends on its own results (and flags) only, so a report of some groups gives the rows a
    report of all would."""
    frame = indices.filter(pl.col("seg_id").is_not_null()).sort(*_GROUP, "sampling_date", "measurement_id")
    distinct = frame.select(_LIMIT_COLUMNS).unique(maintain_order=True)
    frame = frame.join(
        distinct.with_row_index("limit_no"),
        on=list(_LIMIT_COLUMNS),
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    combined = pl.col("measurement_id").is_in(list(made_from)) if made_from else pl.lit(False)
    grouped = (
        frame.group_by(_GROUP, maintain_order=True)
        .agg(
            pl.len().alias("n"),
            pl.col("measurement_id"),
            pl.col("sampling_date").min().alias("first_sample"),
            pl.col("sampling_date").max().alias("last_sample"),
            pl.col("limit_no").unique(maintain_order=True).alias("limit_nos"),
            pl.col("measurement_id").filter(pl.col("implausible")).alias("implausible_ids"),
            pl.col("unit").filter(pl.col("implausible")).unique().sort().alias("implausible_units"),
            pl.col("measurement_id").filter(combined).alias("combined_ids"),
        )
        .join(names, on=["seg_id", "substance_id"], how="left", maintain_order="left")
    )
    sizes = grouped["n"].to_numpy()
    censored, index = frame["censored"].to_numpy(), frame["exposure_index"].to_numpy()
    used = [limit_used(row) for row in distinct.to_dicts()]
    kinds: dict[tuple[int, ...], _Limits] = {}
    limits = [
        kinds.get(key) or kinds.setdefault(key, _Limits.of(used, key))
        for key in map(tuple, grouped["limit_nos"].to_list())
    ]
    en689 = assess_sets(
        Sets.of(frame["value"].to_numpy(), censored, sizes, frame["limit_value"].to_numpy()),
        [kind.wording for kind in limits],
    )
    # A group judged against several limits of one unit also has its concentrations fitted, for figures.
    several = (sizes >= MIN_STATISTICAL_RESULTS) & np.array([kind.several_in_one_unit for kind in limits], dtype=bool)
    in_unit = Sets.of(index * frame["limit_stated_value"].to_numpy(), censored, sizes).subset(several)
    fits = fit_lognormal_sets(in_unit)
    concentrations = {int(i): fits.fit(k) for k, i in enumerate(np.flatnonzero(several))}
    figures = figures_in_unit([kind.limits for kind in limits], en689, concentrations)
    posteriors: list[BayesianResult | None] = [None] * len(limits)
    indices_sets = Sets.of(index, censored, sizes)
    with_detects = indices_sets.counted(~censored) > 0
    if bayesian and with_detects.any():
        chosen = indices_sets.subset(with_detects)
        for i, posterior in zip(
            np.flatnonzero(with_detects).tolist(),
            bayesian_sets(chosen, np.ones(chosen.n_sets), prior=prior),
            strict=True,
        ):
            posteriors[i] = posterior
    flagged = _unit_flags(not_comparable)
    made = made_from or {}
    columns = grouped.select(
        *_NAMED, "first_sample", "last_sample", "measurement_id", "implausible_ids", "implausible_units", "combined_ids"
    ).rows()
    report = [
        ComplianceRow(
            **dict(zip(_NAMED, row[:6], strict=True)),
            first_sample=row[6],
            last_sample=row[7],
            en689=assessment,
            bayesian=posterior,
            limits=kind.limits,
            measurement_ids=row[8],
            figures=figure,
            review=_implausible_flags(row[9], row[10]) + flagged.pop((row[0], row[1], row[3]), []),
            combined_shifts=[made[m] for m in row[11]],
        )
        for row, assessment, posterior, kind, figure in zip(columns, en689, posteriors, limits, figures, strict=True)
    ]
    return report + _uncompared_groups(flagged, not_comparable, names)


def group_keys(
    indices: pl.DataFrame,
    names: pl.DataFrame,
    made_from: Mapping[str, ShiftFromSamples] | None = None,
    not_comparable: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """(employer_id, seg_id, substance_id, compared, data_key) of each row compliance_report
    makes of these frames. data_key hashes everything the row is made of: the group's results
    with their limits, how its shift results were combined, its results in a unit no limit
    fits, its names, and the code (report_version); rows whose key is unchanged need not be
    computed again. `compared`: the group has a result compared with a limit."""
    made = pl.DataFrame(
        {
            "measurement_id": list(made_from or {}),
            "made_from": [_ENCODER.encode(m) for m in (made_from or {}).values()],
        },
        schema={"measurement_id": pl.String, "made_from": pl.Binary},
    )
    compared = _hashed(indices.join(made, on="measurement_id", how="left"), "compared_hash")
    keys = compared.with_columns(pl.lit(True).alias("compared"))
    if not_comparable is not None:
        flagged = _hashed(not_comparable, "flagged_hash")
        keys = keys.join(flagged, on=_GROUP, how="full", coalesce=True).with_columns(
            pl.col("compared").fill_null(False)
        )
    else:
        keys = keys.with_columns(pl.lit(None, dtype=pl.UInt64).alias("flagged_hash"))
    named = names.select("seg_id", "substance_id", pl.struct(pl.all()).hash().alias("names_hash"))
    return (
        keys.join(named, on=["seg_id", "substance_id"], how="left")
        .select(
            *_GROUP,
            "compared",
            pl.format(
                "{}-{}", pl.struct("compared_hash", "flagged_hash", "names_hash").hash(), pl.lit(report_version())
            ).alias("data_key"),
        )
        .sort(_GROUP)
    )


def _hashed(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Per group of `frame` (its rows with a SEG): the sum of its rows' hashes, whatever their order."""
    return (
        frame.filter(pl.col("seg_id").is_not_null())
        .with_columns(pl.struct(pl.all()).hash().alias(name))
        .group_by(_GROUP)
        .agg(pl.col(name).sum())
    )


_ENCODER = msgspec.msgpack.Encoder()


@functools.cache
def report_version() -> str:
    """A digest of the analytics code (a superset of what makes a report row) and of the
    libraries it computes with, so rows kept from another version are made again."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *(here / "statistics").glob("*.py")]):
        digest.update(path.read_bytes())
    for library in (np, pl, scipy, msgspec):
        digest.update(library.__version__.encode())
    return digest.hexdigest()[:16]


class _Limits(msgspec.Struct, frozen=True):
    """The limits a group's results were judged against, in order of use, and how its texts
    name them: shared by every group with the same limits."""

    limits: list[LimitUsed]
    wording: LimitWording
    several_in_one_unit: bool

    @classmethod
    def of(cls, used: list[LimitUsed], numbers: tuple[int, ...]) -> _Limits:
        limits = [used[i] for i in numbers]
        return cls(limits, wording_for(limits), len(limits) > 1 and one_unit(limits))


# The fields that name a report row's group: employer, SEG and substance.
_NAMED = ("employer_id", "seg_id", "seg_name", "substance_id", "substance_name", "cas")


def _group_of(row: dict[str, Any]) -> dict[str, Any]:
    """The fields that name a report row's group: employer, SEG and substance."""
    return {name: row[name] for name in _NAMED}


def _implausible_flags(ids: list[str], units: list[str]) -> list[ReviewFlag]:
    if not ids:
        return []
    return [ReviewFlag(flag=IMPLAUSIBLE, measurement_ids=ids, reason=implausible_reason(len(ids), units))]


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
    the report shows it rather than leaving it out without a word; sorted by group."""
    if not flagged or not_comparable is None:
        return []
    keys = pl.DataFrame(list(flagged), schema=_GROUP, orient="row")
    dates = (
        not_comparable.join(keys, on=_GROUP)
        .group_by(_GROUP, maintain_order=True)
        .agg(pl.col("sampling_date").min().alias("first"), pl.col("sampling_date").max().alias("last"))
        .join(names, on=["seg_id", "substance_id"], how="left")
        .sort(_GROUP)
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
    reason = "No result could be compared with a limit: " + "; ".join(flag.reason for flag in flags) + "."
    return Assessment.without_fit(
        decision="insufficient_data", test="none", n=0, n_censored=0, warnings=[], reason=reason
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
