"""`registry limits list` as a table a hygienist reads: one line per limit row in force."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from schemas.limits import LimitValue

__all__ = ["limits_table"]

_HEADER = (
    "substance",
    "CAS",
    "jurisdiction",
    "type",
    "value",
    "unit",
    "population",
    "fraction",
    "in force [from, to)",
    "citation",
)


def limits_table(limits: Sequence[LimitValue]) -> str:
    """Aligned columns; the citation column names the first source (the JSON output has all)."""
    lines = [_HEADER, *(_cells(limit) for limit in limits)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADER) - 1)]
    return "".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(line, widths, strict=False)), line[-1]]).rstrip() + "\n"
        for line in lines
    )


def _cells(limit: LimitValue) -> tuple[str, ...]:
    jurisdiction = f"sector {limit.sector_sbi}" if limit.sector_sbi else limit.jurisdiction
    return (
        limit.substance_name,
        limit.cas or "",
        jurisdiction,
        limit.limit_type,
        _number(limit.value),
        limit.unit,
        limit.population or "",
        limit.fraction or "",
        f"{_day(limit.valid_from, '?')} .. {_day(limit.valid_to, '')}",
        _first_source(limit.source_citation),
    )


def _number(value: float) -> str:
    """As written in a legal text: 0.0006, 10000, never 6e-04."""
    return f"{value:.12f}".rstrip("0").rstrip(".")


def _day(day: dt.date | None, blank: str) -> str:
    return day.isoformat() if day else blank


def _first_source(citation: str) -> str:
    sources = [part.strip() for part in citation.split(" | ") if part.strip()]
    more = f" (+{len(sources) - 1} more)" if len(sources) > 1 else ""
    return (sources[0] if sources else "") + more
