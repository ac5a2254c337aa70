"""The substance catalogue (reference data plus substances employers add)."""

from __future__ import annotations

import uuid

from registry.store.database import Tx
from registry.store.organisations import utcnow
from schemas.substances import SubstanceIn, SubstanceOut

__all__ = [
    "insert_substance",
    "list_substances",
    "substance_by_cas",
    "substance_exists",
    "substance_ids",
    "substance_ids_by_cas",
]

_SUBSTANCE = (
    "SELECT id, name, cas, ec, carcinogen_category, mutagen_category, reprotoxic_category, "
    "respiratory_sensitiser, skin_sensitiser, molar_mass_g_per_mol FROM substances"
)


def insert_substance(tx: Tx, substance: SubstanceIn, source: str) -> SubstanceOut:
    s = substance
    out = SubstanceOut(
        id=uuid.uuid4(),
        name=s.name,
        cas=s.cas,
        ec=s.ec,
        carcinogen_category=s.carcinogen_category,
        mutagen_category=s.mutagen_category,
        reprotoxic_category=s.reprotoxic_category,
        respiratory_sensitiser=s.respiratory_sensitiser,
        skin_sensitiser=s.skin_sensitiser,
        molar_mass_g_per_mol=s.molar_mass_g_per_mol,
    )
    tx.execute(
        "INSERT INTO substances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            out.id,
            out.name,
            out.cas,
            out.ec,
            out.carcinogen_category,
            out.mutagen_category,
            out.reprotoxic_category,
            out.respiratory_sensitiser,
            out.skin_sensitiser,
            out.molar_mass_g_per_mol,
            source,
            utcnow(),
        ],
    )
    return out


def substance_by_cas(tx: Tx, cas: str) -> SubstanceOut | None:
    return tx.struct(SubstanceOut, f"{_SUBSTANCE} WHERE cas = ?", [cas])


def substance_ids_by_cas(tx: Tx) -> dict[str, uuid.UUID]:
    return dict(_ids(tx)[0])


def list_substances(tx: Tx) -> list[SubstanceOut]:
    return tx.structs(SubstanceOut, f"{_SUBSTANCE} ORDER BY name")


def substance_exists(tx: Tx, substance_id: uuid.UUID) -> bool:
    return bool(tx.scalar("SELECT count(*) FROM substances WHERE id = ?", [substance_id]))


def substance_ids(tx: Tx) -> set[uuid.UUID]:
    return set(_ids(tx)[1])


def _ids(tx: Tx) -> tuple[dict[str, uuid.UUID], frozenset[uuid.UUID]]:
    """Every substance's id, and by CAS number, kept per open store while the catalogue is
    unchanged (each ingest request checks its items against it). Substances are only ever
    added, never changed or removed, so on PostgreSQL their count is their version (Tx.stamp)."""

    def read() -> tuple[dict[str, uuid.UUID], frozenset[uuid.UUID]]:
        rows = tx.all("SELECT cas, id FROM substances")
        return {cas: id_ for cas, id_ in rows if cas is not None}, frozenset(id_ for _, id_ in rows)

    return tx.remembered("store.substances.ids", tx.stamp("substances", "SELECT count(*) FROM substances"), read)
