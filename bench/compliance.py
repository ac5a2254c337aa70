"""The EN 689 + Bayesian compliance report over every SEG of a synthetic national store.

Per size, on a copy of the cached synthetic store (bench/stores.py), in this process:

- baseline: one bare DuckDB GROUP BY over the same measurements (count, mean and SD of ln
  value per SEG and substance): the least any report must do, measured in the same run;
- cold: the report as the operator's `registry report` makes it (registry/services/
  compliance_rows.py) with no kept rows: every group read, computed and kept;
- warm: the same report after 10,000 new measurements, as 25 lab batches of 400 for 25
  employers (copies of their SEGs' shift-long results, new ids, values scaled): only the
  changed employers are read again and only their changed groups computed.

Peak RSS is this process's high-water mark over both reports (it also holds the results).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

from analytics import compliance
from analytics.statistics import bayesian
from bench.common import machine, run_registry, scratch_postgres_schema
from bench.report import Section, table
from bench.stores import StoreCache, add_sizes_option, sizes
from registry.access import Actor, ActorKind, Purpose, Work
from registry.runtime import open_runtime
from registry.services.compliance_rows import report_rows
from registry.settings import Settings
from registry.store import Database

__all__ = ["NAME", "add_arguments", "run"]

NAME = "compliance"
NEW_MEASUREMENTS = 10_000
_BATCHES = 25  # employers, each sending a lab batch of NEW_MEASUREMENTS / _BATCHES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = add_sizes_option(parser, "compliance")
    group.add_argument(
        "--compliance-postgres",
        metavar="DSN",
        help="instead, per size, fill a fresh schema of this PostgreSQL database with `registry synth` and report "
        "from there (recorded as its own section), e.g. 'host=127.0.0.1 dbname=test user=postgres'",
    )


def run(args: argparse.Namespace) -> Section:
    where = machine()
    if args.compliance_postgres:
        rows = [_measure_postgres(args.compliance_postgres, size, args.seed) for size in sizes(args.compliance_sizes)]
    else:
        cache = StoreCache(args.store_cache, args.seed)
        rows = [_measure(cache, size, args.seed) for size in sizes(args.compliance_sizes)]
    body = [
        table(
            [
                "measurements",
                "groups",
                "baseline GROUP BY s",
                "cold report s",
                "cold ÷ baseline",
                "cold CPU s",
                "of which the posterior s",
                "posterior alone ÷ baseline",
                f"+{NEW_MEASUREMENTS:,} new: groups changed",
                "warm report s",
                "warm CPU s",
                "peak RSS",
            ],
            rows,
        ),
        "",
        "groups = report rows (SEG-substance combinations). cold = the whole report with no kept rows: the limit "
        "timeline and the DuckDB join of every shift-long personal sample with the limit in force on its date, "
        "EN 689 (preliminary or statistical test, censored MLE where there are non-detects, Shapiro-Wilk) and the "
        "Expostats-style posterior of every group, each over whole columns, and the rows kept in the store. warm = "
        f"the same report after {NEW_MEASUREMENTS:,} new measurements ({_BATCHES} lab batches of "
        f"{NEW_MEASUREMENTS // _BATCHES} for {_BATCHES} employers): unchanged employers' rows are read back, the "
        "changed employers' results read again and only their changed groups computed. ÷ baseline divides by the "
        "bare GROUP BY measured in the same run. CPU s is the process's CPU time (all threads): on a shared "
        "machine it varies less than the wall time. Peak RSS is this benchmark process's, over both reports. "
        "The posterior column times the one vectorised call of the Expostats-style grid posterior inside the cold "
        "report (analytics/statistics/bayesian.py, 48 x 48 nodes after two coarse passes): it must equal the "
        "per-group reference within 1e-9, so its work is fixed, and its ratio to the GROUP BY is a floor under the "
        "cold report's.",
    ]
    if args.compliance_postgres:
        return Section(
            name=f"{NAME}-postgres",
            title="EN 689 compliance report over all SEGs, PostgreSQL store",
            machine=where,
            body="\n".join(body),
        )
    return Section(name=NAME, title="EN 689 compliance report over all SEGs", machine=where, body="\n".join(body))


def _measure(cache: StoreCache, measurements: int, seed: int) -> list[str]:
    """On a copy of the cached store: the report keeps rows and the warm run adds results."""
    cached = cache.get(measurements)
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(cached.data_dir, data)
        return _report(Settings.resolve(str(data)), measurements, seed)


def _measure_postgres(dsn: str, measurements: int, seed: int) -> list[str]:
    """The analytics run in DuckDB here too, reading the tables from PostgreSQL."""
    with scratch_postgres_schema(dsn) as store, tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        data = Path(tmp) / "data"
        print(f"bench compliance: {measurements:,} measurements into PostgreSQL", file=sys.stderr, flush=True)
        run_registry(data, "synth", "--measurements", str(measurements), "--seed", str(seed), store=store)
        return _report(Settings.resolve(str(data), postgres_dsn=store[1], postgres_schema=store[3]), measurements, seed)


def _report(settings: Settings, measurements: int, seed: int) -> list[str]:
    runtime = open_runtime(settings)
    operator = Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="bench"), Purpose.ADMINISTRATION)
    try:
        with runtime.db.read() as tx:
            started = time.perf_counter()
            tx.all(
                "SELECT seg_id, substance_id, count(*), avg(ln(value)), stddev_samp(ln(value)) "
                "FROM measurements WHERE sample_type = 'personal_air' AND value > 0 GROUP BY ALL"
            )
            baseline = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        with _timed_posterior() as posterior:
            groups = len(report_rows(operator, None))
        cold, cold_cpu = time.perf_counter() - started, time.process_time() - cpu
        changed = _new_measurements(runtime.db, seed)
        started, cpu = time.perf_counter(), time.process_time()
        report_rows(operator, None)
        warm, warm_cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        runtime.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return [
        f"{measurements:,}",
        f"{groups:,}",
        f"{baseline:.2f}",
        f"{cold:.1f}",
        f"{cold / baseline:,.1f}",
        f"{cold_cpu:.1f}",
        f"{sum(posterior):.1f}",
        f"{sum(posterior) / baseline:,.1f}",
        f"{changed:,}",
        f"{warm:.2f}",
        f"{warm_cpu:.2f}",
        f"{peak:.2f} GiB",
    ]


@contextmanager
def _timed_posterior() -> Iterator[list[float]]:
    """Seconds spent in the report's posterior call (analytics.compliance.bayesian_sets)."""
    spent: list[float] = []
    original = bayesian.bayesian_sets

    def timed(*args: Any, **kwargs: Any) -> list[bayesian.BayesianResult]:
        started = time.perf_counter()
        try:
            return list(original(*args, **kwargs))
        finally:
            spent.append(time.perf_counter() - started)

    with patch.object(compliance, "bayesian_sets", timed):  # the report's own reference to it
        yield spent


def _new_measurements(db: Database, seed: int) -> int:
    """NEW_MEASUREMENTS new results, as lab batches of _BATCHES employers: copies (new id, value
    scaled by 0.5-1.5) of their SEGs' shift-long personal air results, cycling through each
    employer's. Returns the number of SEG-substance groups they land in."""
    each = NEW_MEASUREMENTS // _BATCHES
    with db.write() as tx:
        tx.execute(
            f"""
            CREATE TEMP TABLE bench_new AS
            WITH eligible AS (
                SELECT * FROM measurements
                WHERE sample_type = 'personal_air' AND seg_id IS NOT NULL AND sampled_minutes >= 120
            ),
            chosen AS (
                SELECT employer_id FROM (SELECT DISTINCT employer_id FROM eligible)
                ORDER BY hash(employer_id, {seed}) LIMIT {_BATCHES}
            ),
            pool AS (
                SELECT e.*, row_number() OVER (PARTITION BY e.employer_id ORDER BY hash(e.id, {seed})) - 1 AS k,
                       count(*) OVER (PARTITION BY e.employer_id) AS c
                FROM eligible e JOIN chosen USING (employer_id)
            )
            SELECT * EXCLUDE (k, c, i) REPLACE (
                       uuid() AS id,
                       value * (0.5 + (hash(id, i) % 1000) / 1000.0) AS value,
                       now()::TIMESTAMP AS recorded_at)
            FROM pool JOIN range({each}) r(i) ON i % c = k
            """
        )
        changed = tx.scalar("SELECT count(*) FROM (SELECT DISTINCT employer_id, seg_id, substance_id FROM bench_new)")
        tx.execute("INSERT INTO measurements SELECT * FROM bench_new")
        tx.execute("DROP TABLE bench_new")
    return int(changed)
