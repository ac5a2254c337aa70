"""The report's statistics over whole columns equal the per-group functions, field by field.

analytics.compliance.compliance_report computes EN 689 (assess_sets) and the Bayesian
posterior (bayesian_sets) for every group at once; the per-group functions (assess,
fit_lognormal, bayesian_one) stay the reference. Hundreds of seeded random groups: complete
and with non-detects, every size from 1 to 40, limits that change within a group (in one
unit and in two), results on the exact preliminary and limit boundaries, no spread, one detect.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import msgspec
import numpy as np
import polars as pl

from analytics.compliance import compliance_report
from analytics.figures import figures_in_unit, wording_for
from analytics.statistics import LognormalFit, Prior, assess, bayesian_one, fit_lognormal
from analytics.statistics.en689 import MIN_STATISTICAL_RESULTS, assess_sets
from analytics.statistics.sets import Sets
from schemas.limits import LimitUsed

RELATIVE = 1e-9
_LIMITS = {  # (limit row, the factor from the result's unit into the limit's): mg/m3 results throughout
    "nl": (LimitUsed(limit_type="TWA8h", value=3.25, unit="mg/m3", jurisdiction="NL", valid_from=dt.date(2000, 1, 1),
                     valid_to=dt.date(2018, 1, 1), citation="Stcrt. 2000"), 1.0),
    "nl_new": (LimitUsed(limit_type="TWA8h", value=0.7, unit="mg/m3", jurisdiction="NL",
                         valid_from=dt.date(2018, 1, 1), valid_to=None, citation="Stcrt. 2017"), 1.0),
    "eu_ppm": (LimitUsed(limit_type="TWA8h", value=0.2, unit="ppm", jurisdiction="EU-BOELV",
                         valid_from=dt.date(2018, 1, 1), valid_to=None, citation="Dir 2017/2398"), 1 / 3.2471),
}  # fmt: skip


def _random_groups(seed: int, count: int) -> pl.DataFrame:
    """exposure_indices rows of `count` groups: sizes 1 to 40, half with non-detects, a third
    whose limit changes on 2018-01-01 (to a stricter one in the same unit, or one in ppm)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for g in range(count):
        n = int(rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 12, 20, 40]) if g % 7 else rng.integers(1, 41))
        days = np.sort(rng.integers(0, 365 * 10, n))
        dates = [dt.date(2013, 1, 1) + dt.timedelta(days=int(d)) for d in days]
        change = "nl_new" if g % 3 == 1 else "eu_ppm" if g % 3 == 2 else "nl"
        keys = ["nl" if (change == "nl" or d < dt.date(2018, 1, 1)) else change for d in dates]
        gm, gsd = math.exp(rng.normal(-1.5, 1.0)), math.exp(rng.uniform(0.05, 1.3))
        values = np.exp(rng.normal(math.log(gm), math.log(gsd), n))
        values = np.array([float(f"{v:.3g}") for v in values])  # as a lab reports them
        censored = np.zeros(n, dtype=bool)
        if g % 2:
            lod = float(f"{np.quantile(values, rng.uniform(0.1, 0.8)):.2g}")
            censored = values < lod
            values = np.where(censored, lod, values)
        if g % 11 == 3:  # on the preliminary boundary: 0.1 x the limit exactly
            values[:] = 0.325
        if g % 13 == 5:  # no spread
            values[:], censored[:] = 0.05, False
        if g % 17 == 7:  # one detect only
            censored[:] = True
            censored[0] = False
        for i in range(n):
            limit, factor = _LIMITS[keys[i]]
            value = float(values[i]) * (factor if limit.unit == "ppm" else 1.0)
            limit_value = limit.value
            rows.append(
                {
                    "measurement_id": f"m{g:04d}-{i:02d}",
                    "employer_id": f"e{g // 100}",
                    "seg_id": f"s{g:04d}",
                    "worker_id": None,
                    "substance_id": "benzene",
                    "sampling_date": dates[i],
                    "value": value,
                    "censored": bool(censored[i]),
                    "unit": limit.unit,
                    "exposure_index": value / limit_value,
                    "limit_type": limit.limit_type,
                    "limit_value": limit_value,
                    "jurisdiction": limit.jurisdiction,
                    "limit_unit": limit.unit,
                    "limit_stated_value": limit.value,
                    "limit_valid_from": limit.valid_from,
                    "limit_valid_to": limit.valid_to,
                    "citation": limit.citation,
                    "implausible": value > 100 * limit_value,
                }
            )
    return pl.DataFrame(rows)


def _names(indices: pl.DataFrame) -> pl.DataFrame:
    return (
        indices.select("seg_id", "substance_id")
        .unique()
        .with_columns(
            pl.col("seg_id").alias("seg_name"),
            pl.lit("benzene").alias("substance_name"),
            pl.lit("71-43-2").alias("cas"),
        )
    )


def _reference(group: pl.DataFrame, prior: Prior) -> tuple[list[LimitUsed], dict[str, Any]]:
    """The group's limits (in order of use), and its EN 689, figures and Bayesian result from
    the per-group functions."""
    columns = ("limit_type", "limit_stated_value", "limit_unit", "jurisdiction", "limit_valid_from", "limit_valid_to")
    limits = [
        LimitUsed(limit_type=t, value=v, unit=u, jurisdiction=j, valid_from=f, valid_to=to, citation=c)
        for t, v, u, j, f, to, c in group.select(*columns, "citation").unique(maintain_order=True).rows()
    ]
    value, censored, limit = (group[c].to_numpy() for c in ("value", "censored", "limit_value"))
    index, stated = group["exposure_index"].to_numpy(), group["limit_stated_value"].to_numpy()
    en689 = assess(value, censored, limit, wording=wording_for(limits))
    concentrations: dict[int, LognormalFit | ValueError] = {}
    if value.size >= MIN_STATISTICAL_RESULTS and len(limits) > 1 and len({lim.unit for lim in limits}) == 1:
        try:
            concentrations[0] = fit_lognormal(index * stated, censored)
        except ValueError as error:
            concentrations[0] = error
    (figures,) = figures_in_unit([limits], [en689], concentrations)
    bayesian = None if censored.all() else bayesian_one(index, censored, 1.0, prior=prior)
    return limits, {"en689": en689, "figures": figures, "bayesian": bayesian}


def _differences(expected: Any, actual: Any, path: str = "") -> tuple[list[str], float]:
    """Fields that differ (numbers beyond RELATIVE of the larger, or 1e-3 near zero: U_R and
    ln figures cross zero), and the largest relative difference of the numbers."""
    if isinstance(expected, float) and isinstance(actual, float):
        relative = abs(expected - actual) / max(abs(expected), abs(actual), 1e-3)
        return ([f"{path}: {expected!r} != {actual!r}"] if relative > RELATIVE else []), relative
    if isinstance(expected, dict) and isinstance(actual, dict) and expected.keys() == actual.keys():
        found: list[str] = []
        worst = 0.0
        for key in expected:
            more, largest = _differences(expected[key], actual[key], f"{path}.{key}")
            found += more
            worst = max(worst, largest)
        return found, worst
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        found, worst = [], 0.0
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            more, largest = _differences(a, b, f"{path}[{i}]")
            found += more
            worst = max(worst, largest)
        return found, worst
    return ([] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]), 0.0


def _compare(indices: pl.DataFrame, prior: Prior = "informedvar") -> float:
    """Compare every group's row with the per-group functions; the largest relative difference."""
    report = compliance_report(indices, _names(indices), prior=prior)
    frame = indices.sort("seg_id", "sampling_date", "measurement_id")
    assert [row.seg_id for row in report] == sorted(frame["seg_id"].unique().to_list())
    worst = 0.0
    for row, (_, group) in zip(report, frame.group_by("seg_id", maintain_order=True), strict=True):
        limits, expected = _reference(group, prior)
        assert row.limits == limits
        actual = {"en689": row.en689, "figures": row.figures, "bayesian": row.bayesian}
        found, largest = _differences(msgspec.to_builtins(expected), msgspec.to_builtins(actual))
        assert not found, (row.seg_id, found)
        worst = max(worst, largest)
    return worst


def test_the_report_equals_the_per_group_functions_on_random_groups() -> None:
    indices = _random_groups(seed=689, count=400)
    report = compliance_report(indices, _names(indices))
    tests = {(row.en689.test, row.en689.n_censored > 0) for row in report}
    assert tests >= {("none", False), ("preliminary", False), ("preliminary", True), ("statistical", False)}
    assert ("statistical", True) in tests
    assert any(len(row.limits) == 2 and row.limits[0].unit == row.limits[1].unit for row in report)
    assert any(len(row.limits) == 2 and row.limits[0].unit != row.limits[1].unit for row in report)
    assert any(row.en689.test == "none" and row.en689.n >= MIN_STATISTICAL_RESULTS for row in report)  # no fit
    assert any(row.bayesian is None for row in report)  # only non-detects
    worst = _compare(indices)
    assert worst < RELATIVE


def test_under_the_uninformative_prior_too() -> None:
    assert _compare(_random_groups(seed=2398, count=120), prior="uninformative") < RELATIVE


def test_rows_of_some_groups_are_those_of_a_report_of_all() -> None:
    """What lets a report recompute only the groups whose results changed."""
    indices = _random_groups(seed=7, count=60)
    everything = {row.seg_id: row for row in compliance_report(indices, _names(indices))}
    part = indices.filter(pl.col("seg_id").is_in(["s0003", "s0010", "s0041"]))
    for row in compliance_report(part, _names(part)):
        assert row == everything[row.seg_id]


def test_assess_sets_takes_the_wording_of_each_set() -> None:
    sets = Sets.of(np.array([0.1, 0.2, 0.3]), np.zeros(3, dtype=bool), [3], np.array([3.0, 3.0, 3.0]))
    (limit, _) = _LIMITS["nl"]
    (row,) = assess_sets(sets, [wording_for([limit])])
    assert row == assess([0.1, 0.2, 0.3], [False] * 3, [3.0] * 3, wording=wording_for([limit]))
    assert "3.25 mg/m3" in row.reason
