"""Every read of personal data is authorised and logged; the log is tamper-evident."""

from __future__ import annotations

import pytest

from registry.access import audit
from registry.runtime import open_runtime
from schemas.errors import IntegrityFailure
from tests.conftest import Place, Server, create_employer
from tests.helpers import air_sample, new_worker


def test_reads_and_refusals_are_logged_with_purpose_and_reason(place: Place) -> None:
    mine = create_employer(place, "12121210", "Lezer B.V.")
    other = create_employer(place, "13131310", "Nieuwsgierig B.V.")
    server = Server(place)
    server.start()
    try:
        with server.client(mine.api_key) as client, server.client(other.api_key) as snoop:
            worker = new_worker(client)
            measurement = client.post("/api/v1/measurements", json=air_sample(worker)).json()["id"]
            assert client.get(f"/api/v1/workers/{worker}", headers={"X-Purpose": "prevention"}).status_code == 200
            assert snoop.get(f"/api/v1/measurements/{measurement}").status_code == 404
    finally:
        server.stop()
    rt = open_runtime(place.settings())
    try:
        with rt.db.read() as tx:
            rows = tx.all(
                "SELECT actor_id, action, resource_type, purpose, outcome, reason FROM audit_log "
                "WHERE subject_worker_id = ? OR resource_id = ? ORDER BY seq",
                [worker, measurement],
            )
            assert (
                f"key:{mine.key_id}",
                "read",
                "worker",
                "prevention",
                "allowed",
                "recorded by this employer",
            ) in rows
            assert (
                f"key:{other.key_id}",
                "read",
                "measurement",
                "legal_duty",
                "denied",
                "recorded by another employer",
            ) in rows
            assert any(r[1] == "create" and r[2] == "measurement" for r in rows)
            assert audit.verify_chain(tx) >= 4
            text = " ".join(str(v) for row in tx.all("SELECT * FROM audit_log") for v in row)
            assert "Jan de Tester" not in text
    finally:
        rt.close()


def test_editing_an_audit_entry_breaks_the_chain(place: Place) -> None:
    employer = create_employer(place, "14141410", "Knoeier B.V.")
    server = Server(place)
    server.start()
    try:
        with server.client(employer.api_key) as client:
            worker = new_worker(client)
            for _ in range(3):
                client.get(f"/api/v1/workers/{worker}")
    finally:
        server.stop()
    rt = open_runtime(place.settings())
    try:
        with rt.db.write() as tx:
            count = audit.verify_chain(tx)
            tx.execute("UPDATE audit_log SET outcome = 'denied' WHERE seq = ?", [count - 1])
        with rt.db.read() as tx, pytest.raises(IntegrityFailure, match=f"entry {count - 1}"):
            audit.verify_chain(tx)
    finally:
        rt.close()
