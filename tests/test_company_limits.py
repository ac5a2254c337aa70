"""Company and sector limits: a refinery's house norm for benzene (0.05 ppm, about 0.16 mg/m3)
and its sector's norm (0.1 ppm) are shown beside the legal limit (NL 0.7 mg/m3) with their own
counts, never replacing it; a sawmill sees neither."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from tests.conftest import STORES, Employer, Server, make_place, run_cli
from tests.helpers import air_sample, new_worker

HOUSE_NORM = {
    "substance_name": "Benzeen",
    "cas": "71-43-2",
    "limit_type": "TWA8h",
    "value": 0.05,
    "unit": "ppm",
    "valid_from": "2018-01-01",
    "source_citation": "Huisnorm benzeen, directiebesluit 2017-12-01",
}
SECTOR_LIST = (
    "substance_name,cas,jurisdiction,limit_type,value,unit,valid_from,valid_to,source_citation\n"
    "Benzeen,71-43-2,sector,TWA8h,0.1,ppm,2020-01-01,,Branchenorm aardolie-industrie 2020\n"
)
RESULTS_MG_M3 = [0.1, 0.2, 0.9, 0.3]  # 2023; 0.05 ppm = 0.162 mg/m3, 0.1 ppm = 0.325 mg/m3


class World(msgspec.Struct):
    server: Server
    refinery: Employer
    sawmill: Employer


@pytest.fixture(scope="module", params=STORES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("company-limits")
    place = make_place(base, request.param)
    employers = [
        msgspec.convert(json.loads(run_cli(place, "employer", "create", *args).stdout), Employer)
        for args in (
            ("--kvk", "71717170", "--name", "Raffinaderij B.V.", "--sbi", "1920"),
            ("--kvk", "72727270", "--name", "Zagerij B.V.", "--sbi", "1610"),
        )
    ]
    (base / "aardolie.csv").write_text(SECTOR_LIST)
    run_cli(place, "limits", "import", "--sector", "19", str(base / "aardolie.csv"))
    server = Server(place)
    server.start()
    try:
        yield World(server=server, refinery=employers[0], sawmill=employers[1])
    finally:
        server.stop()


def seg_with_results(client: httpx.Client) -> None:
    worker = new_worker(client)
    seg = client.post("/api/v1/segs", json={"name": "Tankenpark"}).json()["id"]
    items = [
        air_sample(
            worker,
            seg_id=seg,
            value=value,
            sampling_start=f"2023-0{i + 1}-01T07:00:00+01:00",
            sampling_end=f"2023-0{i + 1}-01T15:00:00+01:00",
        )
        for i, value in enumerate(RESULTS_MG_M3)
    ]
    assert client.post("/api/v1/measurements/batch", json={"items": items}).status_code == 201


def report_row(client: httpx.Client) -> dict[str, Any]:
    (row,) = client.get("/api/v1/compliance/report", params={"bayesian": False}).json()
    return dict(row)


def test_house_and_sector_norms_are_reported_beside_the_legal_limit(world: World) -> None:
    with world.server.client(world.refinery.api_key) as refinery, world.server.client(world.sawmill.api_key) as sawmill:
        seg_with_results(refinery)
        seg_with_results(sawmill)
        before = report_row(refinery)
        created = refinery.post("/api/v1/limits/company", json=HOUSE_NORM)
        assert created.status_code == 201, created.text
        after = report_row(refinery)
        # The verdict rests on the legal limit alone, before and after the house norm.
        assert after["en689"] == before["en689"]
        assert {(limit["jurisdiction"], limit["value"]) for limit in after["limits"]} == {("NL", 0.7)}
        beside = {
            (a["limit"]["jurisdiction"], a["limit"]["value"], a["limit"]["unit"]): a for a in after["additional_limits"]
        }
        assert set(beside) == {("company", 0.05, "ppm"), ("sector", 0.1, "ppm")}
        house, sector = beside[("company", 0.05, "ppm")], beside[("sector", 0.1, "ppm")]
        assert (house["compared"], house["above"]) == (4, 3)  # 0.2, 0.9 and 0.3 mg/m3 exceed 0.162
        assert (sector["compared"], sector["above"], sector["sector_sbi"]) == (4, 1, "19")  # only 0.9 exceeds 0.325
        assert house["limit"]["citation"] == HOUSE_NORM["source_citation"]
        # The sawmill (SBI 1610) sees neither the refinery's norm nor the oil industry's.
        assert report_row(sawmill)["additional_limits"] == []
        assert sawmill.get("/api/v1/limits/company").json() == []

        withdrawn = refinery.delete(f"/api/v1/limits/company/{created.json()['id']}")
        assert withdrawn.status_code == 204
        assert [a["limit"]["jurisdiction"] for a in report_row(refinery)["additional_limits"]] == ["sector"]
        assert refinery.delete(f"/api/v1/limits/company/{created.json()['id']}").status_code == 404


def test_setting_a_norm_again_returns_it_and_another_value_waits_for_a_withdrawal(world: World) -> None:
    norm = {**HOUSE_NORM, "substance_name": "Tolueen", "cas": "108-88-3", "value": 50, "unit": "mg/m3"}
    with world.server.client(world.refinery.api_key) as client:
        first = client.post("/api/v1/limits/company", json=norm)
        assert first.status_code == 201, first.text
        again = client.post("/api/v1/limits/company", json=norm)
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
        stricter = client.post("/api/v1/limits/company", json={**norm, "value": 25})
        assert stricter.status_code == 409 and first.json()["id"] in stricter.json()["detail"]
        listed = [limit for limit in client.get("/api/v1/limits/company").json() if limit["cas"] == "108-88-3"]
        assert [(limit["value"], limit["unit"]) for limit in listed] == [(50.0, "mg/m3")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"unit": "furlong"}, "unit"),
        ({"cas": "71-43-3"}, "cas"),
        ({"unit": "ug/100mL"}, "unit"),  # an 8-h air limit in a blood unit
        ({"valid_from": "2020-01-01", "valid_to": "2019-01-01"}, "valid_to"),
        ({"fraction": "respirabel"}, "fraction"),
    ],
)
def test_a_norm_breaking_a_rule_is_refused_naming_the_field(world: World, change: dict[str, Any], field: str) -> None:
    with world.server.client(world.refinery.api_key) as client:
        refused = client.post("/api/v1/limits/company", json={**HOUSE_NORM, **change})
        assert refused.status_code in (400, 422), refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert field in refused.text


def test_a_norm_cannot_claim_to_be_law(world: World) -> None:
    with world.server.client(world.refinery.api_key) as client:
        refused = client.post("/api/v1/limits/company", json={**HOUSE_NORM, "jurisdiction": "NL"})
        assert refused.status_code in (400, 422) and "jurisdiction" in refused.text


def test_a_dust_norm_keeps_its_particle_size_fraction(world: World) -> None:
    dust = {
        **HOUSE_NORM,
        "substance_name": "Kwarts",
        "cas": "14808-60-7",
        "value": 0.025,
        "unit": "mg/m3",
        "fraction": "respirable",
    }
    with world.server.client(world.refinery.api_key) as client:
        created = client.post("/api/v1/limits/company", json=dust)
        assert created.status_code == 201, created.text
        assert (created.json()["fraction"], created.json()["value"]) == ("respirable", 0.025)
