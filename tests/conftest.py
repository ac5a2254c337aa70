"""Shared fixtures: real stores in temporary directories and a real registry server.

The server runs as `registry serve` in its own process, exactly as an operator starts it,
and tests talk to it over HTTP on the loopback interface.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from registry.runtime import Runtime, open_runtime
from registry.settings import Settings

pytest_plugins = ["tests.oidc"]  # the third-party OpenID provider fixture

REGISTRY = str(Path(sys.executable).parent / "registry")
POSTGRES_DSN = os.environ.get(
    "REGISTRY_TEST_PG_DSN",
    f"host={os.environ.get('REGISTRY_TEST_PG_HOST', '127.0.0.1')} "
    f"port={os.environ.get('REGISTRY_TEST_PG_PORT', '5432')} dbname=test user=postgres",
)
STORES = ["duckdb", "postgres"]
_SCHEMAS: list[str] = []


class Place(msgspec.Struct, frozen=True):
    """Where a test's registry keeps its data: a data dir (key file, DuckDB file) and, for the
    PostgreSQL store, a schema of its own in the test database."""

    data_dir: Path
    store: str

    @property
    def store_args(self) -> list[str]:
        if self.store == "duckdb":
            return []
        schema = "t_" + hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
        return ["--postgres", POSTGRES_DSN, "--postgres-schema", schema]

    def settings(self) -> Settings:
        args = self.store_args
        return Settings.resolve(str(self.data_dir), None, args[1] if args else "", args[3] if args else None)


def make_place(base: Path, store: str) -> Place:
    place = Place(data_dir=base / "data", store=store)
    _SCHEMAS.extend(place.store_args[3:])
    return place


@pytest.fixture(scope="session", autouse=True)
def _drop_test_schemas() -> Iterator[None]:
    """Leave the shared test database as it was found."""
    yield
    if not _SCHEMAS:
        return
    from registry.store.backends import PostgresServer, connect

    con = connect(PostgresServer(dsn=POSTGRES_DSN, schema="public"))
    for schema in sorted(set(_SCHEMAS)):
        con.execute(f"CALL postgres_execute('store', 'DROP SCHEMA IF EXISTS {schema} CASCADE')")
    con.close()


@pytest.fixture(params=STORES)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    return make_place(tmp_path, request.param)


@pytest.fixture
def settings(place: Place) -> Settings:
    return place.settings()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = open_runtime(settings)
    yield rt
    rt.close()


def run_cli(place: Place, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REGISTRY, "--data-dir", str(place.data_dir), *place.store_args, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A `registry serve` process; `restart` and `kill` act on the real process. With `log`,
    its stdout and stderr are appended to that file (else stdout is dropped)."""

    def __init__(
        self,
        place: Place,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        serve_args: tuple[str, ...] = (),
    ) -> None:
        self.place = place
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, **(env or {})}
        self.log = log
        self.serve_args = serve_args

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log.open("ab") if self.log else None
        self.process = subprocess.Popen(
            [
                REGISTRY,
                "--data-dir",
                str(self.place.data_dir),
                *self.place.store_args,
                "serve",
                "--port",
                f"{self.port}",
                *self.serve_args,
            ],
            stdout=log or subprocess.DEVNULL,
            stderr=log or subprocess.PIPE,
            env=self.env,
        )
        if log:
            log.close()  # the server has its own copy
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = (
                    self.process.stderr.read() if self.process.stderr else self.log.read_bytes() if self.log else b""
                )
                raise RuntimeError(f"server exited: {stderr.decode()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None

    def client(self, credential: str | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        """A client sending `credential` (an API key or a token) and any extra headers."""
        headers = dict(headers or {})
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


class Employer(msgspec.Struct):
    id: str
    kvk: str
    name: str
    key_id: str
    api_key: str


def create_employer(place: Place, kvk: str, name: str) -> Employer:
    out = run_cli(place, "employer", "create", "--kvk", kvk, "--name", name)
    return msgspec.convert(json.loads(out.stdout), Employer)


@pytest.fixture(scope="module", params=STORES)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Employer, Employer]]:
    """A server with two employers (created with the CLI before it starts), on each store."""
    place = make_place(tmp_path_factory.mktemp("live"), request.param)
    first = create_employer(place, "11111110", "Eerste Werkgever B.V.")
    second = create_employer(place, "22222220", "Tweede Werkgever B.V.")
    server = Server(place)
    server.start()
    yield server, first, second
    server.stop()


@pytest.fixture(autouse=True)
def _no_proxy() -> None:
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
