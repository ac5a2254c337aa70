"""EN 689:2018 tests: Annex F table, worked example, preliminary test, decisions, advice."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.statistics import (
    assess,
    preliminary_test,
    reassessment_months,
    seg_warnings,
    statistical_test,
    ur_critical,
)

NONE = np.zeros(0, dtype=bool)

# EN 689:2018 Annex F, U_R critical values (70 % confidence on the 95th percentile).
# n = 6..10 also appear in the public R package OHcomplianceStrategies
# (d'Errico, Houba & Kromhout 2021, R/phaseTwo_EN6892018.R).
ANNEX_F = {
    6: 2.187,
    7: 2.120,
    8: 2.072,
    9: 2.035,
    10: 2.005,
    11: 1.981,
    12: 1.961,
    15: 1.917,
    20: 1.870,
    25: 1.841,
    30: 1.820,
}


def detected(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


@pytest.mark.parametrize(("n", "table_value"), sorted(ANNEX_F.items()))
def test_ur_critical_reproduces_annex_f_to_three_decimals(n: int, table_value: float) -> None:
    assert round(ur_critical(n), 3) == table_value


def test_ur_critical_falls_with_more_results_and_needs_two() -> None:
    values = [ur_critical(n) for n in range(6, 61)]
    assert all(a > b for a, b in itertools.pairwise(values))
    with pytest.raises(ValueError, match="at least 2"):
        ur_critical(1)


# Worked example, by hand.  Results 10 e^-1, 10, 10 e, 10 e^-1, 10, 10 e:
#   ln x - ln 10 = -1, 0, 1, -1, 0, 1      -> mean 0, so GM = 10
#   sum of squares = 4, / (n - 1) = 0.8    -> s = sqrt(0.8) = 0.894427, GSD = e^s = 2.445934
#   OEL 100: U_R = ln(100 / 10) / 0.894427 = 2.302585 / 0.894427 = 2.574 >= 2.187 -> compliant
#   OEL 60:  U_R = ln(60 / 10) / 0.894427 = 1.791759 / 0.894427 = 2.003 <  2.187 -> non-compliant
#   UCL70(P95) = 10 exp(2.186745 * 0.894427) = 10 e^1.955883 = 70.70, between 60 and 100.
WORKED = 10.0 * np.exp(np.array([-1.0, 0.0, 1.0, -1.0, 0.0, 1.0]))


def test_worked_example_compliant() -> None:
    result = assess(WORKED, detected(6), 100.0)
    assert result.decision == "compliant"
    assert result.test == "statistical"
    assert result.gm == pytest.approx(10.0, rel=1e-12)
    assert result.gsd == pytest.approx(2.445934, rel=1e-6)
    assert result.ur == pytest.approx(2.574368, rel=1e-6)
    assert result.ur_critical == pytest.approx(2.186745, rel=1e-6)
    assert result.ucl70_p95 == pytest.approx(70.7017, rel=1e-5)
    assert result.method == "mle"
    assert result.method_detail is not None and "sigma scaled by sqrt(n/(n-1))" in result.method_detail
    # GM / OEL is exactly 0.1 (9.999999999999998 / 100 in binary), so not below 0.1: 24 months.
    assert result.reassess_within_months == 24
    assert result.warnings == []


def test_worked_example_non_compliant() -> None:
    result = assess(WORKED, detected(6), 60.0)
    assert result.decision == "non_compliant"
    assert result.ur == pytest.approx(2.003248, rel=1e-6)
    assert result.ucl70_p95 == pytest.approx(70.7017, rel=1e-5)
    assert result.reassess_within_months is None
    assert "not below the OEL" in result.reason


@settings(max_examples=200, deadline=None)
@given(
    logs=st.lists(st.floats(-3.0, 3.0), min_size=6, max_size=40),
    log_oel=st.floats(-2.0, 8.0),
)
def test_ucl_below_oel_exactly_when_ur_reaches_critical(logs: list[float], log_oel: float) -> None:
    values = np.exp(np.array(logs))
    if np.log(values).std() < 1e-3:
        return  # no spread, nothing to test
    result = statistical_test(values, detected(values.size), math.exp(log_oel))
    if abs(result.ur - result.ur_critical) > 1e-9:
        assert (result.ucl70_p95 < math.exp(log_oel)) == (result.ur >= result.ur_critical)
        assert (result.decision == "compliant") == (result.ur >= result.ur_critical)


# EN 689 §5.5.2: compliant when every result is *below* 0.1, 0.15 or 0.2 x OEL. Each case is
# written in decimals as a lab and a limit list write them, never computed as fraction * oel
# (0.1 * 3 is 0.30000000000000004 in binary, so a test built that way cannot see the boundary).
BOUNDARIES = [
    ([0.01, 0.02, 0.3], 3.0),  # 0.3 at an OEL of 3: 0.1 x 3 = 0.3
    ([0.01, 0.02, 0.03, 0.45], 3.0),  # 0.15 x 3 = 0.45
    ([0.01, 0.02, 0.03, 0.04, 0.6], 3.0),  # 0.2 x 3 = 0.6
    ([0.5, 1.0, 2.3], 23.0),  # 0.1 x 23 = 2.3
    ([0.01, 0.02, 0.03, 0.105], 0.7),  # 0.15 x 0.7 = 0.105
    ([0.001, 0.002, 0.003, 0.004, 0.006], 0.03),  # 0.2 x 0.03 = 0.006
]


@pytest.mark.parametrize(("values", "oel"), BOUNDARIES)
def test_a_result_at_the_fraction_of_the_oel_is_not_below_it(values: list[float], oel: float) -> None:
    n = len(values)
    at = preliminary_test(values, detected(n), oel)
    assert at.decision == "inconclusive" and "between" in at.reason
    assert assess(values, detected(n), oel).decision == "inconclusive"
    # The report passes each result with its own limit: the same verdict.
    assert assess(values, detected(n), [oel] * n).decision == "inconclusive"
    # As a non-detect "< boundary", the result is below the boundary: compliant in both forms.
    censored = np.array([False] * (n - 1) + [True])
    assert assess(values, censored, oel).decision == "compliant"
    assert assess(values, censored, [oel] * n).decision == "compliant"


def test_0_3_at_an_oel_of_3_is_not_compliant() -> None:
    """The hygienist's case: 3 results, one of them 0.3, OEL 3. 0.3 is not below 0.1 x 3."""
    result = assess([0.1, 0.2, 0.3], [False, False, False], 3.0)
    assert result.decision == "inconclusive" and result.test == "preliminary"
    assert "0.1 x the OEL of 3 = 0.3" in result.reason
    assert assess([0.1, 0.2, 0.29], [False, False, False], 3.0).decision == "compliant"


def test_a_non_detect_below_0_45_at_an_oel_of_3_with_4_results_is_compliant_in_both_forms() -> None:
    """ "<0.45" means below 0.45 = 0.15 x 3, so it is below the boundary; the direct call and the
    report's form (one OEL per result, the results as indices for the fit) agree."""
    values, censored = [0.45, 0.2, 0.1, 0.3], [True, False, False, False]
    assert assess(values, censored, 3.0).decision == "compliant"
    assert assess(values, censored, [3.0] * 4).decision == "compliant"


@pytest.mark.parametrize(("values", "oel"), BOUNDARIES)
def test_a_result_at_the_oel_does_not_exceed_it(values: list[float], oel: float) -> None:
    at_oel = [*values[:-1], oel]
    assert preliminary_test(at_oel, detected(len(values)), oel).decision == "inconclusive"
    above = [*values[:-1], oel + 0.01]
    assert preliminary_test(above, detected(len(values)), oel).decision == "non_compliant"


_DECIMALS = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("40"), places=3)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), oel=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("40"), places=2))
def test_the_preliminary_test_decides_on_the_decimals(data: st.DataObject, oel: Decimal) -> None:
    """Against exact rational arithmetic on the decimals as written, with results drawn at and
    around the boundaries fraction x OEL and OEL."""
    n = data.draw(st.integers(3, 5))
    fraction = {3: Fraction(1, 10), 4: Fraction(15, 100), 5: Fraction(20, 100)}[n]
    special = st.sampled_from([Fraction(oel) * fraction, Fraction(oel)]).map(
        lambda f: Decimal(f.numerator) / f.denominator
    )
    values = data.draw(st.lists(st.one_of(_DECIMALS, special), min_size=n, max_size=n))
    censored = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    exact = [Fraction(v) for v in values]
    limit, threshold = Fraction(oel), Fraction(oel) * fraction
    if any(v > limit for v, c in zip(exact, censored, strict=True) if not c):
        expected = "non_compliant"
    elif all(v <= threshold if c else v < threshold for v, c in zip(exact, censored, strict=True)):
        expected = "compliant"
    else:
        expected = "inconclusive"
    floats = [float(v) for v in values]
    assert preliminary_test(floats, np.array(censored), float(oel)).decision == expected
    assert assess(floats, np.array(censored), [float(oel)] * n).decision == expected


def test_preliminary_non_detects() -> None:
    oel = 100.0
    low_lod = preliminary_test([2.0, 3.0, 10.0], [False, False, True], oel)
    assert low_lod.decision == "compliant"  # "< 10" is below 0.1 x OEL = 10
    high_lod = preliminary_test([2.0, 3.0, 15.0], [False, False, True], oel)
    assert high_lod.decision == "inconclusive"
    assert "LOD is above 0.1 x the OEL of 100 = 10" in high_lod.reason
    # A non-detect with an LOD above the OEL says nothing about exceeding it.
    huge_lod = preliminary_test([2.0, 3.0, 150.0], [False, False, True], oel)
    assert huge_lod.decision == "inconclusive"


def test_non_detects_are_never_zero_preliminary() -> None:
    """Reading '< 15' as 0 would pass the preliminary test; the LOD cannot prove that."""
    values = np.array([15.0, 2.0, 3.0])
    censored = np.array([True, False, False])
    as_zero = preliminary_test(np.array([1e-12, 2.0, 3.0]), detected(3), 100.0)
    assert as_zero.decision == "compliant"
    assert assess(values, censored, 100.0).decision == "inconclusive"


def test_non_detects_are_never_substituted_statistical() -> None:
    """LOD/2 substitution narrows the GSD and passes; the censored fit does not."""
    values = np.array([12.0, 30.0, 45.0, 60.0, 40.0, 40.0, 40.0, 25.0])
    censored = np.array([0, 0, 0, 0, 1, 1, 1, 0], dtype=bool)
    substituted = assess(np.where(censored, values / 2, values), detected(8), 80.0)
    assert substituted.decision == "compliant"
    assert substituted.ucl70_p95 == pytest.approx(74.23, abs=0.01)
    result = assess(values, censored, 80.0)
    assert result.decision == "non_compliant"
    assert result.ucl70_p95 == pytest.approx(84.29, abs=0.01)
    assert (result.n, result.n_censored, result.method) == (8, 3, "mle")
    assert assess(values, censored, 80.0, method="ros").method == "ros"


def test_assess_picks_the_test_by_number_of_results() -> None:
    two = assess([5.0, 6.0], [False, False], 100.0)
    assert (two.decision, two.test) == ("insufficient_data", "none")
    four = assess([1.0, 2.0, 3.0, 4.0], detected(4), 100.0)
    assert (four.decision, four.test) == ("compliant", "preliminary")
    assert four.reassess_within_months == 36  # highest result 4 < 0.1 x OEL bounds the GM
    five = assess([1.0, 2.0, 3.0, 4.0, 15.0], detected(5), 100.0)
    assert (five.decision, five.reassess_within_months) == ("compliant", 24)
    one_detect = assess([3.0] + [2.0] * 6, [False] + [True] * 6, 100.0)
    assert (one_detect.decision, one_detect.test) == ("insufficient_data", "none")
    assert "at least 2 detected" in one_detect.reason


@pytest.mark.parametrize(
    ("gm", "months"),
    [(1.0, 36), (9.99, 36), (10.0, 24), (20.0, 24), (25.0, 18), (49.9, 18), (50.0, 12), (99.0, 12)],
)
def test_reassessment_interval_table(gm: float, months: int) -> None:
    assert reassessment_months(gm, 100.0) == months


def test_seg_warnings() -> None:
    oel = 100.0
    assert seg_warnings([10.0, 20.0, 30.0], detected(3), oel, 2.0) == []
    wide = seg_warnings([10.0, 20.0, 30.0], detected(3), oel, 3.5)
    assert len(wide) == 1 and "GSD = 3.50 > 3" in wide[0]
    over = seg_warnings([10.0, 20.0, 130.0], detected(3), oel, None)
    assert len(over) == 1 and "1 detected result(s) exceed the OEL" in over[0]
    insensitive = seg_warnings([10.0, 20.0, 30.0], [False, False, True], oel, None)
    assert len(insensitive) == 1 and "LOD above 0.1 x the OEL of 100" in insensitive[0]
    bimodal = np.array([1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 40.0, 44.0, 38.0, 41.0, 39.0, 42.0])
    mixed = seg_warnings(bimodal, detected(bimodal.size), oel, None)
    assert len(mixed) == 1 and "Shapiro-Wilk" in mixed[0]
    lognormal = np.exp(np.array([-1.2, -0.6, -0.3, 0.0, 0.2, 0.5, 0.9, 1.4]))
    assert seg_warnings(lognormal, detected(8), oel, None) == []


def test_a_compliant_seg_can_still_carry_warnings() -> None:
    values = np.array([2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0, 12.0, 1.5, 2.2, 3.3])
    censored = detected(values.size)
    censored[9] = True  # "< 1.5"
    result = assess(values, censored, 120.0)
    assert result.decision == "compliant"
    assert result.warnings == []
    result = assess(values, censored, 11.0)  # 12 > OEL: investigate, whatever U_R says
    assert any("exceed the OEL" in w for w in result.warnings)


@pytest.mark.parametrize("oel", [0.0, -1.0, math.nan, math.inf])
def test_bad_oel_is_refused(oel: float) -> None:
    with pytest.raises(ValueError, match="OEL must be"):
        assess(WORKED, detected(6), oel)


def test_each_test_refuses_the_wrong_number_of_results() -> None:
    with pytest.raises(ValueError, match="3, 4 or 5"):
        preliminary_test(WORKED, detected(6), 100.0)
    with pytest.raises(ValueError, match="at least 6"):
        statistical_test(WORKED[:5], detected(5), 100.0)
    with pytest.raises(ValueError, match="length mismatch"):
        assess(WORKED, NONE, 100.0)
