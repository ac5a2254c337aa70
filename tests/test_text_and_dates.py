"""Text and dates over real HTTP (issue 20, item 5): no control character in any text field of
the API, found from the OpenAPI document so that a new field cannot be missed; free text keeps
its line feeds and tabs; dates before 1900 or not yet begun anywhere are refused, each with a
422 naming the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from crypto import LocalIssuer
from schemas.text import FREE_TEXT
from tests.conftest import Employer, Server, create_employer, make_place
from tests.helpers import air_sample, new_worker

# C0 (NUL, ESC, the line breaks, tab), DEL and C1 (NEL, the last one).
CONTROLS = ["\x00", "\x1b", "\n", "\r", "\t", "\x0b", "\x7f", "\x80", "\x85", "\x9f"]


class Api(msgspec.Struct):
    server: Server
    employer: Employer
    agency: Employer
    operator_token: str


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    place = make_place(tmp_path_factory.mktemp("text"), "duckdb")
    employer = create_employer(place, "31313130", "Tekst B.V.")
    agency = create_employer(place, "32323230", "Uitzend B.V.")
    server = Server(place)
    server.start()
    try:
        issuer = LocalIssuer.load_or_create(place.settings().issuer_key_file)
        token = issuer.issue(
            {"sub": "operator-1", "registry_role": "operator"},
            audience="blootstellingsregister",
            ttl=dt.timedelta(minutes=30),
        )
        yield Api(server=server, employer=employer, agency=agency, operator_token=token)
    finally:
        server.stop()


def _valid_bodies(worker: str, agency_kvk: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """A valid request of every body schema the API reads, by schema name: (path, body)."""
    return {
        "SiteIn": ("/api/v1/sites", {"name": "Hal 1", "city": "Delft"}),
        "SubstanceIn": ("/api/v1/substances", {"name": "Formaldehyde", "cas": "50-00-0", "ec": "200-001-8"}),
        "WorkerIn": ("/api/v1/workers", {"bsn": "111222333", "name": "Jan", "date_of_birth": "1970-01-01"}),
        "EmploymentIn": (
            "/api/v1/employments",
            {
                "worker_id": worker,
                "employment_type": "agency",
                "agency_kvk": agency_kvk,
                "job_title": "Lasser",
                "start_date": "2015-01-01",
            },
        ),
        "SegIn": ("/api/v1/segs", {"name": "Lassers", "description": "lassen van RVS"}),
        "MeasurementIn": (
            "/api/v1/measurements",
            air_sample(worker, analyte="benzeen", chain_of_custody="C-1", location="hal 1", rpe="FFP3"),
        ),
        "RegistrationIn": (
            "/api/v1/registrations",
            {
                "worker_id": worker,
                "substance_cas": "71-43-2",
                "task": "tanken",
                "period_start": "2020-01-01",
                "level_value": 0.5,
                "level_unit": "mg/m3",
                "basis": "expert_estimate",
                "controls": "afzuiging",
                "ppe": "masker",
            },
        ),
        "GrantIn": (
            "/api/v1/grants",
            {"role": "hygienist", "issuer": "https://idp.example", "subject": "s-1", "valid_from": "2024-01-01"},
        ),
        "ResolutionIn": ("/api/v1/operator/reconciliations/nobody:nothing/resolve", {"note": "gecorrigeerd"}),
        "CompanyLimitIn": (
            "/api/v1/limits/company",
            {
                "substance_name": "Benzeen",
                "cas": "71-43-2",
                "limit_type": "TWA8h",
                "value": 0.1,
                "unit": "mg/m3",
                "population": "lassers",
                "analyte": "benzeen",
                "notation": "huid",
                "source_citation": "Huisnorm 2024-03",
            },
        ),
    }


def _text_fields(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(schema, property) of every free-form string in a request body the OpenAPI document
    declares: a string that is not an enum, a date or a uuid."""
    schemas = document["components"]["schemas"]
    bodies = set()
    for item in document["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            for media in content.values():
                bodies.update(_refs(media["schema"]))
    found = {}
    for name in bodies:
        for field, prop in schemas[name].get("properties", {}).items():
            kinds = prop.get("oneOf", [prop])
            if any(
                k.get("type") == "string" and not {"enum", "const", "format"} & (k.keys() | prop.keys()) for k in kinds
            ):
                found[name, field] = prop
    return found


def _refs(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        return {ref.rsplit("/", 1)[1]} if ref else set().union(*map(_refs, schema.values()))
    if isinstance(schema, list):
        return set().union(*map(_refs, schema))
    return set()


def _problem_fields(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["reason"] for e in answer.json()["errors"]}


def test_every_text_field_refuses_control_characters(api: Api) -> None:
    with (
        api.server.client(api.employer.api_key) as employer,
        api.server.client(api.operator_token) as operator,
    ):
        worker = new_worker(employer)
        bodies = _valid_bodies(worker, api.agency.kvk)
        text_fields = _text_fields(employer.get("/schema/openapi.json").json())
        assert {schema for schema, _ in text_fields} == set(bodies), "a body schema without a valid body here"
        for schema, field in sorted(text_fields):
            pattern = text_fields[schema, field].get("pattern")
            assert pattern, f"{schema}.{field} declares no pattern"
            path, body = bodies[schema]
            client = operator if schema == "ResolutionIn" else employer
            for control in CONTROLS:
                if pattern == FREE_TEXT and control in "\n\t":
                    continue
                value = f"{body.get(field) or 'x'}{control}"
                found = _problem_fields(client.post(path, json={**body, field: value}))
                assert list(found) == [field], (schema, field, repr(control), found)
                assert f"U+{ord(control):04X}" in found[field]


def test_free_text_keeps_line_feeds_and_tabs(api: Api) -> None:
    with api.server.client(api.employer.api_key) as client:
        description = "Stap 1:\n\tlassen\nStap 2:\n\tslijpen"
        seg = client.post("/api/v1/segs", json={"name": "Lassers en slijpers", "description": description})
        assert seg.status_code == 201, seg.text
        assert client.get(f"/api/v1/segs/{seg.json()['id']}").json()["description"] == description
        found = _problem_fields(client.post("/api/v1/segs", json={"name": "Lassers\tslijpers"}))
        assert found == {"name": "contains U+0009 (a line feed or tab): this field is one line"}
        found = _problem_fields(client.post("/api/v1/segs", json={"name": "Lassers", "description": "a\r\nb"}))
        assert found == {"description": "contains the control character U+000D, which is not allowed"}


def test_a_control_character_in_a_batch_item_is_named_by_index(api: Api) -> None:
    with api.server.client(api.employer.api_key) as client:
        worker = new_worker(client)
        items = [air_sample(worker), air_sample(worker, lab="Arbo\x00lab")]
        found = _problem_fields(client.post("/api/v1/measurements/batch", json={"items": items}))
        assert list(found) == ["items[1].lab"]


def test_control_characters_in_queries_and_headers(api: Api) -> None:
    with api.server.client(api.employer.api_key) as client:
        found = _problem_fields(client.get("/api/v1/measurements", params={"substance_cas": "71-43-2\t"}))
        assert list(found) == ["query:substance_cas"]
        # HTTP carries bytes 0x80-0x9F in a header; read as Latin-1 they are C1 controls.
        found = _problem_fields(client.get("/api/v1/workers", headers={"X-Purpose": b"legal_duty\x85"}))
        assert list(found) == ["header:X-Purpose"]
        answer = client.post("/api/v1/segs", json={"name": "S"}, headers={"Idempotency-Key": b"retry\x85"})
        assert _problem_fields(answer) == {
            "header:Idempotency-Key": "contains the control character U+0085, which is not allowed"
        }


def test_dates_before_1900_are_refused_naming_the_field(api: Api) -> None:
    with api.server.client(api.employer.api_key) as client:
        worker = new_worker(client)
        seg = client.post("/api/v1/segs", json={"name": "Oud"}).json()["id"]
        too_old = "1899-12-31"
        cases = [
            ("/api/v1/workers", {"bsn": "111222333", "name": "Jan", "date_of_birth": too_old}, "date_of_birth"),
            ("/api/v1/employments", {"worker_id": worker, "start_date": too_old}, "start_date"),
            (f"/api/v1/segs/{seg}/members", {"worker_id": worker, "start_date": too_old}, "start_date"),
            (
                "/api/v1/registrations",
                {"worker_id": worker, "substance_cas": "71-43-2", "task": "t", "period_start": too_old}
                | {"level_band": "below_limit", "basis": "expert_estimate"},
                "period_start",
            ),
            (
                "/api/v1/measurements",
                air_sample(
                    worker, sampling_start="1899-12-31T08:00:00+00:00", sampling_end="1900-01-01T08:00:00+00:00"
                ),
                "sampling_start",
            ),
        ]
        for path, body, field in cases:
            found = _problem_fields(client.post(path, json=body))
            assert found == {field: "lies before 1900-01-01, earlier than any occupational-hygiene record"}, path
        oldest = client.post("/api/v1/workers", json={"bsn": "111222333", "name": "Jan", "date_of_birth": "1900-01-01"})
        assert oldest.status_code == 201, oldest.text


def test_a_date_is_in_the_future_only_once_it_has_begun_nowhere(api: Api) -> None:
    """Today in the first time zone (UTC+14) is accepted at any hour, so a Dutch employer is
    never refused today's date while UTC is still on yesterday; the day after is refused."""
    with api.server.client(api.employer.api_key) as client:
        worker = new_worker(client)
        first_today = dt.datetime.now(dt.timezone(dt.timedelta(hours=14))).date()
        started = client.post("/api/v1/employments", json={"worker_id": worker, "start_date": first_today.isoformat()})
        assert started.status_code == 201, started.text
        tomorrow = (first_today + dt.timedelta(days=1)).isoformat()
        found = _problem_fields(client.post("/api/v1/employments", json={"worker_id": worker, "start_date": tomorrow}))
        assert found == {"start_date": "lies in the future"}
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        late = air_sample(
            worker, sampling_start=(soon - dt.timedelta(hours=8)).isoformat(), sampling_end=soon.isoformat()
        )
        assert _problem_fields(client.post("/api/v1/measurements", json=late)) == {"sampling_end": "lies in the future"}
