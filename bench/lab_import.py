"""Lab import over HTTP against the JSON batch path, measured in the same run on the same
server (issue 15: a lab's CSV and xlsx at >= 0.5 x the JSON batch path's rows/s).

The same N personal air samples (about 10 % non-detects) are sent three ways to one
`registry serve`: as JSON batches of up to 10,000 (`POST /measurements/batch`), as one CSV
as a Dutch lab writes it (`;`, decimal commas, 31-12-2025 08:30, "<5" for a non-detect)
and as one xlsx (number and date cells, text for a non-detect), both to
`POST /measurements/import`. Rows/s is rows stored over the client's wall time of the
requests, each a 201 with every row stored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
import msgspec
import polars as pl

from bench.common import (
    REGISTRY,
    UNLIMITED,
    Server,
    free_port,
    human_bytes,
    machine,
    run_registry,
    scratch_postgres_schema,
)
from bench.report import Section, table
from registry.demo import valid_bsn

__all__ = ["NAME", "add_arguments", "run"]

NAME = "lab-import"
_KVK = "99000002"
_CAS = "108-88-3"  # toluene
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADERS = {
    "sample_type": "Monstertype",
    "substance_cas": "CAS-nummer",
    "worker_id": "Werknemer-id",
    "seg_id": "SEG-id",
    "value": "Concentratie",
    "lod": "Detectiegrens",
    "unit": "Eenheid",
    "sampling_start": "Begin monstername",
    "sampling_end": "Einde monstername",
    "air_volume_l": "Luchtvolume (l)",
    "method": "Methode",
    "lab": "Laboratorium",
    "lab_report_id": "Rapportnummer",
    "task": "Taak",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("lab-import")
    group.add_argument("--lab-rows", type=int, default=100_000, help="rows per file and per JSON run (at most 100,000)")
    group.add_argument("--lab-workers", type=int, default=200, help="workers registered over HTTP to measure on")
    group.add_argument("--lab-batch-size", type=int, default=10_000, help="items per JSON batch (at most 10,000)")
    group.add_argument(
        "--lab-postgres",
        metavar="DSN",
        help="serve from this PostgreSQL database (a fresh schema) instead of the embedded store",
    )


class _Rows(msgspec.Struct, frozen=True):
    """The samples as columns (Python values), the same for every path."""

    worker_id: list[str]
    value: list[float | None]
    lod: list[float | None]
    start: list[dt.datetime]  # naive Dutch local time, as a lab writes it
    minutes: list[int]
    report: list[str]


class _Timing(msgspec.Struct, frozen=True):
    path: str
    rows: int
    requests: int
    payload_bytes: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run(args: argparse.Namespace) -> Section:
    if not 0 < args.lab_rows <= 100_000 or not 0 < args.lab_batch_size <= 10_000:
        raise SystemExit("--lab-rows: 1 to 100,000; --lab-batch-size: 1 to 10,000 (the API's limits)")
    where = machine()
    with (
        scratch_postgres_schema(args.lab_postgres) as store,
        tempfile.TemporaryDirectory(prefix="registry-bench-lab-") as tmp,
    ):
        data = Path(tmp) / "data"
        created = json.loads(
            run_registry(data, "employer", "create", "--kvk", _KVK, "--name", "Lab Benchmark B.V.", store=store).stdout
        )
        port = free_port()
        command = [REGISTRY, "--data-dir", str(data), *store, "serve", "--port", str(port)]
        with Server("registry", command, port, env=UNLIMITED) as server:
            headers = {"Authorization": f"Bearer {created['api_key']}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=1800) as client:
                _say(f"registering {args.lab_workers} workers over HTTP")
                workers, seg = _register(client, args.lab_workers, args.seed)
                rng = random.Random(args.seed)
                _say(f"making {args.lab_rows:,} samples as JSON batches, a CSV and an xlsx")
                rows = [_rows(rng, workers, args.lab_rows) for _ in range(3)]  # fresh report numbers each
                batches = _json_batches(rows[0], seg, args.lab_batch_size)
                csv = _csv(rows[1], seg)
                xlsx = _xlsx(rows[2], seg)
                _warm_up(client, _rows(rng, workers, 200), seg)
                timings = [
                    _post_batches(client, batches, args.lab_rows),
                    _post_file(client, "lab import · CSV", csv, "text/csv", args.lab_rows),
                    _post_file(client, "lab import · xlsx", xlsx, _XLSX, args.lab_rows),
                ]
            rss = server.peak_rss_kib()
    return Section(
        name=f"{NAME}{'-postgres' if store else ''}-{args.lab_rows}",
        title=f"Lab import (CSV, xlsx) vs JSON batches over HTTP, {'PostgreSQL' if store else 'embedded'} store, "
        f"{args.lab_rows:,} rows",
        machine=where,
        body=_body(args, timings, rss),
    )


def _register(client: httpx.Client, count: int, seed: int) -> tuple[list[str], str]:
    rng = random.Random(seed + 1)
    seg = client.post("/api/v1/segs", json={"name": "Spuiten (benchmark)"})
    seg.raise_for_status()
    workers: list[str] = []
    while len(workers) < count:
        person = {"bsn": valid_bsn(rng), "name": f"Lab Werknemer {len(workers) + 1}", "date_of_birth": "1975-05-05"}
        answer = client.post("/api/v1/workers", json=person)
        if answer.status_code == 409:
            continue
        answer.raise_for_status()
        worker = str(answer.json()["id"])
        client.post("/api/v1/employments", json={"worker_id": worker, "start_date": "2000-01-01"}).raise_for_status()
        workers.append(worker)
    return workers, str(seg.json()["id"])


def _rows(rng: random.Random, workers: Sequence[str], count: int) -> _Rows:
    values: list[float | None] = []
    lods: list[float | None] = []
    starts: list[dt.datetime] = []
    minutes: list[int] = []
    for _ in range(count):
        value = round(20.0 * rng.lognormvariate(0.0, 0.9), 2)
        below = value < 5.0
        values.append(None if below else value)
        lods.append(5.0 if below else None)
        day = dt.date(2001, 1, 1) + dt.timedelta(days=rng.randint(0, 9000))
        starts.append(dt.datetime(day.year, day.month, day.day, 7, rng.randint(0, 59)))
        minutes.append(5 * rng.randint(48, 96))
    return _Rows(
        worker_id=[rng.choice(workers) for _ in range(count)],
        value=values,
        lod=lods,
        start=starts,
        minutes=minutes,
        report=[f"LAB-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}" for _ in range(count)],
    )


def _frame(rows: _Rows, seg: str) -> pl.DataFrame:
    """The samples as typed columns (naive local times), named by field."""
    count = len(rows.value)
    start = pl.Series(rows.start, dtype=pl.Datetime("us"))
    return pl.DataFrame(
        {
            "sample_type": ["personal_air"] * count,
            "substance_cas": [_CAS] * count,
            "worker_id": rows.worker_id,
            "seg_id": [seg] * count,
            "value": pl.Series(rows.value, dtype=pl.Float64),
            "lod": pl.Series(rows.lod, dtype=pl.Float64),
            "unit": ["mg/m3"] * count,
            "sampling_start": start,
            "sampling_end": start + pl.Series(rows.minutes).cast(pl.Int64).cast(pl.Duration("us")) * 60_000_000,
            "air_volume_l": pl.Series(rows.minutes).cast(pl.Float64) * 0.2,
            "method": ["NIOSH 1501 (actieve kool, GC-FID)"] * count,
            "lab": ["Arbolab Nederland"] * count,
            "lab_report_id": rows.report,
            "task": ["spuiten"] * count,
        }
    )


def _json_batches(rows: _Rows, seg: str, size: int) -> list[bytes]:
    """The batch path's bodies: times with their offset (Europe/Amsterdam), as a client sends them."""
    frame = _frame(rows, seg).with_columns(
        pl.col("sampling_start", "sampling_end")
        .dt.replace_time_zone("Europe/Amsterdam", ambiguous="earliest", non_existent="null")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%:z"),
        below_lod=pl.col("lod").is_not_null(),
    )
    items = frame.to_dicts()
    for item in items:
        for key in [k for k, v in item.items() if v is None]:
            del item[key]
    return [msgspec.json.encode({"items": items[i : i + size]}) for i in range(0, len(items), size)]


def _dutch(frame: pl.DataFrame) -> pl.DataFrame:
    """Result column as a lab writes it: the number, or "<5" below the detection limit."""
    limit = pl.col("lod").cast(pl.String).str.replace(r"\.0$", "").str.replace(".", ",", literal=True)
    result = (
        pl.when(pl.col("value").is_null())
        .then("<" + limit)
        .otherwise(pl.col("value").cast(pl.String).str.replace(".", ",", literal=True))
    )
    return frame.with_columns(value=result).drop("lod")


def _csv(rows: _Rows, seg: str) -> bytes:
    frame = _dutch(_frame(rows, seg)).rename(_HEADERS, strict=False)
    text = frame.write_csv(separator=";", include_bom=True, decimal_comma=True, datetime_format="%d-%m-%Y %H:%M")
    return text.encode()


def _xlsx(rows: _Rows, seg: str) -> bytes:
    """Number cells for results, text for a non-detect, date cells for the times."""
    frame = _frame(rows, seg)
    text_results = _dutch(frame)["value"]
    mixed = frame.with_columns(value=text_results).rename(_HEADERS, strict=False).drop("Detectiegrens", strict=False)
    buffer = io.BytesIO()
    mixed.write_excel(buffer, dtype_formats={pl.Datetime: "dd-mm-yyyy hh:mm"}, autofilter=False)
    return buffer.getvalue()


def _warm_up(client: httpx.Client, rows: _Rows, seg: str) -> None:
    for body in _json_batches(rows, seg, 200):
        _check(client.post("/api/v1/measurements/batch", content=body, headers={"Content-Type": "application/json"}))
    _check(client.post("/api/v1/measurements/import", content=_csv(rows, seg), headers={"Content-Type": "text/csv"}))


def _post_batches(client: httpx.Client, bodies: Sequence[bytes], rows: int) -> _Timing:
    _say(f"JSON: {len(bodies)} batches")
    started = time.perf_counter()
    for body in bodies:
        _check(client.post("/api/v1/measurements/batch", content=body, headers={"Content-Type": "application/json"}))
    seconds = time.perf_counter() - started
    return _Timing(
        path="JSON batch", rows=rows, requests=len(bodies), payload_bytes=sum(map(len, bodies)), seconds=seconds
    )


def _post_file(client: httpx.Client, path: str, content: bytes, media_type: str, rows: int) -> _Timing:
    _say(f"{path}: {len(content) / 2**20:,.1f} MiB")
    started = time.perf_counter()
    answer = _check(client.post("/api/v1/measurements/import", content=content, headers={"Content-Type": media_type}))
    seconds = time.perf_counter() - started
    if answer.json()["stored"] != rows:
        raise RuntimeError(f"{path}: stored {answer.json()['stored']} of {rows}")
    return _Timing(path=path, rows=rows, requests=1, payload_bytes=len(content), seconds=seconds)


def _check(answer: httpx.Response) -> httpx.Response:
    if answer.status_code != 201:
        raise RuntimeError(f"{answer.request.url} answered {answer.status_code}: {answer.text[:800]}")
    return answer


def _body(args: argparse.Namespace, timings: list[_Timing], rss_kib: float) -> str:
    baseline = timings[0].rows_per_s
    rows = [
        [
            t.path,
            f"{t.rows:,}",
            f"{t.requests:,}",
            f"{t.payload_bytes / 2**20:,.1f} MiB",
            f"{t.seconds:,.2f}",
            f"{t.rows_per_s:,.0f}",
            f"{t.rows_per_s / baseline:.2f}" if baseline else "-",
        ]
        for t in timings
    ]
    return "\n".join(
        [
            table(["path", "rows", "requests", "payload", "seconds", "rows/s", "÷ JSON batch"], rows),
            "",
            f"Registry server peak RSS (VmHWM): {human_bytes(rss_kib)}.",
            "",
            f"The same {args.lab_rows:,} kinds of rows each way (personal toluene samples of {args.lab_workers} "
            "workers in one SEG, ~10 % non-detects, 14 columns), to one `registry serve`, one client, in this "
            f"order: JSON batches of {args.lab_batch_size:,} items (times with their UTC offset), then one CSV "
            "(`;`, decimal commas, `31-12-2025 08:30` local time, `<5` non-detects, BOM), then one xlsx (number "
            "and date cells, text `<5`). Each import is checked and stored in one transaction (in chunks of "
            "10,000); every request answered 201 with all rows stored. Goal (issue 15): lab import >= 0.5 x the "
            "JSON batch path's rows/s.",
        ]
    )


def _say(message: str) -> None:
    print(f"bench lab-import: {message}", file=sys.stderr, flush=True)
