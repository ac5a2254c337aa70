"""Kill -9 at random moments (issue 20, item 8): during sustained ingest and during key
rotation, the registry comes back with every acknowledged write exactly once, no half batch,
every worker readable and an intact audit log. The schedule is seeded (tests/crash.py);
`pytest -s` prints what each harness did. (The tests are in the order that balances them
over `pytest -n 2`.)"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from pathlib import Path

from registry.access import Actor, ActorKind, Purpose, Work
from registry.demo import valid_bsn
from registry.runtime import Runtime
from registry.services import organisations as org_service
from registry.services import workers as worker_service
from schemas.organisation import EmployerIn
from schemas.people import WorkerIn
from tests.conftest import Place, create_employer, make_place, run_cli
from tests.crash import (
    SEED,
    Ingest,
    Registrar,
    Tally,
    check_store,
    check_worker_keys,
    cli,
    crash_server,
    kill_server,
    start_cli,
)
from tests.helpers import air_sample, new_worker

ROTATION_KILLS = 5


def test_acknowledged_writes_survive_kills_during_ingest(tmp_path: Path) -> None:
    """The embedded store: its own files must survive every kill."""
    _ingest_harness(make_place(tmp_path, "duckdb"), kills=10, log=tmp_path / "server.log")


def test_a_command_run_after_a_crash_keeps_every_index_entry(tmp_path: Path) -> None:
    """Regression, found by the ingest harness: DuckDB 1.5.5 replays a crashed server's WAL
    into indexes it loads only once a table is used, and its checkpoint at close dropped what
    such an index had buffered. So a command run before the server was back (`audit verify`)
    left rows no lookup found: here the worker's employment, so nothing more could be
    recorded for the worker ("no employment with your organisation")."""
    place = make_place(tmp_path, "duckdb")
    employer = create_employer(place, "64567893", "Na De Crash B.V.")
    server = crash_server(place, tmp_path / "server.log")
    server.start()
    try:
        with server.client(employer.api_key) as client:
            new_worker(client)
        server.stop()  # a clean stop: the indexes are on disk, so the next start loads them lazily
        server.start()
        with server.client(employer.api_key) as client:
            worker = new_worker(client)
            first = client.post("/api/v1/measurements", json=air_sample(worker))
            assert first.status_code == 201, first.text
        kill_server(server, Tally())
        _audit_verify(place)  # opens and closes the store without using those tables
        server.start()
        with server.client(employer.api_key) as client:
            again = client.post("/api/v1/measurements", json=air_sample(worker))
            assert again.status_code == 201, again.text[:300]
            assert client.get(f"/api/v1/measurements/{first.json()['id']}").status_code == 200
    finally:
        server.stop()


def test_workers_stay_readable_after_kills_during_key_rotation(tmp_path: Path) -> None:
    """Each round rotates through the running server (its operator channel) while clients
    register workers and post batches, and kills the server during the rotation (odd rounds,
    which then also kill a rotation run by the CLI with the server stopped) or just after it.
    Then the store opens, every worker key unwraps and every registered worker reads back."""
    rng = random.Random(f"{SEED}-rotation")
    place = make_place(tmp_path, "duckdb")
    run_cli(place, "synth", "--measurements", "6000", "--seed", "8")  # ~1,100 worker keys to re-wrap
    employer = create_employer(place, "62345671", "Crash Rotatie B.V.")
    server = crash_server(place, tmp_path / "server.log")
    tally = Tally()
    cli_rotation = _timed_rotation(place)  # with the server stopped
    server.start()
    taken: set[str] = set()
    registrars = [Registrar(server, employer.api_key, random.Random(rng.getrandbits(64)), taken) for _ in range(4)]
    try:
        with server.client(employer.api_key) as client:
            for registrar in registrars:
                assert registrar.register(client, registrar.rng) is not None
            ingest = Ingest(server, employer.api_key, [new_worker(client)], rng)
        load = [r.run() for r in registrars] + ingest.run(clients=2, batch_clients=2)
        served_rotation = _timed_rotation(place)  # under the same load as the rounds
        for stop in [r.stop for r in registrars] + [ingest.stop]:
            stop.set()
        for thread in load:
            thread.join(timeout=60)
        for round_ in range(ROTATION_KILLS):
            before = {r: set(r.known) for r in registrars}
            load = [r.run() for r in registrars] + ingest.run(clients=2, batch_clients=2)
            rotation = start_cli(place, "keys", "rotate")
            if round_ % 2:  # during the rotation
                time.sleep(rng.uniform(0.3, 1.0) * served_rotation)
            else:  # just after it, as the requests that waited for it write
                assert rotation.wait(timeout=60) == 0
                time.sleep(rng.uniform(0, 0.3))
            kill_server(server, tally)
            rotation.wait(timeout=60)
            for registrar in registrars:
                registrar.stop.set()
            for thread in load:
                thread.join(timeout=60)
            tally.rotations_cut += _keks(place) > 1
            if round_ % 2:
                rotation = start_cli(place, "keys", "rotate")
                time.sleep(rng.uniform(0.2, 1.0) * cli_rotation)
                tally.cli_kills += rotation.poll() is None
                rotation.kill()
                rotation.wait(timeout=60)
                tally.rotations_cut += _keks(place) > 1
            _audit_verify(place)
            tally.keys_checked += check_worker_keys(place)
            server.start()
            ingest.settle(tally)
            for registrar in registrars:
                new = sorted(set(registrar.known) - before[registrar])
                registrar.check_live(new + rng.sample(sorted(before[registrar]), min(5, len(before[registrar]))))
        assert "re-wrapped" in cli(place, "keys", "rotate").stdout  # it still rotates
        for registrar in registrars:
            registrar.check_live(sorted(registrar.known))
    finally:
        server.stop()
    assert not ingest.unexpected, ingest.unexpected
    check_store(place, employer.id, ingest.writes, tally)
    tally.workers_checked = sum(len(r.known) for r in registrars)
    print(f"\ncrash harness, key rotation (seed {SEED}): {tally}")


def test_acknowledged_writes_survive_kills_during_ingest_on_postgres(tmp_path: Path) -> None:
    """On PostgreSQL the database server keeps the files: fewer kills check the registry's part."""
    _ingest_harness(make_place(tmp_path, "postgres"), kills=4, log=tmp_path / "server.log")


def test_a_request_begun_before_a_rotation_wraps_under_the_new_key(runtime: Runtime) -> None:
    """Regression, found by the rotation harness: a request's unit of work is made before its
    write waits for the lock. Made before a rotation and writing after it, it wrapped a new
    worker's key under the KEK the rotation had just retired: the worker could never be
    read again, and every later rotation failed on that key."""
    operator = Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="cli"), Purpose.ADMINISTRATION)
    employer = operator.write(lambda w: org_service.create_employer(w.tx, EmployerIn(kvk="63456782", name="Race")))
    actor = Actor(kind=ActorKind.EMPLOYER, id="key:race", employer_id=employer.id, acting_for=f"employer:{employer.id}")
    begun = Work(runtime.db, runtime.vault, actor, Purpose.LEGAL_DUTY)
    runtime.rotate_keys()
    body = WorkerIn(bsn=valid_bsn(random.Random(SEED)), name="Na Rotatie", date_of_birth=dt.date(1980, 1, 2))
    created, _ = begun.write(lambda w: worker_service.register_worker(w, body))
    read = Work(runtime.db, runtime.vault, actor, Purpose.LEGAL_DUTY).read(
        lambda w: worker_service.get_worker(w, created.id)
    )
    assert read.name == "Na Rotatie"
    assert runtime.rotate_keys()[0] == 1  # the key unwraps, so the next rotation re-wraps it


def _audit_verify(place: Place) -> None:
    """`registry audit verify` succeeds (its exit code; the wording is the audit's own)."""
    verified = cli(place, "audit", "verify")
    assert verified.returncode == 0, f"{verified.stdout}{verified.stderr} (seed {SEED})"


def _timed_rotation(place: Place) -> float:
    """Seconds one whole `registry keys rotate` takes here: the scale for the kill moments."""
    started = time.monotonic()
    assert "re-wrapped" in cli(place, "keys", "rotate").stdout
    return time.monotonic() - started


def _keks(place: Place) -> int:
    return len(json.loads((place.data_dir / "registry.key").read_text())["keks"])


def _ingest_harness(place: Place, kills: int, log: Path) -> None:
    """Two clients post single measurements, two post batches (2 to 2,000 items), all with
    Idempotency-Keys; after each kill and restart, the requests cut off are retried with
    their keys, and the store must hold each acknowledged write once."""
    rng = random.Random(f"{SEED}-ingest-{place.store}")
    employer = create_employer(place, "61234560", "Crash Ingest B.V.")
    server = crash_server(place, log)
    server.start()
    tally = Tally()
    try:
        with server.client(employer.api_key) as client:
            workers = [new_worker(client) for _ in range(4)]
        ingest = Ingest(server, employer.api_key, workers, rng)
        for round_ in range(kills):
            clients = ingest.run(clients=4, batch_clients=2)
            time.sleep(rng.uniform(0.2, 1.2))
            kill_server(server, tally)
            for thread in clients:
                thread.join(timeout=60)
            if round_ % 2:  # the operator's first look after the crash, before the server is back
                _audit_verify(place)
            server.start()  # the store opens after the crash
            ingest.settle(tally)
            ingest.check_live(sample=5)
            if not round_ % 2:
                _audit_verify(place)  # through the running server
    finally:
        server.stop()
    check_store(place, employer.id, ingest.writes, tally)
    assert tally.server_kills == kills
    print(f"\ncrash harness, ingest on {place.store} (seed {SEED}): {tally}")
