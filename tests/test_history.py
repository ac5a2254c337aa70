"""A worker's exposure history: each employer sees its own part, the operator answering the
worker's request sees all of it, every result is judged against the limit of its own date,
and every read is in the audit log.

The career (reference limits from analytics/reference/oel_reference.csv; the binding limit
is the stricter of NL and EU-BOELV in force):
- 2000-2010 employee at the demolition firm: benzene 6.5 mg/m3 over a shift in 2005
  (limit 3.25, index 2.0), a non-detect (LOD 0.1) in 2008, a blood sample, a register entry;
- 2011-2020 agency worker (via the agency) at the paint shop: toluene 500 mg/m3 for 10 min
  (15-min average 333.33 against the STEL of 384: index 0.868), toluene over 1 h (neither a
  shift nor a 15-min sample: not compared), benzene 0.65 mg/m3 over a shift in 2015 (index 0.2).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from registry.access import audit
from registry.demo import valid_bsn
from registry.runtime import open_runtime
from tests.conftest import STORES, Employer, Place, Server, create_employer, make_place, run_cli
from tests.helpers import air_sample

BSN = "111222333"


class Career(msgspec.Struct):
    place: Place
    server: Server
    demolition: Employer
    paint_shop: Employer
    agency: Employer
    stranger: Employer
    worker_id: str  # the demolition firm's worker id for the person
    paint_shop_worker_id: str
    agency_worker_id: str
    measurements: dict[str, str]


@pytest.fixture(scope="module", params=STORES)
def career(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Career]:
    place = make_place(tmp_path_factory.mktemp("history"), request.param)
    demolition = create_employer(place, "31313130", "Sloopbedrijf Oud B.V.")
    paint_shop = create_employer(place, "32323230", "Spuiterij Nieuw B.V.")
    agency = create_employer(place, "33333330", "Uitzendbureau Flex B.V.")
    stranger = create_employer(place, "34343430", "Onbekend B.V.")
    server = Server(place)
    server.start()
    try:
        yield _build_career(place, server, demolition, paint_shop, agency, stranger)
    finally:
        server.stop()  # also when building the career failed: no server outlives the tests


def _build_career(
    place: Place, server: Server, demolition: Employer, paint_shop: Employer, agency: Employer, stranger: Employer
) -> Career:
    ids: dict[str, str] = {}
    with (
        server.client(demolition.api_key) as old,
        server.client(paint_shop.api_key) as new,
        server.client(agency.api_key) as flex,
    ):
        person = {"bsn": BSN, "name": "Piet Blootgesteld", "date_of_birth": "1960-02-03"}
        worker = old.post("/api/v1/workers", json=person).json()["id"]
        hired = new.post("/api/v1/workers", json=person).json()["id"]
        assert hired != worker  # each employer knows the person by its own id
        placed = flex.post("/api/v1/workers", json=person).json()["id"]
        _ok(old.post("/api/v1/employments", json=_job(worker, "2000-01-01", "2010-12-31")))
        _ok(
            new.post(
                "/api/v1/employments",
                json=_job(hired, "2011-01-01", "2020-12-31", employment_type="agency", agency_kvk="33333330"),
            )
        )
        ids["shift_2005"] = _measure(old, worker, "71-43-2", 6.5, "2005-06-01T07:00:00Z", minutes=480)
        ids["non_detect"] = _measure(
            old, worker, "71-43-2", None, "2008-03-03T07:00:00Z", minutes=480, below_lod=True, lod=0.1
        )
        ids["blood"] = _measure(
            old,
            worker,
            "71-43-2",
            27.5,
            "2009-09-09T07:00:00Z",
            minutes=5,
            sample_type="biological",
            unit="ug/L",
            matrix="urine",
            analyte="S-fenylmercaptuurzuur",
            air_volume_l=None,
        )
        ids["stel"] = _measure(new, hired, "108-88-3", 500.0, "2015-05-05T10:00:00Z", minutes=10)
        ids["one_hour"] = _measure(new, hired, "108-88-3", 120.0, "2016-05-05T10:00:00Z", minutes=60)
        ids["shift_2015"] = _measure(new, hired, "71-43-2", 0.65, "2015-02-02T07:00:00Z", minutes=480)
        entry = {
            "worker_id": worker,
            "substance_cas": "71-43-2",
            "task": "slopen van tanks",
            "period_start": "2000-01-01",
            "period_end": "2010-12-31",
            "level_value": 5.0,
            "level_unit": "mg/m3",
            "basis": "measured",
            "measurement_ids": [ids["shift_2005"]],
        }
        _ok(old.post("/api/v1/registrations", json=entry))
    return Career(
        place=place,
        server=server,
        demolition=demolition,
        paint_shop=paint_shop,
        agency=agency,
        stranger=stranger,
        worker_id=worker,
        paint_shop_worker_id=hired,
        agency_worker_id=placed,
        measurements=ids,
    )


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _job(worker: str, start: str, end: str, **extra: str) -> dict[str, str]:
    return {"worker_id": worker, "start_date": start, "end_date": end, **extra}


def _measure(client: Any, worker: str, cas: str, value: float | None, start: str, *, minutes: int, **extra: Any) -> str:
    end = datetime.fromisoformat(start) + timedelta(minutes=minutes)
    sample = air_sample(
        worker, substance_cas=cas, value=value, sampling_start=start, sampling_end=end.isoformat(), **extra
    )
    created: str = _ok(client.post("/api/v1/measurements", json=sample))["id"]
    return created


def _history(career: Career, employer: Employer, worker_id: str | None = None) -> Any:
    with career.server.client(employer.api_key) as client:
        return client.get(f"/api/v1/workers/{worker_id or career.worker_id}/history")


def _by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["measurement"]["id"]: item for item in document["measurements"]}


def test_an_employer_sees_only_what_it_recorded_with_the_limit_of_each_date(career: Career) -> None:
    document = _ok(_history(career, career.demolition))
    assert document["schema"] == "blootstellingsregister/worker-history/v1" and document["scope"] == "employer"
    assert document["worker"]["bsn"] == BSN
    ids = career.measurements
    items = _by_id(document)
    assert set(items) == {ids["shift_2005"], ids["non_detect"], ids["blood"]}
    assert [e["start_date"] for e in document["employments"]] == ["2000-01-01"]
    assert len(document["registrations"]) == 1

    shift = items[ids["shift_2005"]]["comparison"]
    assert shift["limit_type"] == "TWA8h" and shift["limit"]["value"] == 3.25
    assert shift["exposure_index"] == pytest.approx(2.0) and shift["above_limit"] is True
    non_detect = items[ids["non_detect"]]["comparison"]
    assert non_detect["non_detect"] is True and non_detect["above_limit"] is False
    assert non_detect["exposure_index"] == pytest.approx(0.1 / 3.25)

    blood = items[ids["blood"]]
    assert blood["comparison"] is None and blood["measurement"]["value"] is None
    assert "bedrijfsarts" in blood["measurement"]["result_withheld"]
    assert "27.5" not in json.dumps(document)

    (benzene,) = document["substances"]
    assert benzene["cas"] == "71-43-2" and benzene["employers"] == 1
    assert (benzene["measurements"], benzene["registrations"], benzene["compared"], benzene["above_limit"]) == (
        3,
        1,
        2,
        1,
    )
    assert benzene["highest_exposure_index"] == pytest.approx(2.0)
    assert (benzene["first_date"], benzene["last_date"]) == ("2000-01-01", "2010-12-31")


def test_short_samples_meet_the_stel_and_other_samples_are_not_compared(career: Career) -> None:
    document = _ok(_history(career, career.paint_shop, career.paint_shop_worker_id))
    items = _by_id(document)
    ids = career.measurements
    assert set(items) == {ids["stel"], ids["one_hour"], ids["shift_2015"]}
    stel = items[ids["stel"]]["comparison"]
    assert stel["limit_type"] == "STEL15min" and stel["limit"]["value"] == 384
    assert stel["compared_value"] == pytest.approx(500 * 10 / 15)
    assert stel["exposure_index"] == pytest.approx(500 * 10 / 15 / 384) and stel["above_limit"] is False
    assert items[ids["one_hour"]]["comparison"] is None
    assert items[ids["shift_2015"]]["comparison"]["exposure_index"] == pytest.approx(0.65 / 3.25)
    (employment,) = document["employments"]
    assert employment["agency_employer_id"] == career.agency.id


def test_the_agency_sees_the_exposure_recorded_during_the_placements_it_arranged(career: Career) -> None:
    document = _ok(_history(career, career.agency, career.agency_worker_id))
    assert [e["employer_id"] for e in document["employments"]] == [career.paint_shop.id]
    ids = career.measurements
    assert set(_by_id(document)) == {ids["stel"], ids["one_hour"], ids["shift_2015"]}  # not the demolition's
    assert document["registrations"] == []
    assert document["worker"]["id"] == career.agency_worker_id  # its own record of the person
    # the hirer's worker id opens nothing else for the agency
    assert _history(career, career.agency, career.paint_shop_worker_id).status_code == 404


def test_an_unrelated_employer_gets_not_found(career: Career) -> None:
    response = _history(career, career.stranger)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert BSN not in response.text
    with career.server.client(career.demolition.api_key) as client:
        unknown = client.get("/api/v1/workers/00000000-0000-4000-8000-000000000000/history")
        assert unknown.status_code == 404


def test_the_operator_answers_the_worker_with_every_employer_and_audits_it(career: Career, tmp_path: Path) -> None:
    for employer in (career.demolition, career.paint_shop, career.agency, career.stranger):
        _history(career, employer)  # reads for the audit log, whichever tests ran before
    career.server.stop()  # the embedded store allows one process at a time
    try:
        out = tmp_path / "history.json"
        run_cli(career.place, "history", "--bsn", BSN, "--output", str(out))
        document = json.loads(out.read_text())
        assert document["scope"] == "registry" and document["purpose"] == "tsb_claim"
        assert set(_by_id(document)) == set(career.measurements.values())
        assert len(document["employments"]) == 2
        benzene, toluene = document["substances"]
        assert (benzene["substance_name"], toluene["substance_name"]) == ("Benzene", "Toluene")
        assert (benzene["employers"], benzene["measurements"], benzene["compared"], benzene["above_limit"]) == (
            2,
            4,
            3,
            1,
        )
        assert (benzene["first_date"], benzene["last_date"]) == ("2000-01-01", "2015-02-02")
        assert (toluene["employers"], toluene["measurements"], toluene["compared"]) == (1, 2, 1)
        assert toluene["highest_exposure_index"] == pytest.approx(500 * 10 / 15 / 384)
        assert "27.5" not in out.read_text()  # the operator does not see medical values either

        refused = run_cli(career.place, "history", "--bsn", valid_bsn(random.Random(3)), check=False)
        assert refused.returncode != 0 and "no worker" in refused.stderr

        rt = open_runtime(career.place.settings())
        try:
            with rt.db.read() as tx:
                rows = tx.all(
                    "SELECT actor_type, actor_id, purpose, outcome, reason FROM audit_log "
                    "WHERE resource_type = 'worker_history' AND subject_worker_id = ? ORDER BY occurred_at",
                    [career.worker_id],
                )
                assert ("operator", "cli", "tsb_claim", "allowed", "registry operator") in rows
                assert (
                    "employer",
                    f"key:{career.stranger.key_id}",
                    "legal_duty",
                    "denied",
                    "recorded by another employer",
                ) in rows
                assert sum(r[3] == "allowed" for r in rows) >= 2  # the demolition firm and the operator
                assert audit.verify_chain(tx, rt.audit_seal, rt.audit_anchor.read()).entries > 0
        finally:
            rt.close()
    finally:
        career.server.start()
