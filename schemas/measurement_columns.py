"""A batch of measurements as columns, and the rules of MeasurementIn over whole columns.

Thousands of items are checked with one polars expression per rule, not item by item:
the same rules, reasons and order as `MeasurementIn.problems()`, which stays the rule of
one measurement and the reference that tests hold this equal to. Rules that depend on one
value only (a CAS number, a unit) ask the reference once per distinct value. An item with a
timestamp that is rare and always wrong (no UTC offset, a year before 1900 or 9999, which
may not even fit in UTC) is checked by `problems()` itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from itertools import repeat
from operator import attrgetter, is_not

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa

from schemas.common import check_identifier, check_not_future, check_order
from schemas.exposure import (
    AIR_VOLUME_OF_AIR,
    BIOLOGICAL_ANALYTE,
    BIOLOGICAL_MATRIX,
    BIOLOGICAL_WORKER,
    CAS_OR_ID,
    LOD_NEEDED,
    LONGER_THAN_SAMPLING,
    MATRIX_OF_BIOLOGICAL,
    NAME_THE_SUBSTANCE,
    NO_VALUE_BELOW_LOD,
    PERSONAL_NAMES_WHO,
    RPE_NEEDED,
    STATIC_NOT_WORN,
    VALUE_NEEDED,
    MeasurementIn,
    unit_problems,
)
from schemas.identifiers import normalise_cas
from schemas.validation import ERROR_SCHEMA

__all__ = [
    "FIELDS",
    "UTC_TIMESTAMP",
    "MeasurementColumns",
    "Rule",
    "odd_problems",
    "rule_errors",
    "schema_problems",
    "span_minutes",
    "uuid_array",
    "uuid_objects",
]

FIELDS: tuple[str, ...] = MeasurementIn.__struct_fields__
UTC_TIMESTAMP = pa.timestamp("us")  # UTC without a zone, as the store keeps TIMESTAMP columns
_TYPES: dict[str, pa.DataType] = {
    **dict.fromkeys(FIELDS, pa.string()),
    **dict.fromkeys(("substance_id", "worker_id", "seg_id", "site_id"), pa.uuid()),
    **dict.fromkeys(("value", "lod", "sampled_minutes", "air_volume_l", "protection_factor"), pa.float64()),
    "below_lod": pa.bool_(),
    "sampling_start": UTC_TIMESTAMP,
    "sampling_end": UTC_TIMESTAMP,
}
_UUID_FIELDS = ("substance_id", "worker_id", "seg_id", "site_id")
_NO_ID = uuid.UUID(int=0)  # stands in for a missing id while packing a column; masked as null
_AS_BYTES = msgspec.msgpack.Encoder(uuid_format="bytes")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# The reasons of schemas/common.py's rules, from the rules themselves.
_FUTURE = next(check_not_future("t", dt.datetime(9999, 1, 1, tzinfo=dt.UTC))).reason
_T0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_AFTER_START = next(check_order("sampling_start", _T0, "sampling_end", _T0, strict=True)).reason


class MeasurementColumns:
    """Items of a batch (their `positions` in the request) with their fields as Arrow arrays:
    timestamps in UTC, ids as UUIDs. `odd` are the rows whose timestamps only
    `MeasurementIn.problems()` judges (they are null here, and always wrong)."""

    def __init__(self, items: Sequence[MeasurementIn], positions: Sequence[int]) -> None:
        self.items = list(items)
        self.positions = list(positions)
        columns = {name: list(map(attrgetter(name), self.items)) for name in FIELDS}
        odd: set[int] = set()
        for name in ("sampling_start", "sampling_end"):
            odd.update(i for i, t in enumerate(columns[name]) if t.tzinfo is None or not 1900 <= t.year < 9999)
        self.odd = sorted(odd)
        arrays: dict[str, pa.Array] = {}
        for name in FIELDS:
            column = columns[name]
            if name in ("sampling_start", "sampling_end"):
                stamps = [None if i in odd else t for i, t in enumerate(column)] if odd else column
                arrays[name] = pa.array(stamps, pa.timestamp("us", tz="UTC")).cast(UTC_TIMESTAMP)
            elif name in _UUID_FIELDS:
                arrays[name] = uuid_array(column)
            else:
                arrays[name] = pa.array(column, _TYPES[name])
        self.table = pa.table(arrays)

    def __len__(self) -> int:
        return len(self.items)

    def frame(self, *names: str) -> pl.DataFrame:
        """These columns (ids as 16-byte binaries) with `row` (0..n-1) and `index` (the position)."""
        table = self.table.select(list(names))
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)  # a table, not one column
        return frame.with_columns(
            pl.int_range(len(self), dtype=pl.Int64).alias("row"), pl.Series("index", self.positions, dtype=pl.Int64)
        )


def schema_problems(columns: MeasurementColumns, now: dt.datetime | None = None) -> pl.DataFrame:
    """Every item's errors by MeasurementIn's rules (index, field as items[i].name, reason,
    rank: the rule's order, as `problems()` yields them)."""
    limit = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=1)
    frame = columns.frame(*FIELDS)
    if columns.odd:
        frame = frame.filter(~pl.col("row").is_in(columns.odd))
    cas_problems = {
        cas: error.reason
        for cas in frame.get_column("substance_cas").drop_nulls().unique().to_list()
        for error in check_identifier("substance_cas", cas, normalise_cas)
    }
    units = frame.get_column("unit").unique().to_list()
    frame = frame.with_columns(
        pl.col("substance_cas").replace_strict(cas_problems, default=None, return_dtype=pl.String).alias("_cas"),
        pl.col("unit").replace_strict(_unit_reasons(units, True), default=None, return_dtype=pl.String).alias("_bio"),
        pl.col("unit").replace_strict(_unit_reasons(units, False), default=None, return_dtype=pl.String).alias("_air"),
        pl.Series("_longest", _longest_sampling(frame), dtype=pl.Float64),
    )
    cas, substance_id, worker = pl.col("substance_cas"), pl.col("substance_id"), pl.col("worker_id")
    biological, below = pl.col("sample_type") == "biological", pl.col("below_lod")
    rules: list[Rule] = [
        ("substance_cas", cas.is_null() & substance_id.is_null(), NAME_THE_SUBSTANCE),
        ("substance_id", cas.is_not_null() & substance_id.is_not_null(), CAS_OR_ID),
        ("substance_cas", pl.col("_cas").is_not_null(), pl.col("_cas")),
        ("lod", below & pl.col("lod").is_null(), LOD_NEEDED),
        ("value", below & pl.col("value").is_not_null(), NO_VALUE_BELOW_LOD),
        ("value", ~below & pl.col("value").is_null(), VALUE_NEEDED),
        ("unit", biological & pl.col("_bio").is_not_null(), pl.col("_bio")),
        ("worker_id", biological & worker.is_null(), BIOLOGICAL_WORKER),
        ("matrix", biological & pl.col("matrix").is_null(), BIOLOGICAL_MATRIX),
        ("analyte", biological & pl.col("analyte").is_null(), BIOLOGICAL_ANALYTE),
        ("air_volume_l", biological & pl.col("air_volume_l").is_not_null(), AIR_VOLUME_OF_AIR),
        ("unit", ~biological & pl.col("_air").is_not_null(), pl.col("_air")),
        ("matrix", ~biological & pl.col("matrix").is_not_null(), MATRIX_OF_BIOLOGICAL),
        (
            "worker_id",
            (pl.col("sample_type") == "personal_air") & worker.is_null() & pl.col("seg_id").is_null(),
            PERSONAL_NAMES_WHO,
        ),
        ("worker_id", (pl.col("sample_type") == "static_air") & worker.is_not_null(), STATIC_NOT_WORN),
        ("sampling_start", pl.col("sampling_start") > limit, _FUTURE),
        ("sampling_end", pl.col("sampling_end") > limit, _FUTURE),
        ("sampling_end", pl.col("sampling_end") <= pl.col("sampling_start"), _AFTER_START),
        (
            "sampled_minutes",
            pl.col("sampled_minutes").is_not_null() & (pl.col("sampled_minutes") > pl.col("_longest")),
            LONGER_THAN_SAMPLING,
        ),
        ("rpe", pl.col("protection_factor").is_not_null() & pl.col("rpe").is_null(), RPE_NEEDED),
    ]
    return pl.concat([odd_problems(columns), rule_errors(frame, rules)])


Rule = tuple[str, pl.Expr, str | pl.Expr]  # field, when an item breaks it, why


def rule_errors(frame: pl.DataFrame, rules: Sequence[Rule]) -> pl.DataFrame:
    """The errors of `rules` over `frame` (with its `index`): index, field (items[i].field),
    reason and rank (the rule's place in `rules`). Every rule is evaluated in one pass; only
    a rule that some item breaks is then listed."""
    broken = frame.select(rule.alias(f"_{rank}") for rank, (_, rule, _) in enumerate(rules))
    hit = [rank for rank, any_broken in enumerate(broken.select(pl.all().any()).row(0)) if any_broken]
    found = [
        frame.filter(broken.get_column(f"_{rank}")).select(
            "index",
            pl.format("items[{}].{}", pl.col("index"), pl.lit(rules[rank][0])).alias("field"),
            (pl.lit(reason) if isinstance(reason := rules[rank][2], str) else reason).alias("reason"),
            pl.lit(rank, dtype=pl.Int64).alias("rank"),
        )
        for rank in hit
    ]
    return pl.concat(found) if found else pl.DataFrame(schema=ERROR_SCHEMA)


def _longest_sampling(frame: pl.DataFrame) -> np.ndarray:
    """The most minutes a sample may state: its span (and a rounding margin)."""
    longest: np.ndarray = span_minutes(frame) + 1e-9
    return longest


def span_minutes(frame: pl.DataFrame) -> np.ndarray:
    """Minutes from sampling_start to sampling_end of each row, exactly as Python's
    `(end - start).total_seconds() / 60`: numpy divides as Python does (polars multiplies by
    the reciprocal, a last bit apart). A span of more than 2**53 microseconds (285 years)
    is no exact float: Python's division of the integers is followed for those few."""
    micros = frame.select((pl.col("sampling_end") - pl.col("sampling_start")).dt.total_microseconds()).to_series()
    span: np.ndarray = micros.cast(pl.Float64).to_numpy() / 1e6 / 60
    for row in (micros.abs() >= 2**53).arg_true().to_list():
        span[row] = micros[row] / 10**6 / 60
    return span


def _unit_reasons(units: list[str], biological: bool) -> dict[str, str]:
    return {unit: error.reason for unit in units for error in unit_problems(unit, biological=biological)}


def odd_problems(columns: MeasurementColumns) -> pl.DataFrame:
    """The errors of the odd rows, by `MeasurementIn.problems()` itself."""
    rows: dict[str, list[object]] = {name: [] for name in ERROR_SCHEMA}
    for row in columns.odd:
        index = columns.positions[row]
        for rank, error in enumerate(columns.items[row].problems()):
            rows["index"].append(index)
            rows["field"].append(error.under(f"items[{index}]").field)
            rows["reason"].append(error.reason)
            rows["rank"].append(rank)
    return pl.DataFrame(rows, schema=ERROR_SCHEMA)


def uuid_array(values: Sequence[uuid.UUID | None]) -> pa.Array:
    """UUIDs (or None) as an Arrow UUID array, packed by msgspec rather than one Python call
    per value: each id as 16 bytes of msgpack (2 bytes of header apiece), cut out by numpy."""
    count = len(values)
    mask = list(map(is_not, values, repeat(None)))  # by identity: no UUID.__eq__ per value
    present = None if all(mask) else mask
    packed = _AS_BYTES.encode(values if present is None else [value or _NO_ID for value in values])
    header = len(packed) - 18 * count
    octets = np.frombuffer(packed, dtype=np.uint8, offset=header).reshape(count, 18)[:, 2:]
    validity = None if present is None else pa.array(present, pa.bool_()).buffers()[1]
    storage = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), count, [validity, pa.py_buffer(octets.tobytes())])
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def uuid_objects(octets: bytes) -> list[uuid.UUID]:
    """16-byte ids as UUID objects, made by msgspec from their text (numpy writes the text):
    one C call rather than one Python constructor per id."""
    raw = np.frombuffer(octets, dtype=np.uint8).reshape(-1, 16)
    count = len(raw)
    if not count:
        return []
    digits = np.empty((count, 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 15]
    text = np.full((count, 39), ord(","), dtype=np.uint8)  # "8-4-4-4-12",
    text[:, 0] = text[:, 37] = ord('"')
    for start, end, at in ((0, 8, 1), (8, 12, 10), (12, 16, 15), (16, 20, 20), (20, 32, 25)):
        text[:, at : at + end - start] = digits[:, start:end]
    text[:, [9, 14, 19, 24]] = ord("-")
    return msgspec.json.decode(b"[" + text.tobytes()[:-1] + b"]", type=list[uuid.UUID])
