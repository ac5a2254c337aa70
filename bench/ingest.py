"""Measurement ingest over HTTP: the real `registry serve` against a same-run baseline.

The store is created with `registry employer create` (and, with --measurements, filled by
the synthetic generator, timed) before the server starts: the embedded DuckDB file is
locked by the serving process. Then workers and employments are registered over HTTP and
measurements are posted one by one (sequential, keep-alive) and in batches, first to the
baseline (bench/baseline_app.py: decode the same types, store nothing), then to the
registry, with identical request bodies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
import msgspec

from bench.common import (
    REGISTRY,
    UNLIMITED,
    Server,
    baseline_command,
    free_port,
    human_bytes,
    machine,
    percentile,
    run_registry,
    scratch_postgres_schema,
)
from bench.report import Section, table
from bench.stores import StoreCache
from registry.demo import valid_bsn
from schemas.exposure import MeasurementBatch, MeasurementIn

__all__ = ["NAME", "add_arguments", "run"]

NAME = "ingest"
_EMPLOYER_KVK = "99000001"
_CAS = "108-88-3"  # toluene: mg/m3, a limit value, in the catalogue


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ingest")
    group.add_argument(
        "--measurements",
        type=int,
        default=0,
        help="first fill the store with this many synthetic measurements, e.g. 1000000: a copy of the cached "
        "store (bench/stores.py), or, with --ingest-postgres, `registry synth` into the database (timed)",
    )
    group.add_argument("--workers", type=int, default=200, help="workers registered over HTTP to measure on")
    group.add_argument("--single", type=int, default=500, help="sequential single-measurement POSTs")
    group.add_argument("--batches", type=int, default=20, help="batch POSTs")
    group.add_argument("--batch-size", type=int, default=5000, help="measurements per batch (at most 10,000)")
    group.add_argument(
        "--ingest-postgres",
        metavar="DSN",
        help="serve from this PostgreSQL database (a fresh schema) instead of the embedded store; "
        "recorded as its own section, e.g. 'host=127.0.0.1 dbname=test user=postgres'",
    )


class _Timing(msgspec.Struct, frozen=True):
    requests: int
    rows: int
    seconds: float
    latencies: list[float]

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class _Prefill(msgspec.Struct, frozen=True):
    summary: dict[str, float]
    wall_s: float | None = None  # None: a copy of a cached store (bench/stores.py)
    peak_rss_kib: float | None = None


class _Setup(msgspec.Struct, frozen=True):
    seg_id: uuid.UUID
    worker_ids: list[uuid.UUID]
    seconds: float
    requests: int


def run(args: argparse.Namespace) -> Section:
    if not 0 < args.batch_size <= 10_000:
        raise SystemExit("--batch-size must be 1 to 10,000 (the API's limit)")
    where = machine()
    with (
        scratch_postgres_schema(args.ingest_postgres) as store,
        tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp,
    ):
        data = Path(tmp) / "data"
        prefill = None
        if args.measurements and not store:
            prefill = _copy_of_cached(StoreCache(args.store_cache, args.seed), args.measurements, data)
        created = json.loads(
            run_registry(
                data,
                *("employer", "create", "--kvk", _EMPLOYER_KVK, "--name", "Benchmark Metaal B.V.", "--sbi", "2511"),
                store=store,
            ).stdout
        )
        api_key = str(created["api_key"])
        if args.measurements and store:
            prefill = _prefill(data, args.measurements, args.seed, store)
        registry_port, baseline_port = free_port(), free_port()
        registry_cmd = [REGISTRY, "--data-dir", str(data), *store, "serve", "--port", str(registry_port)]
        baseline_cmd = baseline_command(baseline_port)
        with (
            Server("registry", registry_cmd, registry_port, env=UNLIMITED) as registry,
            Server("baseline", baseline_cmd, baseline_port) as baseline,
        ):
            _say(f"registering {args.workers} workers and their employments over HTTP")
            setup = _register(registry.url, api_key, args.workers, args.seed)
            rng = random.Random(args.seed)
            singles = [msgspec.json.encode(_item(rng, setup)) for _ in range(args.single)]
            batches = [
                msgspec.json.encode(MeasurementBatch(items=[_item(rng, setup) for _ in range(args.batch_size)]))
                for _ in range(args.batches)
            ]
            warm = [msgspec.json.encode(_item(rng, setup)) for _ in range(20)]
            small = msgspec.json.encode(MeasurementBatch(items=[_item(rng, setup) for _ in range(500)]))
            timings: dict[tuple[str, str], _Timing] = {}
            for server in (baseline, registry):
                _post(server.url, api_key, "/api/v1/measurements", warm, 1)
                _post(server.url, api_key, "/api/v1/measurements/batch", [small], 500)
                _say(f"{server.name}: {args.single} single POSTs")
                timings[server.name, "single"] = _post(server.url, api_key, "/api/v1/measurements", singles, 1)
                _say(f"{server.name}: {args.batches} batches of {args.batch_size}")
                timings[server.name, "batch"] = _post(
                    server.url, api_key, "/api/v1/measurements/batch", batches, args.batch_size
                )
            rss = {server.name: server.peak_rss_kib() for server in (registry, baseline)}
    size = f"{args.measurements:,} measurements in the store" if args.measurements else "empty store"
    # One block per store and size in docs/benchmarks.md, so a 10 M run keeps the 1 M one.
    return Section(
        name=f"{NAME}{'-postgres' if store else ''}-{args.measurements}",
        title=f"Measurement ingest over HTTP, {'PostgreSQL' if store else 'embedded'} store, {size}",
        machine=where,
        body=_body(args, setup, timings, rss, prefill),
    )


def _copy_of_cached(cache: StoreCache, measurements: int, data: Path) -> _Prefill:
    """The embedded store: a copy of the cached synthetic store, so ingest never changes it."""
    cached = cache.get(measurements)
    _say(f"copying the cached store of {measurements:,} measurements")
    shutil.copytree(cached.data_dir, data)
    figures = {k: float(v) for k, v in cached.summary.items() if isinstance(v, int | float)}
    return _Prefill(summary=figures)


def _prefill(data: Path, measurements: int, seed: int, store: Sequence[str]) -> _Prefill:
    """`registry synth` in its own process: its wall time and peak memory are its own."""
    _say(f"filling the store with {measurements:,} synthetic measurements")
    started = time.perf_counter()
    done = run_registry(
        data, "synth", "--measurements", str(measurements), "--seed", str(seed), stream_stderr=True, store=store
    )
    wall = time.perf_counter() - started
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    # ru_maxrss of waited-for children is the largest of them: the generator, not the
    # small `employer create` before it.
    peak = float(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return _Prefill(summary=summary, wall_s=wall, peak_rss_kib=peak)


def _client(url: str, api_key: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    return httpx.Client(base_url=url, headers=headers, timeout=600)


def _register(url: str, api_key: str, count: int, seed: int) -> _Setup:
    """Workers employed since 2000 and one SEG, registered as an employer's system would."""
    rng = random.Random(seed)
    started = time.perf_counter()
    requests = 0
    with _client(url, api_key) as client:
        seg = client.post("/api/v1/segs", json={"name": "Lassen (benchmark)", "description": "lassen van RVS"})
        seg.raise_for_status()
        worker_ids: list[uuid.UUID] = []
        while len(worker_ids) < count:
            person = {
                "bsn": valid_bsn(rng),
                "name": f"Benchmark Werknemer {len(worker_ids) + 1}",
                "date_of_birth": dt.date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
            }
            answer = client.post("/api/v1/workers", json=person)
            requests += 1
            if answer.status_code == 409:  # the BSN belongs to a synthetic worker born on another day
                continue
            answer.raise_for_status()
            worker_id = uuid.UUID(answer.json()["id"])
            job = {"worker_id": str(worker_id), "start_date": "2000-01-01", "job_title": "lasser"}
            client.post("/api/v1/employments", json=job).raise_for_status()
            requests += 1
            worker_ids.append(worker_id)
    return _Setup(
        seg_id=uuid.UUID(seg.json()["id"]),
        worker_ids=worker_ids,
        seconds=time.perf_counter() - started,
        requests=requests,
    )


def _item(rng: random.Random, setup: _Setup) -> MeasurementIn:
    """A personal toluene sample of a shift in 2001-2025; about 10 % below the LOD."""
    day = dt.date(2001, 1, 1) + dt.timedelta(days=rng.randint(0, 9000))
    start = dt.datetime(day.year, day.month, day.day, 7, rng.randint(0, 59), tzinfo=dt.UTC)
    minutes = 5 * rng.randint(48, 96)
    value = 20.0 * rng.lognormvariate(0.0, 0.9)
    below = value < 5.0
    return MeasurementIn(
        sample_type="personal_air",
        substance_cas=_CAS,
        worker_id=rng.choice(setup.worker_ids),
        seg_id=setup.seg_id,
        value=None if below else round(value, 2),
        below_lod=below,
        lod=5.0 if below else None,
        unit="mg/m3",
        sampling_start=start,
        sampling_end=start + dt.timedelta(minutes=minutes),
        air_volume_l=round(0.2 * minutes, 1),
        method="NIOSH 1501 (actieve kool, GC-FID)",
        lab="Arbolab Nederland",
        lab_report_id=f"AL-{day.year}-{rng.randint(0, 999_999):06d}",
        task="lassen van RVS",
    )


def _post(url: str, api_key: str, path: str, bodies: Sequence[bytes], rows_each: int) -> _Timing:
    latencies: list[float] = []
    with _client(url, api_key) as client:
        started = time.perf_counter()
        for body in bodies:
            sent = time.perf_counter()
            answer = client.post(path, content=body)
            latencies.append(time.perf_counter() - sent)
            if answer.status_code != 201:
                raise RuntimeError(f"{url}{path} answered {answer.status_code}: {answer.text[:500]}")
        seconds = time.perf_counter() - started
    return _Timing(requests=len(bodies), rows=len(bodies) * rows_each, seconds=seconds, latencies=latencies)


def _body(
    args: argparse.Namespace,
    setup: _Setup,
    timings: dict[tuple[str, str], _Timing],
    rss: dict[str, float],
    prefill: _Prefill | None,
) -> str:
    rows: list[list[str]] = []
    for kind, label in (("single", "single POST"), ("batch", f"batch POST ({args.batch_size:,} per request)")):
        base = timings["baseline", kind]
        for server in ("registry", "baseline"):
            t = timings[server, kind]
            ratio = t.rows_per_s / base.rows_per_s if base.rows_per_s else 0.0
            rows.append(
                [
                    f"{server} · {label}",
                    f"{t.requests:,}",
                    f"{t.rows:,}",
                    f"{t.seconds:,.2f}",
                    f"{t.rows_per_s:,.0f}",
                    f"{ratio:.3f}" if server == "registry" else "1",
                    f"{percentile(t.latencies, 50) * 1000:,.1f}",
                    f"{percentile(t.latencies, 95) * 1000:,.1f}",
                ]
            )
    parts = [
        table(["endpoint", "requests", "rows", "seconds", "rows/s", "÷ baseline", "p50 ms", "p95 ms"], rows),
        "",
        table(
            ["process", "peak RSS (VmHWM)"],
            [
                ["registry server", human_bytes(rss["registry"])],
                ["baseline server", human_bytes(rss["baseline"])],
                *(
                    [["synthetic generator (`registry synth`)", human_bytes(prefill.peak_rss_kib)]]
                    if prefill and prefill.peak_rss_kib
                    else []
                ),
            ],
        ),
        "",
    ]
    if prefill is not None:
        s = prefill.summary
        parts += [
            f"Store pre-filled with `registry synth --measurements {int(s['measurements'])} --seed {int(s['seed'])}` "
            "before the server started (or a copy of that store from the benchmark cache):",
            "",
            table(
                ["employers", "workers", "employments", "SEGs", "measurements", "generator s", "wall s", "rows/s"],
                [
                    [
                        f"{int(s['employers']):,}",
                        f"{int(s['workers']):,}",
                        f"{int(s['employments']):,}",
                        f"{int(s['segs']):,}",
                        f"{int(s['measurements']):,}",
                        f"{s['elapsed_s']:,.1f}",
                        f"{prefill.wall_s:,.1f}" if prefill.wall_s else "cached",
                        f"{s['measurements'] / s['elapsed_s']:,.0f}",
                    ]
                ],
            ),
            "",
            "rows/s = measurements / generator seconds (everything it writes: employers, workers with their "
            "encryption, careers, SEGs, measurements); wall s adds process start-up and opening the store.",
            "",
        ]
    parts += [
        f"Setup: {len(setup.worker_ids)} workers and their employments registered over HTTP in "
        f"{setup.seconds:,.1f} s ({setup.requests / setup.seconds:,.0f} requests/s, sequential).",
        "",
        "One client, sequential requests over one keep-alive connection, on the same machine as the "
        "server; both servers get identical request bodies (personal air samples of the registered "
        "workers, ~10 % non-detects). The baseline (`bench/baseline_app.py`) is Litestar + msgspec "
        "decoding the same `MeasurementIn` / `MeasurementBatch` types and answering 201 with a tiny "
        "body; the registry also authenticates the key, checks every rule against the store, writes "
        "the rows and the audit entries in one durable transaction and answers with the stored records. "
        "Before timing, each server gets 20 single POSTs and one batch of 500 as warm-up.",
    ]
    return "\n".join(parts)


def _say(message: str) -> None:
    print(f"bench ingest: {message}", file=sys.stderr, flush=True)
