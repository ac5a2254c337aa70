"""Blood lead against the values in force for the person sampled, over real HTTP on both stores.

The lead works (reference limits, analytics/reference/oel_reference.csv): from 9 April 2026
the binding EU blood-lead value is 30 µg/100 ml for everyone, and the EU recommends 4.5 µg/100
ml for women of childbearing age (an informative guidance value). The company doctor, under a
contract with the employer, records each worker's sex and, for a woman, whether she can bear
children; blood was taken on 1 June 2026.

- SEG "Accu-assemblage" (members through SEG membership): Anna (woman, can bear children)
  6.0, Bram (man) 6.0, Carla (woman, cannot) 6.0, Dirk (man) 35.0, Eva (woman, can) 3.0.
- SEG "Gieterij" (named on the samples): two workers, 40.0 and 10.0: too few for group figures.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from crypto import LOCAL_ISSUER
from registry.access import Actor, ActorKind, Purpose, Work
from registry.demo import valid_bsn
from registry.runtime import Runtime
from registry.services import medical_facts, organisations, workers
from schemas.errors import IntegrityFailure
from schemas.medical import MedicalFactsIn
from schemas.organisation import EmployerIn
from schemas.people import WorkerIn
from tests.conftest import STORES, Employer, Place, Server, create_employer, make_place, run_cli

DOCTOR = "big:19087654321"
SAMPLED = "2026-06-01"
WOMEN = "women of childbearing age"
_rng = random.Random(19)


class Works(msgspec.Struct):
    place: Place
    server: Server
    employer: Employer
    workers: dict[str, str]  # first name -> the employer's worker id
    bsns: dict[str, str]
    blood: dict[str, str]  # first name -> the id of their blood result
    doctor: str  # the company doctor's token


@pytest.fixture(scope="module", params=STORES)
def works(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Works]:
    place = make_place(tmp_path_factory.mktemp("blood"), request.param)
    employer = create_employer(place, "71717170", "Accufabriek Lood B.V.")
    server = Server(place)
    server.start()
    try:
        yield _build(place, server, employer)
    finally:
        server.stop()


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _build(place: Place, server: Server, employer: Employer) -> Works:
    people = {
        "Anna": ("female", True, "accu", 6.0),
        "Bram": ("male", None, "accu", 6.0),
        "Carla": ("female", False, "accu", 6.0),
        "Dirk": ("male", None, "accu", 35.0),
        "Eva": ("female", True, "accu", 3.0),
        "Floor": ("female", True, "gieterij", 40.0),
        "Gert": ("male", None, "gieterij", 10.0),
    }
    ids: dict[str, str] = {}
    bsns: dict[str, str] = {}
    blood: dict[str, str] = {}
    with server.client(employer.api_key) as client:
        grant = {"role": "company_doctor", "issuer": LOCAL_ISSUER, "subject": DOCTOR, "valid_from": "2020-01-01"}
        _ok(client.post("/api/v1/grants", json=grant))
        segs = {name: _ok(client.post("/api/v1/segs", json={"name": label}))["id"] for name, label in
                (("accu", "Accu-assemblage"), ("gieterij", "Gieterij"))}  # fmt: skip
        for name, (_, _, seg, _) in people.items():
            bsns[name] = valid_bsn(_rng)
            person = {"bsn": bsns[name], "name": name, "date_of_birth": "1990-01-01"}
            ids[name] = _ok(client.post("/api/v1/workers", json=person))["id"]
            _ok(client.post("/api/v1/employments", json={"worker_id": ids[name], "start_date": "2020-01-01"}))
            if seg == "accu":
                member = {"worker_id": ids[name], "start_date": "2020-01-01"}
                _ok(client.post(f"/api/v1/segs/{segs[seg]}/members", json=member))
        for name, (_, _, seg, value) in people.items():
            on_sample = {"seg_id": segs[seg]} if seg == "gieterij" else {}
            blood[name] = _ok(client.post("/api/v1/measurements", json=_blood(ids[name], value, **on_sample)))["id"]
    doctor = run_cli(place, "token", "--role", "company_doctor", "--subject", DOCTOR).stdout.strip()
    with server.client(doctor) as client:
        for name, (sex, can_bear_children, _, _) in people.items():
            facts = {"valid_from": "2020-01-01", "sex": sex, "childbearing_potential": can_bear_children}
            _ok(client.put(f"/api/v1/workers/{ids[name]}/medical-facts", json=facts))
    return Works(place=place, server=server, employer=employer, workers=ids, bsns=bsns, blood=blood, doctor=doctor)


def _blood(worker_id: str, value: float, day: str = SAMPLED, **extra: Any) -> dict[str, Any]:
    return {
        "sample_type": "biological",
        "substance_cas": "7439-92-1",
        "worker_id": worker_id,
        "value": value,
        "unit": "µg/100 ml",
        "matrix": "blood",
        "analyte": "lood in bloed (PbB)",
        "sampling_start": f"{day}T09:00:00+02:00",
        "sampling_end": f"{day}T09:05:00+02:00",
        **extra,
    }


def _blood_result(history: dict[str, Any], measurement_id: str) -> dict[str, Any]:
    (item,) = [m for m in history["measurements"] if m["measurement"]["id"] == measurement_id]
    return item  # type: ignore[no-any-return]


def _doctor_sees(works: Works, name: str) -> dict[str, Any]:
    with works.server.client(works.doctor) as doctor:
        history = _ok(doctor.get(f"/api/v1/workers/{works.workers[name]}/history"))
    return _blood_result(history, works.blood[name])


def test_the_guidance_value_of_4_5_applies_to_a_woman_of_childbearing_age_and_not_to_a_man(works: Works) -> None:
    anna, bram = _doctor_sees(works, "Anna"), _doctor_sees(works, "Bram")
    for person in (anna, bram):  # the binding blood-lead value applies to everyone: 6.0 is within 30
        binding = person["comparison"]
        assert (binding["limit_type"], binding["limit"]["value"], binding["limit"]["jurisdiction"]) == (
            "BLV",
            30,
            "EU-BOELV",
        )
        assert binding["limit"]["population"] is None and binding["above_limit"] is False
        assert binding["exposure_index"] == pytest.approx(6.0 / 30)
    (guidance,) = anna["guidance"]
    assert (guidance["limit"]["value"], guidance["limit"]["population"]) == (4.5, WOMEN)
    assert guidance["limit"]["jurisdiction"] == "EU-IOELV" and guidance["above_limit"] is True
    assert guidance["exposure_index"] == pytest.approx(6.0 / 4.5)
    assert bram["guidance"] == []


def test_a_woman_who_cannot_bear_children_is_held_to_the_values_for_everyone(works: Works) -> None:
    carla = _doctor_sees(works, "Carla")
    assert carla["comparison"]["limit"]["value"] == 30 and carla["guidance"] == []


def test_the_worker_sees_her_comparison_and_her_facts(works: Works) -> None:
    token = run_cli(works.place, "token", "--role", "worker", "--bsn", works.bsns["Anna"]).stdout.strip()
    with works.server.client(token) as anna:
        blood = _blood_result(_ok(anna.get("/api/v1/me/history")), works.blood["Anna"])
        assert blood["measurement"]["value"] == 6.0
        assert [(g["limit"]["value"], g["above_limit"]) for g in blood["guidance"]] == [(4.5, True)]
        (facts,) = _ok(anna.get("/api/v1/me/medical-facts"))
        assert (facts["sex"], facts["childbearing_potential"], facts["valid_from"]) == ("female", True, "2020-01-01")
        assert facts["populations"] == [WOMEN] and facts["recorded_by"].startswith(f"oidc:{DOCTOR}@")
        assert facts["worker_id"] == works.workers["Anna"]
        # The doctor's reads of her facts are in her access log.
        log = _ok(anna.get("/api/v1/me/access-log", params={"limit": 500}))["items"]
        assert ("company_doctor", "medical_facts", "create") in {
            (e["actor_role"], e["record_type"], e["action"]) for e in log
        }
        assert ("company_doctor", "medical_facts", "read") in {
            (e["actor_role"], e["record_type"], e["action"]) for e in log
        }


def test_the_employer_cannot_read_the_facts_nor_any_individual_comparison(works: Works) -> None:
    anna = works.workers["Anna"]
    with works.server.client(works.employer.api_key) as employer:
        refused = employer.get(f"/api/v1/workers/{anna}/medical-facts")
        assert refused.status_code == 404 and "female" not in refused.text
        facts = {"valid_from": "2020-01-01", "sex": "male"}
        assert employer.put(f"/api/v1/workers/{anna}/medical-facts", json=facts).status_code == 403
        history = _ok(employer.get(f"/api/v1/workers/{anna}/history"))
    blood = _blood_result(history, works.blood["Anna"])
    assert blood["comparison"] is None and blood["guidance"] == [] and blood["measurement"]["value"] is None
    with works.server.client(works.doctor) as doctor:  # the employer's PUT changed nothing
        assert [f["sex"] for f in _ok(doctor.get(f"/api/v1/workers/{anna}/medical-facts"))] == ["female"]


def test_the_employer_sees_group_counts_only_for_groups_of_five_or_more(works: Works) -> None:
    with works.server.client(works.employer.api_key) as employer:
        groups = _ok(employer.get("/api/v1/compliance/biological"))
    by_seg = {g["seg_name"]: g for g in groups}
    accu, foundry = by_seg["Accu-assemblage"], by_seg["Gieterij"]
    assert (accu["workers"], accu["results"], accu["year"], accu["matrix"]) == (5, 5, 2026, "blood")
    (binding,) = accu["limits"]  # the 4.5 for women of childbearing age is not the employer's to count
    assert (binding["role"], binding["limit"]["value"], binding["results_above"], binding["workers_above"]) == (
        "binding",
        30,
        1,
        1,
    )
    assert foundry["suppressed"].startswith("minder dan 5 werknemers")
    assert (foundry["workers"], foundry["results"], foundry["limits"]) == (None, None, [])
    assert "40.0" not in str(groups) and "35.0" not in str(groups)


def test_facts_apply_from_their_date_and_a_repeated_put_changes_nothing(works: Works) -> None:
    with works.server.client(works.employer.api_key) as client:
        person = {"bsn": valid_bsn(_rng), "name": "Hanna", "date_of_birth": "1985-01-01"}
        hanna = _ok(client.post("/api/v1/workers", json=person))["id"]
        _ok(client.post("/api/v1/employments", json={"worker_id": hanna, "start_date": "2020-01-01"}))
        june = _ok(client.post("/api/v1/measurements", json=_blood(hanna, 6.0)))["id"]
        august = _ok(client.post("/api/v1/measurements", json=_blood(hanna, 6.0, day="2026-08-03")))["id"]
    with works.server.client(works.doctor) as doctor:
        path = f"/api/v1/workers/{hanna}/medical-facts"
        first = {"valid_from": "2020-01-01", "sex": "female", "childbearing_potential": True}
        once, twice = _ok(doctor.put(path, json=first)), _ok(doctor.put(path, json=first))
        assert once["id"] == twice["id"]
        _ok(doctor.put(path, json={"valid_from": "2026-07-01", "sex": "female", "childbearing_potential": False}))
        versions = _ok(doctor.get(path))
        assert [(v["valid_from"], v["childbearing_potential"]) for v in versions] == [
            ("2020-01-01", True),
            ("2026-07-01", False),
        ]
        history = _ok(doctor.get(f"/api/v1/workers/{hanna}/history"))
    assert [g["limit"]["value"] for g in _blood_result(history, june)["guidance"]] == [4.5]
    assert _blood_result(history, august)["guidance"] == []


def test_facts_that_do_not_fit_are_refused_field_by_field(works: Works) -> None:
    with works.server.client(works.doctor) as doctor:
        path = f"/api/v1/workers/{works.workers['Anna']}/medical-facts"
        woman = doctor.put(path, json={"valid_from": "2020-01-01", "sex": "female"})
        man = doctor.put(path, json={"valid_from": "2020-01-01", "sex": "male", "childbearing_potential": True})
        future = doctor.put(path, json={"valid_from": "2999-01-01", "sex": "male"})
    for answer, field in ((woman, "childbearing_potential"), (man, "childbearing_potential"), (future, "valid_from")):
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_the_facts_are_ciphertext_bound_to_their_worker_record(runtime: Runtime) -> None:
    """At rest the store holds no fact in the clear, and a version copied onto another
    worker's record does not open there."""
    operator = Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="test"), Purpose.ADMINISTRATION)
    employer = operator.write(lambda w: organisations.create_employer(w.tx, EmployerIn(kvk="72727270", name="Lood")))
    gate = Work(
        runtime.db, runtime.vault, Actor(kind=ActorKind.EMPLOYER, id="k", employer_id=employer.id), Purpose.PREVENTION
    )

    def register(w: Work) -> list[uuid.UUID]:
        people = [WorkerIn(bsn=valid_bsn(_rng), name=n, date_of_birth=dt.date(1990, 1, 1)) for n in ("Iris", "Joop")]
        return [workers.register_worker(w, p)[0].id for p in people]

    iris, joop = gate.write(register)
    doctor = Actor(kind=ActorKind.COMPANY_DOCTOR, id="oidc:arts@test", employer_ids=frozenset({employer.id}))
    facts = MedicalFactsIn(valid_from=dt.date(2020, 1, 1), sex="female", childbearing_potential=True)
    Work(runtime.db, runtime.vault, doctor, Purpose.MEDICAL_CARE).write(
        lambda w: medical_facts.record_facts(w, iris, facts)
    )
    with runtime.db.write() as tx:
        ((stored,),) = tx.all("SELECT facts_ct FROM medical_facts")
        assert b"female" not in stored and b"2020" not in stored
        tx.execute("UPDATE medical_facts SET worker_id = ?", [joop])
    with pytest.raises(IntegrityFailure):
        Work(runtime.db, runtime.vault, doctor, Purpose.MEDICAL_CARE).read(
            lambda w: medical_facts.facts_of_worker(w, joop)
        )
