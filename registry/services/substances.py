"""The substance catalogue: seeded from the cited reference files, extended by employers."""

from __future__ import annotations

import csv
from importlib import resources

from registry.store import Database, Tx
from registry.store import substances as table
from schemas.substances import SubstanceIn, SubstanceOut
from schemas.validation import check, parse

__all__ = ["add_substance", "load_reference_substances", "reference_substances"]

_REFERENCE = resources.files("analytics") / "reference"


def reference_substances() -> list[SubstanceIn]:
    """substances.csv (CAS, molar mass) and agents.csv (agents named in EU/NL law, several
    without a CAS number, with their CMR category and citation)."""
    found: list[SubstanceIn] = []
    with (_REFERENCE / "substances.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            found.append(
                SubstanceIn(
                    name=row["substance_name"],
                    cas=row["cas"] or None,
                    ec=row["ec"] or None,
                    molar_mass_g_per_mol=float(row["molar_mass_g_per_mol"]) if row["molar_mass_g_per_mol"] else None,
                )
            )
    with (_REFERENCE / "agents.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            found.append(
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
            )
    return [check(s) for s in found]


def load_reference_substances(db: Database) -> int:
    """Add reference substances not yet in the catalogue (by CAS, else by name)."""
    with db.write() as tx:
        known_cas = table.substance_ids_by_cas(tx)
        known_names = {s.name for s in table.list_substances(tx)}
        added = 0
        for substance in reference_substances():
            if (substance.cas and substance.cas in known_cas) or substance.name in known_names:
                continue
            table.insert_substance(tx, substance, source="reference")
            added += 1
    return added


def add_substance(tx: Tx, substance: SubstanceIn, source: str) -> tuple[SubstanceOut, bool]:
    """(substance, created): a CAS number already in the catalogue returns the existing entry."""
    if substance.cas:
        existing = table.substance_by_cas(tx, substance.cas)
        if existing is not None:
            return existing, False
    return table.insert_substance(tx, substance, source), True
