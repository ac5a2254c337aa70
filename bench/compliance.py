"""The EN 689 compliance report over every SEG of a synthetic national store.

Per size: the cached synthetic store (bench/stores.py), then, in this process, the report's
stages timed separately: the limit timeline and the exposure-index join in DuckDB, the
EN 689 test per SEG and substance, and the Bayesian estimates for all groups at once.
Same-run baseline: one bare DuckDB GROUP BY over the same measurements (count, mean and
SD of ln value per SEG and substance): the least any report must do.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from analytics.compliance import compliance_report
from bench.common import machine, run_registry, scratch_postgres_schema
from bench.report import Section, table
from bench.stores import StoreCache, add_sizes_option, sizes
from registry.runtime import open_runtime
from registry.services.compliance import load_inputs
from registry.settings import Settings

__all__ = ["NAME", "add_arguments", "run"]

NAME = "compliance"


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
    cache = StoreCache(args.store_cache, args.seed)
    if args.compliance_postgres:
        rows = [_measure_postgres(args.compliance_postgres, size, args.seed) for size in sizes(args.compliance_sizes)]
    else:
        rows = [_measure(cache, size) for size in sizes(args.compliance_sizes)]
    body = [
        table(
            [
                "measurements",
                "groups",
                "baseline GROUP BY s",
                "indices (SQL) s",
                "EN 689 s",
                "Bayesian s",
                "report s",
                "÷ baseline",
                "peak RSS",
            ],
            rows,
        ),
        "",
        "groups = SEG-substance combinations assessed. indices = limit timeline plus the DuckDB join of every "
        "shift-long personal sample with the limit in force on its date; EN 689 = preliminary or statistical test "
        "per group (censored MLE where there are non-detects); Bayesian = Expostats-style posterior for every group "
        "with a detect, in one vectorised call. report s is the sum; ÷ baseline divides it by the bare GROUP BY "
        "measured in the same run. Peak RSS is this benchmark process's (it also holds the result).",
    ]
    if args.compliance_postgres:
        return Section(
            name=f"{NAME}-postgres",
            title="EN 689 compliance report over all SEGs, PostgreSQL store",
            machine=where,
            body="\n".join(body),
        )
    return Section(name=NAME, title="EN 689 compliance report over all SEGs", machine=where, body="\n".join(body))


def _measure(cache: StoreCache, measurements: int) -> list[str]:
    return _report(Settings.resolve(cache.get(measurements).data_dir), measurements)


def _measure_postgres(dsn: str, measurements: int, seed: int) -> list[str]:
    """The analytics run in DuckDB here too, reading the tables from PostgreSQL."""
    with scratch_postgres_schema(dsn) as store, tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        data = Path(tmp) / "data"
        print(f"bench compliance: {measurements:,} measurements into PostgreSQL", file=sys.stderr, flush=True)
        run_registry(data, "synth", "--measurements", str(measurements), "--seed", str(seed), store=store)
        return _report(Settings.resolve(str(data), postgres_dsn=store[1], postgres_schema=store[3]), measurements)


def _report(settings: Settings, measurements: int) -> list[str]:
    runtime = open_runtime(settings)
    try:
        with runtime.db.read() as tx:
            started = time.perf_counter()
            tx.all(
                "SELECT seg_id, substance_id, count(*), avg(ln(value)), stddev_samp(ln(value)) "
                "FROM measurements WHERE sample_type = 'personal_air' AND value > 0 GROUP BY ALL"
            )
            baseline = time.perf_counter() - started
            started = time.perf_counter()
            inputs = load_inputs(tx, None)
            indices = time.perf_counter() - started
        started = time.perf_counter()
        without_bayes = compliance_report(inputs.indices, inputs.names, bayesian=False)
        en689 = time.perf_counter() - started
        started = time.perf_counter()
        compliance_report(inputs.indices, inputs.names, bayesian=True)
        bayes = time.perf_counter() - started - en689
    finally:
        runtime.close()
    total = indices + en689 + bayes
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return [
        f"{measurements:,}",
        f"{len(without_bayes):,}",
        f"{baseline:.2f}",
        f"{indices:.1f}",
        f"{en689:.1f}",
        f"{bayes:.1f}",
        f"{total:.1f}",
        f"{total / baseline:,.0f}",
        f"{peak:.1f} GiB",
    ]
