"""Synthetic national stores for the benchmarks, generated once per size and seed and kept in
a cache folder (--store-cache, default .bench-stores/, git-ignored): a 10 M store takes
about ten minutes to generate and several sections read it.

A cached store is named after what made it: the size, the seed and a fingerprint of the
generator, the schema and the reference data, so a change to any of them makes a new one.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

import msgspec

from bench.common import REPO, run_registry

__all__ = ["StoreCache", "SyntheticStore", "add_arguments", "add_sizes_option", "sizes"]

_MADE_FROM = [
    "registry/synthetic/*.py",
    "registry/runtime.py",
    "registry/store/migrations/*.sql",
    "analytics/reference/*.csv",
]
_KEYS_KEPT = 20  # API keys of the first generated employers, for sections that talk HTTP


class SyntheticStore(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: str
    measurements: int
    summary: dict[str, object]
    api_keys: list[str]  # of the first generated employers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store-cache",
        type=Path,
        default=REPO / ".bench-stores",
        help="where generated synthetic stores are kept between runs (default .bench-stores/)",
    )


def add_sizes_option(parser: argparse.ArgumentParser, section: str) -> argparse._ArgumentGroup:
    """`--<section>-sizes`: the cached store sizes a section measures; returns the section's
    option group for its other options."""
    group = parser.add_argument_group(section)
    group.add_argument(
        f"--{section}-sizes",
        default="1000000",
        help="comma-separated store sizes in measurements (cached stores; default 1000000; e.g. 1000000,10000000)",
    )
    return group


def sizes(text: str) -> list[int]:
    return [int(size) for size in text.split(",") if size.strip()]


class StoreCache:
    def __init__(self, folder: Path, seed: int) -> None:
        self.folder = folder
        self.seed = seed

    def get(self, measurements: int) -> SyntheticStore:
        """The cached store of this size, generated first if there is none."""
        name = f"m{measurements}-s{self.seed}-{_fingerprint()}"
        ready = self.folder / name / "ready.json"
        if not ready.exists():
            self._generate(name, measurements)
        return msgspec.json.decode(ready.read_bytes(), type=SyntheticStore)

    def _generate(self, name: str, measurements: int) -> None:
        print(f"bench: generating {measurements:,} measurements into {self.folder / name}", file=sys.stderr, flush=True)
        partial = self.folder / f"{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        out = run_registry(
            partial / "data",
            "synth",
            "--measurements",
            str(measurements),
            "--seed",
            str(self.seed),
            "--api-keys",
            stream_stderr=True,
        )
        lines = out.stdout.splitlines()
        keys = [msgspec.json.decode(line)["api_key"] for line in lines[:-1][:_KEYS_KEPT]]
        final = self.folder / name
        store = SyntheticStore(
            data_dir=str(final / "data"),
            measurements=measurements,
            summary=msgspec.json.decode(lines[-1]),
            api_keys=keys,
        )
        (partial / "ready.json").write_bytes(msgspec.json.encode(store))
        partial.rename(final)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for pattern in _MADE_FROM:
        for path in sorted(REPO.glob(pattern)):
            digest.update(path.relative_to(REPO).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]
