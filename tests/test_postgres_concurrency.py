"""Two API processes on one PostgreSQL store: nothing lost, nothing duplicated, one audit chain."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import httpx

from registry.access import audit
from registry.runtime import open_runtime
from tests.conftest import Server, create_employer, make_place
from tests.helpers import air_sample, new_worker

WRITES_PER_THREAD = 40


def test_two_api_processes_write_concurrently(tmp_path: Path) -> None:
    place = make_place(tmp_path, "postgres")
    employer = create_employer(place, "31313130", "Twee Processen B.V.")
    servers = [Server(place), Server(place)]
    for server in servers:
        server.start()
    try:
        with servers[0].client(employer.api_key) as client:
            worker = new_worker(client)
        retry_key = str(uuid.uuid4())
        outcomes: list[tuple[int, str]] = []
        lock = threading.Lock()

        def write(server: Server, thread: int) -> None:
            with server.client(employer.api_key) as client:
                for i in range(WRITES_PER_THREAD):
                    body = air_sample(worker, lab_report_id=f"P{thread}-{i}")
                    response = client.post("/api/v1/measurements", json=body)
                    # Both processes also retry one shared request; only one may create it.
                    shared = _post_with_retry(client, air_sample(worker, lab_report_id="SHARED"), retry_key)
                    with lock:
                        outcomes.append((response.status_code, response.json().get("id", response.text)))
                        outcomes.append((shared.status_code, shared.json().get("id", shared.text)))

        threads = [threading.Thread(target=write, args=(servers[t % 2], t)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for server in servers:
            server.stop()

    assert [o for o in outcomes if o[0] != 201] == []
    shared_ids = {mid for status, mid in outcomes[1::2]}
    assert len(shared_ids) == 1, "the retried request was created more than once"
    rt = open_runtime(place.settings())
    try:
        with rt.db.read() as tx:
            reports = tx.all("SELECT lab_report_id, count(*) FROM measurements GROUP BY lab_report_id")
            counts = dict(reports)
            assert counts.pop("SHARED") == 1
            assert len(counts) == 4 * WRITES_PER_THREAD and set(counts.values()) == {1}
            assert audit.verify_chain(tx, rt.audit_seal, rt.audit_anchor.read()).entries > 4 * WRITES_PER_THREAD
    finally:
        rt.close()


def _post_with_retry(client: httpx.Client, body: dict[str, object], key: str) -> httpx.Response:
    """As a client would: a 409 for a key still being written by the other process means retry."""
    for _ in range(20):
        response = client.post("/api/v1/measurements", json=body, headers={"Idempotency-Key": key})
        if response.status_code != 409:
            return response
    return response
