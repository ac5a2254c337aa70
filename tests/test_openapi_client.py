"""A client generated from the served OpenAPI document works (issue 20): openapi-python-client
turns /schema/openapi.json into a package without a single warning, and an employer's round
trip through that package gets every answer back as a parsed model, not None."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import msgspec
import pytest

from registry.api.problems import PROBLEM_JSON, Problem
from tests.conftest import Employer, Server, create_employer, make_place

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
PACKAGE = "registry_client"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Employer]]:
    place = make_place(tmp_path_factory.mktemp("client"), "duckdb")
    employer = create_employer(place, "54545450", "Gegenereerd B.V.")
    server = Server(place)
    server.start()
    yield server, employer
    server.stop()


@pytest.fixture(scope="module")
def generated(served: tuple[Server, Employer], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package openapi-python-client generates from the served document, imported."""
    server, _ = served
    work = tmp_path_factory.mktemp("generated")
    spec = work / "openapi.json"
    spec.write_bytes(httpx.get(f"{server.url}/schema/openapi.json").raise_for_status().content)
    config = work / "config.yaml"
    # No formatter run: its absence would be a warning. A lab's file (CSV, xlsx) is sent as
    # bytes: the generator's documented override for media types it has no model for.
    config.write_text(
        "post_hooks: []\n"
        "content_type_overrides:\n"
        "  text/csv: application/octet-stream\n"
        "  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: application/octet-stream\n"
    )
    arguments = ["--path", str(spec), "--output-path", str(work / PACKAGE), "--meta", "none", "--config", str(config)]
    run = subprocess.run(
        [GENERATOR, "generate", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _api(module: str) -> Any:
    """One operation's module of the generated package, e.g. "workers.api_v1_workers_list_workers"."""
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def test_an_employer_round_trip_through_the_generated_client(
    generated: ModuleType, served: tuple[Server, Employer]
) -> None:
    server, employer = served
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(base_url=server.url, token=employer.api_key, raise_on_unexpected_status=True)

    def call(module: str, **kwargs: Any) -> Any:
        answer = _api(module).sync_detailed(client=client, **kwargs)
        assert answer.status_code < 300, answer.content
        return answer.parsed

    worker = call(
        "workers.api_v1_workers_register_worker",
        body=models.WorkerIn(bsn="123456782", name="Gina Generated", date_of_birth=dt.date(1980, 8, 8)),
    )
    assert isinstance(worker, models.WorkerOut) and worker.bsn == "123456782"
    employment = call(
        "workers.api_v1_employments_create_employment",
        body=models.EmploymentIn(worker_id=worker.id, start_date=dt.date(2020, 1, 1)),
    )
    assert isinstance(employment, models.EmploymentOut) and employment.worker_id == worker.id
    seg = call("exposure.api_v1_segs_create_seg", body=models.SegIn(name="Mengerij"))
    assert isinstance(seg, models.SegOut)
    member = call(
        "exposure.api_v1_segs_seg_id_members_add_member",
        seg_id=seg.id,
        body=models.SegMemberIn(worker_id=worker.id, start_date=dt.date(2020, 1, 1)),
    )
    assert isinstance(member, models.SegMemberOut) and member.worker_id == worker.id

    def sample(month: int, value: float) -> Any:
        start = dt.datetime(2023, month, 1, 7, 0, tzinfo=dt.UTC)
        return models.MeasurementIn(
            sample_type=models.MeasurementInSampleType.PERSONAL_AIR,
            substance_cas="71-43-2",
            worker_id=worker.id,
            seg_id=seg.id,
            value=value,
            unit="mg/m3",
            sampling_start=start,
            sampling_end=start + dt.timedelta(hours=8),
        )

    one = call("exposure.api_v1_measurements_record_measurement", body=sample(1, 0.05))
    assert isinstance(one, models.MeasurementOut) and one.value == 0.05
    batch_body = models.ApiV1MeasurementsBatchRecordBatchBody(items=[sample(2, 0.02), sample(3, 0.03)])
    batch = call("exposure.api_v1_measurements_batch_record_batch", body=batch_body)
    assert isinstance(batch, models.BatchResult) and len(batch.items) == 2
    assert all(isinstance(m, models.BatchItemResult) and m.status == "created" for m in batch.items)

    report = call("compliance.api_v1_compliance_report_report")
    assert isinstance(report, list) and len(report) == 1
    (row,) = report
    assert isinstance(row, models.ComplianceRow) and row.seg_id == str(seg.id)
    assert isinstance(row.en689, models.Assessment) and row.en689.n == 3
    assert sorted(row.measurement_ids) == sorted(str(m.id) for m in [one, *batch.items])


def test_errors_come_back_as_problems(generated: ModuleType, served: tuple[Server, Employer]) -> None:
    server, employer = served
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(base_url=server.url, token=employer.api_key)
    anonymous = generated.Client(base_url=server.url)
    unknown = _api("workers.api_v1_workers_worker_id_get_worker").sync(
        client=client, worker_id="00000000-0000-4000-8000-000000000000"
    )
    assert isinstance(unknown, models.Problem) and unknown.status == 404
    refused = _api("workers.api_v1_workers_list_workers").sync_detailed(client=anonymous)
    assert isinstance(refused.parsed, models.Problem) and refused.parsed.status == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="registry"'  # as the document says
    invalid = _api("workers.api_v1_workers_register_worker").sync(
        client=client, body=models.WorkerIn(bsn="123456789", name="Elf Proef", date_of_birth=dt.date(1980, 1, 1))
    )
    assert isinstance(invalid, models.Problem) and invalid.status == 422
    assert [e.field for e in invalid.errors] == ["bsn"]


def test_the_document_declares_problems_and_closed_bodies(served: tuple[Server, Employer]) -> None:
    """Every error is problem+json with the Problem the API encodes; Litestar's own 400 body
    is gone; every request body refuses unknown fields, as the API does."""
    server, _ = served
    document = httpx.get(f"{server.url}/schema/openapi.json").raise_for_status().json()
    schemas = document["components"]["schemas"]
    emitted = msgspec.json.schema(Problem)["$defs"]["Problem"]
    assert set(schemas["Problem"]["properties"]) == set(emitted["properties"])
    assert set(schemas["Problem"]["required"]) == set(emitted["required"])
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            assert "400" not in answers, f"{method} {path}"
            assert all(answers[s]["content"] == problem for s in answers if s >= "400"), f"{method} {path}"
            if path.startswith("/api/v1/"):
                assert {"401", "403", "422", "429"} <= set(answers), f"{method} {path}"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None:
                closed = schemas[body["$ref"].rsplit("/", 1)[1]] if "$ref" in body else body
                assert closed["additionalProperties"] is False, f"{method} {path}"
