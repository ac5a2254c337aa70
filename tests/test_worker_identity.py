"""Each employer knows a person by its own worker id: what employer B is told never depends
on what employer A registered (black-box, over HTTP), and stores from before per-employer
ids migrate without losing a record."""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from typing import Any

import httpx

from crypto import Vault, create_keyring, save_keyring
from registry.demo import valid_bsn
from registry.services.substances import load_reference_substances
from registry.store import Database, DuckDBFile, PostgresServer, StoreLocation
from registry.store.migrations import migrate
from registry.store.people import KeyTable
from tests.conftest import Employer, Place, Server
from tests.helpers import air_sample

Live = tuple[Server, Employer, Employer]
_rng = random.Random(20)


def _shape(response: httpx.Response, *known: str) -> tuple[int, str, str]:
    """Status, content type and body with the ids the caller knows replaced: what B learns."""
    text = response.text
    for value in known:
        text = text.replace(value, "<id>")
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    return response.status_code, response.headers.get("content-type", ""), text


def test_registering_tells_nothing_about_other_employers(live: Live) -> None:
    server, first, second = live
    known, fresh = valid_bsn(_rng), valid_bsn(_rng)
    with server.client(first.api_key) as a, server.client(second.api_key) as b:
        registered = a.post("/api/v1/workers", json={"bsn": known, "name": "Els Eerst", "date_of_birth": "1971-01-01"})
        assert registered.status_code == 201
        answers = {}
        for label, bsn, birth in (
            ("known, same birth date", known, "1971-01-01"),
            ("fresh", fresh, "1971-01-01"),
        ):
            body = {"bsn": bsn, "name": "Els Eerst", "date_of_birth": birth}
            answers[label] = b.post("/api/v1/workers", json=body)
            assert answers[label].status_code == 201, answers[label].text
            assert {k: v for k, v in answers[label].json().items() if k != "id"} == body
        for birth in ("1980-12-31", "1971-01-02", "2001-06-06"):  # guessing the birth date reveals nothing
            other = valid_bsn(_rng)
            a.post("/api/v1/workers", json={"bsn": other, "name": "X", "date_of_birth": "1950-05-05"})
            guess = b.post("/api/v1/workers", json={"bsn": other, "name": "X", "date_of_birth": birth})
            assert guess.status_code == 201 and guess.json()["date_of_birth"] == birth
        assert answers["known, same birth date"].json()["id"] != registered.json()["id"]
        assert sorted(answers["fresh"].json()) == sorted(answers["known, same birth date"].json())

        again = b.post("/api/v1/workers", json={"bsn": known, "name": "Els Eerst", "date_of_birth": "1971-01-01"})
        assert again.status_code == 200 and again.json()["id"] == answers["known, same birth date"].json()["id"]
        own_conflict = b.post(
            "/api/v1/workers", json={"bsn": known, "name": "Els Eerst", "date_of_birth": "1999-09-09"}
        )
        assert own_conflict.status_code == 409 and "your organisation registered" in own_conflict.json()["detail"]


def test_a_foreign_worker_id_opens_nothing(live: Live) -> None:
    server, first, second = live
    with server.client(first.api_key) as a, server.client(second.api_key) as b:
        bsn = valid_bsn(_rng)
        theirs = a.post("/api/v1/workers", json={"bsn": bsn, "name": "Ans Anders", "date_of_birth": "1966-06-06"})
        theirs_id = theirs.json()["id"]
        assert (
            a.post("/api/v1/employments", json={"worker_id": theirs_id, "start_date": "2010-01-01"}).status_code == 201
        )
        nowhere = str(uuid.uuid4())
        probes: list[tuple[str, str, dict[str, Any] | None]] = [
            ("POST", "/api/v1/employments", {"worker_id": "{id}", "start_date": "2011-01-01"}),
            ("POST", "/api/v1/measurements", air_sample("{id}")),
            (
                "POST",
                "/api/v1/registrations",
                {
                    "worker_id": "{id}",
                    "substance_cas": "71-43-2",
                    "task": "t",
                    "period_start": "2016-01-01",
                    "level_value": 0.5,
                    "level_unit": "mg/m3",
                    "basis": "measured",
                },
            ),
            ("GET", "/api/v1/workers/{id}", None),
            ("GET", "/api/v1/workers/{id}/history", None),
            ("GET", "/api/v1/workers/{id}/employments", None),
            ("GET", "/api/v1/measurements?worker_id={id}", None),
            ("GET", "/api/v1/registrations?worker_id={id}", None),
        ]
        for method, path, body in probes:
            answers = []
            for worker_id in (theirs_id, nowhere):
                filled = None if body is None else _fill(body, worker_id)
                answers.append(_shape(b.request(method, path.replace("{id}", worker_id), json=filled), worker_id))
            assert answers[0] == answers[1], f"{method} {path}: {answers}"
            assert bsn not in answers[0][2] and "Ans Anders" not in answers[0][2]
        # A's records are untouched and still A's alone
        assert a.get(f"/api/v1/workers/{theirs_id}").json()["name"] == "Ans Anders"
        assert len(a.get(f"/api/v1/workers/{theirs_id}/employments").json()) == 1


def _fill(body: dict[str, Any], worker_id: str) -> dict[str, Any]:
    return {k: (worker_id if v == "{id}" else v) for k, v in body.items()}


def test_stores_from_before_per_employer_ids_migrate(place: Place) -> None:
    """An old store (schema version 2): one shared worker row recorded by two employers
    (employments, measurements, a SEG membership), and one worker nobody recorded for."""
    settings = place.settings()
    keyring = create_keyring()
    save_keyring(keyring, settings.key_file)
    vault = Vault(keyring)
    location: StoreLocation = (
        PostgresServer(dsn=settings.postgres_dsn, schema=settings.postgres_schema)
        if settings.postgres_dsn
        else DuckDBFile(path=settings.database_file, encryption_key_hex=keyring.database_key_hex())
    )
    db = Database(location)
    try:
        migrate(db, until=2)
        load_reference_substances(db)
        shared, orphan = uuid.uuid4(), uuid.uuid4()
        first, second = uuid.uuid4(), uuid.uuid4()
        t0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        with db.write() as tx:
            for employer, kvk in ((first, "51515150"), (second, "52525250")):
                tx.execute("INSERT INTO employers VALUES (?, ?, ?, NULL, ?)", [employer, kvk, kvk, t0])
            tx.execute("INSERT INTO api_keys VALUES ('k2', ?, 'h', NULL, ?, NULL)", [second, t0])
            benzene = tx.scalar("SELECT id FROM substances WHERE cas = '71-43-2'")
            for worker, bsn in ((shared, "123456782"), (orphan, valid_bsn(_rng))):
                key = vault.new_worker_key(worker)
                cipher = vault.worker_cipher(worker, key)
                tx.execute(
                    "INSERT INTO workers VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        worker,
                        vault.blind_index("bsn", bsn),
                        cipher.encrypt_text("workers.bsn", bsn),
                        cipher.encrypt_text("workers.name", "Oud"),
                        cipher.encrypt_text("workers.birth_date", "1960-01-01"),
                        t0,
                    ],
                )
                tx.execute("INSERT INTO worker_keys VALUES (?, ?, ?, ?)", [worker, key.kek_id, key.blob, t0])
            # the second employer registered the person first (audit), the first employed them first
            tx.execute(
                "INSERT INTO audit_log VALUES ('s', 1, ?, 'employer', 'key:k2', 'create', 'worker', ?, ?, "
                "'legal_duty', 'allowed', 'r', 'p', 'h')",
                [t0 - dt.timedelta(days=1), str(shared), shared],
            )
            for employer, start in ((first, dt.date(2000, 1, 1)), (second, dt.date(2011, 1, 1))):
                tx.execute(
                    "INSERT INTO employments VALUES (?, ?, ?, 'employee', NULL, NULL, NULL, ?, NULL, ?)",
                    [uuid.uuid4(), shared, employer, start, t0],
                )
                tx.execute(
                    "INSERT INTO measurements (id, employer_id, sample_type, substance_id, worker_id, value, unit, "
                    "sampling_start, sampling_end, sampled_minutes, recorded_at) "
                    "VALUES (?, ?, 'personal_air', ?, ?, 1.0, 'mg/m3', ?, ?, 480, ?)",
                    [uuid.uuid4(), employer, benzene, shared, t0, t0, t0],
                )
            seg = uuid.uuid4()
            tx.execute("INSERT INTO segs VALUES (?, ?, 'S', NULL, NULL, ?)", [seg, second, t0])
            tx.execute(
                "INSERT INTO seg_members VALUES (?, ?, ?, '2011-01-01', NULL, ?)", [uuid.uuid4(), seg, shared, t0]
            )
        migrate(db)
        with db.read() as tx:
            rows = tx.all("SELECT id, employer_id, key_id FROM workers ORDER BY created_at, employer_id NULLS LAST")
            by_employer = {employer: worker for worker, employer, _ in rows}
            assert {key for _, _, key in rows} == {shared, orphan}  # the old keys still open the copies
            assert tx.scalar("SELECT count(DISTINCT bsn_index) FROM workers") == 2
            assert by_employer[second] == shared  # seen first (its registration in the audit log)
            assert by_employer[first] != shared
            assert by_employer[None] == orphan
            for employer in (first, second):
                for table in ("employments", "measurements"):
                    assert tx.all(f"SELECT DISTINCT worker_id FROM {table} WHERE employer_id = ?", [employer]) == [
                        (by_employer[employer],)
                    ]
            assert tx.scalar("SELECT worker_id FROM seg_members") == shared
            key = KeyTable(tx).wrapped_key(shared)
            name_ct = tx.scalar("SELECT name_ct FROM workers WHERE id = ?", [by_employer[first]])
            assert vault.worker_cipher(shared, key).decrypt_text("workers.name", name_ct) == "Oud"
            assert tx.scalar("SELECT count(*) FROM worker_keys") == 2  # no key was made or lost
    finally:
        db.close()


def test_a_bsn_in_other_digits_is_refused_not_a_second_person(live: Live) -> None:
    server, first, _ = live
    bsn = valid_bsn(_rng)
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in bsn)
    with server.client(first.api_key) as a:
        body = {"bsn": bsn, "name": "Dirk Dubbel", "date_of_birth": "1975-05-05"}
        assert a.post("/api/v1/workers", json=body).status_code == 201
        refused = a.post("/api/v1/workers", json={**body, "bsn": fullwidth, "date_of_birth": "1999-09-09"})
        assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["bsn"]
        listed = a.get("/api/v1/workers", params={"limit": 500}).json()["items"]
        assert sum(w["bsn"] == bsn for w in listed) == 1
