"""Identifier and unit validation: every identifier the registry keys on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas.identifiers import (
    normalise_bsn,
    normalise_cas,
    normalise_ec,
    normalise_kvk,
    normalise_sbi,
)
from schemas.units import UnitError, canonical_unit, convert, is_known_unit


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "1112.22.333", " 111 222 333"])
def test_valid_bsn_passes_elfproef(bsn: str) -> None:
    assert len(normalise_bsn(bsn)) == 9


def test_eight_digit_bsn_is_padded() -> None:
    # 012345672: 9*0 + 8*1 + 7*2 + 6*3 + 5*4 + 4*5 + 3*6 + 2*7 - 1*2 = 110 = 10 * 11
    assert normalise_bsn("12345672") == "012345672"


@pytest.mark.parametrize(
    ("bsn", "reason"),
    [
        ("123456789", "elfproef"),
        ("000000000", "not a BSN"),
        ("12345", "9 digits"),
        ("12345678a", "digits only"),
        ("", "digits only"),
    ],
)
def test_invalid_bsn_is_refused_with_reason(bsn: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalise_bsn(bsn)


@pytest.mark.parametrize("cas", ["71-43-2", "7440-02-0", "1332-21-4", "14808-60-7", "50-00-0"])
def test_valid_cas(cas: str) -> None:
    assert normalise_cas(cas) == cas


def test_cas_check_digit_names_the_right_digit() -> None:
    with pytest.raises(ValueError, match="should be 2, not 3"):
        normalise_cas("71-43-3")


@pytest.mark.parametrize("cas", ["71432", "71-43", "abc-de-f", "1-43-2"])
def test_malformed_cas(cas: str) -> None:
    with pytest.raises(ValueError, match="looks like"):
        normalise_cas(cas)


def test_ec_number_check_digit() -> None:
    assert normalise_ec("200-753-7") == "200-753-7"  # benzene
    with pytest.raises(ValueError, match="should be 7"):
        normalise_ec("200-753-6")


def test_kvk_number() -> None:
    assert normalise_kvk("12345678") == "12345678"
    for bad in ["1234567", "123456789", "1234567a", "00000000"]:
        with pytest.raises(ValueError):
            normalise_kvk(bad)


def test_sbi_code() -> None:
    assert normalise_sbi("25.11") == "2511"
    with pytest.raises(ValueError):
        normalise_sbi("2")


@pytest.mark.parametrize(("alias", "canonical"), [("µg/m³", "ug/m3"), ("fibres/m3", "f/m3"), ("µg/100 ml", "ug/100mL")])
def test_lab_spellings_of_units(alias: str, canonical: str) -> None:
    assert canonical_unit(alias) == canonical


def test_unknown_unit() -> None:
    assert not is_known_unit("furlongs/fortnight")
    with pytest.raises(UnitError, match="unknown unit"):
        canonical_unit("mg")


def test_ppm_to_mg_per_m3_and_back_for_benzene() -> None:
    # M(C6H6) = 78.11 g/mol; Vm(20 degC, 101.325 kPa) = 24.055 L/mol -> 1 ppm = 3.2471 mg/m3
    assert convert(1.0, "ppm", "mg/m3", molar_mass=78.11) == pytest.approx(3.2471, abs=1e-4)
    assert convert(3.2471, "mg/m3", "ppm", molar_mass=78.11) == pytest.approx(1.0, abs=1e-4)
    assert convert(500, "ppb", "ug/m3", molar_mass=78.11) == pytest.approx(1623.6, abs=0.1)


def test_fibres_and_biological_units() -> None:
    assert convert(2000, "f/m3", "f/cm3") == pytest.approx(0.002)
    assert convert(0.01, "f/cm3", "f/m3") == pytest.approx(10_000)
    assert convert(30, "ug/100mL", "ug/L") == pytest.approx(300)
    assert convert(1, "mg/g creatinine", "ug/g creatinine") == pytest.approx(1000)


def test_ppm_needs_molar_mass_and_dimensions_must_match() -> None:
    with pytest.raises(UnitError, match="molar mass"):
        convert(1, "ppm", "mg/m3")
    with pytest.raises(UnitError, match="cannot convert"):
        convert(1, "mg/m3", "ug/L")


def _other_digits(text: str, zero: str) -> str:
    """`text` with its ASCII digits written in another Unicode digit script (zero = its 0)."""
    return "".join(chr(ord(zero) + int(c)) if c.isdigit() else c for c in text)


@pytest.mark.parametrize(
    "zero", ["\uff10", "\u0660", "\u06f0", "\u0966"]
)  # fullwidth, Arabic-Indic, Persian, Devanagari
@pytest.mark.parametrize(
    "normalise,valid",
    [
        (normalise_bsn, "123456782"),
        (normalise_kvk, "12345678"),
        (normalise_cas, "71-43-2"),
        (normalise_ec, "200-753-7"),
        (normalise_sbi, "2511"),
    ],
)
def test_identifiers_in_other_digit_scripts_are_refused(normalise: Callable[[str], str], valid: str, zero: str) -> None:
    """int() reads fullwidth or Arabic-Indic digits as numbers: accepted, one BSN would have
    many spellings and one person could be registered twice (skipping the first's checks)."""
    assert normalise(valid)
    with pytest.raises(ValueError, match=r"0-9|looks like|SBI code"):
        normalise(_other_digits(valid, zero))
