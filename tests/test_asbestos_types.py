"""Asbestos types meet their own limits: on 2016-01-01 the Dutch limit for chrysotile was
2000 fibres/m3 (since 2014-07-01) and for the amphiboles still 10 000 fibres/m3 (until
2017-01-01); the EU value of 0.1 f/cm3 applied to all forms (Dir 2009/148/EC Art. 8).
A laboratory names the type by its CAS number (Dir 2009/148/EC Art. 2)."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.asbestos import asbestos_types
from analytics.limits import ApplicableLimits, limits_in_force, load_reference_limits
from registry.services.substances import reference_substances
from tests.conftest import Employer, Server
from tests.helpers import air_sample, new_worker

CHRYSOTILE, AMOSITE, CROCIDOLITE = "12001-29-5", "12172-73-5", "12001-28-4"
NEW_YEAR_2016 = dt.date(2016, 1, 1)


def asbestos_on(cas: str, day: dt.date = NEW_YEAR_2016) -> ApplicableLimits:
    return limits_in_force(load_reference_limits(), cas=cas, on=day, limit_type="TWA8h", unit="f/m3")


def test_directive_2009_148_art_2_lists_six_types_each_with_its_own_cas() -> None:
    types = {kind.cas: (kind.name, kind.mineral_group) for kind in asbestos_types()}
    assert types == {
        "77536-66-4": ("Actinolite asbestos", "amphibole"),
        "12172-73-5": ("Grunerite asbestos (amosite)", "amphibole"),
        "77536-67-5": ("Anthophyllite asbestos", "amphibole"),
        "12001-29-5": ("Chrysotile", "serpentine"),
        "12001-28-4": ("Crocidolite", "amphibole"),
        "77536-68-6": ("Tremolite asbestos", "amphibole"),
    }
    assert all("2009/148" in kind.source_citation for kind in asbestos_types())


def test_chrysotile_on_new_year_2016_meets_the_chrysotile_limit() -> None:
    applicable = asbestos_on(CHRYSOTILE)
    assert applicable.binding is not None
    assert (applicable.binding.limit.substance_name, applicable.binding.limit.value) == (
        "Asbest - chrysotiel (serpentijn)",
        2000.0,
    )
    assert applicable.binding.limit.valid_from == dt.date(2014, 7, 1)
    assert [a.limit.jurisdiction for a in applicable.legal] == ["NL", "EU-BOELV"]
    assert [a.value for a in applicable.legal] == pytest.approx([2000.0, 100_000.0])  # 0.1 f/cm3 in f/m3
    assert applicable.binding.overlapping == ()  # the amphibole rows are not chrysotile's


def test_amosite_on_new_year_2016_meets_the_amphibole_limit() -> None:
    applicable = asbestos_on(AMOSITE)
    assert applicable.binding is not None
    assert (applicable.binding.limit.substance_name, applicable.binding.limit.value) == ("Asbest - amfibool", 10_000.0)
    assert applicable.binding.limit.valid_to == dt.date(2017, 1, 1)
    assert [a.limit.jurisdiction for a in applicable.legal] == ["NL", "EU-BOELV"]
    assert [a.value for a in applicable.legal] == pytest.approx([10_000.0, 100_000.0])
    assert "grunerite" in applicable.binding.limit.notation.casefold()


def test_the_amphibole_limit_dropped_to_2000_on_new_year_2017() -> None:
    binding = asbestos_on(CROCIDOLITE, dt.date(2017, 1, 1)).binding
    assert binding is not None and binding.limit.value == 2000.0


def test_a_sample_of_undetermined_type_keeps_the_group_rows() -> None:
    applicable = asbestos_on("1332-21-4")
    assert applicable.binding is not None and applicable.binding.limit.cas == "1332-21-4"


def test_the_six_types_are_in_the_substance_catalogue() -> None:
    catalogue = {s.cas: s for s in reference_substances() if s.cas}
    for kind in asbestos_types():
        assert catalogue[kind.cas].name == kind.name
        assert catalogue[kind.cas].carcinogen_category == "1A"


def test_a_chrysotile_and_an_amosite_sample_each_meet_their_own_limit(
    live: tuple[Server, Employer, Employer],
) -> None:
    """5000 fibres/m3 on 2016-01-01 is above the chrysotile limit and below the amphibole one."""
    server, employer, _ = live
    with server.client(employer.api_key) as client:
        worker = new_worker(client)
        ids: dict[str, str] = {}
        for cas in (CHRYSOTILE, AMOSITE):
            sample = air_sample(
                worker,
                substance_cas=cas,
                value=5000,
                unit="f/m3",
                sampling_start="2016-01-01T07:30:00+01:00",
                sampling_end="2016-01-01T15:00:00+01:00",
            )
            response = client.post("/api/v1/measurements", json=sample)
            assert response.status_code == 201, response.text
            ids[cas] = response.json()["id"]
        history = client.get(f"/api/v1/workers/{worker}/history").json()
        compared = {m["measurement"]["id"]: m["comparison"] for m in history["measurements"]}
        chrysotile, amosite = compared[ids[CHRYSOTILE]], compared[ids[AMOSITE]]
        assert (chrysotile["limit"]["value"], chrysotile["limit"]["unit"]) == (2000.0, "f/m3")
        assert (amosite["limit"]["value"], amosite["limit"]["unit"]) == (10_000.0, "f/m3")
        assert chrysotile["above_limit"] and not amosite["above_limit"]
        exceeded = {e["measurement_id"] for e in client.get("/api/v1/compliance/exceedances").json()}
        assert ids[CHRYSOTILE] in exceeded and ids[AMOSITE] not in exceeded
