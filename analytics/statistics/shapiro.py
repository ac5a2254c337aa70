"""The Shapiro-Wilk test of every set at once: scipy.stats.shapiro's p-value, without a Python
call per set.

scipy computes W and its p-value with Royston's algorithm AS R94 (Royston 1995, "Remark AS
R94: a remark on algorithm AS 181: the W-test for normality", Applied Statistics 44(4):547-551;
scipy/stats/_ansari_swilk_statistics.pyx, `swilk`). Its coefficients depend on n alone, so they
are computed once per distinct set size, in the same order of operations; every sum over a
set's results is a sequential sum, which np.bincount adds in the same order, so the p-values
equal scipy's. Only complete data are tested (no censoring, AS R94's n1 = n).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from analytics.statistics.sets import FloatArray, IntArray, Sets

__all__ = ["shapiro_p_values"]

_SMALL = 1e-19
# AS R94's polynomials, as (c0, cn, cn-1, ..., c1), evaluated by `_poly`.
_C1 = (0.0, 0.221157, -0.147981, -0.207119e1, 0.4434685e1, -0.2706056e1)
_C2 = (0.0, 0.42981e-1, -0.293762, -0.1752461e1, 0.5682633e1, -0.3582633e1)
_C3 = (0.5440, -0.39978, 0.25054e-1, -0.6714e-3)
_C4 = (0.13822e1, -0.77857, 0.62767e-1, -0.20322e-2)
_C5 = (-0.15861e1, -0.31082, -0.83751e-1, 0.38915e-2)
_C6 = (-0.4803, -0.82676e-1, 0.30302e-2)
_G = (-0.2273e1, 0.459)


def shapiro_p_values(sets: Sets, x: FloatArray) -> FloatArray:
    """Per set, scipy.stats.shapiro(x of the set).pvalue, for sets of 6 to 5000 results (AS R94's
    exact small-sample branch for n = 3 is not needed here)."""
    sizes = sets.sizes
    if sets.n_sets and (sizes.min() < 6 or sizes.max() > 5000):
        raise ValueError("the vectorised Shapiro-Wilk test takes sets of 6 to 5000 results")
    owner, starts = sets.owner, sets.starts
    # scipy sorts, then subtracts the value at position n // 2 of the unsorted input.
    order = np.lexsort((x, owner))
    y = x[order] - x[starts + sizes // 2][owner]
    rank = np.arange(y.size) - starts[owner]
    coefficient = _coefficients(sizes, rank)
    spread = y[starts + sizes - 1] - y[starts]
    flat = spread < _SMALL  # AS R94 gives up on a zero range (p = 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = y / spread[owner]
        mean_a = sets.total(coefficient) / sizes
        mean_x = sets.total(scaled) / sizes
        a = coefficient - mean_a[owner]
        b = scaled - mean_x[owner]
        ssa, ssx, sax = sets.total(a * a), sets.total(b * b), sets.total(a * b)
        root = np.sqrt(ssa * ssx)
        w1 = (root - sax) * (root + sax) / (ssa * ssx)
        p = _significance(w1, sizes)
    result: FloatArray = np.where(flat, 1.0, p)
    return result


def _coefficients(sizes: IntArray, rank: IntArray) -> FloatArray:
    """Each result's AS R94 coefficient by its rank in its sorted set: -a_i in the lower half,
    a_(n-1-i) in the upper, 0 in the middle of an odd set."""
    n = np.repeat(sizes, sizes)
    mirror = n - 1 - rank
    lower = np.minimum(rank, mirror)
    table = {int(size): np.array(_weights(int(size))) for size in np.unique(sizes)}
    magnitude = np.zeros(rank.size)
    for size, weights in table.items():
        here = (n == size) & (rank != mirror)
        magnitude[here] = weights[lower[here]]
    coefficient: FloatArray = np.where(rank < mirror, -magnitude, magnitude)
    return coefficient


@cache
def _weights(n: int) -> tuple[float, ...]:
    """AS R94's a_1 .. a_(n/2) for n results, computed as swilk does (init = False)."""
    half = n // 2
    an = float(n)
    an25 = an + 0.25
    a = [0.0] * half
    summ2 = 0.0
    for i in range(half):
        a[i] = _ppnd((i + 1 - 0.375) / an25)
        summ2 += a[i] ** 2
    summ2 *= 2.0
    ssumm2 = math.sqrt(summ2)
    rsn = 1 / math.sqrt(an)
    a1 = _poly(_C1, rsn) - (a[0] / ssumm2)
    if n > 5:
        first = 2
        a2 = -a[1] / ssumm2 + _poly(_C2, rsn)
        fac = math.sqrt((summ2 - (2 * a[0] ** 2) - 2 * a[1] ** 2) / (1 - (2 * a1**2) - 2 * a2**2))
        a[1] = a2
    else:
        first = 1
        fac = math.sqrt((summ2 - 2 * a[0] ** 2) / (1 - 2 * a1**2))
    a[0] = a1
    for i in range(first, half):
        a[i] *= -1.0 / fac
    return tuple(a)


def _significance(w1: FloatArray, sizes: IntArray) -> FloatArray:
    """AS R94's p-value of W = 1 - w1 for complete sets of n > 3."""
    n = sizes.astype(np.float64)
    small = sizes <= 11
    y = np.log(w1)
    gamma = np.array([_poly(_G, size) for size in n[small]])
    y_small = y[small]
    low = y_small >= gamma
    with np.errstate(invalid="ignore"):
        y[small] = -np.log(gamma - y_small)
    m, s = _moments(sizes)
    p = _upper_tail((y - m) / s)
    p[np.flatnonzero(small)[low]] = _SMALL
    return p


def _moments(sizes: IntArray) -> tuple[FloatArray, FloatArray]:
    """The mean and SD of AS R94's normalising transform of W, per set size."""
    distinct, where = np.unique(sizes, return_inverse=True)
    m, s = np.empty(distinct.size), np.empty(distinct.size)
    for i, size in enumerate(distinct):
        an = float(size)
        if size <= 11:
            m[i], s[i] = _poly(_C3, an), math.exp(_poly(_C4, an))
        else:
            log_n = math.log(an)
            m[i], s[i] = _poly(_C5, log_n), math.exp(_poly(_C6, log_n))
    return m[where], s[where]


def _poly(c: tuple[float, ...], x: float) -> float:
    """AS R94's polynomial c0 + c1 x + ... with the coefficients given as (c0, cn, ..., c1)."""
    result = c[0]
    if len(c) == 1:
        return result
    p = x * c[-1]
    if len(c) == 2:
        return result + p
    for i in range(len(c) - 2, 0, -1):
        p = (p + c[i]) * x
    return result + p


def _ppnd(p: float) -> float:
    """AS 111: the normal quantile, as swilk uses it."""
    q = p - 0.5
    if abs(q) <= 0.42:
        r = q * q
        value = q * (((-25.44106049637 * r + 41.39119773534) * r + -18.61500062529) * r + 2.50662823884)
        return value / ((((3.13082909833 * r + -21.06224101826) * r + 23.08336743743) * r + -8.47351093090) * r + 1.0)
    r = 1 - p if q > 0 else p
    if r <= 0:
        return 0.0
    r = math.sqrt(-math.log(r))
    value = ((2.32121276858 * r + 4.85014127135) * r + -2.29796479134) * r + -2.78718931138
    value /= (1.63706781897 * r + 3.54388924762) * r + 1.0
    return -value if q < 0 else value


def _upper_tail(x: FloatArray) -> FloatArray:
    """AS 66 (alnorm, upper tail) as swilk uses it: P(Z > x)."""
    upper = x > 0
    z = np.where(upper, x, -x)
    y = 0.5 * z * z
    near = 0.5 - z * (0.398942280444 - 0.399903438504 * y / (y + 5.75885480458 - 29.8213557808 / (
        y + 2.62433121679 + 48.6959930692 / (y + 5.92885724438))))  # fmt: skip
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        far = 0.398942280385 * np.exp(-y) / (z - 3.8052e-8 + 1.00000615302 / (z + 3.98064794e-4 + 1.98615381364 / (
            z - 0.151679116635 + 5.29330324926 / (z + 4.8385912808 - 15.1508972451 / (
                z + 0.742380924027 + 30.789933034 / (z + 3.99019417011))))))  # fmt: skip
    tail = np.where(z <= 1.28, near, far)
    beyond = ~((z <= 7.0) | (upper & (z <= 38.0)))
    result: FloatArray = np.where(beyond, np.where(upper, 0.0, 1.0), np.where(upper, tail, 1.0 - tail))
    return result
