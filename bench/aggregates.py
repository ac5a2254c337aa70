"""Exposure aggregates with disclosure control over a national-size store, in this process.

Per size: the cached synthetic store (bench/stores.py); each query's median of three runs.
Same-run baseline: the bare GROUP BY counting the same facts per cell (shift-long personal
air results per substance and year), the least any aggregate must do.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from analytics.aggregates import AggregateCell, Dimension
from bench.common import machine
from bench.report import Section, table
from bench.stores import StoreCache, add_sizes_option, sizes
from registry.runtime import open_runtime
from registry.services.aggregates import exposure_aggregates
from registry.settings import Settings
from registry.store import Tx

__all__ = ["NAME", "add_arguments", "run"]

NAME = "aggregates"
_QUERIES: list[list[Dimension]] = [["substance", "year"], ["substance", "sector", "year"], ["substance", "task"]]
T = TypeVar("T")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_sizes_option(parser, "aggregates")


def run(args: argparse.Namespace) -> Section:
    where = machine()
    cache = StoreCache(args.store_cache, args.seed)
    rows = [row for size in sizes(args.aggregates_sizes) for row in _measure(cache, size)]
    body = [
        table(
            [
                "store",
                "cells by",
                "cells",
                "suppressed",
                "baseline GROUP BY s",
                "aggregate s",
                "÷ baseline",
                "peak RSS",
            ],
            rows,
        ),
        "",
        "aggregate = counts of workers, employers and results, GM, GSD, P50/P90/P95, share of non-detects and "
        "share above the limit in force on each date (limit timeline built and joined in the same call), and the "
        "largest employer's share for the dominance rule, per cell: one DuckDB query over the frames of "
        "registry/store/frames.py, after one small query for the substances and units the timeline must cover. "
        "Median of 3 runs each. Peak RSS is this benchmark process's.",
    ]
    return Section(name=NAME, title="Exposure aggregates with disclosure control", machine=where, body="\n".join(body))


def _measure(cache: StoreCache, size: int) -> list[list[str]]:
    store = cache.get(size)
    runtime = open_runtime(Settings.resolve(store.data_dir))
    rows = []
    try:
        with runtime.db.read() as tx:
            baseline = _median(lambda: _bare_group_by(tx))
            for by in _QUERIES:
                seconds, cells = _timed(lambda by=by: exposure_aggregates(tx, by))  # type: ignore[misc]
                rows.append(_row(size, by, cells, baseline, seconds))
    finally:
        runtime.close()
    return rows


def _bare_group_by(tx: Tx) -> object:
    return tx.all(
        "SELECT substance_id, year(sampling_start), unit, count(*) FROM measurements "
        "WHERE sample_type = 'personal_air' AND sampled_minutes >= 120 GROUP BY ALL"
    )


def _row(size: int, by: list[Dimension], cells: list[AggregateCell], baseline: float, seconds: float) -> list[str]:
    suppressed = sum(c.suppressed for c in cells)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return [
        f"{size:,}",
        " + ".join(by),
        f"{len(cells):,}",
        f"{suppressed / len(cells):.0%}" if cells else "-",
        f"{baseline:.2f}",
        f"{seconds:.2f}",
        f"{seconds / baseline:,.1f}",
        f"{peak:.1f} GiB",
    ]


def _timed(work: Callable[[], T]) -> tuple[float, T]:
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        result = work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), result


def _median(work: Callable[[], object]) -> float:
    return _timed(work)[0]
