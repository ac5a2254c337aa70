"""`python -m bench` (`make bench`): run benchmark sections and record them in docs/benchmarks.md.

A new section is a module with NAME, add_arguments(parser) and run(args) -> Section,
registered in SECTIONS below. Sections that read a national-size store share the cached
synthetic stores of bench/stores.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from bench import aggregates, compliance, generator, history, ingest, lab_import, registration, report, stores
from bench.common import REPO


class _Entry(NamedTuple):
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], report.Section]


SECTIONS: dict[str, _Entry] = {
    generator.NAME: _Entry(generator.add_arguments, generator.run),
    ingest.NAME: _Entry(ingest.add_arguments, ingest.run),
    lab_import.NAME: _Entry(lab_import.add_arguments, lab_import.run),
    compliance.NAME: _Entry(compliance.add_arguments, compliance.run),
    history.NAME: _Entry(history.add_arguments, history.run),
    aggregates.NAME: _Entry(aggregates.add_arguments, aggregates.run),
    registration.NAME: _Entry(registration.add_arguments, registration.run),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of the registry; results go to docs/benchmarks.md (one block per section).",
    )
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), help="run only this section (repeatable)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md", help="Markdown file to update")
    parser.add_argument("--no-write", action="store_true", help="print the results only")
    parser.add_argument("--seed", type=int, default=1, help="seed of synthetic data and payloads (default 1)")
    stores.add_arguments(parser)
    for entry in SECTIONS.values():
        entry.add_arguments(parser)
    args = parser.parse_args(argv)
    for name in args.only or list(SECTIONS):
        section = SECTIONS[name].run(args)
        print(f"## {section.title}\n\n{section.machine.line()}\n\n{section.body}\n")
        if not args.no_write:
            report.write(args.output, section)
            print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
