"""Bayesian grid posterior: Expostats' published example and independent integrations."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from analytics.statistics import BayesianResult, Estimate, bayesian_many, bayesian_one

PRIOR_MEAN, PRIOR_SD = -0.1744, 1.0 / math.sqrt(2.5523)  # Expostats ln sigma prior
Z95 = stats.norm.ppf(0.95)

# Expostats / WEBEXPO report, sample SEG 1 (webexpo_r_lib EXAMPLES/webexpo.seg.examples.R),
# OEL 100, 'informedvar' prior; its MCMC results (EXAMPLES/output/table5.csv) are
# GM 34.3 [21.7-54.2], GSD 2.18 [1.72-3.4], exceedance 8.35 % [1.47-26.3] with risk
# 71 %, P95 123 [72.5-301], AM 46.9 [30.4-90.7] (median [5th-95th percentile]).
EXPOSTATS_SAMPLE = np.array([24.7, 64.1, 13.8, 43.7, 19.9, 133.0, 32.1, 15.0, 53.7])

# Expostats' default data set: 28.9, 19.4, <5.5, 149.9, 26.42, 56.1 (OEL 100).
DEFAULT_VALUES = np.array([28.9, 19.4, 5.5, 149.9, 26.42, 56.1])
DEFAULT_CENSORED = np.array([False, False, True, False, False, False])


def detected(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


def test_reproduces_the_published_expostats_example() -> None:
    result = bayesian_one(EXPOSTATS_SAMPLE, detected(9), 100.0)
    expected = {
        "gm": (34.3, 21.7, 54.2),
        "gsd": (2.18, 1.72, 3.4),
        "exceedance_fraction": (0.0835, 0.0147, 0.263),
        "p95": (123.0, 72.5, 301.0),
        "arithmetic_mean": (46.9, 30.4, 90.7),
    }
    for name, (point, lower, upper) in expected.items():
        estimate = getattr(result, name)
        # Expostats rounds to 3 digits and samples by MCMC: allow 2 %.
        assert estimate.point == pytest.approx(point, rel=0.02), name
        assert estimate.lower == pytest.approx(lower, rel=0.02), name
        assert estimate.upper == pytest.approx(upper, rel=0.02), name
    assert result.overexposure_risk == pytest.approx(0.71, abs=0.01)
    assert result.decision == "problematic"
    assert result.credible_level == 0.90


def _expect_over_sigma(logs: np.ndarray, probability_given_sigma: Callable[[float], float]) -> float:
    """E[probability_given_sigma(sigma) | y] for complete data and a flat mu prior, where
    p(ln sigma | y) is proportional to prior(ln sigma) sigma^-(n-1) exp(-SS / (2 sigma^2))."""
    n = logs.size
    ss = float(np.sum((logs - logs.mean()) ** 2))

    def log_density(s: float) -> float:
        return -(n - 1) * s - ss / (2 * math.exp(2 * s)) - (s - PRIOR_MEAN) ** 2 / (2 * PRIOR_SD**2)

    peak = max(log_density(s) for s in np.linspace(-4, 3, 2001))

    def density(s: float) -> float:
        return math.exp(log_density(s) - peak)

    top = integrate.quad(lambda s: density(s) * probability_given_sigma(math.exp(s)), -6, 4, limit=200)[0]
    bottom = integrate.quad(density, -6, 4, limit=200)[0]
    return float(top / bottom)


def test_complete_data_match_a_one_dimensional_integration() -> None:
    """With a flat prior, mu | sigma, y ~ N(ybar, sigma^2 / n): integrate sigma numerically."""
    logs = np.log(EXPOSTATS_SAMPLE)
    mean, n = float(logs.mean()), logs.size
    oel = 100.0
    result = bayesian_one(EXPOSTATS_SAMPLE, detected(n), oel)

    def normal_cdf(z: float) -> float:
        return float(stats.norm.cdf(z))

    risk = _expect_over_sigma(
        logs, lambda sigma: normal_cdf((mean + Z95 * sigma - math.log(oel)) * math.sqrt(n) / sigma)
    )
    assert result.overexposure_risk == pytest.approx(risk, abs=1e-4)
    # mu | y is symmetric about the mean log, so the posterior median GM is exp(mean).
    assert result.gm.point == pytest.approx(math.exp(mean), rel=1e-5)

    def p95_below(q: float) -> float:
        return _expect_over_sigma(logs, lambda sigma: normal_cdf((q - Z95 * sigma - mean) * math.sqrt(n) / sigma))

    upper = math.exp(optimize.brentq(lambda q: p95_below(q) - 0.95, 3.0, 9.0, xtol=1e-10))
    lower = math.exp(optimize.brentq(lambda q: p95_below(q) - 0.05, 3.0, 9.0, xtol=1e-10))
    assert result.p95.upper == pytest.approx(upper, rel=1e-4)
    assert result.p95.lower == pytest.approx(lower, rel=1e-4)


def test_censored_data_match_a_brute_force_grid() -> None:
    """Expostats' default data with its non-detect, against a dense (mu, ln sigma) grid
    built with scipy.stats: normal density for detects, normal CDF for the "< 5.5"."""
    oel = 100.0
    logs = np.log(DEFAULT_VALUES)
    mu = np.linspace(-8.0, 12.0, 2000)[:, None]
    log_sigma = np.linspace(-2.5, 4.0, 1500)[None, :]
    sigma = np.exp(log_sigma)
    log_post = stats.norm.logpdf(log_sigma, PRIOR_MEAN, PRIOR_SD)  # per unit of ln sigma
    for value, censored in zip(logs, DEFAULT_CENSORED, strict=True):
        if censored:
            log_post = log_post + stats.norm.logcdf(value, mu, sigma)
        else:
            log_post = log_post + stats.norm.logpdf(value, mu, sigma)
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    assert weight[[0, -1], :].sum() + weight[:, [0, -1]].sum() < 1e-9  # grid holds the mass

    risk = float(weight[(mu + Z95 * sigma) > math.log(oel)].sum())
    fraction = stats.norm.sf((math.log(oel) - mu) / sigma) * np.ones_like(weight)
    order = np.argsort(fraction, axis=None)
    cumulative = np.cumsum(weight.ravel()[order])
    lower, median, upper = fraction.ravel()[order][np.searchsorted(cumulative, [0.05, 0.5, 0.95])]
    sigma_cdf = np.cumsum(weight.sum(axis=0))
    median_gsd = math.exp(float(sigma[0, np.searchsorted(sigma_cdf, 0.5)]))

    result = bayesian_one(DEFAULT_VALUES, DEFAULT_CENSORED, oel)
    assert (result.n, result.n_censored) == (6, 1)
    # The reference grid steps 0.0043 in ln sigma, so its GSD is quantised by ~0.5 %.
    assert result.overexposure_risk == pytest.approx(risk, abs=1e-3)
    assert result.exceedance_fraction.point == pytest.approx(median, rel=2e-3)
    assert result.exceedance_fraction.lower == pytest.approx(lower, rel=5e-3)
    assert result.exceedance_fraction.upper == pytest.approx(upper, rel=5e-3)
    assert result.gsd.point == pytest.approx(median_gsd, rel=5e-3)


def test_large_sample_recovers_the_truth() -> None:
    rng = np.random.default_rng(20240601)
    gm, gsd, n = 5.0, 2.5, 500
    values = rng.lognormal(math.log(gm), math.log(gsd), n)
    result = bayesian_one(values, detected(n), 40.0)
    sigma = math.log(gsd)
    # Three standard errors: sigma / sqrt(n) for ln GM, 1 / sqrt(2 n) for ln sigma.
    assert abs(math.log(result.gm.point / gm)) < 3 * sigma / math.sqrt(n)
    assert abs(math.log(math.log(result.gsd.point) / sigma)) < 3 / math.sqrt(2 * n)
    true_p95 = gm * gsd**Z95
    assert result.p95.lower < true_p95 < result.p95.upper
    # With 500 results the prior hardly matters: medians sit on the sample estimates.
    logs = np.log(values)
    assert result.gm.point == pytest.approx(math.exp(logs.mean()), rel=2e-3)
    assert math.log(result.gsd.point) == pytest.approx(logs.std(ddof=1), rel=5e-3)


def test_risk_falls_as_the_oel_rises() -> None:
    oels = np.geomspace(20.0, 20000.0, 30)
    results = bayesian_many([(DEFAULT_VALUES, DEFAULT_CENSORED)] * oels.size, oels)
    risks = np.array([r.overexposure_risk for r in results])
    assert np.all(np.diff(risks) < 0)
    assert risks[0] > 0.99 and risks[-1] < 0.01
    for result in results:
        expected = "problematic" if result.overexposure_risk >= 0.30 else "acceptable"
        assert result.decision == expected
        assert result.oel in oels


def test_many_groups_keep_their_order_and_match_single_runs() -> None:
    groups = [
        (DEFAULT_VALUES, DEFAULT_CENSORED),
        (EXPOSTATS_SAMPLE, detected(9)),
        (np.array([3.0, 1.0, 2.0, 7.0, 2.0]), np.array([False, True, True, False, True])),
        (np.array([0.5, 0.9]), detected(2)),
    ]
    oels = [100.0, 100.0, 5.0, 2.0]
    many = bayesian_many(groups, oels)
    assert [r.n_censored for r in many] == [1, 0, 3, 0]
    for (values, censored), oel, result in zip(groups, oels, many, strict=True):
        assert result == bayesian_one(values, censored, oel)
    assert bayesian_many(groups, 100.0)[2].oel == 100.0
    assert bayesian_many([], []) == []


def test_results_are_deterministic_and_ordered() -> None:
    first = bayesian_one(DEFAULT_VALUES, DEFAULT_CENSORED, 100.0)
    assert first == bayesian_one(DEFAULT_VALUES, DEFAULT_CENSORED, 100.0)
    for estimate in _estimates(first):
        assert 0.0 < estimate.lower < estimate.point < estimate.upper


def _estimates(result: BayesianResult) -> list[Estimate]:
    return [result.gm, result.gsd, result.exceedance_fraction, result.p95, result.arithmetic_mean]


def test_default_grid_agrees_with_a_much_finer_one() -> None:
    """The piecewise-cubic CDFs make 48 x 48 nodes as good as 160 x 160 to ~1e-3."""
    values = np.array([5.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 3.5, 1.0, 1.0])  # 7 of 10 below 1
    censored = values == 1.0
    coarse, fine = bayesian_one(values, censored, 10.0), bayesian_one(values, censored, 10.0, grid_size=160)
    for a, b in zip(_estimates(coarse), _estimates(fine), strict=True):
        assert (a.lower, a.point, a.upper) == pytest.approx((b.lower, b.point, b.upper), rel=1e-3)
    assert coarse.overexposure_risk == pytest.approx(fine.overexposure_risk, abs=1e-4)


@pytest.mark.parametrize(
    ("groups", "oel", "message"),
    [
        ([(np.array([1.0, 2.0]), np.array([True, True]))], [10.0], "group 0: at least one detected"),
        ([(np.array([1.0, 0.0]), detected(2))], [10.0], "group 0: values must be"),
        ([(np.array([1.0, 2.0]), detected(2))] * 2, [10.0, 20.0, 30.0], "one value per group"),
        ([(np.array([1.0, 2.0]), detected(2))], [0.0], "OEL must be"),
    ],
)
def test_bad_input_is_refused(groups: list[tuple[np.ndarray, np.ndarray]], oel: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bayesian_many(groups, oel)


def test_grid_size_has_a_floor() -> None:
    with pytest.raises(ValueError, match="grid_size"):
        bayesian_one(DEFAULT_VALUES, DEFAULT_CENSORED, 100.0, grid_size=5)


def _uniform_sigma_grid(values: np.ndarray, censored: np.ndarray, mu_range: tuple[float, float]) -> np.ndarray:
    """Posterior weights on a dense (mu, sigma) grid under Expostats' uninformative prior:
    flat in mu, uniform in sigma on (0, 2.3) (webexpo_r_lib SEG.uninformative defaults)."""
    mu = np.linspace(*mu_range, 2400)[:, None]
    sigma = np.linspace(1e-3, 2.3, 2300)[None, :]
    log_post = np.zeros((mu.size, sigma.size))
    for value, below in zip(np.log(values), censored, strict=True):
        log_post = log_post + (stats.norm.logcdf(value, mu, sigma) if below else stats.norm.logpdf(value, mu, sigma))
    weight = np.exp(log_post - log_post.max())
    return weight / weight.sum()


def _grid_quantiles(weight: np.ndarray, functional: np.ndarray) -> np.ndarray:
    order = np.argsort(functional, axis=None)
    cumulative = np.cumsum(weight.ravel()[order])
    return functional.ravel()[order][np.searchsorted(cumulative, [0.05, 0.5, 0.95])]


@pytest.mark.parametrize(
    ("values", "censored", "oel", "mu_range"),
    [
        (np.array([1.0, 5.0, 12.0]), detected(3), 30.0, (-6.0, 8.0)),  # wide: mass pressed on sigma = 2.3
        (DEFAULT_VALUES, DEFAULT_CENSORED, 100.0, (-2.0, 8.0)),
    ],
)
def test_the_uninformative_prior_matches_a_brute_force_grid(
    values: np.ndarray, censored: np.ndarray, oel: float, mu_range: tuple[float, float]
) -> None:
    weight = _uniform_sigma_grid(values, censored, mu_range)
    mu = np.linspace(*mu_range, 2400)[:, None] * np.ones_like(weight)
    sigma = np.linspace(1e-3, 2.3, 2300)[None, :] * np.ones_like(weight)
    result = bayesian_one(values, censored, oel, prior="uninformative")
    assert result.prior == "uninformative" and "Uniform(0, 2.3)" in result.prior_detail
    assert result.overexposure_risk == pytest.approx(float(weight[(mu + Z95 * sigma) > math.log(oel)].sum()), abs=2e-3)
    expected = {
        "gsd": np.exp(_grid_quantiles(weight, sigma)),
        "p95": np.exp(_grid_quantiles(weight, mu + Z95 * sigma)),
        "exceedance_fraction": _grid_quantiles(weight, stats.norm.sf((math.log(oel) - mu) / sigma)),
    }
    for name, (lower, point, upper) in expected.items():
        estimate = getattr(result, name)
        # The reference grid steps 0.006 in mu and 0.001 in sigma: quantiles to ~0.3 %.
        assert (estimate.lower, estimate.point, estimate.upper) == pytest.approx((lower, point, upper), rel=5e-3), name


def test_the_prior_is_chosen_and_named() -> None:
    informed = bayesian_one(np.array([1.0, 5.0, 12.0]), detected(3), 30.0)
    flat = bayesian_one(np.array([1.0, 5.0, 12.0]), detected(3), 30.0, prior="uninformative")
    assert (informed.prior, flat.prior) == ("informedvar", "uninformative")
    assert "ln sigma ~ N(-0.1744" in informed.prior_detail
    # Three widely spread results: the informed prior pulls the GSD towards the GSDs seen in
    # practice; the uninformative one lets it grow, up to its bound of e^2.3 (a GSD of 10).
    assert informed.gsd.point < flat.gsd.point and flat.gsd.upper <= math.exp(2.3)
    with pytest.raises(ValueError, match="unknown prior"):
        bayesian_one(DEFAULT_VALUES, DEFAULT_CENSORED, 100.0, prior="flat")  # type: ignore[arg-type]
