"""Group commit (issue 15, item 2): concurrent single writes share one durable commit, each
still lands once, audited, and one unit that fails in a group neither loses nor half-writes
the others (registry/store/database.py, Database.transact)."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from registry.access import Actor, ActorKind, Purpose, Work, audit
from registry.demo import valid_bsn
from registry.runtime import Runtime
from registry.services import measurements as measurement_service
from registry.services import organisations as org_service
from registry.services import workers as worker_service
from registry.store import Database, Tx
from schemas.errors import ConcurrentWrite, InvalidInput
from schemas.exposure import MeasurementIn
from schemas.organisation import EmployerIn
from schemas.people import EmploymentIn, WorkerIn
from tests.conftest import Place, Server, create_employer, run_cli
from tests.helpers import air_sample, new_worker

_CLIENTS = 8


def _entry(n: int) -> audit.AuditEntry:
    return audit.AuditEntry(
        actor_type="employer",
        actor_id=f"key:{n}",
        action="create",
        resource_type="probe",
        resource_id=str(n),
        outcome="allowed",
        reason="test",
    )


@contextmanager
def _held(db: Database, queued: int) -> Iterator[None]:
    """Hold the writer while the block hands in units, until `queued` of them wait: the next
    holder of the lock then runs them all as one group."""
    with db.write():  # the lock, as any transaction of its own holds it
        yield
        deadline = time.monotonic() + 30
        while len(db._queue) < queued:
            assert time.monotonic() < deadline, f"{len(db._queue)} of {queued} units queued"
            time.sleep(0.005)


def _probe_table(runtime: Runtime) -> None:
    with runtime.db.write() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS group_probe (n INTEGER PRIMARY KEY, note VARCHAR)")


def _verified(runtime: Runtime) -> int:
    with runtime.db.read() as tx:
        return audit.verify_chain(tx, runtime.audit_seal, runtime.audit_anchor.read()).entries


def test_concurrent_units_share_a_commit_and_all_land_audited(runtime: Runtime) -> None:
    _probe_table(runtime)
    transactions: dict[int, int] = {}  # unit -> the transaction its committed run used
    committed: list[int] = []

    def unit(n: int) -> Callable[[], int]:
        def run(tx: Tx) -> int:
            tx.execute("INSERT INTO group_probe VALUES (?, 'ok')", [n])
            audit.append(tx, [_entry(n)])
            transactions[n] = id(tx)
            tx.after_commit(lambda: committed.append(n))
            return n * 10

        return lambda: runtime.db.transact(run)

    entries = _verified(runtime)
    with _held(runtime.db, 12):
        outcomes = _in_threads_started([unit(n) for n in range(12)])
    assert [o.result(timeout=60) for o in outcomes] == [n * 10 for n in range(12)]
    assert len(set(transactions.values())) == 1, "one transaction, one commit for the whole group"
    assert sorted(committed) == list(range(12))
    with runtime.db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM group_probe") == 12
    assert _verified(runtime) == entries + 12


def _in_threads_started(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Start each job in a thread and return its future (the caller holds the writer)."""
    pool = ThreadPoolExecutor(max_workers=len(jobs))
    futures = [pool.submit(job) for job in jobs]
    pool.shutdown(wait=False)
    return futures


@pytest.mark.parametrize("failure", ["after_writing", "store_error", "only_read"])
def test_a_failing_unit_loses_and_half_writes_nothing_of_the_others(runtime: Runtime, failure: str) -> None:
    """The middle unit of a group of nine fails: after inserting its row and an audit entry
    (the group is rolled back and the others run again), on a clash with a stored row (DuckDB
    aborts the transaction), or having only read (it is left out). The eight others commit
    with their audit entries and their after_commit callbacks, once each; the failed one
    leaves no row, no entry and runs no callback; the chain verifies."""
    _probe_table(runtime)
    with runtime.db.write() as tx:
        tx.execute("INSERT INTO group_probe VALUES (-1, 'stored before')")
    entries = _verified(runtime)
    called: list[int] = []

    def unit(n: int) -> Callable[[], int]:
        def run(tx: Tx) -> int:
            if n == 4 and failure == "only_read":
                tx.scalar("SELECT count(*) FROM group_probe")
                raise InvalidInput([])
            tx.execute("INSERT INTO group_probe VALUES (?, 'ok')", [n])
            audit.append(tx, [_entry(n)])
            tx.after_commit(lambda: called.append(n))
            if n == 4 and failure == "after_writing":
                raise ValueError("refused after writing")
            if n == 4 and failure == "store_error":
                tx.execute("INSERT INTO group_probe VALUES (-1, 'a clash')")
            return n

        return lambda: runtime.db.transact(run)

    with _held(runtime.db, 9):
        futures = _in_threads_started([unit(n) for n in range(9)])
    results: dict[int, Any] = {}
    for n, future in enumerate(futures):
        error = future.exception(timeout=60)
        results[n] = error if error is not None else future.result()
    expected_error = {"after_writing": ValueError, "store_error": ConcurrentWrite, "only_read": InvalidInput}[failure]
    assert isinstance(results.pop(4), expected_error)
    assert results == {n: n for n in range(9) if n != 4}
    assert sorted(called) == [n for n in range(9) if n != 4], "each committed unit's callbacks once, none of 4's"
    with runtime.db.read() as tx:
        rows = tx.all("SELECT n, note FROM group_probe ORDER BY n")
    assert rows == [(-1, "stored before")] + [(n, "ok") for n in range(9) if n != 4]
    assert _verified(runtime) == entries + 8


def _employer_work(runtime: Runtime) -> tuple[Callable[[], Work], uuid.UUID, uuid.UUID]:
    """An employer with one worker employed since 2000: a new Work per call, as per request."""
    operator = Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="cli"), Purpose.ADMINISTRATION)
    employer = operator.write(lambda w: org_service.create_employer(w.tx, EmployerIn(kvk="60000006", name="Groep")))
    actor = Actor(
        kind=ActorKind.EMPLOYER, id="key:groep", employer_id=employer.id, acting_for=f"employer:{employer.id}"
    )

    def work() -> Work:
        return Work(runtime.db, runtime.vault, actor, Purpose.LEGAL_DUTY)

    body = WorkerIn(bsn=valid_bsn(random.Random(15)), name="Groep Werker", date_of_birth=dt.date(1980, 1, 2))
    worker, _ = work().write(lambda w: worker_service.register_worker(w, body))
    job = EmploymentIn(worker_id=worker.id, start_date=dt.date(2000, 1, 1))
    work().write(lambda w: worker_service.create_employment(w, job))
    return work, employer.id, worker.id


def test_concurrent_measurements_through_the_unit_of_work(runtime: Runtime) -> None:
    """Requests' units of work (Work.write: rule checks, the rows, the audit entries) from
    eight threads, one of each group refused by the rules (a worker not employed on the
    date): every accepted one is stored once and audited, every refusal is audited too."""
    work, employer_id, worker_id = _employer_work(runtime)
    start = dt.datetime(2020, 3, 4, 7, 30, tzinfo=dt.UTC)

    def item(n: int, bad: bool) -> MeasurementIn:
        begins = start.replace(year=1990) if bad else start
        return MeasurementIn(
            sample_type="personal_air",
            substance_cas="108-88-3",
            worker_id=worker_id,
            value=1.0 + n,
            unit="mg/m3",
            sampling_start=begins,
            sampling_end=begins + dt.timedelta(hours=8),
            method="NIOSH 1501",
            lab="Arbolab",
            lab_report_id=f"G-{n}",
        )

    def post(n: int) -> Any:
        bad = n % 8 == 5
        return work().write(lambda w: measurement_service.record_measurement(w, item(n, bad)))

    entries = _verified(runtime)
    with ThreadPoolExecutor(max_workers=_CLIENTS) as pool:
        futures = [pool.submit(post, n) for n in range(64)]
    outcomes: dict[int, Any] = {n: f.exception() or f.result() for n, f in enumerate(futures)}
    refused = {n for n, o in outcomes.items() if isinstance(o, InvalidInput)}
    assert refused == {n for n in range(64) if n % 8 == 5}
    stored = {n: o for n, o in outcomes.items() if n not in refused}
    with runtime.db.read() as tx:
        rows = dict(tx.all("SELECT lab_report_id, id FROM measurements WHERE employer_id = ?", [employer_id]))
        created = tx.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'create' AND resource_type = 'measurement' "
            "AND outcome = 'allowed'"
        )
    assert rows == {f"G-{n}": o.id for n, o in stored.items()}
    assert created == len(stored)
    assert _verified(runtime) >= entries + len(stored)


def test_concurrent_single_posts_over_http_land_once_each_and_verify(place: Place) -> None:
    """Eight clients post single measurements at once, each with an Idempotency-Key, some
    sending a repeat of an earlier key and some a bad item: every 201 is stored once under its
    key, every repeat is a replay, every refusal stores nothing, and `registry audit verify`
    passes afterwards."""
    employer = create_employer(place, "65678904", "Gelijktijdig B.V.")
    server = Server(place, env={"REGISTRY_RATE_LIMIT": "100000", "REGISTRY_IDENTITY_RATE_LIMIT": "100000"})
    server.start()
    answers: dict[str, list[httpx.Response]] = {}
    lock = threading.Lock()
    try:
        with server.client(employer.api_key) as client:
            worker = new_worker(client, start_date="2020-01-01")

        def client_loop(c: int) -> None:
            with server.client(employer.api_key) as http:
                for i in range(12):
                    key = f"k-{c}-{i // 2}"  # each key sent twice in a row: the second is a replay
                    body = air_sample(worker, lab_report_id=key, value=0.1 + c)
                    if i // 2 == 3:
                        body["sampling_start"] = "2019-03-04T07:30:00+01:00"  # before the employment
                        body["sampling_end"] = "2019-03-04T15:00:00+01:00"
                    answer = http.post("/api/v1/measurements", json=body, headers={"Idempotency-Key": key})
                    with lock:
                        answers.setdefault(key, []).append(answer)

        with ThreadPoolExecutor(max_workers=_CLIENTS) as pool:
            for future in [pool.submit(client_loop, c) for c in range(_CLIENTS)]:
                future.result()
        with server.client(employer.api_key) as client:
            total = client.get("/api/v1/measurements", params={"limit": 1}).json()["total"]
    finally:
        server.stop()
    created = {key: pair for key, pair in answers.items() if not key.endswith("-3")}
    for key, (first, again) in created.items():
        assert first.status_code == 201, first.text
        assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.text
        assert again.json()["id"] == first.json()["id"], key
    for key, pair in answers.items():
        if key.endswith("-3"):
            assert [a.status_code for a in pair] == [422, 422], key
    assert total == len(created) == _CLIENTS * 5
    verified = run_cli(place, "audit", "verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
