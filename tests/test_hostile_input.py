"""Bad input gets a 4xx problem+json naming what is wrong, never a 5xx (issue 20: each of
these answered 500 before)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Employer, Server
from tests.helpers import air_sample, new_worker

Live = tuple[Server, Employer, Employer]


def _problem(answer: httpx.Response, status: int) -> Any:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return answer.json()


def test_a_malformed_filter_is_named(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        problem = _problem(client.get("/api/v1/measurements", params={"substance_cas": "foo"}), 422)
        assert problem["errors"] == [
            {
                "field": "query:substance_cas",
                "pointer": "/query:substance_cas",
                "reason": problem["errors"][0]["reason"],
            }
        ]


def test_an_offset_beyond_any_store_is_refused(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        for path in ("/api/v1/workers", "/api/v1/registrations", "/api/v1/measurements"):
            answer = client.get(path, params={"offset": "9223372036854775808"})
            assert answer.status_code in (400, 422), f"{path}: {answer.status_code}"
            assert answer.headers["content-type"].startswith("application/problem+json")


def test_json_nested_a_thousand_levels_deep(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        deep = "[" * 1000 + "]" * 1000
        answer = client.post("/api/v1/workers", content=deep, headers={"Content-Type": "application/json"})
        assert _problem(answer, 422)["detail"] == "body nested too deeply"


def test_a_sampling_date_in_year_one(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        sample = air_sample(
            worker, sampling_start="0001-01-01T00:10:00+01:00", sampling_end="0001-01-01T08:10:00+01:00"
        )
        problem = _problem(client.post("/api/v1/measurements", json=sample), 422)
        fields = {e["field"] for e in problem["errors"]}
        assert {"sampling_start", "sampling_end"} <= fields


def test_a_batch_key_that_is_a_superscript_digit(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        problem = _problem(client.post("/api/v1/measurements/batch", json={"²": 1, "items": [air_sample(worker)]}), 422)
        assert [e["field"] for e in problem["errors"]] == ["²"]


def test_a_body_that_is_only_a_newline(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        answer = client.post("/api/v1/workers", content=b"\n", headers={"Content-Type": "application/json"})
        assert _problem(answer, 422)["detail"] == "body is not valid JSON"


def test_a_query_parameter_of_the_wrong_type_is_named(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        problem = _problem(client.get("/api/v1/workers", params={"limit": "abc"}), 422)
        assert [(e["field"], e["pointer"]) for e in problem["errors"]] == [("query:limit", "/query:limit")]
