"""How figures and limits read in the texts of reports: "below the limit of 5 mg/m3 (NL,
8 h TWA, 2024)". Numbers are rounded here, for display only; every decision and every
number field keeps its full value.
"""

from __future__ import annotations

import decimal
from typing import Final, Protocol

__all__ = ["LIMIT_TYPE_NAMES", "limit_text", "shown"]

LIMIT_TYPE_NAMES: Final = {"TWA8h": "8 h TWA", "STEL15min": "15 min STEL", "ceiling": "ceiling", "BLV": "BLV"}


class _Limit(Protocol):
    """A limit as published (schemas.limits.LimitUsed, or a row of a limit timeline)."""

    @property
    def limit_type(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def unit(self) -> str: ...
    @property
    def jurisdiction(self) -> str: ...
    @property
    def valid_from(self) -> object: ...


def shown(figure: float, digits: int = 3) -> str:
    """`figure` to `digits` significant digits, written out in full: 0.0625, 2.5, 1230."""
    text = format(figure, f".{digits}g")
    if "e" not in text:
        return text
    return format(decimal.Decimal(text), "f")


def limit_text(limit: _Limit) -> str:
    """'5 mg/m3 (NL, 8 h TWA, 2024)': the value as published, where it is from, what kind of
    limit, the year it took effect (left out when unknown) and the group of people it is for,
    if any."""
    kind = LIMIT_TYPE_NAMES.get(limit.limit_type, limit.limit_type)
    since = getattr(limit.valid_from, "year", None)
    population = getattr(limit, "population", None)
    where = ", ".join(str(part) for part in (limit.jurisdiction, kind, since, population) if part is not None)
    return f"{shown(limit.value, 6)} {limit.unit} ({where})"
