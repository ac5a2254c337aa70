"""Lognormal fits for exposure results that contain left-censored non-detects.

A non-detect reported as "< LOD" is a censored observation: the true value lies
somewhere below the LOD.  It is never replaced by zero or LOD/2, because any
substitution biases the GSD, and the GSD drives every EN 689 decision.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple, get_args

import msgspec
import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

from analytics.statistics.sets import BoolArray, FloatArray, IntArray, Sets

FitMethod = Literal["mle", "ros"]

# Below this the results carry no usable spread (GSD 1.000001); U_R would divide by ~0.
_MIN_SIGMA = 1e-6
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_NOT_POSITIVE = "values must be finite and > 0; a non-detect is its LOD with censored=True, never 0"
_NO_SPREAD = "the results show no spread, so the GSD cannot be estimated"
_NO_MAXIMUM = "censored maximum likelihood found no maximum (do the detects vary?)"


class LognormalFit(msgspec.Struct, frozen=True, kw_only=True):
    """A fitted lognormal: gm = exp(mu), gsd = exp(sigma), mu/sigma on the natural-log scale."""

    gm: float
    gsd: float
    mu: float
    sigma: float
    n: int
    n_censored: int
    method: str


# The fit as a report names it: the method and the convention for sigma (fit_lognormal).
_FIT_DETAIL = {
    ("mle", True): "mle: censored maximum likelihood, sigma scaled by sqrt(n/(n-1))",
    ("mle", False): "mle: mean and SD (n-1) of the logs, the MLE with sigma scaled by sqrt(n/(n-1))",
    ("ros", True): "ros: regression on order statistics (Helsel & Cohn 1988), sigma the SD (n-1) of the logs",
    ("ros", False): "ros: mean and SD (n-1) of the logs (no non-detects to impute)",
}


def describe_fit(fit: LognormalFit) -> str:
    """What a fit is, in words a report can print: without this "mle" hides that sigma is scaled."""
    return _FIT_DETAIL.get((fit.method, fit.n_censored > 0), fit.method)


def as_measurements(values: npt.ArrayLike, censored: npt.ArrayLike) -> tuple[FloatArray, BoolArray]:
    """Validate one set of results so every statistic works on the same clean arrays."""
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(censored)
    if v.ndim != 1 or c.ndim != 1:
        raise ValueError("values and censored must be one-dimensional arrays")
    if v.shape != c.shape:
        raise ValueError(f"length mismatch: {v.size} values but {c.size} censored flags")
    if v.size == 0:
        raise ValueError("no results given")
    if c.dtype != np.bool_:
        raise ValueError(f"censored must be a boolean array, got dtype {c.dtype}")
    if not np.all(np.isfinite(v)) or np.any(v <= 0.0):
        raise ValueError(_NOT_POSITIVE)
    return v, c


def fit_lognormal(values: npt.ArrayLike, censored: npt.ArrayLike, method: FitMethod = "mle") -> LognormalFit:
    """Fit a lognormal, treating non-detects as left-censored at their LOD.

    "mle": maximum likelihood (detects contribute the normal density of ln x,
    non-detects the normal CDF at ln LOD).  The MLE of sigma divides by n; we
    scale it by sqrt(n/(n-1)) so that, without non-detects, the fit is exactly
    the sample mean and SD (n-1) of the logs that EN 689 and its U_R table use,
    and so the estimate does not jump when one result becomes a non-detect.
    "ros": robust regression on order statistics (Helsel & Cohn 1988), see
    `ros_impute`; mu and sigma are the mean and SD (n-1) of the logs of the
    detects plus the imputed non-detects.
    """
    v, c = as_measurements(values, censored)
    if method not in get_args(FitMethod):
        raise ValueError(f"unknown method {method!r}; use one of {get_args(FitMethod)}")
    _require_detects(c)
    y = np.log(v)
    if not c.any():
        mu, sigma = float(y.mean()), float(y.std(ddof=1))
    elif method == "mle":
        mu, sigma = _censored_mle(y, c)
    else:
        log_modeled = np.log(_ros_modeled(v, c))
        mu, sigma = float(log_modeled.mean()), float(log_modeled.std(ddof=1))
    fit = _checked_fit(mu, sigma, int(v.size), c, method)
    if isinstance(fit, ValueError):
        raise fit
    return fit


class Fits(NamedTuple):
    """`fit_lognormal` of every set of a `Sets`, as columns. Where fit_lognormal would refuse a
    set, `errors` holds its message and mu and sigma are NaN."""

    mu: FloatArray
    sigma: FloatArray
    n: IntArray
    n_censored: IntArray
    method: FitMethod
    errors: dict[int, str]

    def fit(self, k: int) -> LognormalFit | ValueError:
        """Set k's fit as fit_lognormal gives it, or the error it raises."""
        if k in self.errors:
            return ValueError(self.errors[k])
        mu, sigma = float(self.mu[k]), float(self.sigma[k])
        return LognormalFit(
            gm=math.exp(mu),
            gsd=math.exp(sigma),
            mu=mu,
            sigma=sigma,
            n=int(self.n[k]),
            n_censored=int(self.n_censored[k]),
            method=self.method,
        )


def fit_lognormal_sets(sets: Sets, method: FitMethod = "mle") -> Fits:
    """`fit_lognormal` for every set at once (a national report has ~10^5 SEGs; one at a time,
    the Python overhead of small arrays dominated). Complete sets take the mean and SD of their
    logs in one pass; with method "mle", every set with non-detects is maximised in one
    vectorised Newton iteration, and a set it cannot settle is fitted alone, as are "ros" sets
    with non-detects."""
    if method not in get_args(FitMethod):
        raise ValueError(f"unknown method {method!r}; use one of {get_args(FitMethod)}")
    n, owner = sets.sizes, sets.owner
    n_censored = sets.counted(sets.censored)
    bad = ~np.isfinite(sets.values) | (sets.values <= 0.0)
    errors: dict[int, str] = {int(k): "no results given" for k in np.flatnonzero(n == 0)}
    errors |= {int(k): _NOT_POSITIVE for k in np.flatnonzero(sets.counted(bad) > 0)}
    detects = n - n_censored
    for k in np.flatnonzero(detects < 2):
        errors.setdefault(int(k), f"at least 2 detected results are needed for a fit, got {detects[k]}")
    usable = np.ones(sets.n_sets, dtype=np.bool_)
    usable[list(errors)] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(np.where(bad, 1.0, sets.values))
        mean = sets.total(y) / n
        sd = np.sqrt(sets.total((y - mean[owner]) ** 2) / (n - 1))
    complete = usable & (n_censored == 0)
    mu, sigma = np.where(complete, mean, np.nan), np.where(complete, sd, np.nan)
    alone = usable & (n_censored > 0)
    if method == "mle":
        fitted_mu, log_sigma = np.full(sets.n_sets, np.nan), np.full(sets.n_sets, np.nan)
        fitted_mu[alone], log_sigma[alone] = _censored_mle_many(_Stacked(y, sets.censored, owner, alone))
        settled = alone & np.isfinite(fitted_mu)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.where(settled, fitted_mu, mu)
            sigma = np.where(settled, np.exp(log_sigma) * np.sqrt(n / (n - 1)), sigma)
        alone &= ~settled
    starts = sets.starts
    for k in np.flatnonzero(alone):  # fit_lognormal's own path: BFGS after Newton, or ROS
        part = slice(starts[k], starts[k] + n[k])
        fit = _fit_or_error(sets.values[part], sets.censored[part], method)
        if isinstance(fit, ValueError):
            errors[int(k)] = str(fit)
        else:
            mu[k], sigma[k] = fit.mu, fit.sigma
    no_spread = usable & ~(np.isfinite(mu) & np.isfinite(sigma) & (sigma >= _MIN_SIGMA))
    for k in np.flatnonzero(no_spread):
        errors.setdefault(int(k), _NO_SPREAD)
    failed = np.zeros(sets.n_sets, dtype=np.bool_)
    failed[list(errors)] = True
    return Fits(
        mu=np.where(failed, np.nan, mu),
        sigma=np.where(failed, np.nan, sigma),
        n=n,
        n_censored=n_censored,
        method=method,
        errors=errors,
    )


def _fit_or_error(v: FloatArray, c: BoolArray, method: FitMethod) -> LognormalFit | ValueError:
    try:
        return fit_lognormal(v, c, method)
    except ValueError as error:
        return error


def _checked_fit(mu: float, sigma: float, n: int, c: BoolArray, method: str) -> LognormalFit | ValueError:
    if not (math.isfinite(mu) and math.isfinite(sigma)) or sigma < _MIN_SIGMA:
        return ValueError(_NO_SPREAD)
    return LognormalFit(
        gm=math.exp(mu),
        gsd=math.exp(sigma),
        mu=mu,
        sigma=sigma,
        n=n,
        n_censored=int(np.count_nonzero(c)),
        method=method,
    )


def ros_impute(values: npt.ArrayLike, censored: npt.ArrayLike) -> FloatArray:
    """Robust ROS: detects as reported, non-detects imputed from the lognormal probability plot.

    Plotting positions follow Hirsch & Stedinger as used by Helsel & Cohn (1988)
    and R NADA::ros, so one or several detection limits are handled.  A log-scale
    regression of the detects on their normal scores is extrapolated to the
    non-detects' positions; the result keeps the input order.  A non-detect above
    every detect is kept (NADA drops it): its positions then span the whole range.
    """
    v, c = as_measurements(values, censored)
    _require_detects(c)
    return _ros_modeled(v, c)


def _require_detects(censored: BoolArray) -> None:
    n_detects = int(np.count_nonzero(~censored))
    if n_detects < 2:
        raise ValueError(f"at least 2 detected results are needed for a fit, got {n_detects}")


def _censored_mle(y: FloatArray, censored: BoolArray) -> tuple[float, float]:
    """Maximise the censored-normal likelihood of the logs over (mu, ln sigma).

    Newton's method with the analytic Hessian converges in a handful of steps; it is ~10x
    faster than a general optimiser, which matters when a report fits every SEG. BFGS
    remains the fallback should Newton not converge.
    """
    detects, limits = y[~censored], y[censored]
    start = np.array([detects.mean(), math.log(max(float(detects.std()), 0.1))])
    try:
        theta = _newton(start, detects, limits)
    except (ZeroDivisionError, OverflowError, FloatingPointError, np.linalg.LinAlgError):
        theta = None  # sigma ran to 0 or infinity, or a singular Hessian: let BFGS report
    if theta is None:
        try:
            result = optimize.minimize(
                _negative_log_likelihood,
                start,
                args=(detects, limits),
                jac=True,
                method="BFGS",
                options={"gtol": 1e-10},
            )
        except (ZeroDivisionError, OverflowError) as error:  # BFGS tried a sigma of 0 or infinity
            raise ValueError(f"{_NO_MAXIMUM}: sigma ran to 0 or infinity ({error})") from None
        gradient = np.asarray(result.jac, dtype=np.float64)
        if not np.all(np.isfinite(result.x)) or float(np.abs(gradient).max()) > 1e-6 * y.size:
            raise ValueError(f"{_NO_MAXIMUM}: {result.message}")
        theta = result.x
    n = y.size
    return float(theta[0]), math.exp(float(theta[1])) * math.sqrt(n / (n - 1))


def _newton(start: FloatArray, detects: FloatArray, limits: FloatArray) -> FloatArray | None:
    """Damped Newton on the negative log-likelihood; None when it does not converge.

    A step of (almost) zero is the optimum, also where the gradient rounds to exactly zero,
    which no descent test accepts. Near the optimum a step changes the likelihood by less than
    its rounding, so a step is taken unless the value rises beyond that (`_no_rise`): a plain
    `<=` refused such steps at random and left the fit up to 1e-7 short of the maximum,
    depending on the order in which its sums were added."""
    theta = start
    tolerance = 1e-6 * (detects.size + limits.size)  # the acceptance bound of the BFGS path
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        value, gradient = _negative_log_likelihood(theta, detects, limits)
        for _ in range(_NEWTON_STEPS):
            hessian = _hessian(theta, detects, limits)
            hessian += float(_downhill(hessian[0, 0], hessian[0, 1], hessian[1, 1])) * np.eye(2)
            step = np.linalg.solve(hessian, gradient)
            if float(np.abs(step).max()) < 1e-12:
                return theta
            if float(step @ gradient) <= 0:  # not a descent direction: not near a maximum
                return None
            scale = 1.0
            while scale > 1e-6:
                candidate = theta - scale * step
                new_value, new_gradient = _negative_log_likelihood(candidate, detects, limits)
                if _no_rise(new_value, value):
                    break
                scale /= 2
            else:  # no decrease left: at the optimum up to rounding, or stuck
                return theta if float(np.abs(gradient).max()) < tolerance else None
            theta, value, gradient = candidate, new_value, new_gradient
    return theta if float(np.abs(gradient).max()) < tolerance else None


_NEWTON_STEPS = 60
_ROUNDING = 1e-12  # relative; a likelihood summed over n results is exact to ~n x 1e-16


def _no_rise(new: npt.ArrayLike, old: npt.ArrayLike) -> BoolArray:
    """Whether a negative log-likelihood `new` is not above `old` beyond their rounding."""
    before = np.asarray(old, dtype=np.float64)
    no_rise: BoolArray = np.less_equal(new, before + _ROUNDING * (1.0 + np.abs(before)))
    return no_rise


def _downhill(h_mm: npt.ArrayLike, h_ms: npt.ArrayLike, h_ss: npt.ArrayLike) -> FloatArray:
    """What to add to the diagonal of the Hessian [[h_mm, h_ms], [h_ms, h_ss]] so that its
    Newton step goes downhill: nothing where it is positive definite; elsewhere enough to turn
    its lowest eigenvalue positive, as large as it was negative (Levenberg). Far from the
    maximum, with many non-detects, the likelihood is not concave and the plain step pointed
    away from the maximum, which left those sets to a slow general optimiser."""
    a, b, c = (np.asarray(h, dtype=np.float64) for h in (h_mm, h_ms, h_ss))
    with np.errstate(invalid="ignore"):
        half_gap = np.sqrt(((a - c) / 2) ** 2 + b**2)
        lowest = (a + c) / 2 - half_gap
        floor = 1e-3 * np.maximum(np.abs((a + c) / 2 + half_gap), 1.0)
        shift: FloatArray = np.where(lowest > 0, 0.0, np.maximum(-lowest, floor) - lowest)
    return shift


def _hessian(theta: FloatArray, detects: FloatArray, limits: FloatArray) -> FloatArray:
    """Second derivatives of `_negative_log_likelihood` in (mu, ln sigma); with the inverse
    Mills ratio l(z) = phi(z)/Phi(z), l'(z) = -l(z)(z + l(z))."""
    mu, sigma = float(theta[0]), math.exp(float(theta[1]))
    z_det = (detects - mu) / sigma
    z_lim = (limits - mu) / sigma
    mills = np.exp(-0.5 * z_lim**2 - _LOG_SQRT_2PI - special.log_ndtr(z_lim))
    slope = -mills * (z_lim + mills)
    h_mu_mu = (detects.size - float(np.sum(slope))) / sigma**2
    h_mu_s = (2 * float(np.sum(z_det)) - float(np.sum(mills)) - float(np.sum(slope * z_lim))) / sigma
    h_s_s = 2 * float(np.sum(z_det**2)) - float(np.sum(slope * z_lim**2)) - float(np.sum(mills * z_lim))
    return np.array([[h_mu_mu, h_mu_s], [h_mu_s, h_s_s]])


def _negative_log_likelihood(theta: FloatArray, detects: FloatArray, limits: FloatArray) -> tuple[float, FloatArray]:
    """Negative log-likelihood (constants dropped) and its gradient in (mu, ln sigma)."""
    mu, log_sigma = float(theta[0]), float(theta[1])
    sigma = math.exp(log_sigma)
    z_det = (detects - mu) / sigma
    z_lim = (limits - mu) / sigma
    log_cdf = special.log_ndtr(z_lim)
    mills = np.exp(-0.5 * z_lim**2 - _LOG_SQRT_2PI - log_cdf)
    value = detects.size * log_sigma + 0.5 * float(np.sum(z_det**2)) - float(np.sum(log_cdf))
    grad_mu = (float(np.sum(mills)) - float(np.sum(z_det))) / sigma
    grad_log_sigma = detects.size - float(np.sum(z_det**2)) + float(np.sum(mills * z_lim))
    return value, np.array([grad_mu, grad_log_sigma])


class _Stacked:
    """The log results of the chosen sets (`chosen`, one flag per set of `ids`), detects and
    non-detects apart, numbered 0, 1, ... in order, so one numpy pass computes every chosen
    set's sums (np.bincount)."""

    def __init__(self, y: FloatArray, censored: BoolArray, ids: IntArray, chosen: BoolArray) -> None:
        self.size = int(np.count_nonzero(chosen))
        number = np.cumsum(chosen) - 1
        keep = chosen[ids]
        y, censored, ids = y[keep], censored[keep], number[ids[keep]]
        self.det, self.det_id = y[~censored], ids[~censored]
        self.lim, self.lim_id = y[censored], ids[censored]
        self.n_det = np.bincount(self.det_id, minlength=self.size).astype(np.float64)
        self.n = self.n_det + np.bincount(self.lim_id, minlength=self.size)

    def subset(self, chosen: BoolArray) -> _Stacked:
        """These sets of this stack (one flag per set), renumbered."""
        y = np.concatenate([self.det, self.lim])
        censored = np.concatenate([np.zeros(self.det.size, dtype=np.bool_), np.ones(self.lim.size, dtype=np.bool_)])
        return _Stacked(y, censored, np.concatenate([self.det_id, self.lim_id]), chosen)

    def det_sum(self, x: FloatArray) -> FloatArray:
        return np.bincount(self.det_id, weights=x, minlength=self.size).astype(np.float64, copy=False)

    def lim_sum(self, x: FloatArray) -> FloatArray:
        return np.bincount(self.lim_id, weights=x, minlength=self.size).astype(np.float64, copy=False)

    def start(self) -> tuple[FloatArray, FloatArray]:
        """As `_censored_mle`: the detects' mean and ln of their SD (n), at least ln 0.1."""
        mean = self.det_sum(self.det) / self.n_det
        spread = np.sqrt(np.maximum(self.det_sum((self.det - mean[self.det_id]) ** 2) / self.n_det, 0.0))
        return mean, np.log(np.maximum(spread, 0.1))

    def objective(
        self, mu: FloatArray, log_sigma: FloatArray, only: BoolArray | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Every set's `_negative_log_likelihood`: value and gradient (mu, ln sigma); with
        `only`, computed for those sets (the others' entries are meaningless)."""
        det, det_id, lim, lim_id = self.det, self.det_id, self.lim, self.lim_id
        if only is not None:
            keep_det, keep_lim = only[det_id], only[lim_id]
            det, det_id, lim, lim_id = det[keep_det], det_id[keep_det], lim[keep_lim], lim_id[keep_lim]
        sigma = np.exp(log_sigma)
        z_det = (det - mu[det_id]) / sigma[det_id]
        z_lim = (lim - mu[lim_id]) / sigma[lim_id]
        log_cdf = special.log_ndtr(z_lim)
        mills = np.exp(-0.5 * z_lim**2 - _LOG_SQRT_2PI - log_cdf)

        def by_set(ids: IntArray, x: FloatArray) -> FloatArray:
            return np.bincount(ids, weights=x, minlength=self.size).astype(np.float64, copy=False)

        sum_z2 = by_set(det_id, z_det**2)
        value = self.n_det * log_sigma + 0.5 * sum_z2 - by_set(lim_id, log_cdf)
        grad_mu = (by_set(lim_id, mills) - by_set(det_id, z_det)) / sigma
        grad_log_sigma = self.n_det - sum_z2 + by_set(lim_id, mills * z_lim)
        return value, grad_mu, grad_log_sigma

    def newton_step(
        self, mu: FloatArray, log_sigma: FloatArray, grad_mu: FloatArray, grad_log_sigma: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Every set's Newton step: `_hessian` (made `_downhill`) solved against the gradient,
        2 x 2 in closed form."""
        sigma = np.exp(log_sigma)
        z_det = (self.det - mu[self.det_id]) / sigma[self.det_id]
        z_lim = (self.lim - mu[self.lim_id]) / sigma[self.lim_id]
        mills = np.exp(-0.5 * z_lim**2 - _LOG_SQRT_2PI - special.log_ndtr(z_lim))
        slope = -mills * (z_lim + mills)
        h_mm = (self.n_det - self.lim_sum(slope)) / sigma**2
        h_ms = (2 * self.det_sum(z_det) - self.lim_sum(mills) - self.lim_sum(slope * z_lim)) / sigma
        h_ss = 2 * self.det_sum(z_det**2) - self.lim_sum(slope * z_lim**2) - self.lim_sum(mills * z_lim)
        shift = _downhill(h_mm, h_ms, h_ss)
        h_mm, h_ss = h_mm + shift, h_ss + shift
        determinant = h_mm * h_ss - h_ms**2
        return (h_ss * grad_mu - h_ms * grad_log_sigma) / determinant, (
            h_mm * grad_log_sigma - h_ms * grad_mu
        ) / determinant


def _censored_mle_many(data: _Stacked) -> tuple[FloatArray, FloatArray]:
    """`_newton` for every set of `data` at once: (mu, ln sigma) at the maximum, NaN for a set
    it could not settle (the caller then takes `_censored_mle`'s own path, BFGS included).

    Most sets settle within a few steps; once half of them have, the rest are stacked anew,
    so a few slow sets do not keep every set's arrays in each step."""
    mu, log_sigma = np.full(data.size, np.nan), np.full(data.size, np.nan)
    index = np.arange(data.size)  # the sets still iterating, as positions in `data`
    theta: tuple[FloatArray, FloatArray] | None = None
    steps_left = _NEWTON_STEPS
    while index.size and steps_left > 0:
        rounds = _newton_many(data, theta, steps_left)
        mu[index[rounds.settled]] = rounds.mu[rounds.settled]
        log_sigma[index[rounds.settled]] = rounds.log_sigma[rounds.settled]
        index = index[rounds.going]
        data = data.subset(rounds.going)
        theta = (rounds.mu[rounds.going], rounds.log_sigma[rounds.going])
        steps_left -= rounds.steps
    return mu, log_sigma


class _Rounds(NamedTuple):
    mu: FloatArray
    log_sigma: FloatArray
    settled: BoolArray  # at the maximum
    going: BoolArray  # neither settled nor failed: to be continued
    steps: int


def _newton_many(data: _Stacked, theta: tuple[FloatArray, FloatArray] | None, steps_left: int) -> _Rounds:
    """Damped Newton steps for every set of `data` until half of them are done (or the
    steps run out); the rules of `_newton`, applied per set."""
    tolerance = 1e-6 * data.n  # the acceptance bound of the BFGS path
    with np.errstate(all="ignore"):
        mu, log_sigma = theta if theta is not None else data.start()
        value, g_mu, g_ls = data.objective(mu, log_sigma)
        going = np.isfinite(value) & np.isfinite(g_mu) & np.isfinite(g_ls)
        settled = np.zeros(data.size, dtype=np.bool_)
        steps = 0
        while steps < steps_left and going.any() and (steps == 0 or going.sum() > data.size // 2):
            steps += 1
            s_mu, s_ls = data.newton_step(mu, log_sigma, g_mu, g_ls)
            arrived = going & (np.maximum(np.abs(s_mu), np.abs(s_ls)) < 1e-12)
            settled |= arrived
            going &= ~arrived & (s_mu * g_mu + s_ls * g_ls > 0) & np.isfinite(s_mu) & np.isfinite(s_ls)
            scale = np.ones(data.size)
            searching = going.copy()
            while searching.any():
                # Once most sets have found their step, only the rest are evaluated again.
                only = searching if searching.sum() < data.size // 2 else None
                new_value, new_g_mu, new_g_ls = data.objective(mu - scale * s_mu, log_sigma - scale * s_ls, only)
                # `_newton` stops at a floating-point error (then BFGS takes over): so does the set.
                regular = np.isfinite(new_value) & np.isfinite(new_g_mu) & np.isfinite(new_g_ls)
                regular &= np.isfinite(np.exp(log_sigma - scale * s_ls))
                going &= regular | ~searching
                searching &= regular
                accept = searching & _no_rise(new_value, value)
                mu = np.where(accept, mu - scale * s_mu, mu)
                log_sigma = np.where(accept, log_sigma - scale * s_ls, log_sigma)
                value = np.where(accept, new_value, value)
                g_mu, g_ls = np.where(accept, new_g_mu, g_mu), np.where(accept, new_g_ls, g_ls)
                searching &= ~accept
                scale = np.where(searching, scale / 2, scale)
                stuck = searching & (scale <= 1e-6)  # no decrease left: at the optimum, or stuck
                settled |= stuck & (np.maximum(np.abs(g_mu), np.abs(g_ls)) < tolerance)
                going &= ~stuck
                searching &= ~stuck
        if steps >= steps_left:
            settled |= going & (np.maximum(np.abs(g_mu), np.abs(g_ls)) < tolerance)
            going[:] = False
    return _Rounds(mu=mu, log_sigma=log_sigma, settled=settled, going=going, steps=steps)


def _ros_modeled(v: FloatArray, censored: BoolArray) -> FloatArray:
    positions = _plotting_positions(v, censored)
    scores = stats.norm.ppf(positions)
    slope, intercept = np.polyfit(scores[~censored], np.log(v[~censored]), 1)
    modeled = v.copy()
    modeled[censored] = np.exp(intercept + slope * scores[censored])
    return modeled


def _plotting_positions(v: FloatArray, censored: BoolArray) -> FloatArray:
    """Hirsch-Stedinger plotting positions for data with one or more detection limits.

    Interval j holds detects in [DL_j, DL_j+1) (j = 0 is below the lowest DL).  The
    probability of exceeding DL_j is built downward from the top DL:
    pe_j = pe_j+1 + A_j / (A_j + B_j) * (1 - pe_j+1), with A_j the detects in
    interval j and B_j the results known to be below DL_j.
    """
    limits = np.unique(v[censored])
    detects = np.sort(v[~censored])
    m = limits.size
    interval = np.searchsorted(limits, detects, side="right")
    above = np.bincount(interval, minlength=m + 1)
    below = np.searchsorted(detects, limits, side="left") + np.searchsorted(np.sort(v[censored]), limits, side="right")
    exceed = np.zeros(m + 2)
    exceed[0] = 1.0
    for j in range(m, 0, -1):
        share = above[j] / (above[j] + below[j - 1])
        exceed[j] = exceed[j + 1] + share * (1.0 - exceed[j + 1])

    positions = np.empty(v.size)
    detect_index = np.flatnonzero(~censored)[np.argsort(v[~censored], kind="stable")]
    first_rank = np.cumsum(above) - above
    rank = np.arange(detects.size) - first_rank[interval] + 1
    positions[detect_index] = (1.0 - exceed[interval]) + (exceed[interval] - exceed[interval + 1]) * rank / (
        above[interval] + 1
    )

    censored_values = v[censored]
    censored_index = np.flatnonzero(censored)[np.argsort(censored_values, kind="stable")]
    level = np.searchsorted(limits, np.sort(censored_values)) + 1
    count = np.bincount(level, minlength=m + 1)
    rank = np.arange(level.size) - (np.cumsum(count) - count)[level] + 1
    positions[censored_index] = (1.0 - exceed[level]) * rank / (count[level] + 1)
    return positions
