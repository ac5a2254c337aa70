"""Signing in with OpenID Connect over real HTTP: the embedded issuer a newcomer uses
(`registry token`), a third-party provider's tokens, and every kind of bad token refused
with 401 problem+json."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from crypto import LOCAL_ISSUER, LocalIssuer
from tests.conftest import Employer, Server, create_employer, make_place, run_cli
from tests.helpers import air_sample
from tests.oidc import OidcProvider

BSN = "123456782"


class Place2(msgspec.Struct):
    server: Server
    first: Employer
    second: Employer
    issuer_key: Path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProvider) -> Iterator[Place2]:
    place = make_place(tmp_path_factory.mktemp("signin"), "duckdb")
    first = create_employer(place, "61616160", "Eerste Sign-in B.V.")
    second = create_employer(place, "62626260", "Tweede Sign-in B.V.")
    # The third-party provider may sign in workers only; operators come from the embedded issuer.
    server = Server(place, env={"REGISTRY_OIDC_ISSUERS": f"{oidc_provider.issuer}=worker"})
    server.start()
    try:
        with server.client(first.api_key) as a, server.client(second.api_key) as b:
            for client, start, value in ((a, "2001-01-01", 0.7), (b, "2012-01-01", 0.9)):
                person = {"bsn": BSN, "name": "Wim Werker", "date_of_birth": "1962-02-02"}
                worker = client.post("/api/v1/workers", json=person).json()["id"]
                assert (
                    client.post("/api/v1/employments", json={"worker_id": worker, "start_date": start}).status_code
                    == 201
                )
                assert client.post("/api/v1/measurements", json=air_sample(worker, value=value)).status_code == 201
            blood = {
                **air_sample(worker, value=None),
                "sample_type": "biological",
                "substance_cas": "7439-92-1",
                "value": 12.5,
                "unit": "ug/100mL",
                "matrix": "blood",
                "analyte": "PbB",
                "air_volume_l": None,
            }
            assert b.post("/api/v1/measurements", json=blood).status_code == 201, "blood"
        yield Place2(server=server, first=first, second=second, issuer_key=place.settings().issuer_key_file)
    finally:
        server.stop()


def _token(place: Place2, *args: str) -> str:
    out = run_cli(place.server.place, "token", *args)
    return out.stdout.strip()


def test_a_newcomer_signs_in_as_a_worker_and_sees_every_employer(signed: Place2) -> None:
    token = _token(signed, "--role", "worker", "--bsn", BSN)
    with signed.server.client(token) as worker:
        history = worker.get("/api/v1/me/history")
        assert history.status_code == 200, history.text
        document = history.json()
        employers = {m["measurement"]["employer_id"] for m in document["measurements"]}
        assert employers == {signed.first.id, signed.second.id}
        (blood,) = [
            m["measurement"] for m in document["measurements"] if m["measurement"]["sample_type"] == "biological"
        ]
        assert blood["value"] == 12.5 and blood["result_withheld"] is None
        me = worker.get("/api/v1/me").json()
        assert me["role"] == "worker" and {i["bsn"] for i in me["identities"]} == {BSN}
    with signed.server.client(signed.second.api_key) as employer:
        listed = employer.get("/api/v1/measurements", params={"sample_type": "biological"}).json()
        assert [m["value"] for m in listed["items"]] == [None]  # an employer never sees the value


def test_a_third_party_providers_token_signs_in_a_worker(signed: Place2, oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token("worker-1", {"registry_role": "worker", "bsn": BSN})
    with signed.server.client(token) as worker:
        assert worker.get("/api/v1/me/history").status_code == 200
    operator = oidc_provider.token("operator-1", {"registry_role": "operator"})
    with signed.server.client(operator) as refused:
        answer = refused.get("/api/v1/me")
        assert answer.status_code == 401 and "not trusted" in answer.json()["detail"]


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _bad_tokens(place: Place2, tmp_path: Path) -> dict[str, str]:
    issuer = LocalIssuer.load_or_create(place.issuer_key)
    stranger = LocalIssuer.load_or_create(tmp_path / "other.jwk")
    claims = {"sub": "w", "registry_role": "worker", "bsn": BSN}
    now = dt.datetime.now(dt.UTC)
    key = ECKey.generate_key("P-256")
    wrong_iss = jwt.encode(
        {"alg": "ES256"},
        {**claims, "iss": "https://evil.example", "aud": "blootstellingsregister", "exp": int(now.timestamp()) + 600},
        key,
        algorithms=["ES256"],
    )
    return {
        "expired": issuer.issue(
            claims, audience="blootstellingsregister", ttl=dt.timedelta(minutes=5), now=now - dt.timedelta(hours=2)
        ),
        "wrong audience": issuer.issue(claims, audience="another-service", ttl=dt.timedelta(minutes=5)),
        "wrong issuer": wrong_iss,
        "forged": stranger.issue(claims, audience="blootstellingsregister", ttl=dt.timedelta(minutes=5)),
        "alg none": _unsigned(
            {**claims, "iss": LOCAL_ISSUER, "aud": "blootstellingsregister", "exp": int(now.timestamp()) + 600}
        ),
        "garbage": "not.a.token",
        "no role": issuer.issue({"sub": "w"}, audience="blootstellingsregister", ttl=dt.timedelta(minutes=5)),
    }


def test_bad_tokens_get_401_problems(signed: Place2, tmp_path: Path) -> None:
    for name, token in _bad_tokens(signed, tmp_path).items():
        with signed.server.client(token) as client:
            for path in ("/api/v1/me", "/api/v1/me/history", "/api/v1/workers"):
                answer = client.get(path)
                assert answer.status_code == 401, f"{name} {path}: {answer.status_code} {answer.text}"
                assert answer.headers["content-type"].startswith("application/problem+json"), name
                assert token not in answer.text and BSN not in answer.text, name


def test_a_worker_with_nothing_registered_is_told_so_in_dutch_first(signed: Place2) -> None:
    token = _token(signed, "--role", "worker", "--bsn", "111222333")
    with signed.server.client(token) as worker:
        answer = worker.get("/api/v1/me/history")
        assert answer.status_code == 404 and answer.json()["detail"].startswith("Er is niets over u geregistreerd")


def test_a_doctor_with_two_contracts_names_the_employer(signed: Place2) -> None:
    subject = "big:19012345601"
    for employer in (signed.first, signed.second):
        with signed.server.client(employer.api_key) as client:
            grant = {"role": "company_doctor", "issuer": LOCAL_ISSUER, "subject": subject, "valid_from": "2020-01-01"}
            assert client.post("/api/v1/grants", json=grant).status_code == 201
    token = _token(signed, "--role", "company_doctor", "--subject", subject)
    with signed.server.client(token) as both:
        values = {m["value"] for m in both.get("/api/v1/measurements", params={"limit": 500}).json()["items"]}
        assert 12.5 in values  # the second employer's blood result: medical data for the doctor
    with signed.server.client(token, headers={"X-Employer": "61616160"}) as first_only:
        items = first_only.get("/api/v1/measurements", params={"limit": 500}).json()["items"]
        assert {m["employer_id"] for m in items} == {signed.first.id}
    with signed.server.client(token, headers={"X-Employer": "99999999"}) as unknown:
        assert unknown.get("/api/v1/measurements").status_code == 403
