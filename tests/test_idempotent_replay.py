"""An idempotent retry is recognised by the request it decodes to, not by its bytes (issue 20,
item 5): a client that re-serialises its retry (another key order, whitespace, escapes) gets
the first answer; a request that differs in any value still gets 409."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.conftest import Employer, Server
from tests.helpers import air_sample, new_worker

Live = tuple[Server, Employer, Employer]
JSON = {"Content-Type": "application/json"}


def _post(client: httpx.Client, path: str, raw: str, key: str) -> httpx.Response:
    return client.post(path, content=raw.encode(), headers={**JSON, "Idempotency-Key": key})


def _reordered(body: dict[str, Any]) -> str:
    """The same JSON written differently: keys reversed, indented, non-ASCII as \\u escapes."""
    return json.dumps(dict(reversed(list(body.items()))), indent=3, ensure_ascii=True)


def test_a_retry_written_differently_is_a_replay(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        body = air_sample(worker, lab="Arbolab Zuid-Holland", location="hal é", lab_report_id="CANON-1")
        key = f"canon-{uuid.uuid4()}"
        created = _post(
            client, "/api/v1/measurements", json.dumps(body, separators=(",", ":"), ensure_ascii=False), key
        )
        assert created.status_code == 201, created.text
        replayed = _post(client, "/api/v1/measurements", _reordered(body), key)
        assert replayed.status_code == 201, replayed.text
        assert replayed.headers.get("Idempotent-Replayed") == "true"
        assert replayed.json()["id"] == created.json()["id"]
        assert client.get("/api/v1/measurements", params={"worker_id": worker}).json()["total"] == 1

        different = _post(client, "/api/v1/measurements", _reordered({**body, "location": "hal e"}), key)
        assert different.status_code == 409 and "different request" in different.json()["detail"]


def test_a_batch_retry_written_differently_is_a_replay(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        items = [air_sample(worker, lab_report_id=f"CANON-B-{i}") for i in range(3)]
        key = f"canon-batch-{uuid.uuid4()}"
        created = _post(client, "/api/v1/measurements/batch", json.dumps({"items": items}), key)
        assert created.status_code == 201, created.text
        reversed_items = [dict(reversed(list(item.items()))) for item in items]
        again = _post(client, "/api/v1/measurements/batch", json.dumps({"items": reversed_items}, indent=1), key)
        assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
        assert [m["id"] for m in again.json()["items"]] == [m["id"] for m in created.json()["items"]]
        swapped = _post(client, "/api/v1/measurements/batch", json.dumps({"items": items[::-1]}), key)
        assert swapped.status_code == 409  # the order of items is part of the request


def test_registering_a_worker_again_written_differently(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        person = {"bsn": "111222333", "name": "Jan de Vries", "date_of_birth": "1970-05-17"}
        key = f"canon-worker-{uuid.uuid4()}"
        created = _post(client, "/api/v1/workers", json.dumps(person), key)
        assert created.status_code in (200, 201), created.text
        replayed = _post(client, "/api/v1/workers", "\n\t" + _reordered(person) + "\n", key)
        assert replayed.status_code == created.status_code and replayed.json() == created.json()
        assert replayed.headers.get("Idempotent-Replayed") == "true"
        other = _post(client, "/api/v1/workers", json.dumps({**person, "name": "Jan de  Vries"}), key)
        assert other.status_code == 409
