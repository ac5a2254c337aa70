"""8-h TWA and 15-min STEL averages with hand-computed answers."""

from __future__ import annotations

import pytest

from analytics.exposure import Measured, stel_15min, twa_8h


def test_unsampled_time_as_zero() -> None:
    # 2 h at 1.0 + 4 h at 0.5 = 120*1.0 + 240*0.5 = 240 unit*min; 240 / 480 = 0.5.
    twa = twa_8h([(1.0, 120), (0.5, 240)])
    assert twa.result == Measured(value=0.5)
    assert (twa.unsampled, twa.sampled_minutes, twa.reference_minutes) == ("zero", 360, 480)
    assert "unsampled time: zero" in str(twa)


def test_unsampled_time_as_representative() -> None:
    # Sampled mean 240 / 360 = 0.6667 applied to the 480-min shift: 0.6667 * 480 / 480.
    twa = twa_8h([(1.0, 120), (0.5, 240)], unsampled="representative")
    assert twa.result.value == pytest.approx(2 / 3)
    assert twa.unsampled == "representative"


def test_long_shift_still_divides_by_eight_hours() -> None:
    # 10-h shift, fully sampled at 1.0: 600 * 1.0 / 480 = 1.25.
    assert twa_8h([(1.0, 600)], shift_minutes=600).result.value == pytest.approx(1.25)
    # 8 h sampled at 1.0 of a 10-h shift, representative: 1.0 * 600 / 480 = 1.25; zero: 1.0.
    partly = [(1.0, 480.0)]
    assert twa_8h(partly, shift_minutes=600, unsampled="representative").result.value == 1.25
    assert twa_8h(partly, shift_minutes=600).result.value == 1.0


def test_samples_longer_than_the_shift_are_refused() -> None:
    with pytest.raises(ValueError, match="shift_minutes"):
        twa_8h([(1.0, 600)])


def test_non_detect_makes_the_twa_censored_not_zero() -> None:
    # < 0.05 for 4 h and 0.2 for 4 h: upper bound (0.05*240 + 0.2*240) / 480 = 0.125.
    # Reading the non-detect as 0 would give 0.1, which the registry must never report.
    twa = twa_8h([(Measured(value=0.05, censored=True), 240), (0.2, 240)])
    assert twa.result.censored
    assert twa.result.value == pytest.approx(0.125)
    assert str(twa.result) == "< 0.125"


def test_detected_results_stay_uncensored() -> None:
    twa = twa_8h([(Measured(value=0.3), 480)])
    assert twa.result == Measured(value=0.3)
    assert str(twa.result) == "0.3"


def test_short_sample_averaged_over_fifteen_minutes() -> None:
    # 5 min at 3.0, zero for the other 10 min: 15 / 15 = 1.0.
    stel = stel_15min([(3.0, 5)])
    assert stel.result == Measured(value=1.0)
    assert (stel.reference_minutes, stel.unsampled) == (15, "zero")
    assert stel_15min([(2.0, 15)]).result.value == 2.0
    # Two 5-min samples in one window: (4*5 + 2*5) / 15 = 2.0.
    assert stel_15min([(4.0, 5), (2.0, 5)]).result.value == pytest.approx(2.0)


def test_stel_from_a_non_detect_is_censored() -> None:
    stel = stel_15min([(Measured(value=0.9, censored=True), 10)])
    assert (stel.result.value, stel.result.censored) == (pytest.approx(0.6), True)


def test_sample_longer_than_fifteen_minutes_cannot_give_a_stel() -> None:
    with pytest.raises(ValueError, match="15-min average"):
        stel_15min([(2.0, 20)])


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        ([], "at least one"),
        ([(1.0, 0)], "duration"),
        ([(1.0, -5)], "duration"),
        ([(-1.0, 60)], "concentration"),
        ([(float("nan"), 60)], "concentration"),
    ],
)
def test_invalid_samples(samples: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        twa_8h(samples)


def test_unknown_assumption_is_refused() -> None:
    with pytest.raises(ValueError, match="unsampled"):
        twa_8h([(1.0, 60)], unsampled="average")  # type: ignore[arg-type]


def test_measured_value_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="value"):
        Measured(value=-0.1, censored=True)
