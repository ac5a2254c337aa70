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
import secrets
import shutil
import sys
import tempfile
import threading
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
from bench.floors import StoreFloors, settings_of, store_floors
from bench.report import Section, table
from bench.stores import StoreCache
from registry.demo import valid_bsn
from registry.store.backends import DuckDBFile, PostgresServer, StoreLocation, connect
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
    group.add_argument(
        "--concurrent-clients", type=int, default=8, help="clients posting single measurements at once (default 8)"
    )
    group.add_argument(
        "--concurrent-single", type=int, default=2000, help="single-measurement POSTs shared by those clients"
    )
    group.add_argument("--commits", type=int, default=200, help="one-row durable commits timed on the store's disk")
    group.add_argument("--batches", type=int, default=20, help="batch POSTs")
    group.add_argument("--batch-size", type=int, default=5000, help="measurements per batch (at most 10,000)")
    group.add_argument(
        "--bad-requests", type=int, default=3, help="batches of 10,000 bad items of each kind posted to the registry"
    )
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
            concurrent = [msgspec.json.encode(_item(rng, setup)) for _ in range(args.concurrent_single)]
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
                _say(f"{server.name}: {args.concurrent_single} single POSTs from {args.concurrent_clients} clients")
                timings[server.name, "concurrent"] = _post_concurrently(
                    server.url, api_key, "/api/v1/measurements", concurrent, args.concurrent_clients
                )
                _say(f"{server.name}: {args.batches} batches of {args.batch_size}")
                timings[server.name, "batch"] = _post(
                    server.url, api_key, "/api/v1/measurements/batch", batches, args.batch_size
                )
            _say(f"registry: {args.bad_requests} batches of 10,000 bad items of each kind")
            bad = _post_bad(registry.url, api_key, _bad_batches(rng, setup), args.bad_requests)
            rss = {server.name: server.peak_rss_kib() for server in (registry, baseline)}
            _say(f"{args.commits} one-row durable commits on the same store")
            commit = _durable_commits(_probe_location(Path(tmp), store), args.commits)
        _say("the store's own floor: the same rows written by bare SQL, no server")
        floors = store_floors(
            settings_of(data, store), singles=args.commits, batches=args.batches, batch_size=args.batch_size
        )
    size = f"{args.measurements:,} measurements in the store" if args.measurements else "empty store"
    # One block per store and size in docs/benchmarks.md, so a 10 M run keeps the 1 M one.
    return Section(
        name=f"{NAME}{'-postgres' if store else ''}-{args.measurements}",
        title=f"Measurement ingest over HTTP, {'PostgreSQL' if store else 'embedded'} store, {size}",
        machine=where,
        body=_body(args, setup, timings, rss, prefill, commit, bad, floors),
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


def _post_concurrently(url: str, api_key: str, path: str, bodies: Sequence[bytes], clients: int) -> _Timing:
    """`clients` threads, each with its own keep-alive connection, post their share of
    `bodies` one after another; all start together. Seconds are the whole run's wall time."""
    shares = [list(bodies[i::clients]) for i in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start = threading.Barrier(clients + 1)

    def client(share: list[bytes], measured: list[float]) -> None:
        with _client(url, api_key) as http:
            start.wait()
            for body in share:
                sent = time.perf_counter()
                answer = http.post(path, content=body)
                measured.append(time.perf_counter() - sent)
                if answer.status_code != 201:
                    failures.append(f"{url}{path} answered {answer.status_code}: {answer.text[:500]}")
                    return

    threads = [threading.Thread(target=client, args=work, daemon=True) for work in zip(shares, latencies, strict=True)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(failures[0])
    every = [t for measured in latencies for t in measured]
    return _Timing(requests=len(bodies), rows=len(bodies), seconds=seconds, latencies=every)


class _Refused(msgspec.Struct, frozen=True):
    """Batches of bad items: how long the registry took to refuse each, and its answer's size."""

    latencies: list[float]
    answer_bytes: int
    total_errors: int
    listed: int


def _bad_batches(rng: random.Random, setup: _Setup) -> dict[str, bytes]:
    """10,000 bad items of two kinds: a value of the wrong type and an unknown field in each
    (the body does not fit the schema: read item by item), or a worker the employer never
    registered (the body decodes; the store's rule refuses every item)."""
    items = [msgspec.to_builtins(_item(rng, setup)) for _ in range(10_000)]
    schema = [{**item, "value": f"{n},5", "monster": f"M-{n}"} for n, item in enumerate(items)]
    store = [{**item, "worker_id": str(uuid.UUID(int=rng.getrandbits(128), version=4))} for item in items]
    return {
        "10,000 bad items (a wrong type and an unknown field in each)": msgspec.json.encode({"items": schema}),
        "10,000 bad items (each names a worker not registered)": msgspec.json.encode({"items": store}),
    }


def _post_bad(url: str, api_key: str, bodies: dict[str, bytes], requests: int) -> dict[str, _Refused]:
    refused = {}
    with _client(url, api_key) as client:
        for kind, body in bodies.items():
            latencies, size, answer = [], 0, None
            for _ in range(requests):
                sent = time.perf_counter()
                answer = client.post("/api/v1/measurements/batch", content=body)
                latencies.append(time.perf_counter() - sent)
                size = max(size, len(answer.content))
                if answer.status_code != 422:
                    raise RuntimeError(f"a bad batch answered {answer.status_code}: {answer.text[:500]}")
            problem = answer.json() if answer is not None else {}
            listed = len(problem.get("errors", []))
            refused[kind] = _Refused(latencies, size, problem.get("total_errors", listed), listed)
    return refused


def _batch_goals(timings: dict[tuple[str, str], _Timing], bad: dict[str, _Refused], floors: StoreFloors) -> str:
    """The batch goals of issue 15: rows/s against the same-run baseline, and how a batch of
    10,000 bad items is refused (time and size of the answer). The ceiling is the ratio a
    registry would reach whose only work beyond the baseline's were the store's bare insert."""
    registry, baseline = timings["registry", "batch"], timings["baseline", "batch"]
    ratio = registry.rows_per_s / baseline.rows_per_s if baseline.rows_per_s else 0.0
    base_p50, floor_p50 = percentile(baseline.latencies, 50), percentile(floors.batch, 50)
    ceiling = base_p50 / (base_p50 + floor_p50)
    rows = [
        [
            "batch ingest rows/s",
            f"{registry.rows_per_s:,.0f} ({ratio:.2f} x baseline)",
            f"baseline {baseline.rows_per_s:,.0f}; p50 {base_p50 * 1000:,.1f} ms a batch, plus the store's bare "
            f"insert {floor_p50 * 1000:,.1f} ms: ceiling {ceiling:.2f} x baseline",
            "≥ 0.5 x baseline",
            "yes" if ratio >= 0.5 else "no",
        ]
    ]
    for kind, refused in bad.items():
        p50, worst = percentile(refused.latencies, 50), max(refused.latencies)
        rows.append(
            [
                f"{kind}: answered",
                f"p50 {p50:,.2f} s, slowest {worst:,.2f} s; {refused.answer_bytes / 1024:,.0f} KiB "
                f"({refused.listed:,} of {refused.total_errors:,} errors listed)",
                "",
                "≤ 0.5 s, ≤ 1 MiB",
                "yes" if worst <= 0.5 and refused.answer_bytes <= 1024 * 1024 else "no",
            ]
        )
    return table(["goal", "registry", "same-run reference", "bound", "met"], rows)


def _probe_location(tmp: Path, store: Sequence[str]) -> StoreLocation:
    """Where to time a bare commit: an encrypted DuckDB file beside the server's store (the
    same disk), or the server's PostgreSQL schema."""
    if store:
        options = dict(zip(store[::2], store[1::2], strict=True))
        return PostgresServer(dsn=options["--postgres"], schema=options["--postgres-schema"])
    return DuckDBFile(path=tmp / "commit-probe" / "probe.duckdb", encryption_key_hex=secrets.token_hex(32))


def _durable_commits(location: StoreLocation, count: int) -> _Timing:
    """One durable commit, as cheap as it gets through the store's own SQL layer: BEGIN,
    INSERT one row, COMMIT (DuckDB syncs its WAL; PostgreSQL its own), `count` times."""
    con = connect(location)
    try:
        con.execute("CREATE TABLE IF NOT EXISTS commit_probe (n INTEGER, written TIMESTAMP)")
        latencies: list[float] = []
        started = time.perf_counter()
        for n in range(count):
            sent = time.perf_counter()
            con.execute("BEGIN TRANSACTION")
            con.execute("INSERT INTO commit_probe VALUES (?, now())", [n])
            con.execute("COMMIT")
            latencies.append(time.perf_counter() - sent)
        seconds = time.perf_counter() - started
        con.execute("DROP TABLE commit_probe")
    finally:
        con.close()
    return _Timing(requests=count, rows=count, seconds=seconds, latencies=latencies)


def _goals(
    args: argparse.Namespace, timings: dict[tuple[str, str], _Timing], commit: _Timing, floors: StoreFloors
) -> str:
    """The single-POST goals of issue 15, each against its same-run baseline, beside the floor
    the store itself sets: the baseline plus the bare insert of one measurement row."""
    registry, baseline = timings["registry", "concurrent"], timings["baseline", "concurrent"]
    ratio = registry.rows_per_s / baseline.rows_per_s if baseline.rows_per_s else 0.0
    p50 = percentile(timings["registry", "single"].latencies, 50) * 1000
    base_p50 = percentile(timings["baseline", "single"].latencies, 50) * 1000
    commit_p50 = percentile(commit.latencies, 50) * 1000
    bound = base_p50 + 2 * commit_p50
    floor_p50 = percentile(floors.single, 50) * 1000
    return table(
        ["goal", "registry", "same-run reference", "bound", "met"],
        [
            [
                f"single POST, {args.concurrent_clients} concurrent clients, requests/s",
                f"{registry.rows_per_s:,.0f} ({ratio:.2f} x baseline)",
                f"baseline {baseline.rows_per_s:,.0f}",
                "≥ 0.5 x baseline",
                "yes" if ratio >= 0.5 else "no",
            ],
            [
                "single POST, one sequential client, p50 ms",
                f"{p50:,.1f}",
                f"baseline p50 {base_p50:,.1f}; one durable commit p50 {commit_p50:,.1f}; the store's bare insert "
                f"of one measurement row p50 {floor_p50:,.1f}, so at best {base_p50 + floor_p50:,.1f}",
                f"≤ {bound:,.1f} (baseline p50 + 2 x commit)",
                "yes" if p50 <= bound else "no",
            ],
        ],
    )


def _body(
    args: argparse.Namespace,
    setup: _Setup,
    timings: dict[tuple[str, str], _Timing],
    rss: dict[str, float],
    prefill: _Prefill | None,
    commit: _Timing,
    bad: dict[str, _Refused],
    floors: StoreFloors,
) -> str:
    rows: list[list[str]] = []
    for kind, label in (
        ("single", "single POST"),
        ("concurrent", f"single POST, {args.concurrent_clients} concurrent clients"),
        ("batch", f"batch POST ({args.batch_size:,} per request)"),
    ):
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
    commit_row = [
        "one durable commit (BEGIN, INSERT one row, COMMIT) on the same store",
        f"{commit.requests:,}",
        f"{commit.rows:,}",
        f"{commit.seconds:,.2f}",
        f"{commit.rows_per_s:,.0f}",
        "",
        f"{percentile(commit.latencies, 50) * 1000:,.1f}",
        f"{percentile(commit.latencies, 95) * 1000:,.1f}",
    ]
    floor_rows = [
        _floor_row("the store's bare insert of one measurement row (BEGIN, INSERT, COMMIT)", floors.single, 1),
        _floor_row(
            f"the store's bare insert of {floors.batch_size:,} measurement rows from Arrow (BEGIN, INSERT, COMMIT)",
            floors.batch,
            floors.batch_size,
        ),
    ]
    parts = [
        table(
            ["endpoint", "requests", "rows", "seconds", "rows/s", "÷ baseline", "p50 ms", "p95 ms"],
            [*rows, commit_row, *floor_rows],
        ),
        "",
        _goals(args, timings, commit, floors),
        "",
        _batch_goals(timings, bad, floors),
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
        f"server (the concurrent row: {args.concurrent_clients} such clients at once, each its own connection); "
        "both servers get identical request bodies (personal air samples of the registered "
        "workers, ~10 % non-detects). The baseline (`bench/baseline_app.py`) is Litestar + msgspec "
        "decoding the same `MeasurementIn` / `MeasurementBatch` types and answering 201 with a tiny "
        "body; the registry also authenticates the key, checks every rule against the store, writes "
        "the rows and the audit entries in one durable transaction and answers with each item's id, status "
        "and warnings (the stored records only on `Prefer: return=representation`). "
        "Before timing, each server gets 20 single POSTs and one batch of 500 as warm-up. "
        "The store's bare inserts (bench/floors.py) run after the servers stopped, on the same store: copies of "
        "rows already there with new ids, put into the real `measurements` table (primary key, two foreign keys, "
        "three indexes) by bare SQL through the registry's own DuckDB layer, each in its own durable transaction; "
        "no registry code, no audit entry. They are the least any registry on this store must add to the "
        "baseline, so they show which goals the store itself puts out of reach.",
    ]
    return "\n".join(parts)


def _floor_row(label: str, seconds: list[float], rows_each: int) -> list[str]:
    total = sum(seconds)
    return [
        label,
        f"{len(seconds):,}",
        f"{len(seconds) * rows_each:,}",
        f"{total:,.2f}",
        f"{len(seconds) * rows_each / total:,.0f}" if total else "",
        "",
        f"{percentile(seconds, 50) * 1000:,.1f}",
        f"{percentile(seconds, 95) * 1000:,.1f}",
    ]


def _say(message: str) -> None:
    print(f"bench ingest: {message}", file=sys.stderr, flush=True)
