"""Results to review before signing, over HTTP on both stores: a unit no limit of the substance
fits (lead in ppm, benzene in f/cm3) and an implausible value (5,000 f/cm3 of asbestos) are
warned about when recorded and flagged in the reports; the Expostats prior is chosen per request."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Place, Server, create_employer, run_cli
from tests.helpers import air_sample, new_worker

LEAD, ASBESTOS = "7439-92-1", "1332-21-4"


def _shift(day: str) -> dict[str, str]:
    return {"sampling_start": f"{day}T07:00:00+01:00", "sampling_end": f"{day}T15:00:00+01:00"}


def test_lead_in_ppm_flagged_and_5000_fibres_per_cm3_of_asbestos_reviewed(place: Place) -> None:
    employer = create_employer(place, "61616160", "Sloopbedrijf B.V.")
    server = Server(place)
    server.start()
    try:
        with server.client(employer.api_key) as client:
            worker = new_worker(client)
            seg = client.post("/api/v1/segs", json={"name": "Sloopploeg"}).json()["id"]
            lead = air_sample(worker, seg_id=seg, substance_cas=LEAD, value=0.02, unit="ppm", **_shift("2024-03-04"))
            answer = client.post("/api/v1/measurements", json=lead)
            assert answer.status_code == 201, answer.text
            (warning,) = answer.json()["warnings"]
            assert warning.startswith("niet vergelijkbaar: geen grenswaarde van Lead")
            assert (
                "not comparable: unit: no limit of Lead and its inorganic compounds can be expressed in ppm" in warning
            )

            batch = [
                air_sample(worker, seg_id=seg, value=0.2, unit="f/cm3", **_shift("2024-03-05")),  # benzene
                air_sample(
                    worker, seg_id=seg, substance_cas=ASBESTOS, value=5000, unit="f/cm3", **_shift("2024-03-06")
                ),
                air_sample(worker, seg_id=seg, value=0.1, **_shift("2024-03-07")),  # benzene in mg/m3: fine
            ]
            answer = client.post("/api/v1/measurements/batch", json={"items": batch})
            assert answer.status_code == 201, answer.text
            benzene, asbestos, plain = (item["warnings"] for item in answer.json()["items"])
            assert len(benzene) == 1 and "not comparable: unit" in benzene[0] and "f/cm3" in benzene[0]
            assert len(asbestos) == 1 and asbestos[0].startswith("onwaarschijnlijk") and "implausible" not in plain

            report = {row["substance_name"]: row for row in client.get("/api/v1/compliance/report").json()}
            assert _flags(report["Lead and its inorganic compounds"]) == [("not comparable: unit", 1)]
            assert report["Lead and its inorganic compounds"]["en689"]["n"] == 0
            assert _flags(report["Benzene"]) == [("not comparable: unit", 1)]
            assert report["Benzene"]["en689"]["n"] == 1  # the mg/m3 result is compared as ever
            (flag,) = report["Asbestos (all forms)"]["review"]
            assert flag["flag"] == "implausible: review value and unit"

            (found,) = [e for e in client.get("/api/v1/compliance/exceedances").json() if e["unit"] == "f/cm3"]
            assert found["value"] == 5000 and found["review"] and "check value and unit" in found["review"][0]
    finally:
        server.stop()


def _flags(row: dict[str, Any]) -> list[tuple[str, int]]:
    return [(flag["flag"], len(flag["measurement_ids"])) for flag in row["review"]]


def test_the_expostats_prior_is_chosen_and_named(place: Place) -> None:
    employer = create_employer(place, "62626260", "Verfspuiterij B.V.")
    server = Server(place)
    server.start()
    try:
        with server.client(employer.api_key) as client:
            worker = new_worker(client)
            seg = client.post("/api/v1/segs", json={"name": "Spuitcabine"}).json()["id"]
            items = [
                air_sample(worker, seg_id=seg, value=v, **_shift(f"2024-04-0{i + 1}"))
                for i, v in enumerate([0.05, 0.2, 0.1])
            ]
            assert client.post("/api/v1/measurements/batch", json={"items": items}).status_code == 201
            (default,) = client.get("/api/v1/compliance/report").json()
            (flat,) = client.get("/api/v1/compliance/report", params={"prior": "uninformative"}).json()
            assert default["bayesian"]["prior"] == "informedvar"
            assert (
                flat["bayesian"]["prior"] == "uninformative" and "Uniform(0, 2.3)" in flat["bayesian"]["prior_detail"]
            )
            assert client.get("/api/v1/compliance/report", params={"prior": "flat"}).status_code == 422
        out = run_cli(place, "report", "--prior", "uninformative")
        (row,) = [json.loads(line) for line in out.stdout.splitlines()]
        assert row["bayesian"]["prior"] == "uninformative"
        refused = run_cli(place, "report", "--prior", "flat", check=False)
        assert refused.returncode != 0 and "--prior" in refused.stderr
    finally:
        server.stop()
