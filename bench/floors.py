"""The store's own floor under a measurement write: the bare SQL that puts the same rows
into the real `measurements` table (its primary key, foreign keys and indexes, at the
store's size) and commits durably, with no Python of the registry around it.

A goal set against a baseline that stores nothing can only be met if this floor fits in
the room the goal leaves; measured in the same run, it shows which goals the store itself
puts out of reach, however lean the registry's own code becomes.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import msgspec

from registry.runtime import open_runtime
from registry.settings import Settings
from registry.store.backends import STORE_CATALOG, connect

__all__ = ["StoreFloors", "settings_of", "store_floors"]


class StoreFloors(msgspec.Struct, frozen=True):
    single: list[float]  # seconds: BEGIN, INSERT one row, COMMIT
    batch: list[float]  # seconds: BEGIN, INSERT batch_size rows from Arrow, COMMIT
    batch_size: int


def store_floors(settings: Settings, *, singles: int, batches: int, batch_size: int) -> StoreFloors:
    """Copies of rows already in the store, with new ids, written straight through DuckDB (the
    registry's own SQL layer, for PostgreSQL too). Call it when no server holds the store."""
    runtime = open_runtime(settings)
    location = runtime.db.location
    runtime.close()
    con = connect(location)
    try:
        con.execute(f"USE {STORE_CATALOG}")
        names = [row[0] for row in con.execute("DESCRIBE measurements").fetchall()]
        others = ", ".join(names[1:])
        sample = con.execute(f"SELECT {others} FROM measurements USING SAMPLE {batch_size} ROWS").fetch_arrow_table()
        con.register("_floor_rows", sample)
        copy = f"INSERT INTO measurements (id, {others}) SELECT uuid(), {others} FROM _floor_rows"
        return StoreFloors(
            single=[_timed(con, f"{copy} LIMIT 1") for _ in range(singles)],
            batch=[_timed(con, copy) for _ in range(batches)],
            batch_size=batch_size,
        )
    finally:
        con.close()


def _timed(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    con.execute(sql)
    con.execute("COMMIT")
    return time.perf_counter() - started


def settings_of(data: Path, store: list[str]) -> Settings:
    """The settings the bench's server ran with: its data directory, or its PostgreSQL schema."""
    if not store:
        return Settings.resolve(str(data))
    options = dict(zip(store[::2], store[1::2], strict=True))
    return Settings.resolve(str(data), postgres_dsn=options["--postgres"], postgres_schema=options["--postgres-schema"])
