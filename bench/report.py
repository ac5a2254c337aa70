"""docs/benchmarks.md: one block per section, each replaced when its benchmark runs again, so
sections measured at different times keep their own date and machine line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import msgspec

from bench.common import Machine

__all__ = ["Section", "table", "write"]

_HEADER = """# Benchmarks

Measured with `make bench` (`python -m bench`; `--help` lists the sections and their
options). Each section states when, on what machine and at which commit it was measured;
rerunning a section replaces only its own block. Figures from a shared or busy machine
vary by tens of percent between runs: compare within a section (same run), not across.
"""


class Section(msgspec.Struct, frozen=True, kw_only=True):
    """A benchmark's result as Markdown: a title, the conditions, then tables and notes."""

    name: str  # marker in the file, e.g. "ingest"
    title: str
    machine: Machine
    body: str


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A Markdown table; `align` has one letter per column, l or r (default: first l, rest r)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def write(path: Path, section: Section) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    start, end = f"<!-- bench:{section.name} -->", f"<!-- /bench:{section.name} -->"
    block = f"{start}\n## {section.title}\n\n{section.machine.line()}\n\n{section.body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text) is None:
        text = f"{text.rstrip()}\n\n{start}\n{end}\n"  # a new section goes last
    text = pattern.sub(lambda _: block, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
