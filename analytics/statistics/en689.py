"""EN 689:2018 compliance assessment of one similar exposure group (SEG).

Flow: 3-5 results -> preliminary test (§5.5.2); >= 6 results -> statistical test
(§5.5.3, Annex F) on a lognormal fit; a compliant SEG gets a re-assessment interval
(Annex I).  Non-detects stay left-censored throughout (see lognormal.py).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt
from scipy import stats

from analytics.statistics.lognormal import (
    BoolArray,
    FitMethod,
    FloatArray,
    LognormalFit,
    as_measurements,
    fit_lognormal,
)

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


class PreliminaryResult(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of the EN 689 preliminary test."""

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


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    """EN 689 verdict for one SEG, with the numbers behind it."""

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


@cache  # one float per distinct SEG size; 256 thrashed on a national report
def ur_critical(n: int) -> float:
    """U_R critical value for n results (EN 689:2018 Annex F).

    It is the one-sided tolerance factor k for the 95th percentile at 70 %
    confidence: k = t'_0.70(n-1, z_0.95 * sqrt(n)) / sqrt(n), with t' the
    noncentral t quantile.  Computing it covers every n, not only the tabulated ones.
    """
    if n < 2:
        raise ValueError(f"U_R critical needs at least 2 results, got {n}")
    z = stats.norm.ppf(P95_PROBABILITY)
    root_n = math.sqrt(n)
    return float(stats.nct.ppf(UCL_CONFIDENCE, df=n - 1, nc=z * root_n)) / root_n


def preliminary_test(values: npt.ArrayLike, censored: npt.ArrayLike, oel: float) -> PreliminaryResult:
    """EN 689 preliminary test for 3, 4 or 5 results.

    A non-detect "< LOD" with LOD <= threshold is below the threshold; with a
    higher LOD it proves nothing either way.  Only a detected result can exceed the OEL.
    """
    v, c = as_measurements(values, censored)
    _check_oel(oel)
    if v.size not in PRELIMINARY_FRACTION:
        raise ValueError(f"the preliminary test takes 3, 4 or 5 results, got {v.size}")
    fraction = PRELIMINARY_FRACTION[v.size]
    threshold = fraction * oel
    if np.any(v[~c] > oel):
        return PreliminaryResult(
            decision="non_compliant",
            threshold=threshold,
            reason=f"A detected result exceeds the OEL of {oel:g}.",
        )
    if np.all(np.where(c, v <= threshold, v < threshold)):
        return PreliminaryResult(
            decision="compliant",
            threshold=threshold,
            reason=f"All {v.size} results are below {fraction:g} x OEL = {threshold:g}.",
        )
    if np.all(v[~c] < threshold):
        reason = (
            f"A non-detect's LOD is above {fraction:g} x OEL = {threshold:g}, so it cannot "
            "prove compliance; use a more sensitive method or collect at least 6 results."
        )
    else:
        reason = (
            f"A result lies between {fraction:g} x OEL = {threshold:g} and the OEL; "
            "collect at least 6 results for the statistical test."
        )
    return PreliminaryResult(decision="inconclusive", threshold=threshold, reason=reason)


def statistical_test(
    values: npt.ArrayLike,
    censored: npt.ArrayLike,
    oel: float,
    method: FitMethod = "mle",
    fit: LognormalFit | ValueError | None = None,
) -> StatisticalResult:
    """EN 689 statistical test for >= 6 results on a (censored) lognormal fit.

    U_R = (ln OEL - ln GM) / ln GSD; compliant when U_R >= U_R critical, which is the
    same as the 70 % upper confidence limit exp(mu + k sigma) of the 95th percentile
    being below the OEL, because k = U_R critical.  With non-detects, GM and GSD come
    from the censored fit while the critical value stays the complete-data one.
    """
    _check_oel(oel)
    if isinstance(fit, ValueError):
        raise fit
    fit = fit or fit_lognormal(values, censored, method)
    if fit.n < MIN_STATISTICAL_RESULTS:
        raise ValueError(f"the statistical test takes at least {MIN_STATISTICAL_RESULTS} results, got {fit.n}")
    ur = (math.log(oel) - fit.mu) / fit.sigma
    critical = ur_critical(fit.n)
    ucl = math.exp(fit.mu + critical * fit.sigma)
    basis = f"n = {fit.n}"
    if fit.n_censored:
        basis += f", {fit.method} fit with {fit.n_censored} non-detect(s)"
    if ur >= critical:
        decision: Decision = "compliant"
        verdict = f"U_R = {ur:.3f} >= U_R,crit = {critical:.3f} ({basis}): the 70 % upper confidence limit"
        outcome = "is below"
    else:
        decision = "non_compliant"
        verdict = f"U_R = {ur:.3f} < U_R,crit = {critical:.3f} ({basis}): the 70 % upper confidence limit"
        outcome = "is not below"
    reason = f"{verdict} of the 95th percentile, {ucl:.3g}, {outcome} the OEL of {oel:g}."
    return StatisticalResult(decision=decision, fit=fit, ur=ur, ur_critical=critical, ucl70_p95=ucl, reason=reason)


def reassessment_months(gm: float, oel: float) -> int:
    """Months until the next periodic measurement of a compliant SEG (REASSESSMENT_MONTHS)."""
    _check_oel(oel)
    ratio = gm / oel
    return next(months for bound, months in REASSESSMENT_MONTHS if ratio < bound)


def seg_warnings(values: npt.ArrayLike, censored: npt.ArrayLike, oel: float, gsd: float | None) -> list[str]:
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
    _check_oel(oel)
    return _warnings(v, c, oel, gsd)


def _warnings(v: FloatArray, c: BoolArray, oel: float, gsd: float | None) -> list[str]:
    """seg_warnings on results already checked (as_measurements) and a checked OEL."""
    found: list[str] = []
    if gsd is not None and gsd > GSD_HETEROGENEITY_LIMIT:
        found.append(
            f"GSD = {gsd:.2f} > {GSD_HETEROGENEITY_LIMIT:g}: the SEG may not be homogeneous; re-examine its definition."
        )
    over = int(np.count_nonzero(v[~c] > oel))
    if over:
        found.append(f"{over} detected result(s) exceed the OEL; investigate the cause and re-examine the SEG.")
    if not c.any() and v.size >= MIN_STATISTICAL_RESULTS:
        p_value = float(stats.shapiro(np.log(v)).pvalue)
        if p_value < LOGNORMALITY_ALPHA:
            found.append(
                f"The log results fail a Shapiro-Wilk normality test (p = {p_value:.3f}); the data "
                "may be bimodal or mix several SEGs."
            )
    insensitive = int(np.count_nonzero(v[c] > METHOD_SENSITIVITY_FRACTION * oel))
    if insensitive:
        found.append(
            f"{insensitive} non-detect(s) have an LOD above {METHOD_SENSITIVITY_FRACTION:g} x OEL; "
            "the measuring method is not sensitive enough (EN 482)."
        )
    return found


def assess(
    values: npt.ArrayLike,
    censored: npt.ArrayLike,
    oel: float,
    method: FitMethod = "mle",
    fit: LognormalFit | ValueError | None = None,
) -> Assessment:
    """Apply the EN 689 test that fits the number of results and summarise the verdict.
    `fit` is these results' fit_lognormal outcome when already known (fit_lognormal_many)."""
    v, c = as_measurements(values, censored)
    _check_oel(oel)
    n, n_censored = int(v.size), int(np.count_nonzero(c))
    if n < min(PRELIMINARY_FRACTION):
        return _no_test(v, c, oel, f"Only {n} result(s); EN 689 needs at least 3.")
    if n < MIN_STATISTICAL_RESULTS:
        preliminary = preliminary_test(v, c, oel)
        # No GM is fitted here; the highest result (or LOD) is an upper bound for it.
        months = reassessment_months(float(v.max()), oel) if preliminary.decision == "compliant" else None
        return Assessment(
            decision=preliminary.decision,
            test="preliminary",
            n=n,
            n_censored=n_censored,
            gm=None,
            gsd=None,
            ur=None,
            ur_critical=None,
            ucl70_p95=None,
            method=None,
            warnings=_warnings(v, c, oel, None),
            reassess_within_months=months,
            reason=preliminary.reason,
        )
    try:
        result = statistical_test(v, c, oel, method, fit)
    except ValueError as error:
        return _no_test(v, c, oel, f"The statistical test cannot be applied: {str(error).rstrip('.')}.")
    fit = result.fit
    return Assessment(
        decision=result.decision,
        test="statistical",
        n=n,
        n_censored=n_censored,
        gm=fit.gm,
        gsd=fit.gsd,
        ur=result.ur,
        ur_critical=result.ur_critical,
        ucl70_p95=result.ucl70_p95,
        method=fit.method,
        warnings=_warnings(v, c, oel, fit.gsd),
        reassess_within_months=(reassessment_months(fit.gm, oel) if result.decision == "compliant" else None),
        reason=result.reason,
    )


def _no_test(v: FloatArray, c: BoolArray, oel: float, reason: str) -> Assessment:
    return Assessment(
        decision="insufficient_data",
        test="none",
        n=int(v.size),
        n_censored=int(np.count_nonzero(c)),
        gm=None,
        gsd=None,
        ur=None,
        ur_critical=None,
        ucl70_p95=None,
        method=None,
        warnings=_warnings(v, c, oel, None),
        reassess_within_months=None,
        reason=reason,
    )


def _check_oel(oel: float) -> None:
    if not (math.isfinite(oel) and oel > 0.0):
        raise ValueError(f"the OEL must be a finite number > 0, got {oel!r}")
