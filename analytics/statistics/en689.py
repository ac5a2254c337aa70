"""EN 689:2018 compliance assessment of one similar exposure group (SEG).

Flow: 3-5 results -> preliminary test (§5.5.2); >= 6 results -> statistical test
(§5.5.3, Annex F) on a lognormal fit; a compliant SEG gets a re-assessment interval
(Annex I).  Non-detects stay left-censored throughout (see lognormal.py).

The OEL is one value, or one per result: the limit in force on each result's date, so a
SEG whose limit changed is judged exactly (each result against its own limit; the fit is
then on exposure indices, result / OEL).  Every comparison of a result with (a fraction
of) its OEL is decided on the decimals (exact.py), so the direct call and the report,
which passes each result with its own limit, always agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt
from scipy import stats

from analytics.statistics import exact
from analytics.statistics.lognormal import (
    FitMethod,
    LognormalFit,
    as_measurements,
    describe_fit,
    fit_lognormal,
    fit_lognormal_sets,
)
from analytics.statistics.sets import BoolArray, FloatArray, IntArray, Sets
from analytics.statistics.shapiro import shapiro_p_values
from analytics.wording import shown

Decision = Literal["compliant", "non_compliant", "inconclusive", "insufficient_data"]
TestName = Literal["preliminary", "statistical", "none"]

# Preliminary test (EN 689:2018 §5.5.2): with 3, 4 or 5 results, compliance needs
# every result below this fraction of the OEL.
PRELIMINARY_FRACTION: dict[int, float] = {3: 0.10, 4: 0.15, 5: 0.20}
MIN_STATISTICAL_RESULTS = 6

# Statistical test (EN 689:2018 Annex F): 70 % confidence that the 95th percentile
# is below the OEL.
P95_PROBABILITY = 0.95
UCL_CONFIDENCE = 0.70

# Re-assessment interval (EN 689:2018 §5.5.3 with informative Annex I): the months
# until the next periodic measurement, by GM / OEL: < 0.1 -> 36, < 0.25 -> 24,
# < 0.5 -> 18, otherwise 12.  The standard text could not be checked against a
# public copy; these bounds follow the project brief and the commonly quoted
# Annex I table, and live only here.
REASSESSMENT_MONTHS: tuple[tuple[float, int], ...] = (
    (0.10, 36),
    (0.25, 24),
    (0.50, 18),
    (math.inf, 12),
)

# SEG checks, see `seg_warnings`.
GSD_HETEROGENEITY_LIMIT = 3.0
LOGNORMALITY_ALPHA = 0.05
# EN 482 expects an 8-h measuring procedure to quantify down to 0.1 x OEL.
METHOD_SENSITIVITY_FRACTION = 0.1


class LimitWording(msgspec.Struct, frozen=True, kw_only=True):
    """How the texts name the OEL and show figures.  By default "the OEL of 3", figures as
    they are; the report names the limit in force ("the limit of 5 mg/m3 (NL, 8 h TWA,
    2024)") and shows figures in its unit, `scale` times the figures of the assessment."""

    name: str
    scale: float = 1.0
    unit: str = ""

    def show(self, figure: float) -> str:
        """A figure for a text, rounded for display only."""
        text = shown(figure * self.scale)
        return f"{text} {self.unit}" if self.unit else text


class PreliminaryResult(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of the EN 689 preliminary test; `threshold` is fraction x OEL, in the unit
    of the OEL (with one OEL per result: the fraction, as an exposure index)."""

    decision: Decision
    threshold: float
    reason: str


class StatisticalResult(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of the EN 689 statistical test; ucl70_p95 < oel <=> ur >= ur_critical."""

    decision: Decision
    fit: LognormalFit
    ur: float
    ur_critical: float
    ucl70_p95: float
    reason: str


class Assessment(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """EN 689 verdict for one SEG, with the numbers behind it.  gm, p95 and ucl70_p95 are in
    the unit of the OEL; with one OEL per result (the report), exposure indices."""

    decision: Decision
    test: TestName
    n: int
    n_censored: int
    gm: float | None
    gsd: float | None
    ur: float | None
    ur_critical: float | None
    ucl70_p95: float | None
    method: str | None
    warnings: list[str]
    reassess_within_months: int | None
    reason: str
    p95: float | None = None  # point estimate exp(mu + z_0.95 sigma)
    method_detail: str | None = None  # the fit and its sigma convention, e.g. "mle, sigma scaled by sqrt(n/(n-1))"

    @classmethod
    def without_fit(
        cls,
        *,
        decision: Decision,
        test: TestName,
        n: int,
        n_censored: int,
        warnings: list[str],
        reason: str,
        months: int | None = None,
    ) -> Assessment:
        """A verdict that rests on no fitted distribution: the preliminary test, or none."""
        return cls(
            decision=decision,
            test=test,
            n=n,
            n_censored=n_censored,
            gm=None,
            gsd=None,
            ur=None,
            ur_critical=None,
            ucl70_p95=None,
            method=None,
            warnings=warnings,
            reassess_within_months=months,
            reason=reason,
        )


_Z95 = float(stats.norm.ppf(P95_PROBABILITY))


@cache  # one float per distinct SEG size; 256 thrashed on a national report
def ur_critical(n: int) -> float:
    """U_R critical value for n results (EN 689:2018 Annex F).

    It is the one-sided tolerance factor k for the 95th percentile at 70 %
    confidence: k = t'_0.70(n-1, z_0.95 * sqrt(n)) / sqrt(n), with t' the
    noncentral t quantile.  Computing it covers every n, not only the tabulated ones.
    """
    if n < 2:
        raise ValueError(f"U_R critical needs at least 2 results, got {n}")
    root_n = math.sqrt(n)
    return float(stats.nct.ppf(UCL_CONFIDENCE, df=n - 1, nc=_Z95 * root_n)) / root_n


def preliminary_test(
    values: npt.ArrayLike, censored: npt.ArrayLike, oel: npt.ArrayLike, *, wording: LimitWording | None = None
) -> PreliminaryResult:
    """EN 689 preliminary test for 3, 4 or 5 results.

    A non-detect "< LOD" with LOD <= threshold is below the threshold; with a
    higher LOD it proves nothing either way.  Only a detected result can exceed the OEL.
    """
    v, c = as_measurements(values, censored)
    o = _Oel.of(oel, v.size)
    return _preliminary(v, c, o, wording or o.wording())


def _preliminary(v: FloatArray, c: BoolArray, oel: _Oel, wording: LimitWording) -> PreliminaryResult:
    if v.size not in PRELIMINARY_FRACTION:
        raise ValueError(f"the preliminary test takes 3, 4 or 5 results, got {v.size}")
    o = oel.each
    limits = PRELIMINARY_FRACTION[v.size] * o
    outcome: _Outcome
    if np.any(exact.above(v[~c], o[~c])):
        outcome = "exceeds"
    elif np.all(np.where(c, exact.at_most(v, limits), exact.below(v, limits))):
        outcome = "below"
    elif np.all(exact.below(v[~c], limits[~c])):
        outcome = "lod_above"
    else:
        outcome = "between"
    return _preliminary_result(outcome, v.size, oel.scale, wording)


# How a preliminary test ended: a detect above the OEL, all below the fraction, a non-detect's
# LOD above the fraction (and the detects below it), or a result between the fraction and the OEL.
_Outcome = Literal["exceeds", "below", "lod_above", "between"]
_OUTCOMES: tuple[_Outcome, ...] = ("exceeds", "below", "lod_above", "between")


def _preliminary_result(outcome: _Outcome, n: int, scale: float, wording: LimitWording) -> PreliminaryResult:
    fraction = PRELIMINARY_FRACTION[n]
    threshold = fraction * scale
    at = f"{fraction:g} x {wording.name} = {wording.show(threshold)}"
    if outcome == "exceeds":
        return PreliminaryResult(
            decision="non_compliant", threshold=threshold, reason=f"A detected result exceeds {wording.name}."
        )
    if outcome == "below":
        return PreliminaryResult(decision="compliant", threshold=threshold, reason=f"All {n} results are below {at}.")
    if outcome == "lod_above":
        reason = (
            f"A non-detect's LOD is above {at}, so it cannot prove compliance; use a more sensitive method "
            "or collect at least 6 results."
        )
    else:
        reason = f"A result lies between {at} and that limit; collect at least 6 results for the statistical test."
    return PreliminaryResult(decision="inconclusive", threshold=threshold, reason=reason)


def statistical_test(
    values: npt.ArrayLike,
    censored: npt.ArrayLike,
    oel: npt.ArrayLike,
    method: FitMethod = "mle",
    fit: LognormalFit | ValueError | None = None,
    *,
    wording: LimitWording | None = None,
) -> StatisticalResult:
    """EN 689 statistical test for >= 6 results on a (censored) lognormal fit.

    U_R = (ln OEL - ln GM) / ln GSD; compliant when U_R >= U_R critical, which is the
    same as the 70 % upper confidence limit exp(mu + k sigma) of the 95th percentile
    being below the OEL, because k = U_R critical.  With non-detects, GM and GSD come
    from the censored fit while the critical value stays the complete-data one.  With
    one OEL per result the fit is on the exposure indices and the OEL is 1.  `fit` is
    the fit of these results (or of their indices) when already known.
    """
    v, c = as_measurements(values, censored)
    o = _Oel.of(oel, v.size)
    return _statistical(v, c, o, method, fit, wording or o.wording())


def _statistical(
    v: FloatArray,
    c: BoolArray,
    oel: _Oel,
    method: FitMethod,
    fit: LognormalFit | ValueError | None,
    wording: LimitWording,
) -> StatisticalResult:
    if isinstance(fit, ValueError):
        raise fit
    fit = fit or fit_lognormal(v / oel.each if oel.per_result else v, c, method)
    if fit.n < MIN_STATISTICAL_RESULTS:
        raise ValueError(f"the statistical test takes at least {MIN_STATISTICAL_RESULTS} results, got {fit.n}")
    ur = (math.log(oel.scale) - fit.mu) / fit.sigma
    critical = ur_critical(fit.n)
    ucl = math.exp(fit.mu + critical * fit.sigma)
    decision: Decision = "compliant" if ur >= critical else "non_compliant"
    reason = _statistical_reason(decision, ur, critical, ucl, fit.n, fit.n_censored, fit.method, wording)
    return StatisticalResult(decision=decision, fit=fit, ur=ur, ur_critical=critical, ucl70_p95=ucl, reason=reason)


def _statistical_reason(
    decision: Decision,
    ur: float,
    critical: float,
    ucl: float,
    n: int,
    n_censored: int,
    method: str,
    wording: LimitWording,
) -> str:
    basis = f"n = {n}"
    if n_censored:
        basis += f", {method} fit with {n_censored} non-detect(s)"
    if decision == "compliant":
        verdict = f"U_R = {ur:.3f} >= U_R,crit = {critical:.3f} ({basis}): the 70 % upper confidence limit"
        outcome = "is below"
    else:
        verdict = f"U_R = {ur:.3f} < U_R,crit = {critical:.3f} ({basis}): the 70 % upper confidence limit"
        outcome = "is not below"
    return f"{verdict} of the 95th percentile, {wording.show(ucl)}, {outcome} {wording.name}."


def reassessment_months(gm: float, oel: float) -> int:
    """Months until the next periodic measurement of a compliant SEG (REASSESSMENT_MONTHS);
    GM / OEL against each bound on the decimals, as every comparison with the OEL."""
    _check_oel(oel)
    below = exact.below(gm, np.array([bound for bound, _ in REASSESSMENT_MONTHS]) * oel)
    return REASSESSMENT_MONTHS[int(np.argmax(below))][1]


def seg_warnings(values: npt.ArrayLike, censored: npt.ArrayLike, oel: npt.ArrayLike, gsd: float | None) -> list[str]:
    """Signs that the SEG, or the data, need a second look before trusting the verdict.

    - GSD > 3: more spread than a well-defined SEG usually shows.  EN 689:2018 asks
      the appraiser to re-examine the SEG when the results suggest it is not
      homogeneous; the limit 3 is the usual industrial-hygiene rule of thumb (as in
      the project brief), not a number we could verify in the standard's text.
    - A detected result above the OEL: its cause must be investigated and the SEG
      re-examined even when the statistical test passes.
    - Shapiro-Wilk on the log results (complete data, n >= 6) rejects normality at
      5 %: the data do not look like one lognormal, e.g. a bimodal, mixed SEG
      (EN 689:2018 Annex F has the lognormal fit checked before the test is used).
    - A non-detect's LOD above 0.1 x OEL: the method is not sensitive enough (EN 482
      asks an 8-h procedure to cover 0.1 to 2 x OEL).
    """
    v, c = as_measurements(values, censored)
    o = _Oel.of(oel, v.size)
    return _warnings(v, c, o, gsd, o.wording())


def _warnings(v: FloatArray, c: BoolArray, oel: _Oel, gsd: float | None, wording: LimitWording) -> list[str]:
    """seg_warnings on results already checked (as_measurements) and checked OELs."""
    o = oel.each
    over = int(np.count_nonzero(exact.above(v[~c], o[~c])))
    p_value = None
    if not c.any() and v.size >= MIN_STATISTICAL_RESULTS:
        p_value = float(stats.shapiro(np.log(v / o)).pvalue)
    insensitive = int(np.count_nonzero(exact.above(v[c], METHOD_SENSITIVITY_FRACTION * o[c])))
    return _warning_texts(gsd, over, p_value, insensitive, wording)


def _warning_texts(
    gsd: float | None, over: int, p_value: float | None, insensitive: int, wording: LimitWording
) -> list[str]:
    """The warnings of `seg_warnings` from what they count: `over` detected results above the
    OEL, the Shapiro-Wilk `p_value` of the log results (None: not tested), `insensitive`
    non-detects with an LOD above METHOD_SENSITIVITY_FRACTION x OEL."""
    found: list[str] = []
    if gsd is not None and gsd > GSD_HETEROGENEITY_LIMIT:
        found.append(
            f"GSD = {gsd:.2f} > {GSD_HETEROGENEITY_LIMIT:g}: the SEG may not be homogeneous; re-examine its definition."
        )
    if over:
        found.append(f"{over} detected result(s) exceed {wording.name}; investigate the cause and re-examine the SEG.")
    if p_value is not None and p_value < LOGNORMALITY_ALPHA:
        found.append(
            f"The log results fail a Shapiro-Wilk normality test (p = {p_value:.3f}); the data "
            "may be bimodal or mix several SEGs."
        )
    if insensitive:
        found.append(
            f"{insensitive} non-detect(s) have an LOD above {METHOD_SENSITIVITY_FRACTION:g} x {wording.name}; "
            "the measuring method is not sensitive enough (EN 482)."
        )
    return found


def assess(
    values: npt.ArrayLike,
    censored: npt.ArrayLike,
    oel: npt.ArrayLike,
    method: FitMethod = "mle",
    fit: LognormalFit | ValueError | None = None,
    *,
    wording: LimitWording | None = None,
) -> Assessment:
    """Apply the EN 689 test that fits the number of results and summarise the verdict.

    `oel` is one OEL or one per result (module doc); `fit` is these results' (or, with one
    OEL per result, their indices') fit_lognormal outcome when already known; `wording` names
    the OEL in the texts. `assess_sets` gives the same for many sets at once."""
    v, c = as_measurements(values, censored)
    o = _Oel.of(oel, v.size)
    words = wording or o.wording()
    n, n_censored = int(v.size), int(np.count_nonzero(c))
    if n < min(PRELIMINARY_FRACTION):
        return _untested(n, n_censored, _warnings(v, c, o, None, words), _too_few(n))
    if n < MIN_STATISTICAL_RESULTS:
        preliminary = _preliminary(v, c, o, words)
        # No GM is fitted here; the highest result (or LOD) is an upper bound for it.
        highest = float(np.max(v / o.each)) if o.per_result else float(v.max())
        months = reassessment_months(highest, o.scale) if preliminary.decision == "compliant" else None
        return _preliminary_assessment(preliminary, n, n_censored, _warnings(v, c, o, None, words), months)
    try:
        result = _statistical(v, c, o, method, fit, words)
    except ValueError as error:
        return _untested(n, n_censored, _warnings(v, c, o, None, words), _not_applicable(str(error)))
    fit = result.fit
    return _statistical_assessment(
        result,
        n_censored,
        _warnings(v, c, o, fit.gsd, words),
        reassessment_months(fit.gm, o.scale) if result.decision == "compliant" else None,
        math.exp(fit.mu + _Z95 * fit.sigma),
    )


def _too_few(n: int) -> str:
    return f"Only {n} result(s); EN 689 needs at least 3."


def _not_applicable(error: str) -> str:
    return f"The statistical test cannot be applied: {error.rstrip('.')}."


def _untested(n: int, n_censored: int, warnings: list[str], reason: str) -> Assessment:
    return Assessment.without_fit(
        decision="insufficient_data", test="none", n=n, n_censored=n_censored, warnings=warnings, reason=reason
    )


def _preliminary_assessment(
    preliminary: PreliminaryResult, n: int, n_censored: int, warnings: list[str], months: int | None
) -> Assessment:
    return Assessment.without_fit(
        decision=preliminary.decision,
        test="preliminary",
        n=n,
        n_censored=n_censored,
        warnings=warnings,
        reason=preliminary.reason,
        months=months,
    )


def _statistical_assessment(
    result: StatisticalResult, n_censored: int, warnings: list[str], months: int | None, p95: float
) -> Assessment:
    fit = result.fit
    return Assessment(
        decision=result.decision,
        test="statistical",
        n=fit.n,
        n_censored=n_censored,
        gm=fit.gm,
        gsd=fit.gsd,
        ur=result.ur,
        ur_critical=result.ur_critical,
        ucl70_p95=result.ucl70_p95,
        method=fit.method,
        warnings=warnings,
        reassess_within_months=months,
        reason=result.reason,
        p95=p95,
        method_detail=describe_fit(fit),
    )


def assess_sets(sets: Sets, wordings: Sequence[LimitWording], method: FitMethod = "mle") -> list[Assessment]:
    """`assess` of every set at once, each result against its own OEL (`sets.oel`), as the
    report judges a SEG: the counts, tests, fits (fit_lognormal_sets) and Shapiro-Wilk tests
    (shapiro_p_values) of all sets are computed over whole columns; only the answer's texts
    and objects are made per set. `wordings` names the OEL of each set. Every result must be
    valid (as_measurements), as the report's are."""
    if len(wordings) != sets.n_sets:
        raise ValueError(f"give one wording per set ({sets.n_sets}), got {len(wordings)}")
    if not sets.n_sets:
        return []
    v, c, o, n = sets.values, sets.censored, sets.oel, sets.sizes
    invalid = o[~(np.isfinite(o) & (o > 0.0))]
    if invalid.size:
        _check_oel(float(invalid[0]))
    if n.min() < 1:
        raise ValueError("no results given")
    as_measurements(v, c)
    owner = sets.owner
    index = v / o
    tested = n >= MIN_STATISTICAL_RESULTS
    normality = tested & (sets.counted(c) == 0)
    p_value = np.full(sets.n_sets, None, dtype=object)  # None: not tested
    p_value[normality] = shapiro_p_values(sets.subset(normality), np.log(index)[normality[owner]])
    fits = fit_lognormal_sets(Sets(index[tested[owner]], c[tested[owner]], o[tested[owner]], n[tested]), method)
    mu, sigma = np.full(sets.n_sets, np.nan), np.full(sets.n_sets, np.nan)
    mu[tested], sigma[tested] = fits.mu, fits.sigma
    sizes, size_of = np.unique(n, return_inverse=True)
    critical = np.array([ur_critical(int(size)) if size >= 2 else np.nan for size in sizes])[size_of]
    with np.errstate(invalid="ignore"):
        ur = (math.log(1.0) - mu) / sigma
    over = sets.counted(_where(~c, exact.above(v[~c], o[~c])))
    columns = _SetColumns(
        n=n.tolist(),
        n_censored=sets.counted(c).tolist(),
        over=over.tolist(),
        insensitive=sets.counted(_where(c, exact.above(v[c], METHOD_SENSITIVITY_FRACTION * o[c]))).tolist(),
        p_value=p_value.tolist(),
        outcome=_preliminary_sets(sets, over).tolist(),
        months=_months_sets(np.where(tested, np.exp(mu), sets.largest(index))).tolist(),
        mu=mu.tolist(),
        sigma=sigma.tolist(),
        ur=ur.tolist(),
        critical=critical.tolist(),
        ucl=np.exp(mu + critical * sigma).tolist(),
        p95=np.exp(mu + _Z95 * sigma).tolist(),
        errors={int(np.flatnonzero(tested)[k]): error for k, error in fits.errors.items()},
        method=method,
    )
    return [columns.assessment(k, words) for k, words in enumerate(wordings)]


class _SetColumns(msgspec.Struct, frozen=True, kw_only=True):
    """What `assess_sets` computed for every set, as lists, and each set's Assessment from it."""

    n: list[int]
    n_censored: list[int]
    over: list[int]  # detected results above the OEL
    insensitive: list[int]  # non-detects with an LOD above METHOD_SENSITIVITY_FRACTION x OEL
    p_value: list[float | None]  # Shapiro-Wilk of the log indices (complete sets of 6 or more)
    outcome: list[int]  # the preliminary test's, as an index into _OUTCOMES (sets of 3 to 5)
    months: list[int]  # the re-assessment interval, for a compliant set
    mu: list[float]  # the fit of the indices (sets of 6 or more)
    sigma: list[float]
    ur: list[float]
    critical: list[float]
    ucl: list[float]
    p95: list[float]
    errors: dict[int, str]  # why a set of 6 or more has no fit
    method: FitMethod

    def assessment(self, k: int, wording: LimitWording) -> Assessment:
        n, n_censored = self.n[k], self.n_censored[k]
        if n >= MIN_STATISTICAL_RESULTS and k not in self.errors:
            fit = LognormalFit(
                gm=math.exp(self.mu[k]),
                gsd=math.exp(self.sigma[k]),
                mu=self.mu[k],
                sigma=self.sigma[k],
                n=n,
                n_censored=n_censored,
                method=self.method,
            )
            ur, critical, ucl = self.ur[k], self.critical[k], self.ucl[k]
            decision: Decision = "compliant" if ur >= critical else "non_compliant"
            result = StatisticalResult(
                decision=decision,
                fit=fit,
                ur=ur,
                ur_critical=critical,
                ucl70_p95=ucl,
                reason=_statistical_reason(decision, ur, critical, ucl, n, n_censored, self.method, wording),
            )
            months = self.months[k] if decision == "compliant" else None
            return _statistical_assessment(result, n_censored, self._warnings(k, fit.gsd, wording), months, self.p95[k])
        warnings = self._warnings(k, None, wording)
        if n < min(PRELIMINARY_FRACTION):
            return _untested(n, n_censored, warnings, _too_few(n))
        if n >= MIN_STATISTICAL_RESULTS:
            return _untested(n, n_censored, warnings, _not_applicable(self.errors[k]))
        preliminary = _preliminary_result(_OUTCOMES[self.outcome[k]], n, 1.0, wording)
        months = self.months[k] if preliminary.decision == "compliant" else None
        return _preliminary_assessment(preliminary, n, n_censored, warnings, months)

    def _warnings(self, k: int, gsd: float | None, wording: LimitWording) -> list[str]:
        return _warning_texts(gsd, self.over[k], self.p_value[k], self.insensitive[k], wording)


def _preliminary_sets(sets: Sets, over: IntArray) -> IntArray:
    """Per set, how its preliminary test ends, as an index into _OUTCOMES (meaningful for sets
    of 3 to 5 results); `over` counts each set's detected results above the OEL."""
    v, c, n = sets.values, sets.censored, sets.sizes
    fractions = np.array([PRELIMINARY_FRACTION.get(size, np.nan) for size in range(max(PRELIMINARY_FRACTION) + 1)])
    tested = np.isin(n, list(PRELIMINARY_FRACTION))[sets.owner]
    limits = fractions[n[sets.owner[tested]]] * sets.oel[tested]
    not_below = np.zeros(v.size, dtype=np.bool_)
    not_below[tested] = np.where(c[tested], ~exact.at_most(v[tested], limits), ~exact.below(v[tested], limits))
    outcome: IntArray = np.select(
        [over > 0, sets.counted(not_below) == 0, sets.counted(~c & not_below) == 0],
        [_OUTCOMES.index("exceeds"), _OUTCOMES.index("below"), _OUTCOMES.index("lod_above")],
        _OUTCOMES.index("between"),
    )
    return outcome


def _where(mask: BoolArray, values: BoolArray) -> BoolArray:
    """A flag per result: `values` at the results `mask` selects, False elsewhere."""
    flags = np.zeros(mask.size, dtype=np.bool_)
    flags[mask] = values
    return flags


def _months_sets(gm: FloatArray) -> IntArray:
    """reassessment_months(gm, 1) of every set (0 where gm is not a number)."""
    bounds = np.array([bound for bound, _ in REASSESSMENT_MONTHS])
    months = np.array([month for _, month in REASSESSMENT_MONTHS])
    with np.errstate(invalid="ignore"):
        below = exact.below(gm[:, None], bounds[None, :] * 1.0)
    chosen: IntArray = np.where(np.isnan(gm), 0, months[np.argmax(below, axis=1)])
    return chosen


class _Oel:
    """The OEL of each result.  `per_result`: given one per result, so figures are exposure
    indices (result / its OEL) and `scale`, the OEL they are compared with, is 1."""

    def __init__(self, each: FloatArray, per_result: bool) -> None:
        self.each = each
        self.per_result = per_result
        self.scale = 1.0 if per_result else float(each[0])

    @classmethod
    def of(cls, oel: npt.ArrayLike, n: int) -> _Oel:
        given = np.asarray(oel, dtype=np.float64)
        if given.ndim > 1 or (given.ndim == 1 and given.size != n):
            raise ValueError(f"give one OEL or one per result ({n}), got shape {given.shape}")
        for value in np.unique(given):
            _check_oel(float(value))
        return cls(np.broadcast_to(given, (n,)), per_result=given.ndim == 1)

    def wording(self) -> LimitWording:
        if self.per_result:
            return LimitWording(name="the OEL in force on each result's date", unit="(exposure index)")
        return LimitWording(name=f"the OEL of {self.scale:g}")


def _check_oel(oel: float) -> None:
    if not (math.isfinite(oel) and oel > 0.0):
        raise ValueError(f"the OEL must be a finite number > 0, got {oel!r}")
