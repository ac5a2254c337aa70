"""Where data is stored: the attached store (encrypted DuckDB file or PostgreSQL), its
migrations, and one module of SQL per kind of record."""

from registry.store.backends import DuckDBFile, PostgresServer, StoreLocation
from registry.store.database import Database, Tx
from registry.store.migrations import migrate

__all__ = ["Database", "DuckDBFile", "PostgresServer", "StoreLocation", "Tx", "migrate"]
