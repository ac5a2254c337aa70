"""Schemathesis tests the served API against its own OpenAPI document (issue 20), as each
role with API access: no answer may be a 5xx, nor one the document does not declare (status
code, content type, body schema).

Each role gets schemathesis' fuzzing phase, valid and invalid requests alike; the employer,
whose key reaches every write, gets five times the examples. The coverage phase is left out:
on this document it spends some 20 s of CPU per role generating its cases. The seed is fixed
and generation deterministic, so what fails here fails again; the budget (about 1,700
requests) keeps the test within some 40 s of one core.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest
import schemathesis
from schemathesis.engine import events, from_schema

from crypto import LOCAL_ISSUER
from tests.conftest import Server, create_employer, make_place, run_cli
from tests.helpers import air_sample

SEED = 20
EXAMPLES = 5  # per operation and generation mode (positive, negative)
EMPLOYER_EXAMPLES = 25
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
BSN = "123456782"
# `registry token` arguments of each signed-in role; the employer uses its API key.
SIGNED_IN = {
    "worker": ("--role", "worker", "--bsn", BSN),
    "company_doctor": ("--role", "company_doctor", "--subject", "doctor-1"),
    "hygienist": ("--role", "hygienist", "--subject", "hygienist-1"),
    "inspector": ("--role", "inspector", "--subject", "inspector-1"),
    "researcher": ("--role", "researcher", "--subject", "researcher-1", "--project", "p1"),
    "operator": ("--role", "operator", "--subject", "operator-1"),
}


class Api(msgspec.Struct):
    server: Server
    headers: dict[str, dict[str, str]]  # per role


class Outcome(msgspec.Struct):
    cases: int
    statuses: Counter[int]
    failures: list[str]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """A registry with an employer, its worker, a measurement and grants for a doctor and a
    hygienist; the abuse limits are lifted, as fuzzing is the point here."""
    place = make_place(tmp_path, "duckdb")
    employer = create_employer(place, "51515150", "Fuzz B.V.")
    server = Server(place, env={"REGISTRY_RATE_LIMIT": "1000000", "REGISTRY_IDENTITY_RATE_LIMIT": "1000000"})
    server.start()
    try:
        with server.client(employer.api_key) as client:
            person = {"bsn": BSN, "name": "Fien Fuzz", "date_of_birth": "1975-05-05"}
            worker = client.post("/api/v1/workers", json=person).json()["id"]
            assert client.post("/api/v1/employments", json={"worker_id": worker, "start_date": "2015-01-01"}).is_success
            assert client.post("/api/v1/measurements", json=air_sample(worker)).is_success
            for role, subject in (("company_doctor", "doctor-1"), ("hygienist", "hygienist-1")):
                grant = {"role": role, "issuer": LOCAL_ISSUER, "subject": subject, "valid_from": "2020-01-01"}
                assert client.post("/api/v1/grants", json=grant).is_success
        with ThreadPoolExecutor() as pool:  # each `registry token` is a process of its own
            tokens = {role: pool.submit(run_cli, place, "token", *args) for role, args in SIGNED_IN.items()}
        headers = {"employer": {"Authorization": f"Bearer {employer.api_key}"}}
        headers |= {role: {"Authorization": f"Bearer {out.result().stdout.strip()}"} for role, out in tokens.items()}
        headers["inspector"]["X-Employer"] = employer.kvk  # the employer it inspects
        yield Api(server=server, headers=headers)
    finally:
        server.stop()


def _run(api: Api, role: str) -> Outcome:
    """One schemathesis run as `role`: the cases it sent, the statuses it got, what failed."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "deterministic": True,
                "max-examples": EMPLOYER_EXAMPLES if role == "employer" else EXAMPLES,
                "database": "none",
            },
            "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "checks": {"enabled": False} | {name: {"enabled": True} for name in CHECKS},
            "headers": api.headers[role],
        }
    )
    schema = schemathesis.openapi.from_url(f"{api.server.url}/schema/openapi.json", config=config)
    outcome = Outcome(cases=0, statuses=Counter(), failures=[])
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            outcome.cases += len(recorder.cases)
            outcome.statuses.update(i.response.status_code for i in recorder.interactions.values() if i.response)
            for case_id, checks in recorder.checks.items():
                case, interaction = recorder.cases[case_id].value, recorder.interactions.get(case_id)
                answer = interaction.response if interaction else None
                for check in checks:
                    if check.failure_info is not None:
                        got = f"{answer.status_code} {answer.content[:200]!r}" if answer else "no answer"
                        outcome.failures.append(
                            f"{case.method} {case.path} -> {got}: {check.failure_info.failure.title}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            outcome.failures.append(f"error: {event!r}")
    return outcome


def test_every_answer_is_declared(api: Api) -> None:
    """All roles in one test against one server: under `pytest -n 2` a parametrized test would
    start a server and sign everyone in on both workers."""
    outcomes = {role: _run(api, role) for role in api.headers}
    for role, outcome in outcomes.items():
        print(f"{role}: {outcome.cases} cases, statuses {dict(sorted(outcome.statuses.items()))}")
    assert all(outcome.cases for outcome in outcomes.values())
    assert [f"{role}: {failure}" for role, outcome in outcomes.items() for failure in outcome.failures] == []
