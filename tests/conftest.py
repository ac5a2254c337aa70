"""Shared fixtures: real stores in temporary directories and a real registry server.

The server runs as `registry serve` in its own process, exactly as an operator starts it,
and tests talk to it over HTTP on the loopback interface.
"""

from __future__ import annotations

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

REGISTRY = str(Path(sys.executable).parent / "registry")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.resolve(str(tmp_path / "data"))


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = open_runtime(settings)
    yield rt
    rt.close()


def run_cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REGISTRY, "--data-dir", str(data_dir), *args],
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
    """A `registry serve` process; `restart` and `kill` act on the real process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REGISTRY, "--data-dir", str(self.data_dir), "serve", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
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

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


class Employer(msgspec.Struct):
    id: str
    kvk: str
    name: str
    key_id: str
    api_key: str


def create_employer(data_dir: Path, kvk: str, name: str) -> Employer:
    out = run_cli(data_dir, "employer", "create", "--kvk", kvk, "--name", name)
    return msgspec.convert(json.loads(out.stdout), Employer)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Employer, Employer]]:
    """A server with two employers (created with the CLI before it starts)."""
    data_dir = tmp_path_factory.mktemp("live") / "data"
    first = create_employer(data_dir, "11111110", "Eerste Werkgever B.V.")
    second = create_employer(data_dir, "22222220", "Tweede Werkgever B.V.")
    server = Server(data_dir)
    server.start()
    yield server, first, second
    server.stop()


@pytest.fixture(autouse=True)
def _no_proxy() -> None:
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
