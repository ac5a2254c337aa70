"""A worker's exposure history over HTTP, inside a national-size store.

Per size: the cached synthetic store (bench/stores.py); one worker with a 40-year career of
2,000 records (1,900 results and 100 register entries, 1985-2024) at the first generated
employer, added over the API once per store; then GET /api/v1/workers/{id}/history
sequentially (keep-alive) against the real registry and against the same-run baseline: a
bare Litestar app serving the same document from memory (bench/baseline_app.py), so the
ratio is what the store, decryption, the policy, the audit entry and the limit comparison
add to the HTTP and JSON work any server has.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

from bench.common import REGISTRY, UNLIMITED, Server, baseline_command, free_port, human_bytes, machine, percentile
from bench.report import Section, table
from bench.stores import StoreCache, add_sizes_option, sizes
from registry.demo import valid_bsn

__all__ = ["NAME", "add_arguments", "run"]

NAME = "history"
_MEASUREMENTS, _REGISTRATIONS = 1_900, 100
# (CAS, typical shift level in mg/m3): substances with NL 8-h limits in the reference set.
_AGENTS = [("108-88-3", 20.0), ("71-43-2", 0.2), ("50-00-0", 0.05), ("100-42-5", 15.0)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = add_sizes_option(parser, "history")
    group.add_argument("--history-requests", type=int, default=50, help="timed GETs per server (default 50)")


def run(args: argparse.Namespace) -> Section:
    where = machine()
    cache = StoreCache(args.store_cache, args.seed)
    rows = [_measure(cache, size, args) for size in sizes(args.history_sizes)]
    body = [
        table(
            [
                "store",
                "records",
                "document",
                "registry p50 ms",
                "registry p95 ms",
                "baseline p50 ms",
                "baseline p95 ms",
                "p50 ÷ baseline",
                "registry peak RSS",
            ],
            rows,
        ),
        "",
        f"records = results + register entries of the one worker; {args.history_requests} sequential GETs per "
        "server after 3 warm-up GETs. The registry checks the relationship and purpose, writes one audit entry, "
        "reads the records, decrypts the identity, and compares every result with the limit in force on its "
        "date; the baseline serves the same document (same msgspec type) from memory.",
    ]
    return Section(name=NAME, title="Worker history (JSON) over HTTP", machine=where, body="\n".join(body))


def _measure(cache: StoreCache, size: int, args: argparse.Namespace) -> list[str]:
    store = cache.get(size)
    api_key = store.api_keys[0]
    port = free_port()
    command = [REGISTRY, "--data-dir", store.data_dir, "serve", "--port", str(port)]
    with Server("registry", command, port, env=UNLIMITED) as registry:
        worker_id = _career(registry.url, api_key, args.seed)
        path = f"/api/v1/workers/{worker_id}/history"
        registry_times, document = _get(registry.url, api_key, path, args.history_requests)
        rss = registry.peak_rss_kib()
    records = len(document["measurements"]) + len(document["registrations"])
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        saved = Path(tmp) / "history.json"
        saved.write_bytes(msgspec.json.encode(document))
        port = free_port()
        with Server("baseline", baseline_command(port), port, env={"BENCH_HISTORY_DOCUMENT": str(saved)}) as baseline:
            baseline_times, _ = _get(baseline.url, api_key, path, args.history_requests)
            size_bytes = saved.stat().st_size
    p50, base50 = percentile(registry_times, 50), percentile(baseline_times, 50)
    return [
        f"{size:,}",
        f"{records:,}",
        f"{size_bytes / 1024**2:.1f} MiB",
        f"{p50 * 1000:,.1f}",
        f"{percentile(registry_times, 95) * 1000:,.1f}",
        f"{base50 * 1000:,.1f}",
        f"{percentile(baseline_times, 95) * 1000:,.1f}",
        f"{p50 / base50:,.1f}",
        human_bytes(rss),
    ]


def _get(url: str, api_key: str, path: str, requests: int) -> tuple[list[float], dict[str, list[object]]]:
    times: list[float] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=300) as client:
        for _ in range(3):
            client.get(path).raise_for_status()
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
    return times, response.json()


def _career(url: str, api_key: str, seed: int) -> str:
    """The benchmark's worker: registered with all 2,000 records the first time, found by
    BSN (200) on later runs against the same cached store."""
    rng = random.Random(seed * 7919)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=600) as client:
        person = {"bsn": valid_bsn(rng), "name": "Bea Loopbaan", "date_of_birth": "1962-04-01"}
        registered = client.post("/api/v1/workers", json=person)
        registered.raise_for_status()
        worker_id = str(registered.json()["id"])
        if registered.status_code == 200:
            return worker_id
        print("bench history: adding a 2,000-record career over the API", file=sys.stderr, flush=True)
        job = {"worker_id": worker_id, "start_date": "1985-01-01", "end_date": "2024-12-31", "job_title": "operator"}
        client.post("/api/v1/employments", json=job).raise_for_status()
        items = [_sample(rng, worker_id) for _ in range(_MEASUREMENTS)]
        client.post("/api/v1/measurements/batch", json={"items": items}).raise_for_status()
        for i in range(_REGISTRATIONS):
            cas, level = _AGENTS[i % len(_AGENTS)]
            start = dt.date(1985, 1, 1) + dt.timedelta(days=146 * i)
            entry = {
                "worker_id": worker_id,
                "substance_cas": cas,
                "task": "procesbediening",
                "period_start": start.isoformat(),
                "period_end": (start + dt.timedelta(days=145)).isoformat(),
                "level_value": level,
                "level_unit": "mg/m3",
                "basis": "measured",
            }
            client.post("/api/v1/registrations", json=entry).raise_for_status()
    return worker_id


def _sample(rng: random.Random, worker_id: str) -> dict[str, object]:
    cas, level = rng.choice(_AGENTS)
    day = dt.date(1985, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365))
    minutes = rng.choice([420, 420, 420, 420, 420, 420, 420, 15, 15, 60])
    start = dt.datetime.combine(day, dt.time(7, 0), tzinfo=dt.UTC)
    value = round(level * rng.lognormvariate(0.0, 0.9), 4)
    below = rng.random() < 0.05
    return {
        "sample_type": "personal_air",
        "substance_cas": cas,
        "worker_id": worker_id,
        "value": None if below else value,
        "below_lod": below,
        "lod": round(level / 20, 4) if below else None,
        "unit": "mg/m3",
        "sampling_start": start.isoformat(),
        "sampling_end": (start + dt.timedelta(minutes=minutes)).isoformat(),
        "air_volume_l": 2.0 * minutes,
        "method": "NIOSH",
        "lab": "Arbolab",
        "task": "procesbediening",
    }
