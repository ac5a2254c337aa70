"""Versioned schema migrations: numbered SQL files, applied once each, in order."""

from __future__ import annotations

import datetime as dt
from importlib import resources

from registry.store.database import Database, Tx

__all__ = ["applied_versions", "migrate"]

_MIGRATIONS = resources.files("registry.store") / "migrations"


def _available() -> list[tuple[int, str, str]]:
    found = []
    for entry in _MIGRATIONS.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def applied_versions(tx: Tx) -> list[int]:
    return [row[0] for row in tx.all("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(db: Database, until: int | None = None) -> list[str]:
    """Apply every migration not yet applied (up to version `until`, for tests of a
    migration), each in its own transaction. Returns names."""
    with db.write() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
    applied: list[str] = []
    for version, name, sql in _available():
        if until is not None and version > until:
            break
        with db.write() as tx:
            if version in applied_versions(tx):
                continue
            for statement in _statements(sql):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [version, name, dt.datetime.now(dt.UTC)],
            )
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split on semicolons at line ends; our migration files keep one statement per block."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
