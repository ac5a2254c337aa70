"""What every benchmark section needs: the machine, processes started and stopped by their
own PID, free ports, percentiles and a peak-memory reading from /proc."""

from __future__ import annotations

import datetime as dt
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import msgspec

from registry.store.backends import PostgresServer, connect

__all__ = [
    "REGISTRY",
    "REPO",
    "UNLIMITED",
    "Machine",
    "Server",
    "baseline_command",
    "free_port",
    "human_bytes",
    "machine",
    "percentile",
    "run_registry",
    "scratch_postgres_schema",
]

REPO = Path(__file__).resolve().parent.parent
REGISTRY = str(Path(sys.executable).parent / "registry")
# The bench loads data over HTTP faster than the abuse limits let one caller (registry.settings:
# 1,200 requests and 120 worker registrations a minute); its registry servers lift them, so
# that what is measured is the work, not the refusals.
UNLIMITED = {"REGISTRY_RATE_LIMIT": "100000000", "REGISTRY_IDENTITY_RATE_LIMIT": "100000000"}


class Machine(msgspec.Struct, frozen=True, kw_only=True):
    """Where and when figures were measured: they mean little without it."""

    date: str
    cpus: int
    cpu_model: str
    ram_gib: float
    python: str
    commit: str

    def line(self) -> str:
        return (
            f"{self.date} · {self.cpus} CPU ({self.cpu_model}) · {self.ram_gib:.1f} GiB RAM · "
            f"Python {self.python} · commit {self.commit}"
        )


def machine() -> Machine:
    cpu_model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return Machine(
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cpus=os.cpu_count() or 0,
        cpu_model=cpu_model,
        ram_gib=_meminfo_kib("MemTotal") / 1024**2,
        python=platform.python_version(),
        commit=_commit(),
    )


def _meminfo_kib(field: str) -> float:
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    return 0.0


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + local changes' if dirty else ''}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), interpolated; 0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[max(0, min(998, round(p * 10) - 1))]


def human_bytes(kib: float) -> str:
    return f"{kib / 1024:,.0f} MiB"


def baseline_command(port: int) -> list[str]:
    """The same-run baseline app (bench/baseline_app.py) under uvicorn, as the registry runs."""
    return [
        sys.executable, "-m", "uvicorn", "bench.baseline_app:app", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip


@contextmanager
def scratch_postgres_schema(dsn: str | None) -> Iterator[list[str]]:
    """The `registry` options for a fresh schema in this PostgreSQL database, dropped
    afterwards so a benchmark leaves the database as it found it; none without a DSN
    (the embedded store)."""
    if not dsn:
        yield []
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        yield ["--postgres", dsn, "--postgres-schema", schema]
    finally:
        con = connect(PostgresServer(dsn=dsn, schema="public"))
        try:
            con.execute(f"CALL postgres_execute('store', 'DROP SCHEMA IF EXISTS {schema} CASCADE')")
        finally:
            con.close()


def run_registry(
    data_dir: Path, *args: str, stream_stderr: bool = False, store: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run a `registry` subcommand against `data_dir` (the embedded store allows one process
    at a time, so this happens before the server starts). `store` adds e.g. --postgres DSN."""
    return subprocess.run(
        [REGISTRY, "--data-dir", str(data_dir), *store, *args],
        stdout=subprocess.PIPE,
        stderr=None if stream_stderr else subprocess.PIPE,
        text=True,
        check=True,
    )


class Server:
    """An HTTP server in its own process (the registry or a baseline), stopped by its PID."""

    def __init__(self, name: str, command: Sequence[str], port: int, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._command = list(command)
        self._env = {**os.environ, **env} if env else None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self._process = subprocess.Popen(
            self._command,
            cwd=REPO,
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"{self.name} exited at start: {error}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"{self.name} did not answer on {self.url}/healthz")

    def __exit__(self, *exc: object) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    def peak_rss_kib(self) -> float:
        """VmHWM: the most resident memory the process has had so far."""
        if self._process is None:
            return 0.0
        status = Path(f"/proc/{self._process.pid}/status")
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
        return 0.0
