"""Transactions over the attached store, shared by the API's worker threads.

Writes are serialised by one lock per process (DuckDB permits one writer at a time
anyway; on PostgreSQL, the server's constraints arbitrate between processes). Every
transaction runs on its own DuckDB cursor, so reads proceed concurrently. A commit
returns only after DuckDB has synced its write-ahead log: a 2xx means durable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from crypto.audit_seal import AnchorFile, AuditSeal
from registry.store.backends import STORE_CATALOG, PostgresServer, StoreLocation, connect
from schemas.errors import ConcurrentWrite

__all__ = ["AuditHead", "Database", "Tx", "Writer"]

T = TypeVar("T")
_VALUES_ROWS = 20  # rows up to which insert_columns binds VALUES rather than Arrow
AuditHead = tuple[int, str, str]  # seq, entry_hash, seal of a stream's newest entry
_LITERAL_IDS = 256  # up to this many ids, a literal IN list (index lookups) beats an Arrow scan


def _to_store(value: Any) -> Any:
    """TIMESTAMP columns hold UTC without a zone: aware datetimes are converted on the way in."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _column_to_store(values: list[Any]) -> list[Any]:
    """Convert a column only if it holds datetimes (the rest passes as it is: 11 % of bulk
    load time went to checking every value)."""
    sample = next((v for v in values if v is not None), None)
    return [_to_store(v) for v in values] if isinstance(sample, dt.datetime) else values


def _from_store(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _utc_columns(row: tuple[Any, ...], columns: Sequence[int]) -> tuple[Any, ...]:
    values = list(row)
    for i in columns:
        if values[i] is not None:
            values[i] = values[i].replace(tzinfo=dt.UTC)
    return tuple(values)


class Tx:
    """One transaction. SQL uses `?` placeholders; rows come back as tuples.

    Datetimes are aware (UTC) on our side of this class and naive UTC in the store.
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection, *, on_postgres: bool, writer: Writer) -> None:
        self._cur = cursor
        self._on_postgres = on_postgres
        self.writer = writer
        self.audit_head: AuditHead | None = None  # this transaction's appends, until commit
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (never after a rollback)."""
        self._after_commit.append(callback)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(sql, [_to_store(p) for p in params])

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = self._cur.execute(sql, [_to_store(p) for p in params]).fetchall()
        return [tuple(_from_store(v) for v in row) for row in rows]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._cur.execute(sql, [_to_store(p) for p in params]).fetchone()
        return None if row is None else tuple(_from_store(v) for v in row)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def structs(self, type_: type[T], sql: str, params: Sequence[Any] = ()) -> list[T]:
        """Rows as `type_` instances, matching selected column names to field names.

        Only TIMESTAMP columns are converted (to aware UTC): checking every value took a
        third of the time of reading a worker's history."""
        result = self._cur.execute(sql, [_to_store(p) for p in params])
        description = result.description or []
        names = [d[0] for d in description]
        stamps = [i for i, d in enumerate(description) if d[1] == "TIMESTAMP"]
        rows = result.fetchall()
        if stamps:
            rows = [_utc_columns(row, stamps) for row in rows]
        return [type_(**dict(zip(names, row, strict=True))) for row in rows]

    def struct(self, type_: type[T], sql: str, params: Sequence[Any] = ()) -> T | None:
        found = self.structs(type_, sql, params)
        return found[0] if found else None

    def all_in(self, sql: str, ids: Sequence[uuid.UUID], params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run `sql`, which selects from the id set as `(SELECT id FROM _ids)`.

        Binding thousands of ids as a list parameter costs ~80 us each. A literal list lets
        DuckDB use the index (and is pushed down into PostgreSQL's query); thousands of ids
        in the embedded store go in as an Arrow table instead.
        """
        if not ids:
            return []
        if self._on_postgres or len(ids) <= _LITERAL_IDS:
            literal = ", ".join(f"'{uuid.UUID(str(i))}'::UUID" for i in ids)  # uuid.UUID: nothing to inject
            return self.all(sql.replace("(SELECT id FROM _ids)", f"({literal})"), params)
        self._cur.register("_ids_arrow", pa.table({"id": [str(i) for i in ids]}))
        try:
            expanded = sql.replace("(SELECT id FROM _ids)", "(SELECT CAST(id AS UUID) FROM _ids_arrow)")
            return self.all(expanded, params)
        finally:
            self._cur.unregister("_ids_arrow")

    def insert_columns(self, table: str, columns: dict[str, list[Any]]) -> None:
        """Insert rows given column-wise in one statement: a few rows as bound VALUES, a
        batch through Arrow. (Registering an Arrow table makes DuckDB try to import pandas
        each time; for one row that cost more than the insert.)"""
        names = ", ".join(columns)
        rows = len(next(iter(columns.values()), []))
        if rows <= _VALUES_ROWS:
            one = "(" + ", ".join("?" * len(columns)) + ")"
            values = [_to_store(v) for row in zip(*columns.values(), strict=True) for v in row]
            self._cur.execute(f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * rows)}", values)
            return
        frame = pa.table({name: _column_to_store(values) for name, values in columns.items()})
        self._cur.register("_bulk_rows", frame)
        try:
            self._cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _bulk_rows")
        finally:
            self._cur.unregister("_bulk_rows")

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable as `name` within this transaction's connection."""
        self._cur.register(name, table)

    def unregister(self, name: str) -> None:
        self._cur.unregister(name)

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self._cur.execute(sql, [_to_store(p) for p in params]).to_arrow_table()


class Writer:
    """This process as a writer: its id names its audit stream, and it remembers the head of
    that stream (only this process appends to it, under the write lock). It holds the audit
    seal and the anchor file when the store was opened with the key file; a store opened
    without them can be read but not audited into."""

    def __init__(self, seal: AuditSeal | None = None, anchor: AnchorFile | None = None) -> None:
        self.id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        self.audit_head: AuditHead | None = None
        self.seal = seal
        self.anchor = anchor


class Database:
    """The registry's store; open with `Database(location)`, close with `close()`."""

    def __init__(
        self, location: StoreLocation, *, seal: AuditSeal | None = None, anchor: AnchorFile | None = None
    ) -> None:
        self.location = location
        self._root = connect(location)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self.writer = Writer(seal, anchor)

    def close(self) -> None:
        with self._write_lock:
            self._root.close()

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A read-write transaction; committed when the block ends without an exception."""
        with self._write_lock:
            yield from self._transaction()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A snapshot for reading. (Reads that audit themselves use `write`.)"""
        yield from self._transaction()

    def _transaction(self) -> Iterator[Tx]:
        cursor = self._cursor()
        cursor.execute("BEGIN TRANSACTION")
        tx = Tx(cursor, on_postgres=isinstance(self.location, PostgresServer), writer=self.writer)
        try:
            yield tx
            cursor.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(cursor)
            if _is_conflict(exc):
                raise ConcurrentWrite(f"the change clashes with stored data: {_first_line(exc)}") from None
            raise
        except BaseException:
            _rollback(cursor)
            raise
        for callback in tx._after_commit:
            callback()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._root.cursor()
            cursor.execute(f"USE {STORE_CATALOG}")
            self._local.cursor = cursor
        return cursor

    def healthy(self) -> bool:
        """The store answers a query (for a liveness probe)."""
        with self.read() as tx:
            return bool(tx.scalar("SELECT 1"))

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (e.g. before a backup). PostgreSQL
        manages its own checkpoints."""
        if isinstance(self.location, PostgresServer):
            return
        with self._write_lock:
            self._root.execute("CHECKPOINT")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


def _is_conflict(exc: duckdb.Error) -> bool:
    """A uniqueness clash, from DuckDB itself or relayed from PostgreSQL by the extension."""
    text = str(exc)
    return isinstance(exc, duckdb.ConstraintException) or "violates unique constraint" in text


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the failed statement may have aborted it already
        cursor.execute("ROLLBACK")
