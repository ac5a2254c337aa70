"""What the analytics read: SQL over named relations in, Arrow out.

The relations and their columns are those of registry.store.frames, whose `Frames` makes them
from the store's tables; `ArrowSource` serves the same names from Arrow tables, so an analytics
function is a function of its frames wherever they come from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import duckdb
import pyarrow as pa

__all__ = ["ArrowSource", "Source"]


class Source(Protocol):
    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table: ...

    def register(self, name: str, table: pa.Table) -> None: ...

    def unregister(self, name: str) -> None: ...


class ArrowSource:
    """A Source over Arrow tables, each under the name of the relation it stands for, in a
    private in-memory DuckDB: no store involved."""

    def __init__(self, tables: Mapping[str, pa.Table]) -> None:
        self._db = duckdb.connect()
        for name, table in tables.items():
            self._db.register(name, table)

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self._db.execute(sql, list(params)).to_arrow_table()

    def register(self, name: str, table: pa.Table) -> None:
        self._db.register(name, table)

    def unregister(self, name: str) -> None:
        self._db.unregister(name)

    def close(self) -> None:
        self._db.close()
