"""CSV import of limit values and the cited starter set."""

from __future__ import annotations

import csv
from collections import Counter

from analytics.asbestos import asbestos_types
from analytics.limits import REFERENCE_DIR, import_limits_csv, load_reference_limits, molar_mass_of

HEADER = "substance_name,cas,jurisdiction,limit_type,value,unit,valid_from,valid_to,source_citation"
CITE = "Stcrt 2018 41167"
ASBESTOS_TYPES = {kind.cas for kind in asbestos_types()}


def lines(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


def rejected_fields(text: str) -> set[tuple[int, str]]:
    return {(r.line, r.field) for r in import_limits_csv(text).rejected}


def test_good_rows_are_accepted_and_bad_rows_reported_by_line_and_field() -> None:
    text = lines(
        f"Benzeen,71-43-2,NL,TWA8h,0.7,mg/m3,2017-10-01,,{CITE}",  # line 2: good
        f"Tolueen,108-88-3,NL,TWA8h,abc,mg/m3,,,{CITE}",  # 3: value
        f'Tolueen,108-88-3,NL,TWA8h,"0,7",mg/m3,,,{CITE}',  # 4: decimal comma
        f"Styreen,100-42-5,NL,TWA8h,86,mg/m3,2020-13-01,,{CITE}",  # 5: date
        f"Styreen,100-42-5,NL,TWA8h,86,mg/m3,2020-01-01,2019-01-01,{CITE}",  # 6: interval
        f"Xyleen,1330-20-7,EU,TWA8h,210,mg/m3,,,{CITE}",  # 7: jurisdiction
        f"Xyleen,1330-20-7,NL,TWA8h,210,mg/m³ air,,,{CITE}",  # 8: unit
        "Xyleen,1330-20-7,NL,TWA8h,210,mg/m3,,,",  # 9: citation
        f"Xyleen,1330-20-7,NL,TWA8h,210,mg/m3,,{CITE}",  # 10: too few fields
        f"Koolmonoxide,630-08-0,NL,STEL15min,117,mg/m3,,,{CITE}",  # 11: good
    )
    result = import_limits_csv(text)
    assert [(a.substance_name, a.value) for a in result.accepted] == [
        ("Benzeen", 0.7),
        ("Koolmonoxide", 117.0),
    ]
    assert {(r.line, r.field) for r in result.rejected} == {
        (3, "value"),
        (4, "value"),
        (5, "valid_from"),
        (6, "valid_to"),
        (7, "jurisdiction"),
        (8, "unit"),
        (9, "source_citation"),
        (10, "row"),
    }
    reasons = {r.line: r.reason for r in result.rejected}
    assert "decimal point" in reasons[4]
    assert "YYYY-MM-DD" in reasons[5]
    assert not result.ok  # an official list is applied whole or not at all


def test_a_row_with_several_problems_reports_each() -> None:
    text = lines("Benzeen,71-43-3,NL,TWA8h,-1,mg/m3,,,")
    assert rejected_fields(text) == {(2, "cas"), (2, "value"), (2, "source_citation")}


def test_clean_file_is_ok() -> None:
    result = import_limits_csv(lines(f"Benzeen,71-43-2,NL,TWA8h,0.7,mg/m3,2017-10-01,,{CITE}"))
    assert result.ok
    assert len(result.accepted) == 1


def test_missing_and_unknown_columns_reject_the_file_at_line_1() -> None:
    text = "substance_name,cas,jurisdiction,limit_type,value,unit,valid_form,source_citation\n"
    text += f"Benzeen,71-43-2,NL,TWA8h,0.7,mg/m3,2017-10-01,{CITE}\n"
    result = import_limits_csv(text)
    assert result.accepted == []
    assert {(r.line, r.field) for r in result.rejected} == {
        (1, "valid_from"),
        (1, "valid_to"),
        (1, "valid_form"),
    }


def test_line_numbers_count_quoted_newlines_and_skip_blank_lines() -> None:
    text = lines(
        f'"Benzeen\nmulti-line name",71-43-2,NL,TWA8h,0.7,mg/m3,,,{CITE}',  # lines 2-3
        "",  # line 4
        f"Tolueen,108-88-3,NL,TWA8h,-5,mg/m3,,,{CITE}",  # line 5
    )
    assert rejected_fields(text) == {(5, "value")}


def test_excel_byte_order_mark_is_ignored() -> None:
    result = import_limits_csv("\ufeff" + lines(f"Benzeen,71-43-2,NL,TWA8h,0.7,mg/m3,,,{CITE}"))
    assert result.ok


def test_unit_with_analyte_and_matrix_is_split() -> None:
    text = lines(f"Lood (bloed),,EU-BOELV,BLV,30,µg Pb/100 ml blood,2026-04-09,2028-12-31,{CITE}")
    (limit,) = import_limits_csv(text).accepted
    assert (limit.unit, limit.analyte, limit.matrix) == ("ug/100mL", "Pb", "blood")


def test_air_limit_expressed_as_a_basis() -> None:
    text = lines(f"DME,,NL,TWA8h,0.010,mg/m3 (as elemental carbon),2020-07-01,,{CITE}")
    (limit,) = import_limits_csv(text).accepted
    assert (limit.unit, limit.analyte) == ("mg/m3", "elemental carbon")


def test_analyte_column_must_agree_with_the_unit() -> None:
    text = HEADER + ",analyte\n"
    text += f"Lood,,EU-BOELV,BLV,30,µg Pb/100 ml blood,2026-04-09,,{CITE},Cd\n"
    assert rejected_fields(text) == {(2, "analyte")}


def test_company_limit_with_optional_columns() -> None:
    text = HEADER + ",owner_employer_id,notation\n"
    text += "Benzeen,71-43-2,company,TWA8h,0.1,ppm,2018-01-01,,huisnorm,12345678,H\n"
    (limit,) = import_limits_csv(text).accepted
    assert (limit.owner_employer_id, limit.notation, limit.unit) == ("12345678", "H", "ppm")


def reference_rows() -> list[dict[str, str]]:
    with (REFERENCE_DIR / "oel_reference.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_starter_set_loads_every_row() -> None:
    rows = reference_rows()
    limits = load_reference_limits()
    assert len(rows) == 279  # NOTES.md: 279 rows
    published = [limit for limit in limits if limit.cas not in ASBESTOS_TYPES]
    assert len(published) == len(rows)
    # Each asbestos row is also stated per type it covers (test_asbestos_types.py): the four EU
    # "all forms" rows for six types, NL chrysotile for one, the two NL amphibole rows for five.
    assert len(limits) - len(published) == 4 * 6 + 1 + 2 * 5
    # NOTES.md: the women-of-childbearing-age blood-lead level is a non-binding EU value.
    assert Counter(limit.jurisdiction for limit in published) == {"EU-BOELV": 83, "EU-IOELV": 111, "NL": 85}


def test_the_population_named_in_the_substance_name_is_a_field() -> None:
    limits = load_reference_limits()
    (women,) = [limit for limit in limits if limit.population]
    assert women.substance_name == "Lead and its inorganic compounds (blood lead, PbB)"
    assert women.population == "women of childbearing age"
    assert (women.jurisdiction, women.value, women.matrix) == ("EU-IOELV", 4.5, "blood")
    (chromium,) = [limit for limit in limits if limit.cas == "1333-82-0"]
    assert "chroomtrioxide" in chromium.notation


def test_the_strict_import_accepts_the_corrected_research_file() -> None:
    """An administrator's import of the reference file gives the same rows, except that the
    population stays part of the substance name there."""
    text = (REFERENCE_DIR / "oel_reference.csv").read_text(encoding="utf-8")
    strict = import_limits_csv(text)
    assert strict.ok
    reference = load_reference_limits()
    assert len(strict.accepted) == len(reference)
    assert [s.substance_name for s in strict.accepted if s.population] == [
        "Lead and its inorganic compounds (blood lead, PbB) - women of childbearing age"
    ]


def test_respirable_and_inhalable_values_are_told_apart_by_their_fraction() -> None:
    """Manganese (NL, bijlage XIII): 0.2 mg/m3 inhalable and 0.05 mg/m3 respirable, both in
    force at once; a respirable-dust result is judged against the respirable value."""
    manganese = [
        (limit.value, limit.fraction) for limit in load_reference_limits() if limit.substance_name.startswith("Mangaan")
    ]
    assert sorted(manganese) == [(0.05, "respirable"), (0.2, "inhalable")]
    silica = [
        limit for limit in load_reference_limits() if limit.substance_name == "Respirable crystalline silica dust"
    ]
    assert [(s.value, s.fraction, s.cas) for s in silica] == [(0.1, "respirable", "14808-60-7")]


def test_a_fraction_must_be_one_named_in_en_481() -> None:
    text = HEADER + ",fraction\n" + f"Mangaan,7439-96-5,NL,TWA8h,0.05,mg/m3,,,{CITE},respirabel\n"
    assert rejected_fields(text) == {(2, "fraction")}


def test_agents_without_a_molar_mass_still_load_and_convert_nothing() -> None:
    """NOTES.md item 11: asbestos, hardwood dust and diesel exhaust have no molar mass."""
    assert molar_mass_of(cas="1332-21-4", substance_name="Asbestos (all forms)") is None
    assert molar_mass_of(substance_name="Hardwood dust") is None
    assert molar_mass_of(cas="71-43-2") == 78.11


def test_hazard_rows_are_cited_and_refer_to_known_substances() -> None:
    with (REFERENCE_DIR / "substances.csv").open(encoding="utf-8", newline="") as handle:
        known = {row["cas"] for row in csv.DictReader(handle)}
    with (REFERENCE_DIR / "substance_hazards.csv").open(encoding="utf-8", newline="") as handle:
        hazards = list(csv.DictReader(handle))
    assert hazards
    for row in hazards:
        assert row["cas"] in known, row
        assert row["source_citation"].startswith("http"), row
        categories = (
            "carcinogen_category",
            "mutagen_category",
            "reprotoxic_category",
            "sensitiser",
        )
        assert any(row[column] for column in categories), row
