"""A lab's cells as measurements, read the way Dutch labs write them, over whole columns.

- Numbers: "0,12" and "0.12" alike (no thousands separators: "1.234,5" is refused rather
  than guessed).
- Non-detects in the result column: "<0,05", "< 0.05" (below_lod, and the number is the
  lod) or "<LOD", "<RG", "<BG" (below_lod; the lod comes from the lod column).
- Dates: 31-12-2025, 31-12-2025 08:30, 31/12/2025 8:30:15, and ISO 8601 (2025-12-31,
  2025-12-31T08:30, with or without a UTC offset). Without an offset a time is Dutch local
  time (Europe/Amsterdam): in the autumn's repeated hour the first (summer-time) one; a time
  in the spring's skipped hour does not exist and is refused.
- Yes/no cells: ja/nee, yes/no, true/false, 1/0, j/n.
- Monstertype and matrix may be given in Dutch (persoonlijk, stationair, biologisch; bloed,
  urine, uitademingslucht, haar, overig).

Every conversion is a polars expression over the column; only the cells that fail become
Python objects (errors). The typed rows then become `MeasurementIn` through msgspec, 10,000
rows at once, and the batch's columns, checked by MeasurementIn's rules over whole columns
exactly as a JSON batch is (schemas/measurement_columns.py). Errors name the row as a
spreadsheet shows it (the header is row 1) and the column by its header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

import msgspec
import polars as pl

from schemas.errors import FieldError, InvalidInput
from schemas.exposure import MeasurementIn
from schemas.lab_import import FIELDS, IMPORT_CHUNK_ROWS, MAX_REPORTED_ERRORS, REQUIRED_FIELDS, ImportMapping
from schemas.measurement_columns import MeasurementColumns, schema_problems
from schemas.validation import parse

__all__ = ["Prepared", "RowError", "check_defaults", "numeric_headers", "prepare"]

Kind = Literal["text", "number", "datetime", "flag", "value"]
_KINDS: dict[str, Kind] = {
    "value": "value",
    "below_lod": "flag",
    "lod": "number",
    "sampled_minutes": "number",
    "air_volume_l": "number",
    "protection_factor": "number",
    "sampling_start": "datetime",
    "sampling_end": "datetime",
}
_SYNONYMS: dict[str, dict[str, str]] = {
    "sample_type": {
        "persoonlijk": "personal_air",
        "persoonlijke luchtmeting": "personal_air",
        "stationair": "static_air",
        "statisch": "static_air",
        "biologisch": "biological",
        "biomonitoring": "biological",
    },
    "matrix": {
        "bloed": "blood",
        "uitademingslucht": "exhaled_air",
        "haar": "hair",
        "overig": "other",
        "anders": "other",
    },
}
_YES = ["ja", "j", "yes", "y", "true", "waar", "1", "x"]
_NO = ["nee", "n", "no", "false", "onwaar", "0"]
_NUMBER = r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$"
_WORD = r"^[A-Za-z][A-Za-z .\-]*$"  # <LOD, <RG, < d.l.
_DUTCH_DATE = r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
_ISO_DATE = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
_ZONE = "Europe/Amsterdam"
_ROW = "__row"
_MAX_IGNORED = 100  # columns named in an answer's ignored_columns (a header cut at 100 characters)
_REPEATED = re.compile(r"(?P<base>.*)_(?:duplicated_)?\d+")
_ITEM = re.compile(r"^items\[(?P<row>\d+)\]\.?(?P<field>.*)$")
_NUMBER_HINT = "write 0,12 or 0.12, without a thousands separator"
_DATE_HINT = "write 31-12-2025 08:30, or 2025-12-31T08:30+01:00"


class RowError(NamedTuple):
    """An error where a spreadsheet shows it: row, column position (for ordering) and text;
    `unreadable` when the cell itself could not be read."""

    row: int
    order: int
    error: FieldError
    unreadable: bool = False


class Prepared(msgspec.Struct, kw_only=True):
    """A file read and checked by the schema's rules, before any store rule: the rows that
    fit the schema's types as the batch's columns, up to 10,000 a chunk (positions: their
    row numbers), and every error found so far."""

    chunks: list[MeasurementColumns]
    errors: list[RowError]
    rows_read: int
    columns: dict[str, str]  # field -> the file's header it was read from
    order: dict[str, int]  # the file's header -> its position
    ignored_columns: list[str]

    def locate(self, errors: Iterable[FieldError]) -> list[RowError]:
        """Errors of the batch's form, `items[ROW].field` (the import passes row numbers as
        the batch positions), at their row and column."""
        located = []
        for error in errors:
            match = _ITEM.match(error.field)
            if match is None:
                located.append(RowError(0, -1, error))
                continue
            located.append(self.at(int(match["row"]), match["field"], error.reason))
        return located

    @property
    def items(self) -> list[MeasurementIn]:
        """The rows that fit the schema's types, in row order."""
        return [item for chunk in self.chunks for item in chunk.items]

    def locate_frame(self, errors: pl.DataFrame) -> list[RowError]:
        """Errors of the batch's vectorised rules (index, field as items[ROW].name, reason)."""
        fields = errors.get_column("field").to_list()
        reasons = errors.get_column("reason").to_list()
        return self.locate(FieldError(field, reason) for field, reason in zip(fields, reasons, strict=True))

    def at(self, row: int, field: str, reason: str, *, unreadable: bool = False) -> RowError:
        """An error of `field` in spreadsheet row `row`, named by the column it was read from."""
        header = self.columns.get(field)
        if header is None and field in ("below_lod", "lod"):  # read from the result column
            header = self.columns.get("value")
        if header is None:
            where = f"row {row}, {field}" if field else f"row {row}"
            order = len(self.order) + (FIELDS.index(field) if field in FIELDS else len(FIELDS))
            return RowError(row, order, FieldError(where, reason), unreadable)
        where = f'row {row}, column "{header.strip()}"'
        return RowError(row, self.order[header], FieldError(where, reason), unreadable)

    def refusal(self, errors: Sequence[RowError]) -> InvalidInput:
        """All errors counted, the first MAX_REPORTED_ERRORS listed, by row and column. A cell
        that could not be read is reported once, not again as empty or wrong."""
        unreadable = {e.error.field for e in errors if e.unreadable}
        unique = sorted(
            (e for e in errors if e.unreadable or e.error.field not in unreadable),
            key=lambda e: (e.row, e.order),
        )
        rows = len({e.row for e in unique if e.row})
        listed = f"; the first {MAX_REPORTED_ERRORS:,} are listed" if len(unique) > MAX_REPORTED_ERRORS else ""
        detail = f"{len(unique):,} error(s) in {rows:,} of {self.rows_read:,} row(s); nothing was stored{listed}"
        return InvalidInput(
            [e.error for e in unique[:MAX_REPORTED_ERRORS]], detail=detail, total_errors=len(unique), invalid_items=rows
        )


def prepare(frame: pl.DataFrame, mapping: ImportMapping) -> Prepared:
    """Map the file's columns to fields, convert every cell and build the measurements."""
    order = {header: i for i, header in enumerate(frame.columns)}
    columns, problems = _columns(frame.columns, mapping)
    if problems:
        raise InvalidInput(problems, detail="the file's header row does not fit the column mapping; nothing was stored")
    ignored = [_short(h.strip(), 100) for h in frame.columns if h not in columns.values()][:_MAX_IGNORED]
    raw = _raw_cells(frame, columns, mapping.fallbacks())
    typed, errors = _convert(raw, columns)
    prepared = Prepared(
        chunks=[],
        errors=[],
        rows_read=raw.height,
        columns=columns,
        order=order,
        ignored_columns=ignored,
    )
    prepared.errors.extend(prepared.at(row, field, reason, unreadable=True) for row, field, reason in errors)
    _build_items(typed, prepared, {row for row, _, _ in errors})
    return prepared


def _columns(headers: Sequence[str], mapping: ImportMapping) -> tuple[dict[str, str], list[FieldError]]:
    """field -> the file's column, matched trimmed and regardless of case; problems: a
    required column that is missing, a mapped header that the file repeats."""
    found: dict[str, list[str]] = {}
    keys = {h.strip().casefold() for h in headers}
    for header in headers:
        found.setdefault(_base(header.strip().casefold(), keys), []).append(header)
    columns: dict[str, str] = {}
    problems: list[FieldError] = []
    for field, header in mapping.headers().items():
        matches = found.get(header.strip().casefold(), [])
        if len(matches) > 1:
            problems.append(
                FieldError(
                    field=f'column "{header}"',
                    reason=f"appears {len(matches)} times in the header row: which one holds {field}?",
                )
            )
        elif matches:
            columns[field] = matches[0]
        elif field in REQUIRED_FIELDS and field not in mapping.defaults:
            problems.append(
                FieldError(
                    field=f'column "{header}"',
                    reason=f"not in the file's header row; the column mapping takes {field} from it",
                )
            )
    return columns, problems


def _base(key: str, keys: set[str]) -> str:
    """A repeated header as the readers rename it (CSV "X_duplicated_0", xlsx "X_1") is "X"."""
    match = _REPEATED.fullmatch(key)
    return match["base"] if match and match["base"] in keys else key


def numeric_headers(mapping: ImportMapping) -> list[str]:
    """The headers of the columns that hold numbers (an xlsx gives their cells in full)."""
    return [h for f, h in mapping.headers().items() if _KINDS.get(f) in ("number", "value")]


def check_defaults(mapping: ImportMapping) -> list[FieldError]:
    """The mapping's defaults read as cells are: a default no row could use is refused when
    the mapping is saved, not in every row of every import."""
    if not mapping.defaults:
        return []
    frame = pl.DataFrame({f: [None] for f in mapping.defaults}, schema=dict.fromkeys(mapping.defaults, pl.String))
    raw = _raw_cells(frame, {}, mapping.fallbacks())
    _, errors = _convert(raw, {})
    return [FieldError(field=f"defaults.{field}", reason=reason) for _, field, reason in errors]


def _raw_cells(frame: pl.DataFrame, columns: dict[str, str], defaults: dict[str, str]) -> pl.DataFrame:
    """One trimmed text column per field (empty cells null), a default where the cell is
    empty; blank rows dropped, each row keeping its spreadsheet number."""
    cells = [_trimmed(pl.col(header)).alias(field) for field, header in columns.items()]
    table = frame.with_row_index(_ROW, offset=2).select(pl.col(_ROW), *cells)
    if columns:
        table = table.filter(~pl.all_horizontal(pl.col(f).is_null() for f in columns))
    filled = [
        (pl.coalesce(pl.col(field), pl.lit(value)) if field in columns else pl.lit(value, pl.String)).alias(field)
        for field, value in defaults.items()
    ]
    return table.with_columns(filled) if filled else table


def _trimmed(cell: pl.Expr) -> pl.Expr:
    text = cell.cast(pl.String).str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text)


def _convert(raw: pl.DataFrame, columns: dict[str, str]) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """Typed columns, and (row, field, reason) for each cell that could not be read."""
    present = [f for f in FIELDS if f in raw.columns]
    exprs: list[pl.Expr] = [pl.col(_ROW)]
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []  # field, failed, reason
    for field in present:
        cell = pl.col(field)
        kind = _KINDS.get(field, "text")
        if kind == "text":
            exprs.append(_text(field, cell).alias(field))
        elif kind == "number":
            number = _number(cell.str.strip_prefix("<").str.strip_chars())  # a lod may be written "<0,05"
            exprs.append(number.alias(field))
            checks.append(
                (field, cell.is_not_null() & number.is_null(), _quoted(cell, f"is not a number ({_NUMBER_HINT})"))
            )
        elif kind == "datetime":
            parsed, local = _datetime(cell)
            exprs.append(parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ").alias(field))
            gap = local.is_not_null() & parsed.is_null()
            checks.append(
                (
                    field,
                    cell.is_not_null() & parsed.is_null(),
                    pl.when(gap)
                    .then(
                        _quoted(
                            cell, "does not exist in Dutch local time (the clocks went forward): give the UTC offset"
                        )
                    )
                    .otherwise(_quoted(cell, f"is not a date and time ({_DATE_HINT})")),
                )
            )
        elif kind == "flag":
            flag = _flag(cell)
            exprs.append(flag.alias("__flag"))
            checks.append((field, cell.is_not_null() & flag.is_null(), _quoted(cell, "write ja or nee")))
        else:  # the result, or a non-detect
            below = cell.str.starts_with("<")
            rest = cell.str.slice(1).str.strip_chars()
            limit = pl.when(below).then(_number(rest))
            value = pl.when(~below).then(_number(cell))
            exprs += [value.alias("value"), below.fill_null(False).alias("__below"), limit.alias("__limit")]
            checks.append(
                (
                    "value",
                    cell.is_not_null() & ~below & value.is_null(),
                    _quoted(cell, f"is not a number ({_NUMBER_HINT}; below the detection limit: <0,05 or <LOD)"),
                )
            )
            checks.append(
                (
                    "value",
                    below & limit.is_null() & ~rest.str.contains(_WORD).fill_null(False),
                    _quoted(cell, "after < comes the detection limit (<0,05) or a word such as <LOD"),
                )
            )
    # One lazy pass: each cell parsed once (polars shares the expressions the typed column and
    # its check have in common); reasons are made only for the cells that failed.
    flags = [failed.alias(f"__failed{i}") for i, (_, failed, _) in enumerate(checks)]
    both = raw.lazy().select(*exprs, *flags, *(pl.col(f).alias(f"__cell_{f}") for f in present)).collect()
    errors = _failures(both, checks)
    typed = both.select(_output_names(exprs))
    typed = typed.with_columns(_below_lod(typed), *_lod(typed)).drop("__flag", "__below", "__limit", strict=False)
    if "value" in typed.columns and "lod" not in columns:
        errors += _unnamed_limits(raw, typed, columns)
    return typed, errors


def _below_lod(typed: pl.DataFrame) -> pl.Expr:
    flag = pl.col("__flag").fill_null(False) if "__flag" in typed.columns else pl.lit(False)
    below = pl.col("__below") if "__below" in typed.columns else pl.lit(False)
    return (flag | below).alias("below_lod")


def _lod(typed: pl.DataFrame) -> list[pl.Expr]:
    if "__limit" not in typed.columns:
        return []
    if "lod" in typed.columns:
        return [pl.coalesce(pl.col("lod"), pl.col("__limit")).alias("lod")]
    return [pl.col("__limit").alias("lod")]


def _unnamed_limits(raw: pl.DataFrame, typed: pl.DataFrame, columns: dict[str, str]) -> list[tuple[int, str, str]]:
    """'<LOD' where the file has no lod column to say which limit: said at the cell."""
    word = pl.col("__cell").str.slice(1).str.strip_chars().str.contains(_WORD)  # <LOD, not <x or <
    where = pl.col("below_lod") & pl.col("lod").is_null() & pl.col("__cell").str.starts_with("<") & word
    bad = typed.with_columns(raw["value"].alias("__cell")).filter(where).select(_ROW, "__cell")
    return [
        (row, "value", f'"{_short(cell)}" names no detection limit: write it as <0,05, or add a column for the lod')
        for row, cell in bad.iter_rows()
    ]


def _failures(both: pl.DataFrame, checks: list[tuple[str, pl.Expr, pl.Expr]]) -> list[tuple[int, str, str]]:
    """(row, field, reason) of every failed check; `both` holds the flags and the raw cells
    (as __cell_<field>), which the reasons quote."""
    errors: list[tuple[int, str, str]] = []
    cells = both.select(_ROW, *(pl.col(f"__cell_{f}").alias(f) for f in {field for field, _, _ in checks}))
    for i, (field, _, reason) in enumerate(checks):
        failed = both.get_column(f"__failed{i}").fill_null(False)
        if failed.any():
            bad = cells.filter(failed).select(_ROW, reason.alias("reason"))
            errors.extend((row, field, text) for row, text in bad.iter_rows())
    return errors


def _output_names(exprs: list[pl.Expr]) -> list[str]:
    """The output names of these expressions."""
    return [e.meta.output_name() for e in exprs]


def _quoted(cell: pl.Expr, reason: str) -> pl.Expr:
    """'"<cell>" <reason>' with the cell cut at 40 characters: the caller's own text."""
    shown = pl.when(cell.str.len_chars() > 40).then(cell.str.slice(0, 40) + "…").otherwise(cell)
    return pl.format('"{}" {}', shown, pl.lit(reason))


def _short(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[:length] + "…"


def _text(field: str, cell: pl.Expr) -> pl.Expr:
    synonyms = _SYNONYMS.get(field)
    if synonyms is None:
        return cell
    lower = cell.str.to_lowercase()
    return pl.when(lower.is_in(list(synonyms))).then(lower.replace(synonyms)).otherwise(cell)


def _number(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(_NUMBER)).then(text.str.replace(",", ".").cast(pl.Float64, strict=False))


def _flag(cell: pl.Expr) -> pl.Expr:
    lower = cell.str.to_lowercase()
    return pl.when(lower.is_in(_YES)).then(True).when(lower.is_in(_NO)).then(False)


def _datetime(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The instant in UTC, and the wall-clock reading (to tell a skipped hour from garbage)."""
    dutch = cell.str.extract_groups(_DUTCH_DATE)
    iso = cell.str.extract_groups(_ISO_DATE)

    def part(group: pl.Expr, name: str) -> pl.Expr:
        return group.struct.field(name)

    from_dutch = _wall_clock([part(dutch, n) for n in ("3", "2", "1", "4", "5", "6")])
    from_iso = _wall_clock([part(iso, str(n)) for n in range(1, 8)])
    text = pl.when(part(dutch, "1").is_not_null()).then(from_dutch).otherwise(from_iso)
    local = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
    offset = part(iso, "8")
    digits = offset.str.replace(":", "")
    sign = pl.when(digits.str.starts_with("-")).then(-1).otherwise(1)
    minutes = (
        pl.when(offset == "Z")
        .then(0)
        .otherwise(
            sign
            * (
                digits.str.slice(1, 2).cast(pl.Int32, strict=False) * 60
                + digits.str.slice(3, 2).cast(pl.Int32, strict=False)
            )
        )
    )
    zoned = local.dt.replace_time_zone(_ZONE, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
    utc = (local - pl.duration(minutes=minutes)).dt.replace_time_zone("UTC")
    return pl.when(offset.is_null()).then(zoned).otherwise(utc), local


def _wall_clock(parts: list[pl.Expr]) -> pl.Expr:
    """'YYYY-MM-DD HH:MM:SS[.fff]' from year, month, day, hour, minute, second [, fraction]."""
    year, month, day, hour, minute, second = parts[:6]
    fraction = parts[6] if len(parts) > 6 else pl.lit("")
    return pl.concat_str(
        year,
        pl.lit("-"),
        month.str.zfill(2),
        pl.lit("-"),
        day.str.zfill(2),
        pl.lit(" "),
        hour.fill_null("0").str.zfill(2),
        pl.lit(":"),
        minute.fill_null("00"),
        pl.lit(":"),
        second.fill_null("00"),
        fraction.fill_null(""),
    )


def _build_items(typed: pl.DataFrame, prepared: Prepared, unreadable: set[int]) -> None:
    """Typed rows as MeasurementIn, 10,000 at a time: one msgspec decode per chunk (row by row
    only in a chunk with a bad row), then as the batch's columns, checked by MeasurementIn's
    rules over whole columns (schemas/measurement_columns.py). A row with a cell that could
    not be read is checked on its own and never stored."""
    fields = [f for f in FIELDS if f in typed.columns]
    rows = typed[_ROW].to_list()
    table = typed.select(fields)
    for start in range(0, table.height, IMPORT_CHUNK_ROWS):
        part = table.slice(start, IMPORT_CHUNK_ROWS)
        numbers = rows[start : start + IMPORT_CHUNK_ROWS]
        try:
            decoded: list[MeasurementIn | None] = list(msgspec.json.decode(part.write_json(), type=list[MeasurementIn]))
        except msgspec.ValidationError:
            decoded = [
                _decoded(line, row, prepared)
                for line, row in zip(part.write_ndjson().splitlines(), numbers, strict=True)
            ]
        items, positions = [], []
        for item, row in zip(decoded, numbers, strict=True):
            if item is None:
                continue
            if row in unreadable:  # its other cells, by the same rules (a few rows)
                prepared.errors.extend(prepared.at(row, p.field, p.reason) for p in item.problems())
                continue
            items.append(item)
            positions.append(row)
        if items:
            columns = MeasurementColumns(items, positions)
            prepared.errors.extend(prepared.locate_frame(schema_problems(columns)))
            prepared.chunks.append(columns)


def _decoded(line: str, row: int, prepared: Prepared) -> MeasurementIn | None:
    """One row, or None with its errors noted (every bad field, as a JSON item's are)."""
    try:
        return msgspec.json.decode(line, type=MeasurementIn)
    except msgspec.ValidationError:
        pass
    cells = {k: v for k, v in msgspec.json.decode(line, type=dict[str, object]).items() if v is not None}
    try:
        parse(MeasurementIn, cells)
    except InvalidInput as exc:
        prepared.errors.extend(prepared.at(row, e.field, _in_words(e.reason, e.field, prepared)) for e in exc.errors)
    return None


def _in_words(reason: str, field: str, prepared: Prepared) -> str:
    """A missing field of a row is an empty cell (or a column the file lacks)."""
    if reason != "required field is missing":
        return reason
    return "is empty; required" if field in prepared.columns else f"required: the file has no column for {field}"
