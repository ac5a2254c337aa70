"""The synthetic data generator at several sizes: `registry synth` in a fresh store each time.

Each run is its own process, so its wall time, its peak memory (from wait4's rusage) and
the store's size on disk are its own. The rate that matters for planning larger sets is
measurements per generator second; the table also extrapolates the largest size measured
to 10 M linearly, labelled as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from bench.common import REGISTRY, REPO, human_bytes, machine
from bench.report import Section, table

__all__ = ["NAME", "add_arguments", "run"]

NAME = "generator"
_TEN_MILLION = 10_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generator")
    group.add_argument(
        "--generator-sizes",
        default="100000,1000000",
        help="comma-separated numbers of measurements to generate, each in a fresh store (default 100000,1000000)",
    )


class _Run(msgspec.Struct, frozen=True):
    summary: dict[str, float]
    wall_s: float
    peak_rss_kib: float
    disk_bytes: int


def run(args: argparse.Namespace) -> Section:
    sizes = [int(size) for size in str(args.generator_sizes).split(",") if size.strip()]
    where = machine()
    runs = [_generate(size, args.seed) for size in sizes]
    rows = [
        [
            f"{int(r.summary['measurements']):,}",
            f"{int(r.summary['employers']):,}",
            f"{int(r.summary['workers']):,}",
            f"{int(r.summary['employments']):,}",
            f"{int(r.summary['segs']):,}",
            f"{r.summary['elapsed_s']:,.1f}",
            f"{r.summary['measurements'] / r.summary['elapsed_s']:,.0f}",
            f"{r.wall_s:,.1f}",
            human_bytes(r.peak_rss_kib),
            f"{r.disk_bytes / 1024**2:,.0f} MiB",
        ]
        for r in runs
    ]
    largest = max(runs, key=lambda r: r.summary["measurements"])
    body = [
        table(
            [
                "measurements",
                "employers",
                "workers",
                "employments",
                "SEGs",
                "generator s",
                "rows/s",
                "wall s",
                "peak RSS",
                "store on disk",
            ],
            rows,
        ),
        "",
        "rows/s = measurements / generator seconds, the generator writing everything (employers, sites, "
        "SEGs, workers with per-worker keys and encrypted identities, employments, SEG memberships, "
        "measurements in 200,000-row transactions, encrypted blood-lead results); wall s adds process "
        "start-up and opening the encrypted store.",
    ]
    if largest.summary["measurements"] < _TEN_MILLION:
        minutes = largest.summary["elapsed_s"] * _TEN_MILLION / largest.summary["measurements"] / 60
        body += [
            "",
            f"**Extrapolated, not measured:** 10,000,000 measurements at the rate of the "
            f"{int(largest.summary['measurements']):,} run would take about {minutes:,.0f} minutes "
            "(linear, so a lower bound: inserts slow down as the tables and their indexes grow; measure with "
            "`--generator-sizes 10000000`).",
        ]
    return Section(name=NAME, title="Synthetic data generator", machine=where, body="\n".join(body))


def _generate(measurements: int, seed: int) -> _Run:
    print(f"bench generator: {measurements:,} measurements", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        data = Path(tmp) / "data"
        command = [REGISTRY, "--data-dir", str(data), "synth", "--measurements", str(measurements), "--seed", str(seed)]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        output = process.stdout.read()
        process.stdout.close()
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"registry synth failed with exit code {process.returncode}")
        disk = sum(path.stat().st_size for path in data.rglob("*") if path.is_file())
    return _Run(
        summary=json.loads(output.strip().splitlines()[-1]),
        wall_s=wall,
        peak_rss_kib=float(usage.ru_maxrss),
        disk_bytes=disk,
    )
