"""The authorisation matrix: every role x every endpoint x records that are the caller's own,
someone else's, and of a relationship that ended, over real HTTP against a real server, with
tokens from a real third-party OpenID provider.

Each row says what each caller gets (status code); every answer is also searched for the
markers of records the caller may not see (ids, BSNs, biological values), so nothing foreign
leaks through a list, a filter, a count, a status code or an error text. A new endpoint joins
`ENDPOINTS`; `test_every_endpoint_is_in_the_matrix` fails until it does.

The world:
- person P (BSN_P): placed at employer A through agency G since 2015 (A records, G arranged
  it); employed by C from 2000 to 2010 (ended); registered by G itself as its own worker,
  with another birth date (a reconciliation item for the operator).
- person Q (BSN_Q): employed by B.
- the inspector inspects A (X-Employer): A's register, never medical values, nothing else.
- doctor-1: contract with A in force, with B ended. hygienist-1: mandate from A in force,
  from C ended. worker-1 is P, worker-2 is Q; inspector-1, researcher-1, operator-1.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from registry.api.app import create_app
from registry.demo import valid_bsn
from registry.runtime import open_runtime
from tests.conftest import Employer, Server, create_employer, make_place
from tests.helpers import air_sample
from tests.oidc import OidcProvider

BSN_P, BSN_Q = "123456782", "111222333"
_rng = random.Random(14)
FRESH_BSNS = (valid_bsn(_rng) for _ in itertools.count())
BIO_P, BIO_Q = 31.7, 27.3
# What P's company doctor records about P for limits that depend on the person (medical data).
FACTS_P = {"valid_from": "2015-01-01", "sex": "female", "childbearing_potential": True}
SIGN_IN_ROLES = "worker,company_doctor,hygienist,inspector,researcher,operator"
ALL = ("A", "B", "C", "G", "doctor", "hygienist", "worker_p", "worker_q", "inspector", "researcher", "operator")


class World(msgspec.Struct):
    server: Server
    callers: dict[str, httpx.Client]
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProvider) -> Iterator[World]:
    place = make_place(tmp_path_factory.mktemp("matrix"), "duckdb")
    employers = {
        "A": create_employer(place, "41414140", "Inlener A B.V."),
        "B": create_employer(place, "42424240", "Vreemde B B.V."),
        "C": create_employer(place, "43434340", "Vroeger C B.V."),
        "G": create_employer(place, "44444440", "Uitzendbureau G B.V."),
    }
    server = Server(place, env={"REGISTRY_OIDC_ISSUERS": f"{oidc_provider.issuer}={SIGN_IN_ROLES}"})
    server.start()
    clients: list[httpx.Client] = []
    try:
        ids = _build(server, employers, oidc_provider)
        tokens = {
            "doctor": oidc_provider.token("doctor-1", {"registry_role": "company_doctor"}),
            "hygienist": oidc_provider.token("hygienist-1", {"registry_role": "hygienist"}),
            "worker_p": oidc_provider.token("worker-1", {"registry_role": "worker", "bsn": BSN_P}),
            "worker_q": oidc_provider.token("worker-2", {"registry_role": "worker", "bsn": BSN_Q}),
            "inspector": oidc_provider.token("inspector-1", {"registry_role": "inspector"}),
            "researcher": oidc_provider.token(
                "researcher-1", {"registry_role": "researcher", "registry_project": "p1"}
            ),
            "operator": oidc_provider.token("operator-1", {"registry_role": "operator"}),
        }
        callers = {name: server.client(e.api_key) for name, e in employers.items()}
        callers |= {name: server.client(token) for name, token in tokens.items() if name != "inspector"}
        callers["inspector"] = server.client(tokens["inspector"], headers={"X-Employer": employers["A"].kvk})
        callers["anonymous"] = server.client()
        clients = list(callers.values())
        facts = callers["doctor"].put(f"/api/v1/workers/{ids['wa']}/medical-facts", json=FACTS_P)
        ids["facts_p"] = _ok(facts)["id"]
        yield World(server=server, callers=callers, ids=ids)
    finally:
        for client in clients:
            client.close()
        server.stop()


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _build(server: Server, employers: dict[str, Employer], provider: OidcProvider) -> dict[str, str]:
    ids: dict[str, str] = {}
    a, b, c, g = (server.client(employers[k].api_key) for k in "ABCG")
    with a, b, c, g:
        p = {"bsn": BSN_P, "name": "Piet Placement", "date_of_birth": "1970-01-01"}
        ids["wa"] = _ok(a.post("/api/v1/workers", json=p))["id"]
        ids["wc"] = _ok(c.post("/api/v1/workers", json=p))["id"]
        ids["wg"] = _ok(g.post("/api/v1/workers", json={**p, "date_of_birth": "1970-01-02"}))["id"]
        ids["wb"] = _ok(b.post("/api/v1/workers", json={"bsn": BSN_Q, "name": "Q", "date_of_birth": "1980-01-01"}))[
            "id"
        ]
        placement = {"employment_type": "agency", "agency_kvk": employers["G"].kvk}
        _ok(a.post("/api/v1/employments", json={"worker_id": ids["wa"], "start_date": "2015-01-01", **placement}))
        _ok(
            c.post(
                "/api/v1/employments",
                json={"worker_id": ids["wc"], "start_date": "2000-01-01", "end_date": "2010-12-31"},
            )
        )
        _ok(g.post("/api/v1/employments", json={"worker_id": ids["wg"], "start_date": "2015-01-01"}))
        _ok(b.post("/api/v1/employments", json={"worker_id": ids["wb"], "start_date": "2015-01-01"}))
        ids["sA"] = _ok(a.post("/api/v1/sites", json={"name": "Hal A"}))["id"]
        ids["sB"] = _ok(b.post("/api/v1/sites", json={"name": "Hal B"}))["id"]
        ids["gA"] = _ok(a.post("/api/v1/segs", json={"name": "Spuiters A"}))["id"]
        ids["gB"] = _ok(b.post("/api/v1/segs", json={"name": "Spuiters B"}))["id"]
        _ok(a.post(f"/api/v1/segs/{ids['gA']}/members", json={"worker_id": ids["wa"], "start_date": "2015-01-01"}))
        _ok(b.post(f"/api/v1/segs/{ids['gB']}/members", json={"worker_id": ids["wb"], "start_date": "2015-01-01"}))
        ids["mA"] = _ok(a.post("/api/v1/measurements", json=air_sample(ids["wa"], value=0.4242)))["id"]
        ids["mB"] = _ok(b.post("/api/v1/measurements", json=air_sample(ids["wb"], value=0.5151)))["id"]
        ids["mC"] = _ok(
            c.post(
                "/api/v1/measurements",
                json=air_sample(
                    ids["wc"],
                    value=0.6161,
                    sampling_start="2005-03-04T07:30:00+01:00",
                    sampling_end="2005-03-04T15:00:00+01:00",
                ),
            )
        )["id"]
        ids["bA"] = _ok(a.post("/api/v1/measurements", json=_blood(ids["wa"], BIO_P)))["id"]
        ids["bB"] = _ok(b.post("/api/v1/measurements", json=_blood(ids["wb"], BIO_Q)))["id"]
        ids["rA"] = _ok(a.post("/api/v1/registrations", json=_entry(ids["wa"])))["id"]
        ids["rB"] = _ok(b.post("/api/v1/registrations", json=_entry(ids["wb"])))["id"]
        today = dt.date.today()
        for client, key, role, subject, start, end in (
            (a, "grant_doctor_A", "company_doctor", "doctor-1", "2020-01-01", None),
            (b, "grant_doctor_B", "company_doctor", "doctor-1", "2016-01-01", str(today - dt.timedelta(days=1))),
            (a, "grant_hygienist_A", "hygienist", "hygienist-1", "2020-01-01", str(today + dt.timedelta(days=30))),
            (c, "grant_hygienist_C", "hygienist", "hygienist-1", "2001-01-01", "2009-12-31"),
            (a, "grant_spare_A", "hygienist", "nobody", "2020-01-01", None),
        ):
            body = {"role": role, "issuer": provider.issuer, "subject": subject, "valid_from": start, "valid_to": end}
            ids[key] = _ok(client.post("/api/v1/grants", json=body))["id"]
        for key, start in (("climit_A", "2018-01-01"), ("climit_A_spare", "2019-01-01")):
            limit = {**COMPANY_LIMIT, "valid_from": start, "source_citation": HUISNORM_A}
            ids[key] = _ok(a.post("/api/v1/limits/company", json=limit))["id"]
    return ids


def _blood(worker_id: str, value: float) -> dict[str, Any]:
    return {
        "sample_type": "biological",
        "substance_cas": "7439-92-1",
        "worker_id": worker_id,
        "value": value,
        "unit": "ug/100mL",
        "matrix": "blood",
        "analyte": "lood in bloed",
        "sampling_start": "2024-05-01T09:00:00+02:00",
        "sampling_end": "2024-05-01T09:05:00+02:00",
    }


def _entry(worker_id: str) -> dict[str, Any]:
    return {
        "worker_id": worker_id,
        "substance_cas": "71-43-2",
        "task": "tanken",
        "period_start": "2016-01-01",
        "level_value": 0.5,
        "level_unit": "mg/m3",
        "basis": "measured",
    }


# A company limit (huisnorm) for benzene; A's own are cited as HUISNORM_A.
COMPANY_LIMIT = {
    "substance_name": "Benzeen",
    "cas": "71-43-2",
    "limit_type": "TWA8h",
    "value": 0.05,
    "unit": "ppm",
    "valid_from": "2020-01-01",
    "source_citation": "Huisnorm matrix",
}
HUISNORM_A = "Huisnorm A 4711"

# A lab's column mapping (the template's own headers, so the lab file below still fits).
IMPORT_MAPPING = {
    "columns": {
        "sample_type": "Monstertype",
        "substance_cas": "CAS-nummer",
        "worker_id": "Werknemer-id",
        "value": "Concentratie",
        "unit": "Eenheid",
        "sampling_start": "Begin monstername",
        "sampling_end": "Einde monstername",
    }
}
LAB_FILE_HEADER = "Monstertype;CAS-nummer;Werknemer-id;Concentratie;Eenheid;Begin monstername;Einde monstername"


def _lab_file(worker_id: str) -> bytes:
    """A lab's CSV with one result for the worker, as POST /measurements/import takes it."""
    row = f"personal_air;71-43-2;{worker_id};0,113;mg/m3;04-03-2024 07:30;04-03-2024 15:00"
    return f"{LAB_FILE_HEADER}\n{row}\n".encode()


# What each caller may never see in any answer (besides what it sent itself).
P_RECORDS = {"wa", "wc", "wg", "mA", "mC", "bA", "rA", "facts_p"}
Q_RECORDS = {"wb", "mB", "bB", "rB"}
FORBIDDEN_MARKERS: dict[str, set[str]] = {
    "A": {"wb", "wc", "wg", "mB", "bB", "rB", "mC", "sB", "gB", "bsn_q", "bio_p", "bio_q", "grant_doctor_B", "facts_p"},
    "B": P_RECORDS | {"sA", "gA", "bsn_p", "bio_p", "bio_q", "grant_doctor_A"},
    "C": {"wa", "wg", "wb", "mA", "bA", "rA", "mB", "bB", "rB", "bsn_q", "bio_p", "bio_q", "facts_p"},
    "G": {"wc", "wb", "mB", "bB", "rB", "mC", "bsn_q", "bio_p", "bio_q", "grant_doctor_A", "facts_p"},
    "doctor": {"wb", "mB", "bB", "rB", "wc", "wg", "mC", "bsn_q", "bio_q"},
    "hygienist": {"wb", "wc", "wg", "mB", "bB", "rB", "mC", "bsn_q", "bio_p", "bio_q", "facts_p"},
    "worker_p": Q_RECORDS | {"bsn_q", "bio_q", "sB", "gB"},
    "worker_q": P_RECORDS | {"bsn_p", "bio_p", "sA", "gA"},
    "inspector": {"wb", "wc", "wg", "mB", "bB", "rB", "mC", "sB", "gB", "bsn_q", "bio_p", "bio_q", "facts_p"},
    "researcher": P_RECORDS | Q_RECORDS | {"bsn_p", "bsn_q", "bio_p", "bio_q"},
    "operator": {"bio_p", "bio_q", "facts_p"},
    "anonymous": P_RECORDS | Q_RECORDS | {"bsn_p", "bsn_q", "bio_p", "bio_q"},
}
# A's company limits are A's alone (and its mandated hygienist's, who acts as A).
for _caller in FORBIDDEN_MARKERS.keys() - {"A", "hygienist"}:
    FORBIDDEN_MARKERS[_caller] |= {"climit_A", "climit_A_spare", "huisnorm_a"}


# Who reads what employer A recorded about P: A itself, its contracted doctor and mandated
# hygienist, P, the inspectorate and the operator.
READERS_OF_A_ABOUT_P = ("A", "doctor", "hygienist", "worker_p", "inspector", "operator")


def _expect(default: int, **overrides: int) -> dict[str, int]:
    expected = dict.fromkeys(ALL, default) | overrides
    expected["anonymous"] = 401
    return expected


def _only(status: int, others: int, *callers: str) -> dict[str, int]:
    return _expect(others, **dict.fromkeys(callers, status))


# (method, path template, body template or None, expected status per caller)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("GET", "/api/v1/me", None, _expect(200)),
    ("GET", "/api/v1/substances", None, _expect(200)),
    # workers: own record, someone else's, and one of an ended employment (C still keeps its own)
    ("GET", "/api/v1/workers", None, _expect(200, researcher=403)),
    ("GET", "/api/v1/workers/{wa}", None, _only(200, 404, *READERS_OF_A_ABOUT_P)),
    ("GET", "/api/v1/workers/{wb}", None, _only(200, 404, "B", "worker_q", "operator")),
    ("GET", "/api/v1/workers/{wc}", None, _only(200, 404, "C", "worker_p", "operator")),
    ("GET", "/api/v1/workers/{wg}/employments", None, _only(200, 404, "G", "worker_p", "operator")),
    ("GET", "/api/v1/workers/{wa}/employments", None, _only(200, 404, *READERS_OF_A_ABOUT_P)),
    ("GET", "/api/v1/workers/{wa}/history", None, _only(200, 404, *READERS_OF_A_ABOUT_P)),
    ("GET", "/api/v1/workers/{wb}/history", None, _only(200, 404, "B", "worker_q", "operator")),
    ("GET", "/api/v1/workers/{wg}/history", None, _only(200, 404, "G", "worker_p", "operator")),
    ("GET", "/api/v1/workers/{wc}/history", None, _only(200, 404, "C", "worker_p", "operator")),
    # measurements: air and biological, own and foreign, of an ended employment and contract
    ("GET", "/api/v1/measurements", None, _expect(200, researcher=403)),
    ("GET", "/api/v1/measurements?worker_id={wb}", None, _expect(200, researcher=403)),
    ("GET", "/api/v1/measurements/{mA}", None, _only(200, 404, *READERS_OF_A_ABOUT_P)),
    ("GET", "/api/v1/measurements/{bA}", None, _only(200, 404, *READERS_OF_A_ABOUT_P)),
    ("GET", "/api/v1/measurements/{bB}", None, _only(200, 404, "B", "worker_q", "operator")),
    ("GET", "/api/v1/measurements/{mC}", None, _only(200, 404, "C", "worker_p", "operator")),
    ("GET", "/api/v1/registrations", None, _expect(200, researcher=403)),
    ("GET", "/api/v1/registrations/{rA}", None, _only(200, 404, *READERS_OF_A_ABOUT_P)),
    ("GET", "/api/v1/registrations/{rB}", None, _only(200, 404, "B", "worker_q", "operator")),
    ("GET", "/api/v1/segs", None, _expect(200, researcher=403)),
    ("GET", "/api/v1/segs/{gA}", None, _only(200, 404, "A", "doctor", "hygienist", "inspector", "operator")),
    ("GET", "/api/v1/segs/{gB}/members", None, _only(200, 404, "B", "operator")),
    ("GET", "/api/v1/sites", None, _expect(200, researcher=403)),
    ("GET", "/api/v1/compliance/report?bayesian=false", None, _only(200, 403, "A", "B", "C", "G", "hygienist")),
    ("GET", "/api/v1/compliance/exceedances", None, _only(200, 403, "A", "B", "C", "G", "hygienist")),
    ("GET", "/api/v1/compliance/trend", None, _only(200, 403, "A", "B", "C", "G", "hygienist")),
    ("GET", "/api/v1/compliance/biological", None, _only(200, 403, "A", "B", "C", "G", "hygienist")),
    # medical facts: the contracted doctor records and reads them, the worker reads their own; for
    # anyone else a foreign worker, an unknown id and their own worker look the same
    ("GET", "/api/v1/workers/{wa}/medical-facts", None, _only(200, 404, "doctor", "worker_p")),
    ("GET", "/api/v1/workers/{wb}/medical-facts", None, _only(200, 404, "worker_q")),
    ("GET", "/api/v1/workers/{unknown_worker}/medical-facts", None, _expect(404)),
    ("PUT", "/api/v1/workers/{wa}/medical-facts", FACTS_P, _only(200, 403, "doctor")),
    ("PUT", "/api/v1/workers/{wb}/medical-facts", FACTS_P, _expect(403)),  # the doctor's contract with B ended
    ("PUT", "/api/v1/workers/{unknown_worker}/medical-facts", FACTS_P, _expect(403)),
    ("GET", "/api/v1/me/medical-facts", None, _only(200, 403, "worker_p", "worker_q")),
    ("GET", "/api/v1/me/history", None, _only(200, 403, "worker_p", "worker_q")),
    ("GET", "/api/v1/me/access-log", None, _only(200, 403, "worker_p", "worker_q")),
    ("GET", "/api/v1/grants", None, _only(200, 403, "A", "B", "C", "G")),
    # company limits: each employer's own; a mandated hygienist acts as the employer, so after A
    # set this limit the hygienist setting it again for A gets it back (200)
    ("GET", "/api/v1/limits/company", None, _only(200, 403, "A", "B", "C", "G", "hygienist")),
    ("POST", "/api/v1/limits/company", COMPANY_LIMIT, _expect(403, A=201, B=201, C=201, G=201, hygienist=200)),
    # A withdraws it first; then it is gone for the hygienist too, and never was for B, C or G
    (
        "DELETE",
        "/api/v1/limits/company/{climit_A_spare}",
        None,
        _expect(403, A=204, B=404, C=404, G=404, hygienist=404),
    ),
    ("GET", "/api/v1/operator/reconciliations", None, _only(200, 403, "operator")),
    # writes: recording for one's own worker, for someone else's, and after an employment ended
    (
        "POST",
        "/api/v1/workers",
        {"bsn": "{fresh_bsn}", "name": "Nieuw", "date_of_birth": "1990-01-01"},
        _only(201, 403, "A", "B", "C", "G", "hygienist"),
    ),
    (
        "POST",
        "/api/v1/employments",
        {"worker_id": "{wa}", "start_date": "2014-01-01", "end_date": "2014-06-30"},
        _expect(403, A=201, hygienist=201, B=422, C=422, G=422),
    ),
    ("POST", "/api/v1/measurements", {"sample": "{wa}"}, _expect(403, A=201, hygienist=201, B=422, C=422, G=422)),
    (
        "POST",
        "/api/v1/measurements",
        {"sample_after_end": "{wc}"},
        _expect(403, A=422, B=422, C=422, G=422, hygienist=422),
    ),
    ("POST", "/api/v1/measurements/batch", {"batch": "{wa}"}, _expect(403, A=201, hygienist=201, B=422, C=422, G=422)),
    # lab import: the employer (or its mandated hygienist) only; its mapping and template are its own
    ("GET", "/api/v1/measurements/import/mapping", None, _only(200, 403, "A", "B", "C", "G", "hygienist")),
    ("PUT", "/api/v1/measurements/import/mapping", IMPORT_MAPPING, _only(200, 403, "A", "B", "C", "G", "hygienist")),
    ("GET", "/api/v1/measurements/import/template?format=xlsx", None, _only(200, 403, "A", "B", "C", "G", "hygienist")),
    (
        "POST",
        "/api/v1/measurements/import",
        {"lab_file": "{wa}"},
        _expect(403, A=201, hygienist=201, B=422, C=422, G=422),
    ),
    ("POST", "/api/v1/registrations", {"entry": "{wa}"}, _expect(403, A=201, hygienist=201, B=422, C=422, G=422)),
    ("POST", "/api/v1/segs", {"name": "Nieuwe SEG"}, _only(201, 403, "A", "B", "C", "G", "hygienist")),
    (
        "POST",
        "/api/v1/segs/{gA}/members",
        {"worker_id": "{wa}", "start_date": "2016-01-01"},
        _expect(403, A=201, hygienist=201, B=404, C=404, G=404),
    ),
    (
        "POST",
        "/api/v1/segs/{gB}/members",
        {"worker_id": "{wb}", "start_date": "2016-01-01"},
        _expect(403, B=201, A=404, C=404, G=404, hygienist=404),
    ),
    ("POST", "/api/v1/sites", {"name": "Nieuwe hal"}, _only(201, 403, "A", "B", "C", "G", "hygienist")),
    (
        "POST",
        "/api/v1/substances",
        {"name": "Benzeen", "cas": "71-43-2"},
        _only(200, 403, "A", "B", "C", "G", "hygienist"),
    ),
    (
        "POST",
        "/api/v1/grants",
        {"role": "hygienist", "issuer": "https://idp.example", "subject": "s", "valid_from": "2026-01-01"},
        _only(201, 403, "A", "B", "C", "G"),
    ),
    ("DELETE", "/api/v1/grants/{grant_spare_A}", None, _expect(403, B=404, C=404, G=404, A=204)),
    ("POST", "/api/v1/operator/reconciliations/{unknown_item}/resolve", {"note": "x"}, _only(404, 403, "operator")),
]


def _fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    return template


def _body(template: dict[str, Any] | None, ids: dict[str, str]) -> dict[str, Any] | bytes | None:
    """Request bodies; a few shorthands stand for whole records built around one worker id
    (and a lab's file, which is not JSON)."""
    if template is None:
        return None
    filled = _fill(template, ids)
    if "lab_file" in filled:
        return _lab_file(filled["lab_file"])
    if "sample" in filled:
        return air_sample(filled["sample"], value=0.111)
    if "sample_after_end" in filled:
        return air_sample(filled["sample_after_end"], value=0.111)  # 2024: C's employment ended 2010
    if "batch" in filled:
        return {"items": [air_sample(filled["batch"], value=0.112)]}
    if "entry" in filled:
        return _entry(filled["entry"])
    return dict(filled)


def _markers(world: World, caller: str) -> dict[str, str]:
    values = world.ids | {
        "bsn_p": BSN_P,
        "bsn_q": BSN_Q,
        "bio_p": f'"value":{BIO_P}',
        "bio_q": f'"value":{BIO_Q}',
        "huisnorm_a": HUISNORM_A,
    }
    return {name: values[name] for name in FORBIDDEN_MARKERS[caller]}


@pytest.mark.parametrize("method,path,body,expected", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_matrix(world: World, method: str, path: str, body: dict[str, Any] | None, expected: dict[str, int]) -> None:
    ids = world.ids | {"unknown_item": f"{uuid.uuid4()}:0000", "unknown_worker": str(uuid.uuid4())}
    for caller, status in expected.items():
        ids["fresh_bsn"] = next(FRESH_BSNS)
        url = _fill(path, ids)
        payload = _body(body, ids)
        if isinstance(payload, bytes):
            response = world.callers[caller].request(method, url, content=payload, headers={"Content-Type": "text/csv"})
        else:
            response = world.callers[caller].request(method, url, json=payload)
        assert response.status_code == status, f"{caller}: {method} {url} -> {response.status_code} {response.text}"
        if status >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), caller
        sent = url + (
            payload.decode() if isinstance(payload, bytes) else msgspec.json.encode(payload).decode() if payload else ""
        )
        for name, value in _markers(world, caller).items():
            if value not in sent:
                at = response.text.find(value)
                assert at < 0, f"{caller}: {method} {url} reveals {name}: …{response.text[max(0, at - 120) : at + 40]}…"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Litestar 3 style hints, not this test's subject
def test_every_endpoint_is_in_the_matrix(tmp_path: Path) -> None:
    """Every route of the app is a row of the matrix (new endpoints must join it)."""
    runtime = open_runtime(make_place(tmp_path, "duckdb").settings())
    try:
        app = create_app(runtime)
        routes = {
            (method, route.path)
            for route in app.routes
            if route.path.startswith("/api/")
            for method in getattr(route, "methods", set())
            if method not in ("HEAD", "OPTIONS")
        }
    finally:
        runtime.close()
    covered = {(m, re.sub(r"\{(\w+)\}", "{}", p.split("?")[0])) for m, p, _, _ in ENDPOINTS}
    normalised = {(m, re.sub(r"\{[^}]+\}", "{}", p)) for m, p in routes}
    assert normalised - covered == set()


def test_medical_values_reach_only_the_worker_and_the_doctor(world: World) -> None:
    bio = world.ids["bA"]
    seen = {
        caller: world.callers[caller].get(f"/api/v1/measurements/{bio}").json()
        for caller in ("A", "hygienist", "doctor", "worker_p", "inspector", "operator")
    }
    assert seen["doctor"]["value"] == BIO_P and seen["worker_p"]["value"] == BIO_P
    for caller in ("A", "hygienist", "inspector", "operator"):
        assert seen[caller]["value"] is None and seen[caller]["result_withheld"].startswith("medisch"), caller
    for caller, visible in (("doctor", True), ("worker_p", True), ("A", False), ("inspector", False)):
        listed = world.callers[caller].get("/api/v1/measurements", params={"sample_type": "biological"}).json()
        values = {m["id"]: m["value"] for m in listed["items"]}
        assert values[bio] == (BIO_P if visible else None), caller


def test_a_hostile_employer_learns_nothing_about_a_workers_medical_facts(world: World) -> None:
    """B asks about P's facts (A's worker), an id nobody has and its own worker Q: the answers
    differ in nothing but the id they repeat."""
    hostile = world.callers["B"]
    for method, body in (("GET", None), ("PUT", FACTS_P)):
        seen = set()
        for worker in (world.ids["wa"], str(uuid.uuid4()), world.ids["wb"]):
            answer = hostile.request(method, f"/api/v1/workers/{worker}/medical-facts", json=body)
            seen.add((answer.status_code, answer.text.replace(worker, "{id}")))
        assert len(seen) == 1, seen
    doctor = world.callers["doctor"].get(f"/api/v1/workers/{world.ids['wa']}/medical-facts").json()
    assert [(f["sex"], f["childbearing_potential"]) for f in doctor] == [("female", True)]  # nothing was changed


def test_a_hostile_employer_learns_nothing_about_another_employers_company_limits(world: World) -> None:
    """B withdraws A's house norm, and one nobody set: the answers differ in nothing but the id
    they repeat; B's list holds only its own; A's norm is still in force for A."""
    hostile = world.callers["B"]
    seen = set()
    for limit_id in (world.ids["climit_A"], str(uuid.uuid4())):
        answer = hostile.delete(f"/api/v1/limits/company/{limit_id}")
        seen.add((answer.status_code, answer.text.replace(limit_id, "{id}")))
    assert len(seen) == 1 and next(iter(seen))[0] == 404, seen
    assert all(limit["source_citation"] != HUISNORM_A for limit in hostile.get("/api/v1/limits/company").json())
    own = world.callers["A"].get("/api/v1/limits/company").json()
    assert world.ids["climit_A"] in {limit["id"] for limit in own}


def test_the_agency_sees_its_placements_exposure_and_nothing_else(world: World) -> None:
    history = world.callers["G"].get(f"/api/v1/workers/{world.ids['wg']}/history").json()
    measured = {m["measurement"]["id"]: m["measurement"] for m in history["measurements"]}
    assert {world.ids["mA"], world.ids["bA"]} <= set(measured)  # A recorded them during G's placement
    hirers = {e["employer_id"] for e in history["employments"] if e["employment_type"] == "agency"}
    assert {m["employer_id"] for m in measured.values()} == hirers
    assert measured[world.ids["bA"]]["value"] is None  # medical: not for an employer
    assert world.ids["rA"] in {r["id"] for r in history["registrations"]}
    assert {r["worker_id"] for r in history["registrations"]} == {world.ids["wa"]}
    kinds = sorted((e["worker_id"] == world.ids["wg"], e["employment_type"]) for e in history["employments"])
    assert kinds == [(False, "agency"), (True, "employee")]  # A's placement of P, and G's own employment


def test_the_worker_sees_every_employer_and_who_read(world: World) -> None:
    worker = world.callers["worker_p"]
    history = worker.get("/api/v1/me/history").json()
    measured = {m["measurement"]["id"]: m["measurement"] for m in history["measurements"]}
    assert set(measured) >= {world.ids["mA"], world.ids["bA"], world.ids["mC"]}
    assert measured[world.ids["bA"]]["value"] == BIO_P
    assert history["scope"] == "registry"
    me = worker.get("/api/v1/me").json()
    assert {i["id"] for i in me["identities"]} == {world.ids["wa"], world.ids["wc"], world.ids["wg"]}
    world.callers["A"].get(f"/api/v1/workers/{world.ids['wa']}")
    log = worker.get("/api/v1/me/access-log", params={"limit": 500}).json()
    readers = {(e["actor_role"], e["acting_for"]) for e in log["items"] if e["outcome"] == "allowed"}
    assert ("employer", "Inlener A B.V.") in readers
    assert all(e["record_type"] for e in log["items"]) and log["total"] >= len(log["items"])


def test_the_operator_reconciles_differing_identities(world: World) -> None:
    operator = world.callers["operator"]
    items = operator.get("/api/v1/operator/reconciliations").json()
    (item,) = [i for i in items if {v["worker_id"] for v in i["versions"]} >= {world.ids["wa"], world.ids["wg"]}]
    assert item["differs"] == ["date_of_birth"]
    assert {v["employer_name"] for v in item["versions"]} == {
        "Inlener A B.V.",
        "Vroeger C B.V.",
        "Uitzendbureau G B.V.",
    }
    resolved = operator.post(f"/api/v1/operator/reconciliations/{item['id']}/resolve", json={"note": "G corrigeert"})
    assert resolved.status_code == 204, resolved.text
    assert item["id"] not in {i["id"] for i in operator.get("/api/v1/operator/reconciliations").json()}
    again = operator.get("/api/v1/operator/reconciliations", params={"include_resolved": True}).json()
    assert [i["resolution"] for i in again if i["id"] == item["id"]] == ["G corrigeert"]


def test_an_inspector_names_the_employer_it_inspects(world: World) -> None:
    """Data minimisation: without X-Employer an inspector lists nothing and reads no record."""
    token = world.callers["inspector"].headers["Authorization"].removeprefix("Bearer ")
    with world.server.client(token) as unscoped, world.server.client(token, headers={"X-Employer": "42424240"}) as b:
        assert unscoped.get("/api/v1/workers").status_code == 403
        assert unscoped.get(f"/api/v1/measurements/{world.ids['mA']}").status_code == 404
        listed = b.get("/api/v1/measurements", params={"limit": 500}).json()["items"]
        assert {m["id"] for m in listed} >= {world.ids["mB"]} and world.ids["mA"] not in {m["id"] for m in listed}
        assert b.get(f"/api/v1/workers/{world.ids['wb']}").json()["name"] == "Q"
