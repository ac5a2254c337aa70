"""The substance catalogue: seeded from the cited reference files, extended by employers."""

from __future__ import annotations

import csv
from importlib import resources

import msgspec

from analytics.asbestos import asbestos_types
from analytics.limits import normalise_name
from registry.store import Database, Tx
from registry.store import substances as table
from schemas.substances import SubstanceIn, SubstanceOut
from schemas.validation import check, parse

__all__ = ["add_substance", "load_reference_substances", "reference_substances"]

_REFERENCE = resources.files("analytics") / "reference"


def reference_substances() -> list[SubstanceIn]:
    """substances.csv (CAS, EC, molar mass), agents.csv (agents named in EU/NL law, several
    without a CAS number, with their CMR category) and the asbestos types of Dir 2009/148/EC
    Art. 2 (asbestos_types.csv). An agent in more than one file (asbestos, lead, the TSB
    agents) is one entry, each file adding what it knows."""
    merged: list[SubstanceIn] = []
    for substance in (*_listed_substances(), *_agents(), *_asbestos_types()):
        same = next((i for i, known in enumerate(merged) if _same_agent(known, substance)), None)
        if same is None:
            merged.append(substance)
        else:
            merged[same] = _combined(merged[same], substance)
    return [check(s) for s in merged]


def _listed_substances() -> list[SubstanceIn]:
    with (_REFERENCE / "substances.csv").open(encoding="utf-8") as handle:
        return [
            SubstanceIn(
                name=row["substance_name"],
                cas=row["cas"] or None,
                ec=row["ec"] or None,
                molar_mass_g_per_mol=float(row["molar_mass_g_per_mol"]) if row["molar_mass_g_per_mol"] else None,
            )
            for row in csv.DictReader(handle)
        ]


def _agents() -> list[SubstanceIn]:
    with (_REFERENCE / "agents.csv").open(encoding="utf-8") as handle:
        return [
            parse(
                SubstanceIn,
                {
                    "name": row["substance_name"],
                    "cas": row["cas"] or None,
                    "carcinogen_category": row["carcinogen_category"] or None,
                    "mutagen_category": row["mutagen_category"] or None,
                    "reprotoxic_category": row["reprotoxic_category"] or None,
                    "respiratory_sensitiser": row["respiratory_sensitiser"] == "true",
                },
            )
            for row in csv.DictReader(handle)
        ]


def _asbestos_types() -> list[SubstanceIn]:
    return [
        parse(SubstanceIn, {"name": kind.name, "cas": kind.cas, "carcinogen_category": kind.carcinogen_category})
        for kind in asbestos_types()
    ]


def _same_agent(a: SubstanceIn, b: SubstanceIn) -> bool:
    return (a.cas is not None and a.cas == b.cas) or normalise_name(a.name) == normalise_name(b.name)


def _combined(first: SubstanceIn, other: SubstanceIn) -> SubstanceIn:
    """`first`, with the fields it leaves blank taken from `other`."""
    missing = {
        name: getattr(other, name)
        for name in SubstanceIn.__struct_fields__
        if getattr(first, name) in (None, False) and getattr(other, name) not in (None, False)
    }
    return msgspec.structs.replace(first, **missing)


def load_reference_substances(db: Database) -> int:
    """Add reference substances not yet in the catalogue (by CAS, else by name)."""
    with db.write() as tx:
        known_cas = set(table.substance_ids_by_cas(tx))
        known_names = {s.name for s in table.list_substances(tx)}
        added = 0
        for substance in reference_substances():
            if (substance.cas and substance.cas in known_cas) or substance.name in known_names:
                continue
            table.insert_substance(tx, substance, source="reference")
            known_cas |= {substance.cas} if substance.cas else set()
            known_names.add(substance.name)
            added += 1
    return added


def add_substance(tx: Tx, substance: SubstanceIn, source: str) -> tuple[SubstanceOut, bool]:
    """(substance, created): a CAS number already in the catalogue returns the existing entry."""
    if substance.cas:
        existing = table.substance_by_cas(tx, substance.cas)
        if existing is not None:
            return existing, False
    return table.insert_substance(tx, substance, source), True
