"""The EN 689 report, kept between reports so that only what changed is computed again.

A report row depends on its own group's results (an employer's SEG and substance), their
limits and names, nothing else; every computation is within one employer. So the rows are
kept (registry/store/compliance_results.py) with two keys:

- per employer, a fingerprint of its personal air results and SEG names (hashed in SQL in one
  pass), of the limit rows and substances, and of the code (analytics.compliance.report_version):
  the kept rows of an employer whose fingerprint is unchanged are its report, its results
  not read again;
- per row, a hash of the group's own data (analytics.compliance.group_keys): of an employer
  whose results changed, only the groups whose data changed are computed again.

A report reads in one snapshot and keeps its new rows in a write of their own afterwards (a
row is a function of its data, so rows kept by a concurrent report are as good). Rows are kept
and read per employer: an employer's report reads its own rows only.
"""

from __future__ import annotations

import gc
import hashlib
import struct

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa

from analytics.additional_limits import with_additional_limits
from analytics.compliance import (
    ComplianceRow,
    EmployerRange,
    Employers,
    compliance_report,
    group_keys,
    report_version,
)
from analytics.statistics import Prior
from registry.access import Work
from registry.services.compliance import load_inputs
from registry.services.limits import limits_beside_legal
from registry.store import Tx
from registry.store import compliance_results as kept_table
from registry.store import limits as limit_table
from registry.store import substances as substance_table

__all__ = ["employer_report", "report_rows"]

_GROUP = ["employer_id", "seg_id", "substance_id"]
_ENCODER = msgspec.msgpack.Encoder()
_ROWS = msgspec.msgpack.Decoder(list[ComplianceRow])
# Up to this many changed employers are read by id; beyond, the results are read in ranges of
# employers, each with at most _PART_RESULTS results (the frames of 10^6 results take ~0.5 GiB).
_LISTED_EMPLOYERS = 1000
_PART_RESULTS = 1_000_000


class _Kept(msgspec.Struct, frozen=True):
    """What a report computed, to keep: the rows of the `replaced` employers."""

    variant: str
    replaced: list[str]
    fingerprints: pa.Table  # (employer_id, fingerprint) of the employers with results
    rows: pa.Table  # kept_table.ROW_COLUMNS


def report_rows(
    work: Work, employer_id: str | None, *, bayesian: bool = True, prior: Prior = "informedvar"
) -> list[ComplianceRow]:
    """The EN 689 report of one employer, or (None) of all, under Expostats' `prior` (or
    without the Bayesian step): kept rows where their data did not change, the rest computed
    and kept."""

    def read(w: Work) -> tuple[list[ComplianceRow], _Kept | None]:
        w.note_list("compliance_report")
        return _report(w.tx, employer_id, prior if bayesian else None)

    rows, kept = work.read(read)
    _keep(work, kept)
    return rows


def employer_report(work: Work, *, bayesian: bool = True, prior: Prior = "informedvar") -> list[ComplianceRow]:
    """The caller's employer's report, each row with its own and its sector's limits beside
    the legal one."""

    def read(w: Work) -> tuple[list[ComplianceRow], _Kept | None]:
        employer = str(w.employer_id())
        w.note_list("compliance_report")
        rows, kept = _report(w.tx, employer, prior if bayesian else None)
        beside = limits_beside_legal(w.tx, w.employer_id())
        if any(limit.limit_type == "TWA8h" for limit in beside):
            rows = with_additional_limits(rows, load_inputs(w.tx, employer, stel=False).indices, beside)
        return rows, kept

    rows, kept = work.read(read)
    _keep(work, kept)
    return rows


def _keep(work: Work, kept: _Kept | None) -> None:
    if kept is not None:
        work.write(lambda w: kept_table.save_rows(w.tx, kept.variant, kept.replaced, kept.fingerprints, kept.rows))


def _report(tx: Tx, employer_id: str | None, prior: Prior | None) -> tuple[list[ComplianceRow], _Kept | None]:
    variant = prior or "none"
    shared = _shared_inputs(tx, variant)
    current = _frame(kept_table.input_fingerprints(tx, employer_id)).with_columns(
        pl.format("{}-{}", "fingerprint", pl.lit(shared)).alias("fingerprint")
    )
    stored = _frame(kept_table.stored_fingerprints(tx, variant, employer_id))
    changed = current.join(stored, on=["employer_id", "fingerprint"], how="anti")["employer_id"].to_list()
    stale = changed + stored.join(current, on="employer_id", how="anti")["employer_id"].to_list()
    kept = kept_table.stored_rows(tx, variant, employer_id)
    index = _frame(kept.drop_columns(["row_data"])).with_row_index("at")
    read_back = index.filter(~pl.col("employer_id").is_in(stale))["at"].to_list()
    reused: list[int] = []
    fresh = [kept.schema.empty_table()]
    for scope, employers in _parts(current, changed, employer_id):
        at, computed = _fresh_rows(tx, scope, employers, index, prior, kept.schema)
        reused += at
        fresh.append(computed)
    every = _decoded(kept.column("row_data"))
    report = [every[i] for i in read_back + reused]
    for computed in fresh:
        report += _decoded(computed.column("row_data"))
    report.sort(key=_order)
    if not stale:
        return report, None
    fingerprints = current.filter(pl.col("employer_id").is_in(changed)).select("employer_id", "fingerprint")
    rows = pa.concat_tables([kept.take(pa.array(reused, pa.uint32())), *fresh])
    return report, _Kept(variant, stale, fingerprints.to_arrow(), rows)


def _parts(current: pl.DataFrame, changed: list[str], employer_id: str | None) -> list[tuple[Employers, list[str]]]:
    """Where to read the results of the `changed` employers from, in parts of at most
    _PART_RESULTS results so that a national report's frames need not all be in memory at
    once: (the results to read, the changed employers among them)."""
    if employer_id or not changed:
        return [(employer_id, changed)] if changed else []
    chosen = current.filter(pl.col("employer_id").is_in(changed))
    if chosen.height <= _LISTED_EMPLOYERS and chosen["results"].sum() <= _PART_RESULTS:
        return [(changed, changed)]
    part = current.select(
        "employer_id",
        pl.col("employer_id").is_in(changed).alias("changed"),
        (pl.col("results").cum_sum() // _PART_RESULTS).alias("part"),
    )
    ranges = part.group_by("part", maintain_order=True).agg(
        pl.col("employer_id").first().alias("first"),
        pl.col("employer_id").last().alias("last"),
        pl.col("employer_id").filter(pl.col("changed")).alias("changed"),
    )
    return [
        (EmployerRange(first, last), employers)
        for first, last, employers in ranges.select("first", "last", "changed").rows()
        if employers
    ]


def _fresh_rows(
    tx: Tx, scope: Employers, changed: list[str], kept: pl.DataFrame, prior: Prior | None, schema: pa.Schema
) -> tuple[list[int], pa.Table]:
    """The rows of the `changed` employers, reading the results of `scope`: the positions
    ("at") of the `kept` rows whose group's data is unchanged, and the other groups' rows,
    computed, as kept_table.ROW_COLUMNS in `schema`."""
    data = load_inputs(tx, scope, stel=False)
    keys = group_keys(data.indices, data.names, data.made_from, data.not_comparable)
    keys = keys.filter(pl.col("employer_id").is_in(changed))
    reused = keys.join(kept.select(*_GROUP, "data_key", "at"), on=[*_GROUP, "data_key"])
    todo = keys.join(reused, on=_GROUP, how="anti")
    if not todo.height:
        return reused["at"].to_list(), schema.empty_table()

    def of_todo(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(todo.select(_GROUP), on=_GROUP, how="semi")

    computed = compliance_report(
        of_todo(data.indices),
        data.names,
        bayesian=prior is not None,
        prior=prior or "informedvar",
        made_from=data.made_from,
        not_comparable=None if data.not_comparable is None else of_todo(data.not_comparable),
    )
    return reused["at"].to_list(), _encoded(computed, todo, schema)


def _encoded(rows: list[ComplianceRow], keys: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """Computed rows as kept_table.ROW_COLUMNS in `schema`, with their group's data_key from `keys`."""
    encoded = pl.DataFrame(
        {
            "employer_id": [row.employer_id for row in rows],
            "seg_id": [row.seg_id for row in rows],
            "substance_id": [row.substance_id for row in rows],
            "compared": [bool(row.limits) for row in rows],
            "row_data": [_ENCODER.encode(row) for row in rows],
        },
        schema={**dict.fromkeys(_GROUP, pl.String), "compared": pl.Boolean, "row_data": pl.Binary},
    )
    return (
        encoded.join(keys.select(*_GROUP, "data_key"), on=_GROUP).select(kept_table.ROW_COLUMNS).to_arrow().cast(schema)
    )


def _order(row: ComplianceRow) -> tuple[bool, str, str, str]:
    """compliance_report's order: by group, the groups with no comparable result last."""
    return not row.limits, row.employer_id, row.seg_id, row.substance_id


def _shared_inputs(tx: Tx, variant: str) -> str:
    """A digest of what every employer's rows depend on besides its own results: the report
    variant, the limit rows in use, the substances and the code."""
    digest = hashlib.sha256(f"{variant}\n{report_version()}\n".encode())
    digest.update(msgspec.msgpack.encode(limit_table.limit_values(tx)))
    digest.update(msgspec.msgpack.encode(substance_table.list_substances(tx)))
    return digest.hexdigest()[:16]


def _decoded(blobs: pa.ChunkedArray) -> list[ComplianceRow]:
    """Kept rows, each chunk decoded at once as one msgpack array over its buffer. The cyclic
    garbage collector is off meanwhile: it spent 60 % of the time walking the new objects,
    which hold no cycles."""
    decoded: list[ComplianceRow] = []
    collecting = gc.isenabled()
    gc.disable()
    try:
        for chunk in blobs.chunks:
            width = np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
            offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
            data = memoryview(chunk.buffers()[2])[offsets[0] : offsets[-1]] if len(chunk) else b""
            decoded += _ROWS.decode(b"".join([b"\xdd", struct.pack(">I", len(chunk)), data]))
    finally:
        if collecting:
            gc.enable()
    return decoded


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table, not a single column
    return frame
