"""Lognormal fits with left-censored non-detects: known answers and independent re-derivations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from analytics.statistics import LognormalFit, fit_lognormal, fit_lognormal_sets, ros_impute
from analytics.statistics.sets import Sets

# Helsel & Cohn (1988), "Estimation of descriptive statistics for multiply censored
# water quality data", Water Resources Research 24(12), Appendix B: six "<1" and
# three "<10" with nine detects.  The imputed values below are those of the
# statsmodels ROS test suite (statsmodels/imputation/tests/test_ros.py), which
# quotes them cut (not rounded) to two decimals.
HELSEL_VALUES = np.array([1.0] * 6 + [10.0] * 3 + [3.0, 7.0, 9.0, 12.0, 15.0, 20.0, 27.0, 33.0, 50.0])
HELSEL_CENSORED = np.array([True] * 9 + [False] * 9)
HELSEL_IMPUTED = np.array([0.47, 0.85, 1.11, 1.27, 1.76, 2.34, 2.50, 3.03, 4.80])

# Sulphate data of Newman, "Quantitative Methods in Aquatic Ecotoxicology", p. 35:
# one detection limit (2.5).  R NADA::ros reports mean 5.158, sd 2.071 and median
# 5.2 for the detects plus imputed values (also matching the book's SAS macro).
SULPHATE = np.array(
    [2.5, 2.5, 2.6, 3.3, 3.5, 3.5, 3.6, 4.0, 4.1, 4.5, 5.2, 5.6, 5.7, 6.1, 6.2, 6.5, 6.9, 7.1, 7.7, 7.9, 9.9]
)
SULPHATE_CENSORED = np.arange(SULPHATE.size) < 2

# Several detection limits, some above detects, as a lab register produces them.
MIXED_VALUES = np.array([0.8, 1.4, 2.0, 2.0, 3.1, 4.6, 0.5, 1.0, 1.0, 2.5, 7.9, 12.0, 5.0])
MIXED_CENSORED = np.array([0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1], dtype=bool)


def test_mle_without_non_detects_is_the_en689_closed_form() -> None:
    values = np.array([12.0, 30.0, 45.0, 60.0, 22.0, 25.0, 81.0])
    fit = fit_lognormal(values, np.zeros(values.size, dtype=bool), "mle")
    logs = np.log(values)
    assert fit.mu == pytest.approx(logs.mean(), rel=1e-14)
    assert fit.sigma == pytest.approx(logs.std(ddof=1), rel=1e-14)
    assert fit.gm == pytest.approx(math.exp(logs.mean()), rel=1e-14)
    assert fit.gsd == pytest.approx(math.exp(logs.std(ddof=1)), rel=1e-14)
    assert (fit.n, fit.n_censored, fit.method) == (7, 0, "mle")


def test_ros_without_non_detects_is_the_closed_form_too() -> None:
    values = np.array([3.0, 5.0, 8.0, 13.0, 21.0])
    fit = fit_lognormal(values, np.zeros(5, dtype=bool), "ros")
    assert fit.sigma == pytest.approx(np.log(values).std(ddof=1), rel=1e-14)
    assert fit.method == "ros"


def _independent_censored_mle(values: np.ndarray, censored: np.ndarray) -> tuple[float, float]:
    """Same likelihood written with scipy.stats, searched on a dense grid, then Nelder-Mead."""
    y = np.log(values)

    def log_likelihood(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        total = np.zeros(np.broadcast(mu, sigma).shape)
        for value, is_censored in zip(y, censored, strict=True):
            if is_censored:
                total += stats.norm.logcdf(value, loc=mu, scale=sigma)
            else:
                total += stats.norm.logpdf(value, loc=mu, scale=sigma)
        return total

    mu_axis = np.linspace(y.min() - 2.0, y.max() + 1.0, 601)
    sigma_axis = np.linspace(0.05, 4.0, 601)
    grid = log_likelihood(mu_axis[:, None], sigma_axis[None, :])
    i, j = np.unravel_index(np.argmax(grid), grid.shape)
    polished = optimize.minimize(
        lambda p: -float(log_likelihood(np.array(p[0]), np.array(p[1]))),
        [mu_axis[i], sigma_axis[j]],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 10_000},
    )
    return float(polished.x[0]), float(polished.x[1])


@pytest.mark.parametrize(
    ("values", "censored"),
    [(MIXED_VALUES, MIXED_CENSORED), (HELSEL_VALUES, HELSEL_CENSORED), (SULPHATE, SULPHATE_CENSORED)],
)
def test_censored_mle_matches_an_independent_maximisation(values: np.ndarray, censored: np.ndarray) -> None:
    mu, sigma_mle = _independent_censored_mle(values, censored)
    fit = fit_lognormal(values, censored, "mle")
    n = values.size
    assert fit.mu == pytest.approx(mu, abs=1e-6)
    # fit_lognormal reports the MLE of sigma scaled by sqrt(n / (n - 1)), see its docstring.
    assert fit.sigma == pytest.approx(sigma_mle * math.sqrt(n / (n - 1)), abs=1e-6)
    assert fit.n_censored == int(censored.sum())


def test_many_fits_at_once_equal_one_fit_at_a_time() -> None:
    """The vectorised fit of a national report gives each SEG the fit it would get alone,
    and the same refusal where there is none (one detect, no spread, bad input)."""
    rng = np.random.default_rng(11)
    groups: list[tuple[np.ndarray, np.ndarray]] = [
        (MIXED_VALUES, MIXED_CENSORED),
        (HELSEL_VALUES, HELSEL_CENSORED),
        (SULPHATE, SULPHATE_CENSORED),
        (np.array([1.0, 2.0, 2.0]), np.array([False, True, True])),  # one detect
        (np.array([3.0, 3.0, 3.0, 1.0]), np.array([False, False, False, True])),  # no spread
        (np.array([2.0, 0.0, 4.0]), np.array([False, False, True])),  # a zero
    ]
    for _ in range(400):
        n = int(rng.integers(3, 40))
        values = np.exp(rng.normal(rng.normal(), rng.uniform(0.1, 1.6), n))
        lod = float(np.quantile(values, rng.uniform(0.0, 0.7)))
        censored = values < lod
        groups.append((np.where(censored, lod, values), censored))
    alone: list[LognormalFit | ValueError] = []
    for values, censored in groups:
        try:
            alone.append(fit_lognormal(values, censored))
        except ValueError as error:
            alone.append(error)
    fits = fit_lognormal_sets(Sets.stacked(groups))
    together = [fits.fit(k) for k in range(len(groups))]
    assert sum(isinstance(f, ValueError) for f in alone) >= 3
    for one, many in zip(alone, together, strict=True):
        if isinstance(one, ValueError):
            assert isinstance(many, ValueError) and str(many) == str(one)
            continue
        assert isinstance(many, LognormalFit)
        assert (many.n, many.n_censored, many.method) == (one.n, one.n_censored, one.method)
        assert many.mu == pytest.approx(one.mu, rel=1e-9, abs=1e-12)
        assert many.sigma == pytest.approx(one.sigma, rel=1e-9)


def test_ros_single_detection_limit_reproduces_nada() -> None:
    modeled = ros_impute(SULPHATE, SULPHATE_CENSORED)
    assert modeled.mean() == pytest.approx(5.158, abs=5e-4)
    assert modeled.std(ddof=1) == pytest.approx(2.071, abs=5e-4)
    assert np.median(modeled) == pytest.approx(5.2)
    # Imputed non-detects lie below their detection limit; detects are kept as reported.
    assert np.all(modeled[SULPHATE_CENSORED] < 2.5)
    np.testing.assert_array_equal(modeled[~SULPHATE_CENSORED], SULPHATE[~SULPHATE_CENSORED])


def test_ros_multiple_detection_limits_reproduce_helsel_cohn_appendix_b() -> None:
    imputed = np.sort(ros_impute(HELSEL_VALUES, HELSEL_CENSORED)[HELSEL_CENSORED])
    np.testing.assert_allclose(np.floor(imputed * 100) / 100, HELSEL_IMPUTED, atol=1e-12)


def test_ros_fit_is_the_log_moments_of_the_modeled_values() -> None:
    fit = fit_lognormal(MIXED_VALUES, MIXED_CENSORED, "ros")
    logs = np.log(ros_impute(MIXED_VALUES, MIXED_CENSORED))
    assert fit.mu == pytest.approx(logs.mean(), rel=1e-14)
    assert fit.sigma == pytest.approx(logs.std(ddof=1), rel=1e-14)
    assert (fit.method, fit.n_censored) == ("ros", 6)


def test_censoring_is_not_substitution() -> None:
    """Putting LOD/2 in place of the non-detects gives another fit than the censored MLE."""
    values = np.array([12.0, 30.0, 45.0, 60.0, 40.0, 40.0, 40.0, 25.0])
    censored = np.array([0, 0, 0, 0, 1, 1, 1, 0], dtype=bool)
    censored_fit = fit_lognormal(values, censored)
    substituted = fit_lognormal(np.where(censored, values / 2, values), np.zeros(8, dtype=bool))
    assert censored_fit.gsd == pytest.approx(1.7424, abs=1e-4)
    assert substituted.gsd == pytest.approx(1.6665, abs=1e-4)


@pytest.mark.parametrize(
    ("values", "censored", "message"),
    [
        ([1.0, 2.0, 3.0], [True, True, False], "at least 2 detected"),
        ([1.0, 0.0, 3.0], [False, True, False], "never 0"),
        ([1.0, -2.0, 3.0], [False, False, False], "> 0"),
        ([1.0, math.nan, 3.0], [False, False, False], "finite"),
        ([1.0, 2.0, 3.0], [False, False], "length mismatch"),
        ([1.0, 2.0, 3.0], [0, 1, 0], "boolean"),
        ([], [], "no results"),
        ([[1.0, 2.0]], [[False, False]], "one-dimensional"),
        ([4.0, 4.0, 4.0], [False, False, False], "no spread"),
        ([5.0, 5.0, 10.0, 10.0, 10.0], [False, False, True, True, True], "no maximum|no spread"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(values: list[float], censored: list[bool], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_lognormal(np.array(values), np.array(censored))


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        fit_lognormal(np.array([1.0, 2.0]), np.array([False, False]), "kaplan-meier")  # type: ignore[arg-type]
