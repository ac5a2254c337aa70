"""Employers, API keys and sites."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from registry.store.database import Tx, bulk_columns
from schemas.organisation import EmployerOut, SiteOut

__all__ = [
    "ApiKeyRow",
    "api_key",
    "api_keys_of",
    "employer_by_id",
    "employer_by_kvk",
    "insert_api_keys",
    "insert_employer",
    "insert_employers",
    "insert_site",
    "insert_sites",
    "list_employers",
    "own_site_ids",
    "revoke_api_key",
    "site_by_id",
    "sites_in_scope",
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_EMPLOYER = "SELECT id, kvk, name, sbi_code FROM employers"


def insert_employer(tx: Tx, kvk: str, name: str, sbi_code: str | None) -> EmployerOut:
    employer = EmployerOut(id=uuid.uuid4(), kvk=kvk, name=name, sbi_code=sbi_code)
    tx.execute(
        "INSERT INTO employers VALUES (?, ?, ?, ?, ?)",
        [employer.id, kvk, name, sbi_code, utcnow()],
    )
    return employer


def insert_employers(tx: Tx, columns: Mapping[str, list[Any]], created_at: dt.datetime) -> None:
    """Many employers in one statement, given column-wise by EmployerOut's fields (a bulk load)."""
    tx.insert_columns("employers", bulk_columns(EmployerOut.__struct_fields__, columns, created_at))


def employer_by_kvk(tx: Tx, kvk: str) -> EmployerOut | None:
    return tx.struct(EmployerOut, f"{_EMPLOYER} WHERE kvk = ?", [kvk])


def employer_by_id(tx: Tx, employer_id: uuid.UUID) -> EmployerOut | None:
    return tx.struct(EmployerOut, f"{_EMPLOYER} WHERE id = ?", [employer_id])


def list_employers(tx: Tx) -> list[EmployerOut]:
    return tx.structs(EmployerOut, f"{_EMPLOYER} ORDER BY kvk")


class ApiKeyRow(msgspec.Struct, frozen=True):
    key_id: str
    employer_id: uuid.UUID
    secret_hash: str
    label: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


_API_KEY = "SELECT key_id, employer_id, secret_hash, label, created_at, revoked_at FROM api_keys"


def insert_api_keys(tx: Tx, keys: Sequence[tuple[str, uuid.UUID, str]], label: str | None) -> None:
    """(key_id, employer_id, secret_hash) rows in one statement: a national synthetic load
    issues 10^5 keys, one INSERT each took over ten minutes."""
    now = utcnow()
    tx.insert_columns(
        "api_keys",
        {
            "key_id": [k[0] for k in keys],
            "employer_id": [str(k[1]) for k in keys],
            "secret_hash": [k[2] for k in keys],
            "label": [label] * len(keys),
            "created_at": [now] * len(keys),
        },
    )


def api_key(tx: Tx, key_id: str) -> ApiKeyRow | None:
    return tx.struct(ApiKeyRow, f"{_API_KEY} WHERE key_id = ?", [key_id])


def api_keys_of(tx: Tx, employer_id: uuid.UUID) -> list[ApiKeyRow]:
    return tx.structs(ApiKeyRow, f"{_API_KEY} WHERE employer_id = ? ORDER BY created_at", [employer_id])


def revoke_api_key(tx: Tx, key_id: str) -> bool:
    found = tx.scalar("SELECT count(*) FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", [key_id])
    if found:
        tx.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", [utcnow(), key_id])
    return bool(found)


_SITE = "SELECT id, employer_id, name, kind, parent_id, city FROM sites"


def insert_site(tx: Tx, site: SiteOut) -> None:
    tx.execute(
        "INSERT INTO sites VALUES (?, ?, ?, ?, ?, ?, ?)",
        [site.id, site.employer_id, site.name, site.kind, site.parent_id, site.city, utcnow()],
    )


def insert_sites(tx: Tx, columns: Mapping[str, list[Any]], created_at: dt.datetime) -> None:
    """Many sites in one statement, given column-wise by SiteOut's fields (a bulk load)."""
    tx.insert_columns("sites", bulk_columns(SiteOut.__struct_fields__, columns, created_at))


def site_by_id(tx: Tx, site_id: uuid.UUID) -> SiteOut | None:
    return tx.struct(SiteOut, f"{_SITE} WHERE id = ?", [site_id])


def sites_in_scope(tx: Tx, scope: tuple[str, list[object]]) -> list[SiteOut]:
    return tx.structs(SiteOut, f"{_SITE} WHERE {scope[0]} ORDER BY name, id", scope[1])


def own_site_ids(tx: Tx, employer_id: uuid.UUID, site_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these sites are this employer's (a batch checks only the ones it names)."""
    rows = tx.all_in(
        "SELECT id FROM sites WHERE id IN (SELECT id FROM _ids) AND employer_id = ?", site_ids, [employer_id]
    )
    return {row[0] for row in rows}
