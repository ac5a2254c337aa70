"""A crash harness: kill -9 a real registry process at seeded random moments while clients
write, and keep the books of every write it acknowledged, so that after each restart the
store can be held to them: each acknowledged write present exactly once, a batch all or
nothing, nothing written twice for one Idempotency-Key, every worker's identity readable.

The moments, batch sizes and bodies come from `random.Random(SEED)` (REGISTRY_CRASH_SEED),
so a failing run is repeated with the same schedule; only thread interleaving is the
machine's. A kill lands wherever the server happens to be: parsing, in a transaction,
committing, checkpointing, answering.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgspec

from crypto import Vault
from registry.demo import valid_bsn
from registry.runtime import open_runtime
from registry.store.people import KeyTable
from tests.conftest import REGISTRY, Place, Server
from tests.helpers import air_sample

__all__ = [
    "SEED",
    "Ingest",
    "Registrar",
    "Tally",
    "check_store",
    "check_worker_keys",
    "cli",
    "crash_server",
    "kill_server",
    "start_cli",
]

SEED = int(os.environ.get("REGISTRY_CRASH_SEED", "20"))
_JSON = {"content-type": "application/json"}
# The harness's clients are far busier than one caller may be (registry.api.rate_limits);
# what is measured here is what survives a crash, not the abuse limits.
_UNLIMITED = {"REGISTRY_RATE_LIMIT": "100000000", "REGISTRY_IDENTITY_RATE_LIMIT": "100000000"}
# The harness starts some 25 servers. Where the environment forbids writing bytecode
# (PYTHONDONTWRITEBYTECODE), each would compile every module it imports again: 2 of its
# 3.5 CPU seconds. Its processes keep their bytecode in a cache of their own instead.
_BYTECODE = {
    "PYTHONDONTWRITEBYTECODE": "",
    "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / f"registry-crash-pycache-{os.getuid()}"),
}


class Tally(msgspec.Struct):
    """What a harness did, for its report (printed; `pytest -s` shows it)."""

    server_kills: int = 0
    cli_kills: int = 0
    rotations_cut: int = 0  # kills that left the key file between a rotation's two saves
    writes_checked: int = 0  # acknowledged measurement requests held to the store
    items_checked: int = 0  # the measurements in them
    workers_checked: int = 0  # workers registered during rotations, read back by id
    keys_checked: int = 0  # worker keys unwrapped after a kill during rotation
    replayed: int = 0  # in-doubt requests that had committed before the kill: retries were replays


def crash_server(place: Place, log: Path) -> Server:
    """A server for the harness: its output in `log` (read it when a restart fails)."""
    return Server(place, env=_UNLIMITED | _BYTECODE, log=log)


def kill_server(server: Server, tally: Tally) -> None:
    """SIGKILL the server; it must still be running (one that died by itself is a bug)."""
    process = server.process
    assert process is not None and process.poll() is None, f"the server died by itself (seed {SEED})"
    server.stop(signal.SIGKILL)
    tally.server_kills += 1


def start_cli(place: Place, *args: str) -> subprocess.Popen[bytes]:
    """A `registry` command, left running (to be killed)."""
    return subprocess.Popen(
        [REGISTRY, "--data-dir", str(place.data_dir), *place.store_args, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **_BYTECODE},
    )


def cli(place: Place, *args: str) -> subprocess.CompletedProcess[str]:
    """A `registry` command, run to its end."""
    return subprocess.run(
        [REGISTRY, "--data-dir", str(place.data_dir), *place.store_args, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **_BYTECODE},
    )


class Write(msgspec.Struct):
    """One POST and its Idempotency-Key; `ids` once a 2xx acknowledged it."""

    key: str
    path: str
    body: bytes
    markers: list[str]  # each item's lab_report_id, unique in the run: finds duplicates
    ids: list[str] | None = None


class Ingest:
    """Clients posting single measurements and batches at once, each request booked before it
    is sent; a request cut off by the kill stays in doubt until `settle` retries it."""

    def __init__(self, server: Server, api_key: str, workers: list[str], rng: random.Random) -> None:
        self.server = server
        self.api_key = api_key
        self.workers = workers
        self.rng = rng
        self.writes: list[Write] = []
        self.unexpected: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def run(self, clients: int, batch_clients: int) -> list[threading.Thread]:
        """Start the clients; each stops when the server goes away (or at `stop`)."""
        self.stop.clear()
        threads = [
            threading.Thread(target=self._client, args=(self.rng.getrandbits(64), i < batch_clients), daemon=True)
            for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        return threads

    def settle(self, tally: Tally) -> None:
        """Retry every write in doubt with its key: it must succeed, as a replay if it had
        committed before the kill, else by being carried out now."""
        with self.server.client(self.api_key) as client:
            for write in [w for w in self.writes if w.ids is None]:
                response = self._post(client, write)
                assert response.status_code == 201, f"retry of {write.key}: {response.text[:300]} (seed {SEED})"
                tally.replayed += response.headers.get("Idempotent-Replayed") == "true"

    def check_live(self, sample: int) -> None:
        """Through the API: the employer's total is exactly what was acknowledged (a lost write
        makes it smaller, a duplicate larger), and a sample reads back by id."""
        expected = sum(len(w.markers) for w in self.writes)
        with self.server.client(self.api_key) as client:
            total = client.get("/api/v1/measurements", params={"limit": 1}).json()["total"]
            assert total == expected, f"{total} measurements stored, {expected} acknowledged (seed {SEED})"
            for write in self.rng.sample(self.writes, min(sample, len(self.writes))):
                assert write.ids is not None
                index = self.rng.randrange(len(write.ids))
                read = client.get(f"/api/v1/measurements/{write.ids[index]}")
                assert read.status_code == 200, f"{write.ids[index]}: {read.text[:300]} (seed {SEED})"
                assert read.json()["lab_report_id"] == write.markers[index]
        assert not self.unexpected, self.unexpected

    def _client(self, seed: int, batches: bool) -> None:
        rng = random.Random(seed)
        with self.server.client(self.api_key) as client:
            while not self.stop.is_set():
                write = self._new_write(rng, batches)
                try:
                    response = self._post(client, write)
                except httpx.TransportError:
                    return  # the server is gone: this write is in doubt
                if response.status_code != 201:
                    self.unexpected.append(f"{write.path}: {response.status_code} {response.text[:300]}")
                    return

    def _new_write(self, rng: random.Random, batches: bool) -> Write:
        key = str(uuid.UUID(int=rng.getrandbits(128)))
        size = 1
        if batches:  # mostly small, some large: a large commit is a wide target for the kill
            size = rng.choice([rng.randint(2, 40), rng.randint(2, 40), rng.randint(41, 400), rng.randint(800, 2000)])
        items = [
            air_sample(rng.choice(self.workers), lab_report_id=f"{key}/{i}", value=round(rng.uniform(0.01, 3), 3))
            for i in range(size)
        ]
        path, body = ("/api/v1/measurements/batch", {"items": items}) if batches else ("/api/v1/measurements", items[0])
        write = Write(key=key, path=path, body=msgspec.json.encode(body), markers=[i["lab_report_id"] for i in items])
        with self._lock:
            self.writes.append(write)
        return write

    def _post(self, client: httpx.Client, write: Write) -> httpx.Response:
        response = client.post(write.path, content=write.body, headers={**_JSON, "Idempotency-Key": write.key})
        if response.status_code == 201:
            body = response.json()
            write.ids = [m["id"] for m in body["items"]] if "items" in body else [body["id"]]
        return response


def check_store(place: Place, employer_id: str, writes: list[Write], tally: Tally) -> None:
    """With the server stopped, open the store in this process and hold every row to the
    books: one measurement per marker, each acknowledged write with the ids it was answered
    with, and one idempotency row per key naming exactly those ids."""
    rt = open_runtime(place.settings())
    try:
        with rt.db.read() as tx:
            rows = tx.all("SELECT lab_report_id, id FROM measurements WHERE employer_id = ?", [uuid.UUID(employer_id)])
            keys = tx.all(
                "SELECT idempotency_key, resource_ids FROM idempotency_keys WHERE employer_id = ?",
                [uuid.UUID(employer_id)],
            )
            scanned = tx.scalar(  # not through the employer index: an index that lost rows shows here
                "SELECT count(*) FROM measurements WHERE CAST(employer_id AS VARCHAR) = ?", [employer_id]
            )
    finally:
        rt.close()
    assert scanned == len(rows), f"the employer index finds {len(rows)} of {scanned} measurements (seed {SEED})"
    copies = Counter(marker for marker, _ in rows)
    assert not [m for m, n in copies.items() if n > 1], f"measurements stored twice (seed {SEED})"
    stored = {marker: str(id_) for marker, id_ in rows}
    booked = {m for w in writes for m in w.markers}
    missing, stray = sorted(booked - set(stored)), sorted(set(stored) - booked)
    assert not missing and not stray, (
        f"missing {missing[:3]}…({len(missing)}), stray {stray[:3]}…({len(stray)}) (seed {SEED})"
    )
    outcomes = {key: msgspec.json.decode(ids, type=list[str]) for key, ids in keys}
    assert len(outcomes) == len(writes), f"{len(outcomes)} idempotency rows for {len(writes)} writes (seed {SEED})"
    for write in writes:
        assert write.ids is not None, f"{write.key} was never acknowledged"
        assert [stored[m] for m in write.markers] == write.ids == outcomes[write.key], f"{write.key} (seed {SEED})"
    tally.writes_checked += len(writes)
    tally.items_checked += len(rows)


class Registrar:
    """A client registering new workers while keys rotate; books each acknowledged identity.
    Its requests wait for the rotation's write transaction, as an employer's would."""

    def __init__(self, server: Server, api_key: str, rng: random.Random, taken: set[str]) -> None:
        self.server = server
        self.api_key = api_key
        self.rng = rng
        self.taken = taken  # BSNs drawn by any registrar of the run: each is registered once
        self.known: dict[str, dict[str, Any]] = {}
        self.unexpected: list[str] = []
        self.stop = threading.Event()

    def register(self, client: httpx.Client, rng: random.Random) -> dict[str, Any] | None:
        """One new worker; None when the server is gone (the registration is in doubt)."""
        while (bsn := valid_bsn(rng)) in self.taken:
            pass
        self.taken.add(bsn)
        body = {"bsn": bsn, "name": f"Crash {rng.getrandbits(32):08x}", "date_of_birth": "1975-06-30"}
        try:
            response = client.post("/api/v1/workers", json=body)
        except httpx.TransportError:
            return None
        if response.status_code != 201:
            self.unexpected.append(f"POST /workers: {response.status_code} {response.text[:300]}")
            return None
        identity: dict[str, Any] = response.json()
        self.known[identity["id"]] = identity
        return identity

    def run(self) -> threading.Thread:
        self.stop.clear()
        thread = threading.Thread(target=self._loop, args=(self.rng.getrandbits(64),), daemon=True)
        thread.start()
        return thread

    def check_live(self, ids: list[str]) -> None:
        """Each worker reads back, by id, with the identity it was registered with."""
        with self.server.client(self.api_key) as client:
            for worker_id in ids:
                read = client.get(f"/api/v1/workers/{worker_id}")
                assert read.status_code == 200, f"worker {worker_id}: {read.text[:300]} (seed {SEED})"
                assert read.json() == self.known[worker_id], f"worker {worker_id} (seed {SEED})"
        assert not self.unexpected, self.unexpected

    def _loop(self, seed: int) -> None:
        rng = random.Random(seed)
        with self.server.client(self.api_key) as client:
            while not self.stop.is_set() and self.register(client, rng) is not None:
                time.sleep(rng.uniform(0, 0.005))


def check_worker_keys(place: Place) -> int:
    """With the server stopped: the store opens with the key file as it was left, and every
    worker key in it unwraps. Returns how many."""
    rt = open_runtime(place.settings())
    try:
        vault: Vault = rt.vault
        with rt.db.read() as tx:
            keys = list(KeyTable(tx).wrapped_keys())
        for worker_id, wrapped in keys:
            vault.worker_cipher(worker_id, wrapped)
        return len(keys)
    finally:
        rt.close()
