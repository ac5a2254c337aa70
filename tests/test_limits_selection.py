"""Which limit binds a measurement on its date, and what is reported beside it."""

from __future__ import annotations

import datetime as dt
from functools import cache

import pytest

from analytics.exposure import Measured
from analytics.limits import (
    ApplicableLimits,
    LimitFlag,
    Verdict,
    assess,
    limits_in_force,
    load_reference_limits,
    normalise_name,
)
from schemas.limits import LimitValue
from schemas.units import UnitError, convert

BENZENE = "71-43-2"
BENZENE_M = 78.11  # g/mol, reference/substances.csv (C6H6)
# Molar volume at 20 degC, 101.325 kPa: 8.314462618 * 293.15 / 101.325 = 24.0551 L/mol.
# 1 ppm benzene = 78.11 / 24.0551 = 3.24713 mg/m3, so:
#   0.1 ppm  -> 0.324713 mg/m3
#   0.7 mg/m3 -> 0.7 / 3.24713 = 0.215575 ppm
MG_PER_PPM_BENZENE = 3.24713


@cache
def reference() -> tuple[LimitValue, ...]:
    return tuple(load_reference_limits())


def company_benzene(value: float, unit: str, employer: str = "12345678") -> LimitValue:
    return LimitValue(
        substance_name="Benzene",
        cas=BENZENE,
        jurisdiction="company",
        limit_type="TWA8h",
        value=value,
        unit=unit,
        valid_from=dt.date(2018, 1, 1),
        owner_employer_id=employer,
        source_citation="Huisnorm benzeen, besluit directie 2017-12-01",
    )


def benzene_on(day: dt.date, *extra: LimitValue, unit: str = "mg/m3") -> ApplicableLimits:
    return limits_in_force(
        (*reference(), *extra),
        cas=BENZENE,
        on=day,
        limit_type="TWA8h",
        unit=unit,
        employer_id="12345678",
    )


def test_benzene_limit_changed_between_two_measurements() -> None:
    before = benzene_on(dt.date(2016, 6, 1))
    after = benzene_on(dt.date(2018, 6, 1))
    assert before.binding is not None and after.binding is not None
    # oel_reference.csv: NL 3.25 mg/m3 until 2017-10-01, then 0.7 mg/m3 (SER databank).
    assert (before.binding.limit.jurisdiction, before.binding.value) == ("NL", 3.25)
    assert (after.binding.limit.jurisdiction, after.binding.value) == ("NL", 0.7)
    assert before.binding.limit.valid_to == dt.date(2017, 10, 1)
    assert after.binding.limit.valid_from == dt.date(2017, 10, 1)
    assert "ser.nl" in after.binding.limit.source_citation
    assert LimitFlag.START_UNKNOWN in before.binding.flags


def test_switch_date_belongs_to_the_new_value() -> None:
    last_day = benzene_on(dt.date(2017, 9, 30)).binding
    first_day = benzene_on(dt.date(2017, 10, 1)).binding
    assert last_day is not None and first_day is not None
    assert (last_day.value, first_day.value) == (3.25, 0.7)
    assert LimitFlag.OVERLAP not in first_day.flags  # [from, to): the old row has ended


def test_eu_and_nl_both_shown_and_strictest_binds() -> None:
    applicable = benzene_on(dt.date(2018, 6, 1))
    # EU-BOELV 3.25 mg/m3 is listed with its ppm twin (1 ppm); the mg/m3 row is kept.
    assert [(a.limit.jurisdiction, a.value) for a in applicable.legal] == [
        ("NL", 0.7),
        ("EU-BOELV", 3.25),
    ]
    assert all(LimitFlag.OVERLAP not in a.flags for a in applicable.legal)


def test_boelv_binds_once_stricter_than_the_dutch_value() -> None:
    # Dir 2022/431: 0.66 mg/m3 from 2026-04-05, below the NL 0.7 mg/m3.
    binding = benzene_on(dt.date(2026, 5, 1)).binding
    assert binding is not None
    assert (binding.limit.jurisdiction, binding.value) == ("EU-BOELV", 0.66)


def test_ppm_limit_converted_to_mg_per_m3_and_back() -> None:
    assert convert(0.1, "ppm", "mg/m3", molar_mass=BENZENE_M) == pytest.approx(0.324713, rel=1e-5)
    assert convert(0.324713, "mg/m3", "ppm", molar_mass=BENZENE_M) == pytest.approx(0.1, rel=1e-5)

    in_mg = benzene_on(dt.date(2018, 6, 1), company_benzene(0.1, "ppm"))
    (company,) = in_mg.additional
    assert company.value == pytest.approx(0.1 * MG_PER_PPM_BENZENE, rel=1e-5)
    assert (company.limit.value, company.limit.unit) == (0.1, "ppm")
    assert LimitFlag.CONVERTED in company.flags

    in_ppm = benzene_on(dt.date(2018, 6, 1), company_benzene(0.1, "ppm"), unit="ppm")
    assert in_ppm.binding is not None
    assert in_ppm.binding.value == pytest.approx(0.7 / MG_PER_PPM_BENZENE, rel=1e-5)
    assert in_ppm.additional[0].value == pytest.approx(0.1)


def test_stricter_company_limit_is_reported_beside_the_legal_one() -> None:
    applicable = benzene_on(dt.date(2018, 6, 1), company_benzene(0.1, "ppm"))
    assert applicable.binding is not None
    assert (applicable.binding.limit.jurisdiction, applicable.binding.value) == ("NL", 0.7)
    verdicts = {v.role: v.verdict for v in assess(applicable, Measured(value=0.5))}
    assert verdicts == {"binding": Verdict.WITHIN, "company": Verdict.ABOVE}


def test_other_employers_do_not_see_a_company_limit() -> None:
    applicable = limits_in_force(
        (*reference(), company_benzene(0.1, "ppm")),
        cas=BENZENE,
        on=dt.date(2018, 6, 1),
        limit_type="TWA8h",
        unit="mg/m3",
        employer_id="87654321",
    )
    assert applicable.additional == ()


def test_asbestos_fibres_per_m3_expressed_per_cm3() -> None:
    applicable = limits_in_force(reference(), cas="1332-21-4", on=dt.date(2020, 1, 1), limit_type="TWA8h", unit="f/cm3")
    assert applicable.binding is not None
    # NL 2000 fibres/m3 = 2000 / 1e6 f/cm3 = 0.002 f/cm3; EU 0.1 f/cm3 is less strict.
    assert (applicable.binding.limit.value, applicable.binding.limit.unit) == (2000.0, "f/m3")
    assert applicable.binding.value == pytest.approx(0.002)
    assert [a.value for a in applicable.legal] == pytest.approx([0.002, 0.1])
    # Chrysotile (2014) and amphibole (2017) rows share the CAS: the later row wins, flagged.
    assert applicable.binding.limit.substance_name == "Asbest - amfibool"
    assert LimitFlag.OVERLAP in applicable.binding.flags
    assert [o.substance_name for o in applicable.binding.overlapping] == ["Asbest - chrysotiel (serpentijn)"]


def test_same_start_overlap_takes_the_strictest_and_flags_it() -> None:
    # Dir 2017/2398: Cr(VI) 0.010 general and 0.025 for welding, both 2020-01-17..2025-01-17.
    applicable = limits_in_force(
        reference(),
        substance_name="Chromium (VI) compounds (carcinogens, as Cr)",
        on=dt.date(2021, 6, 1),
        limit_type="TWA8h",
        unit="ug/m3",
    )
    (eu,) = applicable.legal
    assert eu.value == pytest.approx(10.0)
    assert [o.value for o in eu.overlapping] == [0.025]
    assert LimitFlag.OVERLAP in eu.flags


def test_overlap_takes_the_latest_start() -> None:
    # SER: epichloorhydrine 1.9 mg/m3 2007-01-01..2010-05-04 and 0.19 from 2007-07-01.
    applicable = limits_in_force(reference(), cas="106-89-8", on=dt.date(2008, 1, 1), limit_type="TWA8h", unit="mg/m3")
    assert applicable.binding is not None
    assert applicable.binding.value == 0.19
    assert [o.value for o in applicable.binding.overlapping] == [1.9]


def test_unknown_start_date_is_flagged() -> None:
    applicable = limits_in_force(
        reference(), cas="630-08-0", on=dt.date(2020, 1, 1), limit_type="STEL15min", unit="mg/m3"
    )
    assert applicable.binding is not None
    assert applicable.binding.value == 117.0
    assert applicable.binding.flags == (LimitFlag.START_UNKNOWN,)


def test_name_normalisation() -> None:
    assert normalise_name("Acroleïne") == normalise_name(" ACROLEINE ") == "acroleine"
    assert normalise_name("1,3-Butadiene") == normalise_name("1,3 butadiene") == "1 3 butadiene"
    assert normalise_name("Chromium(VI) compounds") == normalise_name("Chromium (VI) compounds")
    assert normalise_name("Benzeen") != normalise_name("Benzene")


def test_rows_without_cas_are_matched_by_normalised_name() -> None:
    def hardwood(day: dt.date) -> float | None:
        applicable = limits_in_force(
            reference(), substance_name="HARDWOOD-dusts", on=day, limit_type="TWA8h", unit="mg/m3"
        )
        return applicable.binding.value if applicable.binding else None

    # Dir 2017/2398: 3 mg/m3 until 2023-01-17, then 2 mg/m3.
    assert hardwood(dt.date(2021, 6, 1)) == 3.0
    assert hardwood(dt.date(2024, 6, 1)) == 2.0


def test_name_does_not_override_a_different_cas() -> None:
    applicable = limits_in_force(
        reference(),
        cas="50-00-0",
        substance_name="Benzeen",
        on=dt.date(2018, 6, 1),
        limit_type="TWA8h",
        unit="mg/m3",
    )
    assert {a.limit.cas for a in applicable.legal} == {"50-00-0"}


def test_population_specific_level_is_informative_and_only_for_that_group() -> None:
    def lead_blv(population: str | None) -> ApplicableLimits:
        return limits_in_force(
            reference(),
            substance_name="Lead and its inorganic compounds (blood lead, PbB)",
            on=dt.date(2027, 1, 1),
            limit_type="BLV",
            unit="ug/100mL",
            population=population,
        )

    women = lead_blv("Women of childbearing age")
    assert women.binding is not None and women.binding.value == 30.0
    assert [(a.value, a.limit.population) for a in women.informative] == [(4.5, "women of childbearing age")]
    assert lead_blv(None).informative == ()


def test_indicative_values_do_not_bind() -> None:
    applicable = limits_in_force(reference(), cas="62-53-3", on=dt.date(2022, 1, 1), limit_type="TWA8h", unit="mg/m3")
    assert applicable.binding is None
    assert [a.value for a in applicable.informative] == [7.74]


def test_limit_unit_must_fit_the_limit_type() -> None:
    with pytest.raises(UnitError):
        benzene_on(dt.date(2018, 6, 1), unit="ug/L")


def test_ppm_without_a_molar_mass_is_refused() -> None:
    unknown = LimitValue(
        substance_name="Stof X",
        jurisdiction="sector",
        limit_type="TWA8h",
        value=1.0,
        unit="ppm",
        source_citation="sectorcatalogus 2020",
    )
    with pytest.raises(UnitError, match="molar mass"):
        limits_in_force(
            [unknown],
            substance_name="Stof X",
            on=dt.date(2021, 1, 1),
            limit_type="TWA8h",
            unit="mg/m3",
        )


def test_a_substance_must_be_named() -> None:
    with pytest.raises(ValueError, match="cas or substance_name"):
        limits_in_force(reference(), on=dt.date(2021, 1, 1), limit_type="TWA8h", unit="mg/m3")


@pytest.mark.parametrize(
    ("measured", "expected"),
    [
        (Measured(value=0.7), Verdict.WITHIN),  # equal is not above
        (Measured(value=0.71), Verdict.ABOVE),
        (Measured(value=0.5, censored=True), Verdict.WITHIN),  # < 0.5, below 0.7
        (Measured(value=1.0, censored=True), Verdict.UNDETERMINED),  # < 1.0 says nothing
    ],
)
def test_verdicts(measured: Measured, expected: Verdict) -> None:
    applicable = benzene_on(dt.date(2018, 6, 1))
    (binding,) = assess(applicable, measured)
    assert (binding.role, binding.verdict) == ("binding", expected)
