"""LimitValue validation: every rule reports the field it concerns (schemas.validation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from schemas.errors import InvalidInput
from schemas.limits import LimitValue
from schemas.validation import check, parse

BENZENE_NL: dict[str, Any] = {
    "substance_name": "Benzeen",
    "cas": "71-43-2",
    "ec": "200-753-7",
    "jurisdiction": "NL",
    "limit_type": "TWA8h",
    "value": 0.7,
    "unit": "mg/m3",
    "valid_from": dt.date(2017, 10, 1),
    "notation": "H",
    "source_citation": "SER grenswaarden databank, benzeen",
}


def errors_of(**changes: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        check(LimitValue(**{**BENZENE_NL, **changes}))
    return {e.field: e.reason for e in caught.value.errors}


def test_valid_limit_is_built() -> None:
    limit = check(LimitValue(**BENZENE_NL))
    assert limit.value == 0.7
    assert limit.valid_to is None


def test_limit_is_frozen() -> None:
    limit = LimitValue(**BENZENE_NL)
    with pytest.raises(AttributeError):
        limit.value = 1.0  # type: ignore[misc]


def test_valid_to_must_follow_valid_from() -> None:
    errors = errors_of(valid_from=dt.date(2018, 1, 1), valid_to=dt.date(2018, 1, 1))
    assert set(errors) == {"valid_to"}
    assert "2018-01-01" in errors["valid_to"]


@pytest.mark.parametrize("value", [0, -1.5, float("nan"), float("inf"), True, "0.7"])
def test_value_must_be_a_positive_finite_number(value: object) -> None:
    assert set(errors_of(value=value)) == {"value"}


def test_unknown_unit() -> None:
    assert "unknown unit" in errors_of(unit="mg/l air")["unit"]


def test_unit_must_be_in_canonical_spelling() -> None:
    assert "'mg/m3'" in errors_of(unit="mg/m³")["unit"]


def test_biological_unit_does_not_fit_an_air_limit() -> None:
    assert "air-concentration unit" in errors_of(unit="ug/100mL")["unit"]


def test_air_unit_does_not_fit_a_blv() -> None:
    errors = errors_of(limit_type="BLV", unit="ppm", matrix="blood", analyte="Pb")
    assert set(errors) == {"unit"}
    assert "biological unit" in errors["unit"]


def test_blv_needs_matrix_and_analyte() -> None:
    assert set(errors_of(limit_type="BLV", unit="ug/100mL")) == {"matrix", "analyte"}


def test_air_limit_has_no_matrix() -> None:
    assert set(errors_of(matrix="blood")) == {"matrix"}


def test_company_limit_needs_its_employer() -> None:
    assert set(errors_of(jurisdiction="company")) == {"owner_employer_id"}
    check(LimitValue(**{**BENZENE_NL, "jurisdiction": "company", "owner_employer_id": "12345678"}))


def test_only_company_limits_have_an_employer() -> None:
    assert set(errors_of(owner_employer_id="12345678")) == {"owner_employer_id"}


def test_citation_is_required() -> None:
    assert set(errors_of(source_citation="  ")) == {"source_citation"}


def test_literal_fields_are_checked() -> None:
    errors = errors_of(jurisdiction="EU", limit_type="TWA")
    assert set(errors) == {"jurisdiction", "limit_type"}


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(cas="71-43-3", value=-1, source_citation="")
    assert set(errors) == {"cas", "value", "source_citation"}


def test_check_digits() -> None:
    # CAS 71-43-2: 3*1 + 4*2 + 1*3 + 7*4 = 42 -> 2.
    # EC 200-753-7: 2*1 + 0 + 0 + 7*4 + 5*5 + 3*6 = 73 -> 73 mod 11 = 7.
    # The rules are those of schemas.identifiers; LimitValue reports them per field.
    check(LimitValue(**{**BENZENE_NL, "cas": "7732-18-5"}))
    assert "check digit" in errors_of(cas="71-43-3")["cas"]
    assert set(errors_of(cas="71432")) == {"cas"}
    assert "check digit" in errors_of(ec="200-753-8")["ec"]


def test_identifiers_are_stored_in_canonical_spelling() -> None:
    assert "'71-43-2'" in errors_of(cas=" 071-43-2")["cas"]


def test_interval_is_half_open() -> None:
    limit = LimitValue(**{**BENZENE_NL, "valid_to": dt.date(2020, 1, 1)})
    assert not limit.in_force_on(dt.date(2017, 9, 30))
    assert limit.in_force_on(dt.date(2017, 10, 1))
    assert limit.in_force_on(dt.date(2019, 12, 31))
    assert not limit.in_force_on(dt.date(2020, 1, 1))


def test_blank_start_is_in_force_from_the_beginning() -> None:
    limit = LimitValue(**{**BENZENE_NL, "valid_from": None})
    assert limit.in_force_on(dt.date(1900, 1, 1))


def test_decoding_json_runs_the_same_validation() -> None:
    good = msgspec.json.encode(LimitValue(**BENZENE_NL))
    assert msgspec.json.decode(good, type=LimitValue) == LimitValue(**BENZENE_NL)
    bad = good.replace(b'"value":0.7', b'"value":-0.7')
    with pytest.raises(msgspec.ValidationError, match="value"):
        msgspec.json.decode(bad, type=LimitValue)


def test_parse_reports_structural_and_semantic_problems() -> None:
    raw = msgspec.to_builtins(LimitValue(**BENZENE_NL))
    assert parse(LimitValue, raw) == LimitValue(**BENZENE_NL)
    with pytest.raises(InvalidInput) as caught:
        parse(LimitValue, {**raw, "ec": "200-753-8", "source_citation": " "})
    assert {e.field for e in caught.value.errors} == {"ec", "source_citation"}
    with pytest.raises(InvalidInput) as caught:
        parse(LimitValue, {**raw, "value": "0.7", "jurisdiction": "EU"})
    assert {e.field for e in caught.value.errors} == {"value", "jurisdiction"}
