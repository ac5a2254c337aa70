"""Decisions on the decimals: the comparisons every limit decision goes through."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.statistics.exact import above, above_sql, at_most, below, compare, rounded


def test_binary_noise_does_not_decide() -> None:
    assert compare(0.3, 0.1 * 3) == 0  # 0.30000000000000004 in binary
    assert not below(0.3 / 3, 0.1)  # 0.09999999999999999 in binary
    assert at_most(0.45, 0.15 * 3)  # 0.44999999999999996 in binary
    assert not above(3.75 * 10 / 15, 2.5)  # a STEL average of 2.4999999999999996
    assert not above(0.002, 2000 * 1e-6)  # 2000 f/m3 in f/cm3


def test_one_unit_in_the_twelfth_digit_decides() -> None:
    assert below(0.29999999999, 0.3) and above(0.30000000001, 0.3)
    assert above([5e9 + 1, 2.0], [5e9, 1.999]).tolist() == [True, True]
    assert below(1e-20, 2e-20)  # small values keep their own scale
    assert compare(0.0, 0.0) == 0 and below(0.0, 1e-9)


def test_rounded_gives_the_decimal_a_derived_figure_stands_for() -> None:
    assert rounded([3.75 * 10 / 15, 0.3 / 3, 0.1 * 3, 2 * 15 / 480]).tolist() == [2.5, 0.1, 0.3, 0.0625]
    assert rounded(5e9).tolist() == 5e9 and rounded(0.0).tolist() == 0.0


@settings(max_examples=500, deadline=None)
@given(
    a=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4),
    b=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4),
    k=st.sampled_from([1, 3, 7, 10, 15, 20, 480]),
)
def test_products_and_quotients_compare_as_their_decimals(a: Decimal, b: Decimal, k: int) -> None:
    """a x k against b x k and a / k against b / k, computed in binary, compare like a and b."""
    expected = (a > b) - (a < b)
    x, y = float(a), float(b)
    assert int(compare(x * k, y * k)) == expected
    assert int(compare(x / k * 3, y / k * 3)) == expected
    assert np.array_equal(compare([x], [y]), np.array([expected]))


def test_the_sql_form_decides_as_the_array_form() -> None:
    """Aggregates decide in DuckDB: same answers, near-ties and binary noise included."""
    rng = np.random.default_rng(19)
    a = np.concatenate([rng.random(500) * 10, [0.3, 2.4999999999999996, 0.002, 0.45, 14.0]])
    b = np.concatenate([rng.random(500) * 10, [0.1 * 3, 2.5, 2000 * 1e-6, 0.15 * 3, 14.000000000001]])
    b[:200] = a[:200] * (1 + rng.integers(-3, 4, 200) * 1e-16)
    connection = duckdb.connect()
    connection.register("pairs", pa.table({"a": a, "b": b}))
    in_sql = connection.sql(f"SELECT {above_sql('a', 'b')} AS x FROM pairs").fetchnumpy()["x"]
    assert np.array_equal(in_sql, above(a, b))
    assert not in_sql[500:].any()  # none above: the first four are equal decimals, 14 < 14.000000000001
