"""Where the registry's tables live: an encrypted DuckDB file (default) or PostgreSQL.

Both are ATTACHed to an in-process DuckDB as the catalog `store`, so every query of the
registry and of the analytics is the same DuckDB SQL whichever store is behind it.
Extensions are loaded from their pip packages by path; DuckDB's own download of
extensions is switched off, so nothing is fetched at run time.
"""

from __future__ import annotations

import glob
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import types
from collections.abc import Sequence
from pathlib import Path

import duckdb
import msgspec

from schemas.errors import Conflict, KeyUnavailable

__all__ = ["DuckDBFile", "PostgresServer", "StoreBusy", "StoreLocation", "connect"]

STORE_CATALOG = "store"


class _KnownAbsent(importlib.abc.MetaPathFinder):
    """Fails the import of modules known not to be installed at once.

    DuckDB's Python client (1.5.5) tries `import pandas` twice for every bound parameter
    value, to recognise pandas types; pandas is not one of our packages, and Python retries
    a failed import, walking sys.path, every time: 0.37 ms a value, a third of a
    single-measurement POST (cf. duckdb/duckdb-python#300)."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


if importlib.util.find_spec("pandas") is None:
    sys.meta_path.insert(0, _KnownAbsent(frozenset({"pandas"})))


class StoreBusy(Conflict):
    slug = "store-busy"
    title = "Store in use"


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class DuckDBFile(msgspec.Struct, frozen=True):
    """The embedded store: one file, AES-GCM encrypted with the key file's database key."""

    path: Path
    encryption_key_hex: str


class PostgresServer(msgspec.Struct, frozen=True):
    """A PostgreSQL database (libpq connection string), for several API processes at once.

    The registry's tables live in their own schema. Encryption at rest of this store is the
    database server's (disk encryption); identifiers and medical values are ciphertexts anyway.
    """

    dsn: str
    schema: str = "registry"


StoreLocation = DuckDBFile | PostgresServer


def connect(location: StoreLocation) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
        },
    )
    if isinstance(location, DuckDBFile):
        # OpenSSL-backed AES-GCM for writing encrypted files comes with httpfs.
        _load_extension(con, "duckdb_extension_httpfs")
        con.execute("SET temp_file_encryption = true")
        location.path.parent.mkdir(parents=True, exist_ok=True)
        for existing in (location.path, location.path.with_name(location.path.name + ".wal")):
            if existing.exists():
                existing.chmod(0o600)  # a store created before files were kept private
        try:
            con.execute(
                f"ATTACH '{_quote(str(location.path))}' AS {STORE_CATALOG} "
                f"(ENCRYPTION_KEY '{location.encryption_key_hex}', ENCRYPTION_CIPHER 'GCM')"
            )
        except duckdb.InvalidInputException as exc:
            if "encryption key" not in str(exc).lower():
                raise
            raise KeyUnavailable(
                f"{location.path} does not open with the database key of this key file: a wrong or damaged key file"
            ) from None
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            raise StoreBusy(
                f"{location.path} is in use by another process (is 'registry serve' running?); "
                "the embedded store opens in one process at a time: stop it first, or use the PostgreSQL store"
            ) from None
        # After a crash, DuckDB 1.5.5 replays the WAL into indexes it loads only once a table
        # is used, and the checkpoint when the store closes drops what such an index buffered
        # (duckdb/duckdb#25771): a command run after the crash left rows that no lookup found.
        # A checkpoint of our own, now, folds the replayed rows into every index (a no-op
        # when there was no WAL).
        con.execute(f"CHECKPOINT {STORE_CATALOG}")
    else:
        if not _IDENTIFIER.fullmatch(location.schema):
            raise ValueError(f"PostgreSQL schema name {location.schema!r}: letters, digits and _ only")
        _load_extension(con, "duckdb_extension_postgres_scanner")
        con.execute(f"ATTACH '{_quote(location.dsn)}' AS {STORE_CATALOG} (TYPE postgres, SCHEMA '{location.schema}')")
        con.execute(f"CALL postgres_execute('{STORE_CATALOG}', 'CREATE SCHEMA IF NOT EXISTS {location.schema}')")
    # DuckDB 1.5.5 returns no rows for `uuid_col IN (SELECT ...)` once the column is
    # checkpointed with min/max statistics: the join-filter pushdown compares UUID bounds
    # wrongly (found by tests/test_cli.py::test_key_rotation_keeps_data_readable). Keep it off.
    con.execute("SET GLOBAL disabled_optimizers = 'join_filter_pushdown'")
    con.execute(f"USE {STORE_CATALOG}")
    return con


def _load_extension(con: duckdb.DuckDBPyConnection, package: str) -> None:
    module = importlib.import_module(package)
    candidates = glob.glob(str(Path(module.__file__ or "").parent / "extensions" / "*" / "*.duckdb_extension"))
    if not candidates:
        raise RuntimeError(f"the DuckDB extension package {package} has no extension binary")
    con.execute(f"LOAD '{_quote(candidates[0])}'")


def _quote(text: str) -> str:
    return text.replace("'", "''")
