"""Bayesian (Expostats-style) exceedance analysis of SEGs with left-censored results.

Model, as in Expostats (Lavoue et al. 2019, "Expostats: a Bayesian toolkit to aid
the interpretation of occupational exposure measurements", Ann Work Expo Health
63(3):267-279) and its reference R code (github.com/webexpo/webexpo_r_lib,
SEG.informedvar and SEG.uninformative, called by Webexpo.seg.globalbayesian.mcgill):
ln x ~ N(mu, sigma^2), a uniform prior on mu, and one of Expostats' two SEG priors on
sigma (`Prior`):

- "informedvar" (Expostats' default): ln sigma ~ N(-0.1744, precision 2.5523), fitted
  to a database of measured GSDs;
- "uninformative": sigma ~ Uniform(0, 2.3), i.e. any GSD up to 10 equally likely
  (SEG.uninformative with the wrapper's default sd.range = c(0, 2.3)).

Expostats bounds mu to ln(OEL) +- 20 under both; those bounds sit ~5e8 x the OEL away and
never bind for real data, so the mu prior here is flat.

The posterior is computed on a grid instead of by MCMC, so results are exact up
to the grid and deterministic.  The grid is in (u, t) with mu = c + sigma * u,
t = ln sigma and c the mean log detect: for complete data u and t are then a
posteriori independent and the grid needs no tilt.  Two coarse passes locate the
posterior mass, a fine pass covers it; non-detects enter through the normal CDF
at ln LOD.  Posterior CDFs are piecewise cubic (see `_cubic_cells`), accurate to
O(h^4), so the default 48 x 48 nodes agree with a 400 x 400 grid to ~4e-4
relative on every summary, far inside the Monte Carlo noise of Expostats.  Under the
uninformative prior the posterior is cut off at sigma = 2.3 rather than smooth, which a
grid in ln sigma resolves only to O(h); its fine grid bends the sigma axis so the density
fades smoothly towards the bound (`_SigmaAxis`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, Literal, get_args

import msgspec
import numpy as np
import numpy.typing as npt
from scipy import special, stats

from analytics.statistics.lognormal import as_measurements
from analytics.statistics.sets import FloatArray, Sets

Prior = Literal["informedvar", "uninformative"]
PRIORS: Final = get_args(Prior)
# Expostats 'informedvar' prior on ln sigma (webexpo_r_lib SEG.informedvar defaults).
SIGMA_PRIOR_LOG_MEAN = -0.1744
SIGMA_PRIOR_LOG_SD = 1.0 / math.sqrt(2.5523)
# Expostats 'uninformative' prior: sigma ~ Uniform(0, 2.3) (Lavoue et al. 2019, Ann Work Expo
# Health 63(3):267-279; webexpo_r_lib Webexpo.seg.globalbayesian.mcgill, sd.range = c(0, 2.3)).
UNINFORMATIVE_SIGMA_MAX = 2.3
_LOG_SIGMA_MAX = math.log(UNINFORMATIVE_SIGMA_MAX)
PRIOR_DETAIL: Final[dict[str, str]] = {
    "informedvar": "Expostats informedvar: ln sigma ~ N(-0.1744, precision 2.5523), mu uniform",
    "uninformative": "Expostats uninformative: sigma ~ Uniform(0, 2.3), mu uniform",
}
# Expostats defaults: overexposure = more than 5 % of days above the OEL; a SEG is
# problematic when the posterior probability of that is >= 30 %; estimates are
# posterior medians with 90 % credible intervals (5th-95th percentiles).
EXCEEDANCE_LIMIT = 0.05
RISK_THRESHOLD = 0.30
CREDIBLE_LEVEL = 0.90
_PROBABILITIES = np.array([0.5 - CREDIBLE_LEVEL / 2, 0.5, 0.5 + CREDIBLE_LEVEL / 2])
_Z_LIMIT = float(stats.norm.ppf(1.0 - EXCEEDANCE_LIMIT))

DEFAULT_GRID_SIZE = 48
_COARSE_SIZE = 24
_COARSE_PASSES = 2
_COARSE_U = (-12.0, 6.0)  # mu - c in units of sigma; wide enough for heavy censoring
_PRIOR_SPAN = 6.5  # coarse ln sigma range: prior mean +- 6.5 prior SDs ...
_DATA_SPAN = 2.0  # ... widened to ln(SD of the logs) +- 2 when the data disagree
_LOG_DENSITY_DROP = 16.0  # the fine grid covers densities above exp(-16) x the mode
_PADDING_CELLS = 1.5
_BISECTIONS = 7
_NEWTON_STEPS = 6
_PIECE_NEWTON_STEPS = 4  # within one cubic piece, from a linear first guess
_NEGLIGIBLE_ROW_MASS = 1e-15
_CELLS_PER_CHUNK = 250_000  # grid nodes per chunk of groups: keeps a chunk's arrays in cache
_SUMMARY_COLUMNS = 16  # 3 quantiles each of ln GM, ln P95, ln AM, exceedance z, ln sigma; risk


# ln Phi by linear interpolation in a table (step 1e-3, error < 2e-7 in the log
# density): 4x faster than scipy.special.log_ndtr, which otherwise dominates the
# run time.  Below -60 the clipped value still means a density below exp(-1800),
# above 10 ln Phi is 0 to 1e-23.
_TABLE_LO, _TABLE_HI, _TABLE_STEP = -60.0, 10.0, 1e-3
_LOG_NDTR_TABLE = special.log_ndtr(np.arange(_TABLE_LO, _TABLE_HI + _TABLE_STEP / 2, _TABLE_STEP))
_LOG_NDTR_SLOPE = np.diff(_LOG_NDTR_TABLE)
# Each table step's slope and value side by side, so that one lookup fetches both.
_LOG_NDTR_STEPS = np.stack([_LOG_NDTR_SLOPE, _LOG_NDTR_TABLE[:-1]], axis=1)


class Estimate(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Posterior median with the bounds of the 90 % credible interval."""

    point: float
    lower: float
    upper: float


class BayesianResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Expostats-style summary of one SEG; exceedance fractions are in [0, 1]."""

    n: int
    n_censored: int
    oel: float
    gm: Estimate
    gsd: Estimate
    exceedance_fraction: Estimate
    p95: Estimate
    arithmetic_mean: Estimate
    overexposure_risk: float
    decision: Literal["acceptable", "problematic"]
    credible_level: float = CREDIBLE_LEVEL
    prior: Prior = "informedvar"
    prior_detail: str = PRIOR_DETAIL["informedvar"]


class _Groups(msgspec.Struct, frozen=True):
    """Sufficient statistics of many SEGs, packed for vectorised grid evaluation.

    Groups are sorted by their number of distinct LODs, so in any run of groups
    those with a k-th LOD form a contiguous tail (see `_log_posterior`).
    """

    center: FloatArray  # c: mean ln detect
    n_detects: FloatArray
    sum_squares: FloatArray  # sum of (ln detect - c)^2
    log_spread: FloatArray  # ln SD of all logs (LOD for non-detects), NaN if none
    log_oel: FloatArray
    pair_group: npt.NDArray[np.intp]  # one pair per (group, distinct LOD), sorted by group
    pair_offset: FloatArray  # ln LOD - c
    pair_count: FloatArray
    pair_slot: npt.NDArray[np.intp]  # 0, 1, ... within each group


def bayesian_one(
    values: npt.ArrayLike,
    censored: npt.ArrayLike,
    oel: float,
    *,
    grid_size: int = DEFAULT_GRID_SIZE,
    prior: Prior = "informedvar",
) -> BayesianResult:
    """Bayesian analysis of one SEG; see `bayesian_many`."""
    return bayesian_many([(np.asarray(values), np.asarray(censored))], [oel], grid_size=grid_size, prior=prior)[0]


def bayesian_many(
    groups: Sequence[tuple[np.ndarray, np.ndarray]],
    oel: np.ndarray | Sequence[float] | float,
    *,
    grid_size: int = DEFAULT_GRID_SIZE,
    workers: int | None = None,
    prior: Prior = "informedvar",
) -> list[BayesianResult]:
    """Bayesian exceedance fraction, P95 and AM with credible intervals for many SEGs, given
    one (values, censored) pair each; see `bayesian_sets`."""
    for i, (values, censored) in enumerate(groups):
        _check_group(i, values, censored)
    limits = _oel_per_group(oel, len(groups))
    return bayesian_sets(Sets.stacked(groups), limits, grid_size=grid_size, workers=workers, prior=prior)


def bayesian_sets(
    sets: Sets,
    oel: FloatArray,
    *,
    grid_size: int = DEFAULT_GRID_SIZE,
    workers: int | None = None,
    prior: Prior = "informedvar",
) -> list[BayesianResult]:
    """Bayesian exceedance fraction, P95 and AM with credible intervals for every set at once.

    `oel` is one value per set; `prior` is one of Expostats' SEG priors (module doc).  Each
    set needs at least one detected result: with only non-detects the flat prior on mu has no
    lower anchor.  Sets are processed in chunks on `workers` threads (numpy releases the GIL
    in its array loops); each set's figures depend on its own results only.
    """
    if grid_size < 10:
        raise ValueError(f"grid_size must be at least 10, got {grid_size}")
    if prior not in PRIORS:
        raise ValueError(f"unknown prior {prior!r}; use one of {', '.join(PRIORS)}")
    if not sets.n_sets:
        return []
    limits = _oel_per_group(oel, sets.n_sets)
    n_censored = sets.counted(sets.censored)
    as_measurements(sets.values, sets.censored)
    undetected = np.flatnonzero(n_censored == sets.sizes)
    if undetected.size:
        k = int(undetected[0])
        raise ValueError(f"group {k}: " + ("at least one detected result is needed" if sets.sizes[k] else "no results"))
    packed, order = _pack(sets, limits)
    chunk = max(1, _CELLS_PER_CHUNK // (grid_size * grid_size))
    bounds = [(start, min(start + chunk, sets.n_sets)) for start in range(0, sets.n_sets, chunk)]
    threads = workers if workers is not None else min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        parts = list(pool.map(lambda b: _summarise(packed, b[0], b[1], grid_size, prior), bounds))
    summary = np.empty((sets.n_sets, _SUMMARY_COLUMNS))
    summary[order] = np.concatenate(parts)
    return _results(summary, sets.sizes, n_censored, limits, prior)


def _oel_per_group(oel: np.ndarray | Sequence[float] | float, count: int) -> FloatArray:
    given = np.asarray(oel, dtype=np.float64)
    if given.ndim > 1 or (given.ndim == 1 and given.size not in (1, count)):
        raise ValueError(f"oel needs one value per group ({count}), got shape {given.shape}")
    limits = np.broadcast_to(given, (count,)).astype(np.float64)
    if not np.all(np.isfinite(limits) & (limits > 0.0)):
        raise ValueError("every OEL must be a finite number > 0")
    return limits


def _check_group(index: int, values: npt.ArrayLike, censored: npt.ArrayLike) -> None:
    try:
        _, c = as_measurements(values, censored)
    except ValueError as error:
        raise ValueError(f"group {index}: {error}") from error
    if c.all():
        raise ValueError(f"group {index}: at least one detected result is needed")


def _pack(sets: Sets, limits: FloatArray) -> tuple[_Groups, npt.NDArray[np.intp]]:
    """Sufficient statistics in order of LOD count, and that order (packed row -> set)."""
    sizes = sets.sizes
    y = np.log(sets.values)
    censored = sets.censored
    owner = sets.owner
    count = sizes.size

    # Distinct LODs per group: sort non-detects by (group, ln LOD) and count runs.
    lod_owner, lod = owner[censored], y[censored]
    by_group = np.lexsort((lod, lod_owner))
    lod_owner, lod = lod_owner[by_group], lod[by_group]
    new_run = np.ones(lod.size, dtype=bool)
    new_run[1:] = (np.diff(lod_owner) != 0) | (np.diff(lod) != 0)
    runs = np.flatnonzero(new_run)
    run_owner, run_lod = lod_owner[runs], lod[runs]
    run_count = np.diff(np.r_[runs, lod.size]).astype(np.float64)
    lod_count = np.bincount(run_owner, minlength=count)

    order = np.argsort(lod_count, kind="stable")
    position = np.empty(count, dtype=np.intp)
    position[order] = np.arange(count)

    detects = ~censored
    n_detects = np.bincount(owner[detects], minlength=count).astype(np.float64)
    center = np.bincount(owner[detects], y[detects], minlength=count) / n_detects
    deviation = y - center[owner]
    sum_squares = np.bincount(owner[detects], deviation[detects] ** 2, minlength=count).astype(np.float64)
    shift = np.bincount(owner, deviation, minlength=count) / sizes
    variance = np.bincount(owner, deviation**2, minlength=count) / sizes - shift**2
    with np.errstate(divide="ignore"):
        log_spread = np.where(variance > 1e-24, 0.5 * np.log(np.maximum(variance, 1e-300)), np.nan)

    # Pairs in packed order: by group position, then LOD; slot = rank within group.
    pair_group = position[run_owner]
    by_position = np.lexsort((run_lod, pair_group))
    pair_group, run_owner = pair_group[by_position], run_owner[by_position]
    first_pair = np.cumsum(lod_count[order]) - lod_count[order]
    packed = _Groups(
        center=center[order],
        n_detects=n_detects[order],
        sum_squares=sum_squares[order],
        log_spread=log_spread[order],
        log_oel=np.log(limits[order]),
        pair_group=pair_group,
        pair_offset=run_lod[by_position] - center[run_owner],
        pair_count=run_count[by_position],
        pair_slot=np.arange(pair_group.size) - first_pair[pair_group],
    )
    return packed, order


def _summarise(groups: _Groups, start: int, stop: int, size: int, prior: Prior) -> FloatArray:
    """Posterior summaries of packed groups [start, stop): _SUMMARY_COLUMNS each, see `_result`."""
    count = stop - start
    t_lo = np.full(count, SIGMA_PRIOR_LOG_MEAN - _PRIOR_SPAN * SIGMA_PRIOR_LOG_SD)
    t_hi = np.full(count, SIGMA_PRIOR_LOG_MEAN + _PRIOR_SPAN * SIGMA_PRIOR_LOG_SD)
    spread = groups.log_spread[start:stop]
    known = np.isfinite(spread)
    t_lo[known] = np.minimum(t_lo[known], spread[known] - _DATA_SPAN)
    t_hi[known] = np.maximum(t_hi[known], spread[known] + _DATA_SPAN)
    u_lo, u_hi = np.full(count, _COARSE_U[0]), np.full(count, _COARSE_U[1])
    sigma_axis = _SigmaAxis(prior)

    # Two coarse passes, each zooming onto the posterior mass: one alone is too coarse
    # for the narrow posteriors of large groups.
    for _ in range(_COARSE_PASSES):
        t_lo, t_hi = sigma_axis.clip(t_lo, t_hi)
        t, u = _axis(t_lo, t_hi, _COARSE_SIZE), _axis(u_lo, u_hi, _COARSE_SIZE)
        coarse = _log_posterior(groups, start, stop, sigma_axis, t, u)
        t_lo, t_hi = _support(coarse, t, axis=2)
        u_lo, u_hi = _support(coarse, u, axis=1)

    t_lo, t_hi = sigma_axis.clip(t_lo, t_hi)
    sigma_axis = sigma_axis.bent(t_lo)
    x_lo, x_hi = sigma_axis.span(t_lo, t_hi)
    x, u = _axis(x_lo, x_hi, size), _axis(u_lo, u_hi, size)
    weight = _log_posterior(groups, start, stop, sigma_axis, x, u)
    weight -= weight.max(axis=(1, 2), keepdims=True)
    np.exp(weight, out=weight)
    weight /= weight.sum(axis=(1, 2), keepdims=True)
    return _posterior_summary(groups, start, stop, sigma_axis, x, u, weight)


class _SigmaAxis:
    """The grid's sigma axis x and t = ln sigma on it.

    Informedvar, and the coarse passes: x = t.  The uninformative posterior is cut off at
    T = ln 2.3, where a grid in t loses its O(h^4); its fine pass bends the axis near the
    bound, t = T - b softplus(x / b): t = T - x away from it, while T - t ~ b e^(x / b)
    reaches the bound only as x -> -inf, so the density in x fades smoothly there.  The
    bend b is a 20th of the t range, so the grid (~0.7 b apart) resolves it."""

    def __init__(self, prior: Prior, bend: FloatArray | None = None) -> None:
        self.prior = prior
        self.bend = bend

    def clip(self, t_lo: FloatArray, t_hi: FloatArray) -> tuple[FloatArray, FloatArray]:
        """A t range without sigma above the uninformative bound, and at least 2 wide."""
        if self.prior != "uninformative":
            return t_lo, t_hi
        t_hi = np.minimum(t_hi, _LOG_SIGMA_MAX)
        return np.minimum(t_lo, t_hi - _DATA_SPAN), t_hi

    def bent(self, t_lo: FloatArray) -> _SigmaAxis:
        if self.prior != "uninformative":
            return self
        return _SigmaAxis(self.prior, (_LOG_SIGMA_MAX - t_lo) / _BEND_PARTS)

    def span(self, t_lo: FloatArray, t_hi: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The x range of a t range; near the bound, down to where e^(x / b) < e^-14."""
        if self.bend is None:
            return t_lo, t_hi
        b = self.bend
        with np.errstate(divide="ignore"):
            x_lo = b * np.log(np.expm1((_LOG_SIGMA_MAX - t_hi) / b))
        return np.maximum(x_lo, -_BEND_TAIL * b), b * np.log(np.expm1((_LOG_SIGMA_MAX - t_lo) / b))

    def t(self, x: FloatArray) -> FloatArray:
        if self.bend is None:
            return x
        b = self.bend[:, None]
        result: FloatArray = _LOG_SIGMA_MAX - b * np.logaddexp(0.0, x / b)
        return result

    def log_prior(self, x: FloatArray) -> FloatArray:
        """ln of the prior density per unit of x, up to a constant.  Uniform on sigma is e^t
        per unit of t (d sigma = sigma dt), none above the bound; bent, dt = logistic(x / b) dx."""
        t = self.t(x)
        if self.prior == "informedvar":
            return -((t - SIGMA_PRIOR_LOG_MEAN) ** 2) / (2.0 * SIGMA_PRIOR_LOG_SD**2)
        if self.bend is None:
            return np.where(t <= _LOG_SIGMA_MAX, t, -np.inf)
        return t - np.logaddexp(0.0, -x / self.bend[:, None])

    def t_quantiles(self, x_quantiles: FloatArray) -> FloatArray:
        """Quantiles of t from those of x at _PROBABILITIES: bent, t falls as x rises, so the
        p-quantile of t is the (1 - p)-quantile of x (_PROBABILITIES is symmetric)."""
        return x_quantiles if self.bend is None else self.t(x_quantiles[:, ::-1])


_BEND_PARTS = 20.0
_BEND_TAIL = 14.0


def _axis(lo: FloatArray, hi: FloatArray, size: int) -> FloatArray:
    return lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, size)[None, :]


def _support(log_density: FloatArray, axis_values: FloatArray, axis: int) -> tuple[FloatArray, FloatArray]:
    """Range of one grid axis where the density is within exp(-16) of the mode, padded.

    Where that region reaches the end of the axis, the posterior may go on beyond
    it, so that side is pushed out by the axis' whole width instead.
    """
    peak = log_density.max(axis=(1, 2), keepdims=True)
    inside = (log_density >= peak - _LOG_DENSITY_DROP).any(axis=axis)
    size = inside.shape[1]
    first = inside.argmax(axis=1)
    last = size - 1 - inside[:, ::-1].argmax(axis=1)
    step = axis_values[:, 1] - axis_values[:, 0]
    width = axis_values[:, -1] - axis_values[:, 0]
    rows = np.arange(axis_values.shape[0])
    lo = np.where(first == 0, axis_values[:, 0] - width, axis_values[rows, first] - _PADDING_CELLS * step)
    hi = np.where(last == size - 1, axis_values[:, -1] + width, axis_values[rows, last] + _PADDING_CELLS * step)
    return lo, hi


def _log_posterior(
    groups: _Groups, start: int, stop: int, sigma_axis: _SigmaAxis, x: FloatArray, u: FloatArray
) -> FloatArray:
    """Unnormalised log posterior on the (x, u) grid of each group: shape (groups, x, u).

    With mu = c + sigma u the detects contribute -n t - SS / (2 sigma^2) - n u^2 / 2
    (their mean is c), the Jacobian d mu = sigma du adds t, and each non-detect
    adds ln Phi((ln LOD - c) / sigma - u); t = ln sigma is a function of x (_SigmaAxis).
    """
    n_detects = groups.n_detects[start:stop, None]
    t = sigma_axis.t(x)
    sigma = np.exp(t)
    by_t = (1.0 - n_detects) * t - groups.sum_squares[start:stop, None] / (2.0 * sigma**2) + sigma_axis.log_prior(x)
    log_density = by_t[:, :, None] - (0.5 * n_detects * u**2)[:, None, :]
    lo, hi = np.searchsorted(groups.pair_group, [start, stop])
    slot = groups.pair_slot[lo:hi]
    for k in range(int(slot.max(initial=-1)) + 1):
        pick = lo + np.flatnonzero(slot == k)
        tail = int(groups.pair_group[pick[0]]) - start
        # z = (ln LOD - c) / sigma - u, located directly in table steps.
        by_row = (groups.pair_offset[pick, None] / sigma[tail:] - _TABLE_LO) / _TABLE_STEP
        term = _tabulated_log_ndtr(by_row[:, :, None] - (u[tail:] / _TABLE_STEP)[:, None, :])
        counts = groups.pair_count[pick]
        if np.any(counts != 1.0):
            term *= counts[:, None, None]
        log_density[tail:] += term
    return log_density


def _tabulated_log_ndtr(position: FloatArray) -> FloatArray:
    """ln Phi(z) from z's position (z - _TABLE_LO) / _TABLE_STEP; overwrites `position`."""
    np.clip(position, 0.0, _LOG_NDTR_SLOPE.size - 1e-6, out=position)
    index = position.astype(np.intp)
    position -= index
    steps = np.take(_LOG_NDTR_STEPS, index, axis=0)
    value: FloatArray = steps[..., 0] * position
    value += steps[..., 1]
    return value


def _posterior_summary(
    groups: _Groups,
    start: int,
    stop: int,
    sigma_axis: _SigmaAxis,
    grid_x: FloatArray,
    u: FloatArray,
    weight: FloatArray,
) -> FloatArray:
    """Quantiles of ln GM, ln P95, ln AM, the exceedance z, ln sigma and the risk.

    Each of the first four is below x exactly when u lies below a threshold that is
    linear in x on every sigma row, so its CDF is a sum of row CDFs (see _RowCdf)
    and its quantiles follow by root finding.
    """
    sigma = np.exp(sigma_axis.t(grid_x))[:, :, None]
    ones = np.ones_like(sigma)
    oel_offset = (groups.log_oel[start:stop] - groups.center[start:stop])[:, None, None] / sigma
    # Columns: ln GM - c, ln P95 - c, ln AM - c (u <= x / sigma + alpha) and the
    # exceedance z = (mu - ln OEL) / sigma (u <= x + alpha); three probabilities each.
    alpha = np.repeat(
        np.concatenate([0.0 * ones, -_Z_LIMIT * ones, -0.5 * sigma, oel_offset], axis=2),
        _PROBABILITIES.size,
        axis=2,
    )
    beta = np.repeat(np.concatenate([1.0 / sigma] * 3 + [ones], axis=2), _PROBABILITIES.size, axis=2)
    row_cdf = _RowCdf(weight, u)
    x = row_cdf.quantiles(alpha, beta)
    at_limit = np.full((grid_x.shape[0], 1), -_Z_LIMIT)
    risk = np.clip(1.0 - row_cdf.cdf(*row_cdf.cells(oel_offset, ones), at_limit), 0.0, 1.0)
    log_sigma = sigma_axis.t_quantiles(_marginal_quantiles(weight.sum(axis=2), grid_x))
    center = groups.center[start:stop, None]
    shifted = 3 * _PROBABILITIES.size
    return np.concatenate([x[:, :shifted] + center, x[:, shifted:], log_sigma, risk], axis=1, dtype=np.float64)


def _cubic_cells(mass: FloatArray) -> FloatArray:
    """Cubic CDF pieces of a density known at equally spaced nodes (last axis).

    `mass` is density x step at each node.  A zero node is added at both ends, so
    there is one piece per gap, n + 1 in all, each as coefficients (c0, c1, c2, c3)
    of c0 + c1 s + c2 s^2 + c3 s^3 for s in [0, 1].  CDF values at the nodes are
    trapezoid sums with the Euler-Maclaurin end correction -(h^2 / 12) f' (central
    differences), and Hermite interpolation between nodes uses the known density,
    so the CDF is accurate to O(h^4) instead of the O(h^2) of a histogram.
    """
    *lead, n = mass.shape
    cells = np.empty((*lead, n + 1, 4))
    start, left = cells[..., 0], cells[..., 1]  # CDF and density at each piece's left node
    left[..., 0] = 0.0
    left[..., 1:] = mass
    right = np.empty((*lead, n + 1))
    right[..., :-1] = mass
    right[..., -1] = 0.0
    start[..., 0] = 0.0
    np.cumsum(mass, axis=-1, out=start[..., 1:])
    start[..., 1:] -= 0.5 * mass
    start[..., 1:] -= (right[..., 1:] - left[..., :-1]) / 24.0
    rise = np.empty((*lead, n + 1))
    np.subtract(start[..., 1:], start[..., :-1], out=rise[..., :-1])
    rise[..., -1] = mass.sum(axis=-1) - start[..., -1]
    np.multiply(rise, 3.0, out=cells[..., 2])
    cells[..., 2] -= 2.0 * left
    cells[..., 2] -= right
    np.add(left, right, out=cells[..., 3])
    cells[..., 3] -= 2.0 * rise
    return cells


class _RowCdf:
    """Row-wise posterior CDF over u, for functionals 'u below a row threshold'.

    A functional is given per row as u <= alpha + beta x; in units of u steps,
    counted from the zero node left of the grid, that threshold is offset + slope x.
    """

    def __init__(self, weight: FloatArray, u: FloatArray) -> None:
        count, rows, cols = weight.shape
        self.carries_mass = weight.sum(axis=2, keepdims=True) > _NEGLIGIBLE_ROW_MASS
        self.cubic = _cubic_cells(weight).reshape(-1, 4)  # one row of coefficients per piece
        step = (u[:, 1] - u[:, 0])[:, None, None]
        self.inverse_step = 1.0 / step
        self.origin = u[:, :1, None] - step
        self.last = cols + 1.0 - 1e-9
        self.row_start = np.arange(count * rows).reshape(count, rows, 1) * (cols + 1)

    def cells(self, alpha: FloatArray, beta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The threshold alpha + beta x in u steps: (offset, slope), each (g, rows, k)."""
        return (alpha - self.origin) * self.inverse_step, beta * self.inverse_step

    def cdf(self, offset: FloatArray, slope: FloatArray, x: FloatArray) -> FloatArray:
        """Posterior probability that the functional is <= x, for x of shape (g, k)."""
        result: FloatArray = _cubic_value(*self._pieces(offset, slope, x)).sum(axis=1)
        return result

    def cdf_and_density(self, offset: FloatArray, slope: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The CDF and its derivative in x."""
        s, c0, c1, c2, c3 = self._pieces(offset, slope, x)
        rate = 3.0 * c3 * s
        rate += 2.0 * c2
        rate *= s
        rate += c1
        cdf: FloatArray = _cubic_value(s, c0, c1, c2, c3).sum(axis=1)
        density: FloatArray = np.einsum("grk,grk->gk", rate, slope)
        return cdf, density

    def _pieces(
        self, offset: FloatArray, slope: FloatArray, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """Position s in its cubic piece and that piece's coefficients, per row.

        Rows lead the k columns so that the lookups of one row share cache lines; a piece's
        four coefficients come in one lookup (four lookups of one took 7 times as long).
        """
        s = slope * x[:, None, :]
        s += offset
        np.clip(s, 0.0, self.last, out=s)
        index = s.astype(np.intp)
        s -= index
        index += self.row_start
        pieces = np.take(self.cubic, index, axis=0)
        return s, pieces[..., 0], pieces[..., 1], pieces[..., 2], pieces[..., 3]

    def quantiles(self, alpha: FloatArray, beta: FloatArray) -> FloatArray:
        """Solve CDF(x) = p for each column k, with p cycling over _PROBABILITIES.

        Bisection reaches the smooth part of the CDF, then Newton steps, kept inside
        the bracket, converge.
        """
        offset, slope = self.cells(alpha, beta)
        target = np.resize(_PROBABILITIES, alpha.shape[2])[None, :]
        # Rows without mass cannot hold a quantile; leaving them out narrows the bracket.
        lo = np.where(self.carries_mass, (1.0 - offset) / slope, np.inf).min(axis=1)
        hi = np.where(self.carries_mass, (self.last - offset) / slope, -np.inf).max(axis=1)
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            below = self.cdf(offset, slope, mid) < target
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        x: FloatArray = 0.5 * (lo + hi)
        for _ in range(_NEWTON_STEPS):
            cdf, density = self.cdf_and_density(offset, slope, x)
            below = cdf < target
            lo, hi = np.where(below, x, lo), np.where(below, hi, x)
            step = x + (target - cdf) / np.maximum(density, 1e-300)
            x = np.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
        return x


def _cubic_value(s: FloatArray, c0: FloatArray, c1: FloatArray, c2: FloatArray, c3: FloatArray) -> FloatArray:
    """c0 + c1 s + c2 s^2 + c3 s^3 by Horner, reusing one buffer."""
    value = c3 * s
    value += c2
    value *= s
    value += c1
    value *= s
    value += c0
    return value


def _marginal_quantiles(mass: FloatArray, axis_values: FloatArray) -> FloatArray:
    """Quantiles (g, 3) of a 1-D marginal known at equally spaced nodes (g, n)."""
    cubic = _cubic_cells(mass)  # (g, n + 1, 4)
    target = _PROBABILITIES[None, :]
    piece = (cubic[:, None, 1:, 0] < target[:, :, None]).sum(axis=2)  # last piece starting below p
    c0, c1, c2, c3 = (np.take_along_axis(cubic[..., i], piece, axis=1) for i in range(4))
    s = np.clip((target - c0) / np.maximum(c1 + c2 + c3, 1e-300), 0.0, 1.0)
    for _ in range(_PIECE_NEWTON_STEPS):
        value = ((c3 * s + c2) * s + c1) * s + c0
        slope = (3.0 * c3 * s + 2.0 * c2) * s + c1
        s = np.clip(s + (target - value) / np.maximum(slope, 1e-300), 0.0, 1.0)
    step = axis_values[:, 1:2] - axis_values[:, :1]
    result: FloatArray = axis_values[:, :1] + (piece - 1 + s) * step
    return result


def _results(
    summary: FloatArray, n: npt.NDArray[np.intp], n_censored: npt.NDArray[np.intp], oel: FloatArray, prior: Prior
) -> list[BayesianResult]:
    """Each set's BayesianResult from its row of `_summarise` columns: the transforms over the
    whole table, then one object per set."""
    gm, p95, am, z, log_sigma, risk = (summary[:, i : i + 3] for i in range(0, _SUMMARY_COLUMNS, 3))
    estimates = [
        np.exp(gm).tolist(),
        np.exp(np.exp(log_sigma)).tolist(),
        special.ndtr(z).tolist(),
        np.exp(p95).tolist(),
        np.exp(am).tolist(),
    ]
    risks = risk[:, 0].tolist()
    detail = PRIOR_DETAIL[prior]
    return [
        BayesianResult(
            n=size,
            n_censored=censored,
            oel=limit,
            gm=_estimate(estimates[0][k]),
            gsd=_estimate(estimates[1][k]),
            exceedance_fraction=_estimate(estimates[2][k]),
            p95=_estimate(estimates[3][k]),
            arithmetic_mean=_estimate(estimates[4][k]),
            overexposure_risk=risks[k],
            decision="problematic" if risks[k] >= RISK_THRESHOLD else "acceptable",
            prior=prior,
            prior_detail=detail,
        )
        for k, (size, censored, limit) in enumerate(zip(n.tolist(), n_censored.tolist(), oel.tolist(), strict=True))
    ]


def _estimate(low_mid_high: list[float]) -> Estimate:
    return Estimate(point=low_mid_high[1], lower=low_mid_high[0], upper=low_mid_high[2])
