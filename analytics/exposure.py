"""Time-weighted averages of air samples: the 8-h TWA and the 15-min STEL average.

EN 689:2018 compares an 8-h TWA with the limit value; the reference period is 8 h
whatever the shift length, so the TWA is sum(c_i * t_i) / 480 min. Time that was not
sampled needs an explicit assumption (EN 482 / EN 689 practice), and the result says
which one was used. A non-detect is left-censored: it is never computed as 0
(DOMAIN.md, "Compliance statistics"), so an average containing one is itself "< value".

All concentrations of one call must be in the same unit; the result is in that unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Literal

import msgspec

__all__ = [
    "REFERENCE_PERIOD_MINUTES",
    "STEL_PERIOD_MINUTES",
    "Measured",
    "Sample",
    "TimeWeightedAverage",
    "Unsampled",
    "stel_15min",
    "twa_8h",
]

# Reference periods of the limit types: 8 h for the TWA, 15 min for the STEL
# (Directive 98/24/EC art. 2(d); EN 689:2018 §3 definitions).
REFERENCE_PERIOD_MINUTES: Final = 480.0
STEL_PERIOD_MINUTES: Final = 15.0

# "zero": no exposure during unsampled time; "representative": the sampled average
# applies to the whole shift.
Unsampled = Literal["zero", "representative"]


class Measured(msgspec.Struct, frozen=True, kw_only=True):
    """A concentration that may be left-censored.

    `censored=True` means the true value is below `value` (a non-detect reported at the
    concentration its detection limit corresponds to), which must not be read as 0.
    """

    value: float
    censored: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise ValueError(f"value: must be a number, got {self.value!r}")
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"value: must be a finite number >= 0, got {self.value}")

    def __str__(self) -> str:
        return f"< {self.value:g}" if self.censored else f"{self.value:g}"


# (concentration, duration in minutes); a bare float is a detected result.
Sample = tuple[float | Measured, float]


class TimeWeightedAverage(msgspec.Struct, frozen=True, kw_only=True):
    """An average over a reference period, with the assumption it rests on."""

    result: Measured
    reference_minutes: float
    sampled_minutes: float
    unsampled: Unsampled

    def __str__(self) -> str:
        return (
            f"{self.result} ({self.reference_minutes:g}-min average of "
            f"{self.sampled_minutes:g} sampled min; unsampled time: {self.unsampled})"
        )


def twa_8h(
    samples: Sequence[Sample],
    *,
    unsampled: Unsampled = "zero",
    shift_minutes: float = REFERENCE_PERIOD_MINUTES,
) -> TimeWeightedAverage:
    """8-h TWA = sum(c_i * t_i) / 480 min, also for shifts longer than 8 h.

    With "representative", the sampled average is taken to hold for the unsampled part
    of the shift, i.e. TWA = (sum(c_i t_i) / sum(t_i)) * shift_minutes / 480.
    """
    if unsampled not in ("zero", "representative"):
        raise ValueError(f"unsampled: must be 'zero' or 'representative', got {unsampled!r}")
    if not math.isfinite(shift_minutes) or shift_minutes <= 0:
        raise ValueError(f"shift_minutes: must be > 0, got {shift_minutes}")
    dose, minutes, censored = _exposure_sum(samples)
    if minutes > shift_minutes:
        raise ValueError(
            f"samples cover {minutes:g} min, more than the {shift_minutes:g}-min shift; "
            "pass the real shift length as shift_minutes"
        )
    if unsampled == "representative":
        dose = dose / minutes * shift_minutes
    return TimeWeightedAverage(
        result=Measured(value=dose / REFERENCE_PERIOD_MINUTES, censored=censored),
        reference_minutes=REFERENCE_PERIOD_MINUTES,
        sampled_minutes=minutes,
        unsampled=unsampled,
    )


def stel_15min(samples: Sequence[Sample]) -> TimeWeightedAverage:
    """15-min average of samples taken within one 15-min window.

    Samples shorter than 15 min in total are averaged over 15 min assuming no exposure
    outside them. A longer sample dilutes a peak over more than 15 min, so it cannot be
    compared with a STEL and is refused.
    """
    dose, minutes, censored = _exposure_sum(samples)
    if minutes > STEL_PERIOD_MINUTES:
        raise ValueError(
            f"samples cover {minutes:g} min; a STEL is a {STEL_PERIOD_MINUTES:g}-min average "
            "and cannot be judged from samples longer than that"
        )
    return TimeWeightedAverage(
        result=Measured(value=dose / STEL_PERIOD_MINUTES, censored=censored),
        reference_minutes=STEL_PERIOD_MINUTES,
        sampled_minutes=minutes,
        unsampled="zero",
    )


def _exposure_sum(samples: Sequence[Sample]) -> tuple[float, float, bool]:
    """sum(c_i * t_i), sum(t_i) and whether any sample is a non-detect.

    A non-detect enters at its upper bound, so the sum is an upper bound too.
    """
    if not samples:
        raise ValueError("samples: at least one (concentration, minutes) sample is needed")
    dose = minutes = 0.0
    censored = False
    for index, (concentration, duration) in enumerate(samples):
        measured = _as_measured(concentration, index)
        if isinstance(duration, bool) or not math.isfinite(duration) or duration <= 0:
            raise ValueError(f"samples[{index}]: duration must be > 0 minutes, got {duration!r}")
        dose += measured.value * duration
        minutes += duration
        censored = censored or measured.censored
    return dose, minutes, censored


def _as_measured(concentration: float | Measured, index: int) -> Measured:
    if isinstance(concentration, Measured):
        return concentration
    try:
        return Measured(value=concentration)
    except ValueError as exc:
        raise ValueError(f"samples[{index}]: concentration {exc}") from None
