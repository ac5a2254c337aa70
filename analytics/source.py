"""What the analytics need from a store: SQL in, Arrow out (registry.store.Tx)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa

__all__ = ["Source"]


class Source(Protocol):
    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table: ...

    def register(self, name: str, table: pa.Table) -> None: ...

    def unregister(self, name: str) -> None: ...
