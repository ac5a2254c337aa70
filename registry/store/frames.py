"""The relations the analytics read, and the one place that says how each is made from the
store's tables.

analytics/ holds functions of these relations: their SQL names a relation below (or an Arrow
table registered beside it), never a store table. `Frames` is the analytics' Source over one
transaction: it splices the SQL of every relation a query names into that query, so DuckDB
plans the whole computation at once (filters reach the table scans) and nothing is
materialised in Python on the way. Any Arrow table with a relation's columns
stands in for it (analytics.source.ArrowSource), which is how the analytics run on rows
already read.

Relations:

- `exposure_results`: every result, without its ciphertexts: id, employer_id, seg_id,
  worker_id, substance_id, sample_type, unit, sampling_start (naive UTC), sampled_minutes,
  value, lod, below_lod, task.
- `worker_persons`: worker_id, person (UBIGINT): a key of the person behind each employer's
  record of them, the same for every employer (one person counts once), distinct for distinct
  persons, and nothing else about them.
- `employer_sectors`: employer_id, sbi_code.
- `substance_names`: substance_id, name, cas.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from registry.store.database import Tx

__all__ = ["RELATIONS", "Frames"]

_STATIC: dict[str, str] = {
    "exposure_results": """
        SELECT id, employer_id, seg_id, worker_id, substance_id, sample_type, unit, sampling_start,
               sampled_minutes, value, lod, below_lod, task
        FROM measurements""",
    "employer_sectors": "SELECT id AS employer_id, sbi_code FROM employers",
    "substance_names": "SELECT id AS substance_id, name, cas FROM substances",
}
# A person is their BSN's blind index. Counting distinct 64-bit hashes of it is a third
# cheaper than counting the 64-character strings, and exact as long as no two persons' hashes
# collide, which `Frames` checks (a few milliseconds over the workers) before it uses them;
# should two ever collide, persons are numbered instead.
# (The filter, always true, is for DuckDB's planner, which takes an unknown filter to keep a
# fifth of the rows: so it builds a join's hash table on the workers rather than on the several
# times more results joined to them, which it estimates to be fewer; the other way round the
# join took three times as long, 1 M store.)
_PERSONS_HASHED = "SELECT id AS worker_id, hash(bsn_index) AS person FROM workers WHERE person IS NOT NULL"
_PERSONS_NUMBERED = (
    "SELECT worker_id, person FROM (SELECT id AS worker_id, CAST(dense_rank() OVER (ORDER BY bsn_index) AS UBIGINT)"
    " AS person FROM workers) WHERE person IS NOT NULL"
)
_HASHES_DISTINCT = "SELECT count(DISTINCT bsn_index) = count(DISTINCT hash(bsn_index)) FROM workers"

RELATIONS: tuple[str, ...] = (*_STATIC, "worker_persons")
_NAMED = {name: re.compile(rf"\b{name}\b") for name in RELATIONS}
_WITH = re.compile(r"\s*WITH\s+", re.IGNORECASE)


class Frames:
    """The analytics' Source (analytics.source.Source) over one transaction: SQL that names
    the relations above runs against the store's tables."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._persons: str | None = None

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self._tx.arrow(self._spliced(sql), params)

    def register(self, name: str, table: pa.Table) -> None:
        self._tx.register(name, table)

    def unregister(self, name: str) -> None:
        self._tx.unregister(name)

    def _spliced(self, sql: str) -> str:
        """`sql` behind a WITH clause defining each relation it names (NOT MATERIALIZED: the
        planner inlines it where it is used)."""
        used = [name for name, pattern in _NAMED.items() if pattern.search(sql)]
        if not used:
            return sql
        definitions = ", ".join(f"{name} AS NOT MATERIALIZED ({self._definition(name)})" for name in used)
        own = _WITH.match(sql)
        if own and sql[own.end() :].upper().startswith("RECURSIVE"):
            raise ValueError("a recursive query cannot name a relation of registry.store.frames")
        return f"WITH {definitions}, {sql[own.end() :]}" if own else f"WITH {definitions} {sql}"

    def _definition(self, name: str) -> str:
        if name != "worker_persons":
            return _STATIC[name]
        if self._persons is None:
            self._persons = _PERSONS_HASHED if self._tx.scalar(_HASHES_DISTINCT) else _PERSONS_NUMBERED
        return self._persons
