"""Abuse limits over real HTTP (issue 20, item 6): per caller, not per address, stricter on
the identity endpoints, refused credentials counted per address, and every 429 a problem+json
with Retry-After. The server runs with small limits so the tests reach them quickly."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from crypto import LocalIssuer
from registry.settings import DEFAULT_IDENTITY_RATE_LIMIT, DEFAULT_RATE_LIMIT, Settings
from tests.conftest import REGISTRY, Employer, Server, create_employer, make_place

PER_MINUTE = 60  # one request a second refills
IDENTITY_PER_MINUTE = 12


class Limited(msgspec.Struct):
    server: Server
    employers: list[Employer]
    issuer: LocalIssuer


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Limited]:
    place = make_place(tmp_path_factory.mktemp("limits"), "duckdb")
    employers = [create_employer(place, f"{n}{n}{n}{n}{n}{n}{n}0", f"Werkgever {n} B.V.") for n in range(3, 8)]
    env = {"REGISTRY_RATE_LIMIT": str(PER_MINUTE), "REGISTRY_IDENTITY_RATE_LIMIT": str(IDENTITY_PER_MINUTE)}
    server = Server(place, env=env)
    server.start()
    try:
        issuer = LocalIssuer.load_or_create(place.settings().issuer_key_file)
        yield Limited(server=server, employers=employers, issuer=issuer)
    finally:
        server.stop()


def _until_refused(client: httpx.Client, method: str, path: str, at_most: int) -> tuple[int, httpx.Response]:
    """Send the request until it is refused with 429; how many got through, and the 429."""
    for sent in range(at_most):
        answer = client.request(method, path)
        if answer.status_code == 429:
            return sent, answer
        assert answer.status_code < 400, answer.text
    raise AssertionError(f"{method} {path}: no 429 after {at_most} requests")


def _assert_too_many(answer: httpx.Response, most_seconds: int) -> int:
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == "/problems/too-many-requests" and problem["status"] == 429
    retry_after = int(answer.headers["Retry-After"])
    assert 1 <= retry_after <= most_seconds, retry_after
    assert f"retry after {retry_after} s" in problem["detail"]
    return retry_after


def _token(issuer: LocalIssuer, subject: str, minutes: int) -> str:
    claims = {"sub": subject, "registry_role": "operator"}
    return issuer.issue(claims, audience="blootstellingsregister", ttl=dt.timedelta(minutes=minutes))


def test_identity_endpoints_have_a_stricter_budget_per_credential(limited: Limited) -> None:
    first, second = limited.employers[0], limited.employers[1]
    with limited.server.client(first.api_key) as one, limited.server.client(second.api_key) as other:
        sent, refused = _until_refused(one, "GET", "/api/v1/me", IDENTITY_PER_MINUTE + 5)
        assert IDENTITY_PER_MINUTE <= sent <= IDENTITY_PER_MINUTE + 2
        _assert_too_many(refused, 60 // IDENTITY_PER_MINUTE)
        assert "identity endpoints" in refused.json()["detail"]
        person = {"bsn": "123456782", "name": "Jan", "date_of_birth": "1970-01-01"}
        assert one.post("/api/v1/workers", json=person).status_code == 429  # the same budget
        assert one.get("/api/v1/sites").status_code == 200  # other endpoints: the general budget
        # Another credential from the same address has its own budget.
        assert other.get("/api/v1/me").status_code == 200


def test_every_request_counts_against_the_credentials_budget(limited: Limited) -> None:
    with limited.server.client(limited.employers[2].api_key) as client:
        sent, refused = _until_refused(client, "GET", "/api/v1/sites", PER_MINUTE + 10)
        assert PER_MINUTE <= sent <= PER_MINUTE + 5
        retry_after = _assert_too_many(refused, 60 // PER_MINUTE)
        time.sleep(retry_after)
        assert client.get("/api/v1/sites").status_code == 200  # Retry-After is enough


def test_a_signed_in_person_is_limited_by_subject_not_by_token(limited: Limited) -> None:
    tokens = [_token(limited.issuer, "operator-7", minutes) for minutes in (5, 6, 7)]
    assert len(set(tokens)) == 3
    clients = [limited.server.client(token) for token in tokens]
    try:
        answers = [clients[n % 3].get("/api/v1/me").status_code for n in range(IDENTITY_PER_MINUTE + 3)]
        assert answers[:IDENTITY_PER_MINUTE] == [200] * IDENTITY_PER_MINUTE
        assert answers[-1] == 429
        # The operator's reconciliation endpoints are identity endpoints too.
        assert clients[0].get("/api/v1/operator/reconciliations").status_code == 429
    finally:
        for client in clients:
            client.close()
    with limited.server.client(_token(limited.issuer, "operator-8", 5)) as someone_else:
        assert someone_else.get("/api/v1/me").status_code == 200


def test_refused_credentials_are_counted_per_address(limited: Limited) -> None:
    statuses = []
    for n in range(IDENTITY_PER_MINUTE + 3):
        # A fresh made-up API key or token each time: spreading over credentials gains nothing.
        made_up = f"brk_{n:016d}_not-a-secret" if n % 2 else f"not.a.{n}"
        with limited.server.client(made_up) as stranger:
            statuses.append(stranger.get("/api/v1/me"))
    assert [a.status_code for a in statuses[:IDENTITY_PER_MINUTE]] == [401] * IDENTITY_PER_MINUTE
    _assert_too_many(statuses[-1], 60 // IDENTITY_PER_MINUTE)
    assert "refused credential" in statuses[-1].json()["detail"]
    # A valid credential from the same address is not held back by them.
    with limited.server.client(limited.employers[3].api_key) as valid:
        assert valid.get("/api/v1/me").status_code == 200


def test_limits_come_from_the_environment_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_RATE_LIMIT", raising=False)
    monkeypatch.delenv("REGISTRY_IDENTITY_RATE_LIMIT", raising=False)
    defaults = Settings.resolve("data")
    assert (defaults.rate_limit_per_minute, defaults.identity_rate_limit_per_minute) == (
        DEFAULT_RATE_LIMIT,
        DEFAULT_IDENTITY_RATE_LIMIT,
    )
    assert DEFAULT_IDENTITY_RATE_LIMIT < DEFAULT_RATE_LIMIT
    monkeypatch.setenv("REGISTRY_IDENTITY_RATE_LIMIT", "30")
    assert Settings.resolve("data").identity_rate_limit_per_minute == 30
    for bad in ("0", "-5", "ten", "1e3", "٣٠"):
        monkeypatch.setenv("REGISTRY_RATE_LIMIT", bad)
        with pytest.raises(ValueError, match="REGISTRY_RATE_LIMIT"):
            Settings.resolve("data")


def test_a_malformed_limit_setting_is_refused_in_one_line(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    env = {**os.environ, "REGISTRY_RATE_LIMIT": "ten"}
    result = subprocess.run(
        [REGISTRY, "--data-dir", str(place.data_dir), "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("registry: REGISTRY_RATE_LIMIT must be a whole number")
    assert "Traceback" not in result.stderr
