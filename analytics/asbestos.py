"""Asbestos types told apart by their own CAS numbers, each with its own limit history.

Limit lists publish asbestos under the group's CAS number 1332-21-4: the EU value for all
forms (Dir 2009/148/EC Art. 8) and the Dutch values for chrysotile and for the amphiboles
(bijlage XIII). A laboratory reports the type it found, and Dir 2009/148/EC Art. 2 gives
each type its own CAS number. So each group row is also stated once per type it covers
(reference/asbestos_types.csv, cited per type), under that type's number: a chrysotile
sample then meets the chrysotile limit and an amosite sample the amphibole limit. The group
row itself stays, for a sample whose type was not determined.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import msgspec

from schemas.limits import LimitValue

__all__ = ["GROUP_CAS", "AsbestosType", "asbestos_types", "with_asbestos_types"]

GROUP_CAS: Final = "1332-21-4"
_TYPES_FILE: Final = Path(__file__).with_name("reference") / "asbestos_types.csv"


class AsbestosType(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    cas: str
    mineral_group: str  # serpentine or amphibole
    carcinogen_category: str
    limit_rows: frozenset[str]  # the published names of the limit rows that cover it (compared by _key)
    source_citation: str


@functools.cache
def asbestos_types() -> tuple[AsbestosType, ...]:
    with _TYPES_FILE.open(encoding="utf-8", newline="") as handle:
        return tuple(
            AsbestosType(
                name=row["substance_name"],
                cas=row["cas"],
                mineral_group=row["mineral_group"],
                carcinogen_category=row["carcinogen_category"],
                limit_rows=frozenset(_key(name) for name in row["limit_rows"].split("|")),
                source_citation=row["source_citation"],
            )
            for row in csv.DictReader(handle)
        )


def with_asbestos_types(limits: Iterable[LimitValue]) -> list[LimitValue]:
    """Every row, each asbestos group row followed by one row per type it covers."""
    out: list[LimitValue] = []
    for limit in limits:
        out.append(limit)
        if limit.cas in (None, GROUP_CAS):
            name = _key(limit.substance_name)
            out += [_for_type(limit, kind) for kind in asbestos_types() if name in kind.limit_rows]
    return out


def _for_type(limit: LimitValue, kind: AsbestosType) -> LimitValue:
    note = (
        f"applies to {kind.name} ({kind.mineral_group}), CAS {kind.cas} per Dir 2009/148/EC Art. 2 "
        f"(analytics/reference/asbestos_types.csv); published under {limit.cas or 'no CAS number'}"
    )
    notation = "; ".join(part for part in (limit.notation, note) if part)
    return msgspec.structs.replace(limit, cas=kind.cas, ec=None, notation=notation)


def _key(name: str) -> str:
    """Names as published, compared without case or extra spaces."""
    return " ".join(name.casefold().split())
