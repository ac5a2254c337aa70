"""Decisions against a limit on the decimal values people wrote, not on binary fractions.

Results and limits are written in decimal (0.3 mg/m3, a limit of 3 mg/m3) but held as binary
doubles, in which 0.1 x 3 is 0.30000000000000004 and 0.3 / 3 is 0.09999999999999999. EN 689
asks whether every result is *below* 0.1 x OEL, so 0.3 at an OEL of 3 must fail, and every
path (a direct `assess`, the report's exposure indices, an exceedance, a STEL, an 8-h lower
bound) must decide it the same way.

Rule: both sides of a comparison are rounded to SIGNIFICANT_DIGITS significant digits,
counted from the larger of the two, and the two integers are compared. Why that is exact:

- A decimal as written (lab results carry 2-5 significant digits, limits 1-4) survives the
  trip into a double (15-17 digits) and back to 12 digits unchanged, and so does its product
  with a small integer or a short decimal (fraction x OEL, value x minutes / 15), whose exact
  decimal still has few digits while the double's error is ~1e-16 of the value.
- Two different decimals of at most 12 significant digits differ by at least one unit in the
  12th digit, which the rounding keeps apart; binary noise stays far below half such a unit
  and so never decides.
- The integers are below 10^13 < 2^53, exact in a double, so the comparison is a handful of
  numpy passes over millions of results rather than Python Decimals per row.

A limit converted between ppm and mg/m3 through a molar mass is no decimal anyway; for it the
rounding removes only the binary noise.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["SIGNIFICANT_DIGITS", "above", "above_sql", "at_most", "below", "compare", "rounded"]

SIGNIFICANT_DIGITS: Final = 12


def compare(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """-1, 0 or 1 per element: the sign of a - b on the decimals (module doc). Where a and b
    differ by more than _NEAR of the larger, rounding to SIGNIFICANT_DIGITS cannot change
    their order, so only near-ties are rounded (as in above_sql)."""
    x, y = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    top = np.maximum(np.abs(x), np.abs(y))
    with np.errstate(invalid="ignore"):  # NaN compares as 0, as it always did
        sign = np.array(np.sign(x - y), dtype=np.int8)
        near = ~(np.abs(x - y) > _NEAR * top)
        if near.any():
            shift = _shift(top[near])
            sign[near] = np.sign(_scaled(x[near], shift) - _scaled(y[near], shift))
    return sign


# Rounding both sides to 12 significant digits moves each by at most 5e-12 of the larger.
_NEAR = 1e-9


def below(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """a < b on the decimals."""
    return compare(a, b) < 0


def at_most(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """a <= b on the decimals."""
    return compare(a, b) <= 0


def above(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """a > b on the decimals."""
    return compare(a, b) > 0


def above_sql(a: str, b: str) -> str:
    """`above` as a DuckDB expression of two positive SQL expressions, for decisions taken in
    SQL. Where they differ by more than 1e-9 of the larger, rounding to 12 digits cannot
    change their order, so the plain comparison decides and only near-ties pay for the
    rounding."""
    top = f"greatest({a}, {b})"
    shift = f"({SIGNIFICANT_DIGITS - 1} - floor(log10({top})))"

    def scaled(x: str) -> str:
        return f"(CASE WHEN {shift} >= 0 THEN round({x} * pow(10, {shift})) ELSE round({x} / pow(10, -{shift})) END)"

    return f"(CASE WHEN abs({a} - {b}) > {_NEAR} * {top} THEN {a} > {b} ELSE {scaled(a)} > {scaled(b)} END)"


def rounded(a: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The nearest double to each value's decimal of SIGNIFICANT_DIGITS digits: what an answer
    shows for a derived figure (3.75 x 10 / 15 is 2.5, not 2.4999999999999996)."""
    x = np.asarray(a, dtype=np.float64)
    shift = _shift(np.abs(x))
    power = 10.0 ** np.abs(shift)
    whole = _scaled(x, shift)
    result: npt.NDArray[np.float64] = np.where(shift >= 0, whole / power, whole * power)
    return result


def _shift(magnitude: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Decimal places that leave SIGNIFICANT_DIGITS digits of `magnitude` before the point
    (0 for zero or a non-finite value, which then compare as they are)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(magnitude))
    exponent = np.where(np.isfinite(exponent), exponent, 0.0)
    return SIGNIFICANT_DIGITS - 1 - exponent


def _scaled(x: npt.NDArray[np.float64], shift: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """x x 10^shift rounded to an integer; powers of ten up to 10^22 are exact doubles, so a
    negative shift divides rather than multiplying by an inexact 10^-k."""
    power = 10.0 ** np.abs(shift)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.rint(np.where(shift >= 0, x * power, x / power))
