"""Transactions over the attached store, shared by the API's worker threads.

Writes are serialised by one lock per process (DuckDB permits one writer at a time
anyway; on PostgreSQL, the server's constraints arbitrate between processes). Every
transaction runs on its own DuckDB cursor, so reads proceed concurrently. A commit
returns only after DuckDB has synced its write-ahead log: a 2xx means durable.

Group commit (`Database.transact`): units of work that arrive while another is being
written queue up, and the next holder of the write lock runs all of them in one
transaction with one commit, so concurrent requests share one sync of the log instead of
each waiting for its own. Each unit sees what the units before it wrote, as if they had
committed one by one, and none returns before the commit that holds it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, cast

import duckdb
import pyarrow as pa

from crypto.audit_seal import AnchorFile, AuditSeal
from registry.store.backends import STORE_CATALOG, PostgresServer, StoreLocation, connect
from schemas.errors import ConcurrentWrite

__all__ = ["VERSIONED_TABLES", "AuditHead", "Database", "Tx", "Writer", "bulk_columns"]

T = TypeVar("T")
_VALUES_ROWS = 20  # rows up to which insert_columns binds VALUES rather than Arrow
AuditHead = tuple[int, str, str]  # seq, entry_hash, seal of a stream's newest entry
_LITERAL_IDS = 256  # up to this many ids, a literal IN list (index lookups) beats an Arrow scan
_GROUP_UNITS = 64  # the most units of work one commit carries (each waits for all of them)
# Tables that values kept per open store are derived from (Tx.remembered), with a version
# each (Tx.stamp): every statement that writes one of them is noted by the transaction.
VERSIONED_TABLES = frozenset({"limit_values", "substances"})


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


def bulk_columns(
    fields: Sequence[str], columns: Mapping[str, list[Any]], created_at: dt.datetime | None = None
) -> dict[str, list[Any]]:
    """Rows given column-wise for Tx.insert_columns, named by `fields` (a row struct's, the
    table's columns) and refused if one is missing or unknown, so a bulk load never leaves a
    column NULL by omission; with `created_at` on every row when given."""
    if set(columns) != set(fields):
        raise ValueError(f"bulk insert: columns {sorted(columns)} are not {sorted(fields)}")
    checked = {name: columns[name] for name in fields}
    if created_at is not None:
        checked["created_at"] = [created_at] * len(next(iter(checked.values()), []))
    return checked


class Tx:
    """One transaction. SQL uses `?` placeholders; rows come back as tuples.

    Datetimes are aware (UTC) on our side of this class and naive UTC in the store.

    Under group commit (Database.transact) one transaction carries several units of work,
    one after another; `after_commit` callbacks belong to the unit that registered them, and
    the transaction notes whether the running unit may have changed anything (`_touched`), so
    that a unit which failed having only read can be left out without undoing the others.
    """

    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        *,
        on_postgres: bool,
        writer: Writer,
        memo: dict[str, Any],
        generations: Mapping[str, int],
        lone: bool = False,
    ) -> None:
        self._cur = cursor
        self._lone = lone  # one statement, in DuckDB's own transaction (Database.read(lone=True))
        self._on_postgres = on_postgres
        self.writer = writer
        self._memo = memo  # the open store's kept values (Database.memo), shared by all its transactions
        self._generations = generations  # of VERSIONED_TABLES, as this transaction began
        self.changed: set[str] = set()  # the VERSIONED_TABLES it wrote to
        self._stamps: dict[str, Hashable] = {}  # on PostgreSQL: the versions it asked for
        self.audit_head: AuditHead | None = None  # this transaction's appends, until commit
        self._after_commit: list[Callable[[], None]] = []
        self._touched = False  # the running unit ran a statement that may write, or one that failed
        self._failed = False  # the running unit ran a statement that failed

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (never after a rollback)."""
        self._after_commit.append(callback)

    def stamp(self, table: str, version_sql: str) -> Hashable | None:
        """The version of `table` (one of VERSIONED_TABLES) this transaction sees, for keeping
        what is derived from it (`remembered`); None if the transaction changed the table
        itself (derive afresh, keep nothing). The embedded store is written by this process
        alone (it holds the file), so the version is how many of its commits had changed the
        table when this transaction began: no query. PostgreSQL is written by other processes
        too, so there the version is the answer to `version_sql`, which must change with every
        committed change of the table (the table's module vouches for that), asked once per
        transaction (so once per group of units of work)."""
        if table in self.changed:
            return None
        if not self._on_postgres:
            return self._generations[table]
        if table not in self._stamps:
            self._stamps[table] = self.one(version_sql)
        return self._stamps[table]

    def remembered(self, key: str, stamp: Hashable | None, derive: Callable[[], T]) -> T:
        """What `derive` returns, kept per open store under `key` with `stamp` (from `stamp`)
        and derived again when the stamp differs. A value derived here is kept once this
        transaction has committed: what a transaction saw that was rolled back never was."""
        if stamp is not None:
            kept = self._memo.get(key)
            if kept is not None and kept[0] == stamp:
                return cast(T, kept[1])
        value = derive()
        if stamp is not None:
            memo = self._memo
            self.after_commit(lambda: memo.__setitem__(key, (stamp, value)))
        return value

    def _run(self, sql: str, params: Sequence[Any]) -> duckdb.DuckDBPyConnection:
        """Every statement goes through here. Anything but a SELECT counts as a possible write
        (and one naming a versioned table as changing it); a failed statement counts too
        (DuckDB aborts the transaction it failed in)."""
        if not _reads_only(sql):
            if self._lone:
                raise RuntimeError("a lone read runs one SELECT")
            self._touched = True
            named = sql.lower()
            self.changed.update(table for table in VERSIONED_TABLES if table in named)
        elif self._lone:
            if self._touched:
                raise RuntimeError("a lone read runs one statement: a snapshot of its own")
            self._touched = True
        try:
            return self._cur.execute(sql, [_to_store(p) for p in params])
        except duckdb.Error:
            self._touched = self._failed = True
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = self._run(sql, params).fetchall()
        return [tuple(_from_store(v) for v in row) for row in rows]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._run(sql, params).fetchone()
        return None if row is None else tuple(_from_store(v) for v in row)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def structs(self, type_: type[T], sql: str, params: Sequence[Any] = ()) -> list[T]:
        """Rows as `type_` instances, matching selected column names to field names.

        Only TIMESTAMP columns are converted (to aware UTC): checking every value took a
        third of the time of reading a worker's history."""
        result = self._run(sql, params)
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
            values = [v for row in zip(*columns.values(), strict=True) for v in row]
            self._run(f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * rows)}", values)
            return
        frame = pa.table({name: _column_to_store(values) for name, values in columns.items()})
        self._cur.register("_bulk_rows", frame)
        try:
            self._run(f"INSERT INTO {table} ({names}) SELECT {names} FROM _bulk_rows", ())
        finally:
            self._cur.unregister("_bulk_rows")

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable as `name` within this transaction's connection."""
        self._cur.register(name, table)

    def unregister(self, name: str) -> None:
        self._cur.unregister(name)

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self._run(sql, params).to_arrow_table()


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


class _Unit(Generic[T]):
    """A unit of work waiting for the writer, and once run, how it ended."""

    __slots__ = ("callbacks", "done", "error", "result", "run")

    def __init__(self, run: Callable[[Tx], T]) -> None:
        self.run = run
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None
        self.callbacks: list[Callable[[], None]] = []  # its after_commit callbacks, of its latest run

    def finish(self, result: T | None = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True


class Database:
    """The registry's store; open with `Database(location)`, close with `close()`."""

    def __init__(
        self, location: StoreLocation, *, seal: AuditSeal | None = None, anchor: AnchorFile | None = None
    ) -> None:
        self.location = location
        self._root = connect(location)
        self._write_lock = threading.Lock()
        self._queue: deque[_Unit[Any]] = deque()  # units of work waiting for the writer, in order
        self._local = threading.local()
        self.writer = Writer(seal, anchor)
        # Values derived from tables that seldom change (the limit values, the substances),
        # each with the version it was derived from (Tx.remembered), and how many commits of
        # this process changed each versioned table (Tx.stamp).
        self.memo: dict[str, Any] = {}
        self._generations = dict.fromkeys(VERSIONED_TABLES, 0)

    def close(self) -> None:
        with self._write_lock:
            self._root.close()

    def transact(self, unit: Callable[[Tx], T]) -> T:
        """Run `unit` in a durable write transaction; return its result once committed.

        Units that several threads hand in at once share one transaction and one commit
        (module doc): the thread that holds the write lock runs every unit queued so far, in
        order. A unit that fails having only read is left out of the group, as if it had run
        alone and been rolled back. One that fails after it may have written rolls the group
        back: it gets its error, and the others run again, in a new transaction. If the commit
        itself fails, each unit runs again in a transaction of its own. So `unit` may run more
        than once: each run must start afresh (a run's after_commit callbacks are dropped with
        it), and only the run that commits counts. The unit's error is raised here, in the
        caller's thread.
        """
        job = _Unit(unit)
        self._queue.append(job)
        while not job.done:
            with self._write_lock:
                if not job.done:
                    self._run_queued()
        if job.error is not None:
            raise job.error
        return cast(T, job.result)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A read-write transaction of its own, in the caller's thread; committed when the block
        ends without an exception. (Requests use `transact`, which shares commits.)"""
        with self._write_lock:
            yield from self._transaction()

    @contextmanager
    def read(self, *, lone: bool = False) -> Iterator[Tx]:
        """A snapshot for reading. (Reads that audit themselves use `write`.) A `lone` read
        runs one statement, which is a snapshot by itself: no BEGIN and COMMIT around it
        (two more statements, each a round trip on PostgreSQL, for an API key's lookup on
        every request); a second statement is refused."""
        if not lone:
            yield from self._transaction()
            return
        tx = Tx(
            self._cursor(),
            on_postgres=isinstance(self.location, PostgresServer),
            writer=self.writer,
            memo=self.memo,
            generations=dict(self._generations),
            lone=True,
        )
        yield tx

    def _transaction(self) -> Iterator[Tx]:
        cursor, tx = self._begin()
        try:
            yield tx
            cursor.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(cursor)
            if _is_conflict(exc):
                raise _translated(exc) from None
            raise
        except BaseException:
            _rollback(cursor)
            raise
        self._committed(tx)
        for callback in tx._after_commit:
            callback()

    def _begin(self) -> tuple[duckdb.DuckDBPyConnection, Tx]:
        # The versions are read before the snapshot is taken, and counted up after a commit:
        # a value derived from this snapshot is never kept under a newer version than it saw.
        generations = dict(self._generations)
        cursor = self._cursor()
        cursor.execute("BEGIN TRANSACTION")
        on_postgres = isinstance(self.location, PostgresServer)
        return cursor, Tx(cursor, on_postgres=on_postgres, writer=self.writer, memo=self.memo, generations=generations)

    def _committed(self, tx: Tx) -> None:
        for table in tx.changed:
            self._generations[table] += 1

    def _run_queued(self) -> None:
        """Under the write lock: run the queued units (up to _GROUP_UNITS) as one group. Every
        unit taken from the queue is finished here, whatever happens; one still unfinished
        when the writer stops (an interrupt) is told so, and its outcome is in doubt, as after
        a crash."""
        group = [self._queue.popleft() for _ in range(min(len(self._queue), _GROUP_UNITS))]
        try:
            while group:
                group, one_by_one = self._attempt(group)
                if one_by_one:
                    for unit in group:
                        self._run_group([unit])
                    return
        finally:
            for unit in group:
                if not unit.done:
                    unit.finish(error=RuntimeError("the writer stopped before this unit of work was committed"))

    def _run_group(self, group: list[_Unit[Any]]) -> None:
        while group:
            group, _ = self._attempt(group)

    def _attempt(self, group: list[_Unit[Any]]) -> tuple[list[_Unit[Any]], bool]:
        """Run `group` in one transaction and commit it, finishing each unit that failed or
        committed. Returns the units to run again and whether to run them one by one."""
        cursor, tx = self._begin()
        ran: list[_Unit[Any]] = []
        for index, unit in enumerate(group):
            unit.callbacks = tx._after_commit = []
            tx._touched = tx._failed = False
            try:
                result = unit.run(tx)
            except Exception as exc:
                if not tx._touched:  # it only read: the transaction is as it was before it
                    unit.finish(error=exc)
                    continue
                _rollback(cursor)
                unit.finish(error=_translated(exc))
                return ran + group[index + 1 :], False
            except BaseException:
                _rollback(cursor)
                raise
            unit.result = result
            ran.append(unit)
            if tx._failed and len(group) > 1:  # it went on after a failed statement: the others alone
                _rollback(cursor)
                return ran + group[index + 1 :], True
        if not ran:
            _rollback(cursor)
            return [], False
        try:
            cursor.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(cursor)
            if len(ran) > 1:  # which unit the commit failed on is unknown
                return ran, True
            ran[0].finish(error=_translated(exc))
            return [], False
        self._committed(tx)
        for unit in ran:
            try:
                for callback in unit.callbacks:
                    callback()
            except Exception as exc:  # committed, but its caller hears what went wrong after
                unit.finish(error=exc)
            else:
                unit.finish(unit.result)
        return [], False

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._root.cursor()
            cursor.execute(f"USE {STORE_CATALOG}")
            self._local.cursor = cursor
        return cursor

    def healthy(self) -> bool:
        """The store answers a query (for a liveness probe)."""
        with self.read(lone=True) as tx:
            return bool(tx.scalar("SELECT 1"))

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (e.g. before a backup). PostgreSQL
        manages its own checkpoints."""
        if isinstance(self.location, PostgresServer):
            return
        with self._write_lock:
            self._root.execute("CHECKPOINT")


def _reads_only(sql: str) -> bool:
    """A plain SELECT (no WITH: a CTE may front an INSERT); anything else may write."""
    return sql.lstrip()[:6].upper() == "SELECT"


def _translated(exc: BaseException) -> BaseException:
    """A clash with another writer's row (PostgreSQL, several processes) as ConcurrentWrite, for
    the unit of work to run again on a fresh snapshot; any other error as it is."""
    if isinstance(exc, duckdb.Error) and _is_conflict(exc):
        return ConcurrentWrite(f"the change clashes with stored data: {_first_line(exc)}")
    return exc


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


def _is_conflict(exc: duckdb.Error) -> bool:
    """A uniqueness clash, from DuckDB itself or relayed from PostgreSQL by the extension."""
    text = str(exc)
    return isinstance(exc, duckdb.ConstraintException) or "violates unique constraint" in text


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the failed statement may have aborted it already
        cursor.execute("ROLLBACK")
