"""Compliance report rows kept between reports (migration 0009), and the fingerprints that say
whether they still hold.

An employer's report rows depend on its personal air results and its SEGs' names (and on the
limits and the code, which the caller folds in). `input_fingerprints` hashes those per
employer in SQL, in one pass over the results; where an employer's fingerprint equals the
stored one, its stored rows are its report. For an employer whose results changed, each row
carries the hash of the group's own data (`data_key`), so only the groups whose data changed
are computed again. Rows are read back for the employer a report is for, never another's.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from registry.store.database import Tx

__all__ = ["ROW_COLUMNS", "input_fingerprints", "save_rows", "stored_fingerprints", "stored_rows"]

# The columns of a kept row, as stored_rows reads and save_rows takes them (ids as text).
ROW_COLUMNS = ("employer_id", "seg_id", "substance_id", "compared", "data_key", "row_data")

# Every column of a result that a report row can depend on; a result is never updated, but
# hashing the columns rather than the id alone keeps that an assumption the hash does not need.
_RESULT_HASH = (
    "hash(m.id, m.seg_id, m.worker_id, m.substance_id, m.unit, m.value, m.lod, m.below_lod, "
    "m.sampling_start, m.sampled_minutes)"
)


def input_fingerprints(tx: Tx, employer_id: str | None) -> pa.Table:
    """(employer_id, results, fingerprint) of every employer with a personal air result (or
    only `employer_id`), in the store's order of ids: how many results it has, and a hash of
    them and of its SEGs' names."""
    results = "AND m.employer_id = CAST(? AS UUID)" if employer_id else ""
    segs = "WHERE g.employer_id = CAST(? AS UUID)" if employer_id else ""
    return tx.arrow(
        f"""
        WITH results AS (
            SELECT m.employer_id, count(*) AS n, bit_xor({_RESULT_HASH}) AS h
            FROM measurements m WHERE m.sample_type = 'personal_air' {results} GROUP BY m.employer_id
        ), names AS (
            SELECT g.employer_id, bit_xor(hash(g.id, g.name)) AS h FROM segs g {segs} GROUP BY g.employer_id
        )
        SELECT CAST(r.employer_id AS VARCHAR) AS employer_id, r.n AS results,
               printf('%x-%x', hash(r.n, r.h), coalesce(s.h, 0)) AS fingerprint
        FROM results r LEFT JOIN names s ON s.employer_id = r.employer_id
        ORDER BY r.employer_id
        """,
        [employer_id, employer_id] if employer_id else [],
    )


def stored_fingerprints(tx: Tx, variant: str, employer_id: str | None) -> pa.Table:
    """(employer_id, fingerprint) of the kept rows of this report variant."""
    mine = "AND employer_id = CAST(? AS UUID)" if employer_id else ""
    return tx.arrow(
        f"SELECT CAST(employer_id AS VARCHAR) AS employer_id, fingerprint FROM compliance_inputs "
        f"WHERE variant = ? {mine}",
        [variant, employer_id] if employer_id else [variant],
    )


def stored_rows(tx: Tx, variant: str, employer_id: str | None) -> pa.Table:
    """The kept rows (ROW_COLUMNS) of this report variant: one employer's, or all."""
    mine = "AND employer_id = CAST(? AS UUID)" if employer_id else ""
    return tx.arrow(
        "SELECT CAST(employer_id AS VARCHAR) AS employer_id, CAST(seg_id AS VARCHAR) AS seg_id, "
        "CAST(substance_id AS VARCHAR) AS substance_id, compared, data_key, row_data "
        f"FROM compliance_rows WHERE variant = ? {mine}",
        [variant, employer_id] if employer_id else [variant],
    )


def save_rows(tx: Tx, variant: str, replaced: list[str], fingerprints: pa.Table, rows: pa.Table) -> None:
    """Replace what is kept of this variant for the `replaced` employers by their
    `fingerprints` (employer_id, fingerprint) and `rows` (ROW_COLUMNS)."""
    tx.register("_replaced", pa.table({"employer_id": pa.array(replaced, pa.string())}))
    tx.register("_fingerprints", fingerprints)
    tx.register("_rows", rows)
    try:
        for table in ("compliance_rows", "compliance_inputs"):
            tx.execute(
                f"DELETE FROM {table} WHERE variant = ? "
                "AND employer_id IN (SELECT CAST(employer_id AS UUID) FROM _replaced)",
                [variant],
            )
        tx.execute(
            "INSERT INTO compliance_inputs SELECT CAST(employer_id AS UUID), ?, fingerprint, ? FROM _fingerprints",
            [variant, dt.datetime.now(dt.UTC)],
        )
        tx.execute(
            "INSERT INTO compliance_rows SELECT CAST(employer_id AS UUID), CAST(seg_id AS UUID), "
            "CAST(substance_id AS UUID), ?, compared, data_key, row_data FROM _rows",
            [variant],
        )
    finally:
        for name in ("_replaced", "_fingerprints", "_rows"):
            tx.unregister(name)
