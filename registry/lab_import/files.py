"""A lab's file as a table of text cells: CSV (`;` or `,`, UTF-8 with or without BOM) or
Excel xlsx (the first sheet), read by polars (xlsx through fastexcel/calamine).

Every cell stays text here, exactly as the lab wrote it: how "0,12", "<LOD" or
"31-12-2025 08:30" are meant is decided in one place, registry/lab_import/convert.py.
Blank rows are kept (as all-null rows), so a row's index plus 2 is the row number a
spreadsheet shows (the header is row 1).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Collection

import fastexcel
import polars as pl

from schemas.errors import FieldError, InvalidInput
from schemas.lab_import import MAX_IMPORT_ROWS, ImportFormat

__all__ = ["CSV_TYPES", "XLSX_TYPE", "format_of", "read_table"]

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})
_ZIP_MAGIC = b"PK\x03\x04"
# An xlsx is a zip archive: refuse one that unpacks to more than this before calamine
# unpacks it in memory (a few MiB of zip can hold GiBs of repeated XML).
_MAX_UNPACKED_BYTES = 512 * 1024 * 1024
_BODY = "body"


def format_of(content_type: str | None, content: bytes) -> ImportFormat:
    """The file's format from its media type; without a usable one, from its first bytes."""
    media, _, parameters = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = next(
        (
            p.split("=", 1)[1].strip().strip('"').lower()
            for p in parameters.split(";")
            if p.strip().startswith("charset=")
        ),
        None,
    )
    if media == XLSX_TYPE:
        return "xlsx"
    if media in CSV_TYPES:
        if charset not in (None, "utf-8", "utf8"):
            raise _invalid("header:Content-Type", f"charset {charset}: send the file as UTF-8 (Excel: 'CSV UTF-8')")
        return "csv"
    if media in ("", "application/octet-stream", "application/x-www-form-urlencoded"):  # curl's default
        return "xlsx" if content.startswith(_ZIP_MAGIC) else "csv"
    raise _invalid(
        "header:Content-Type",
        f"{media} is not a lab file: send text/csv or {XLSX_TYPE} (JSON goes to /api/v1/measurements/batch)",
    )


def read_table(content: bytes, file_format: ImportFormat, numeric_headers: Collection[str] = ()) -> pl.DataFrame:
    """The file's cells as text columns named by its header row (as the reader names them: a
    repeated header gets a suffix), at most MAX_IMPORT_ROWS rows. `numeric_headers` name the
    columns that hold numbers: an xlsx number cell there is given in full (calamine's own
    text of a number keeps 9 decimals)."""
    if not content.strip():
        raise _invalid(_BODY, "the file is empty: send the header row and at least one row of results")
    frame = _read_xlsx(content, numeric_headers) if file_format == "xlsx" else _read_csv(content)
    if frame.height > MAX_IMPORT_ROWS:
        raise _invalid(_BODY, f"more than {MAX_IMPORT_ROWS:,} rows: split the file")
    return frame


def _read_csv(content: bytes) -> pl.DataFrame:
    text_start = content.removeprefix(b"\xef\xbb\xbf")
    header_line = text_start.split(b"\n", 1)[0]
    separator = ";" if header_line.count(b";") >= max(1, header_line.count(b",")) else ","
    try:
        return pl.read_csv(
            content,
            separator=separator,
            infer_schema=False,  # every cell as text: convert.py reads it the Dutch way
            n_rows=MAX_IMPORT_ROWS + 1,
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.ComputeError as exc:
        message = str(exc).splitlines()[0]
        if "utf-8" in message.lower() or "utf8" in message.lower():
            raise _invalid(_BODY, "the file is not UTF-8 text: save it as 'CSV UTF-8'") from None
        if "more fields" in message:
            raise _invalid(_BODY, f"a row has more cells than the header row ({separator!r}-separated)") from None
        raise _invalid(_BODY, f"not a readable CSV file: {message}") from None


def _read_xlsx(content: bytes, numeric_headers: Collection[str]) -> pl.DataFrame:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _invalid(_BODY, "not an xlsx file (an xlsx is a zip archive; save the sheet as .xlsx)") from None
    if unpacked > _MAX_UNPACKED_BYTES:
        raise _invalid(_BODY, f"the xlsx unpacks to more than {_MAX_UNPACKED_BYTES // 2**20} MiB: split the file")
    try:
        frame = pl.read_excel(
            content,
            sheet_id=1,
            engine="calamine",
            infer_schema_length=0,  # every cell as text, dates as 2025-12-31 08:30:00
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
            read_options={"n_rows": MAX_IMPORT_ROWS + 1},
        )
        wanted = {h.strip().casefold() for h in numeric_headers}
        numeric = [i for i, name in enumerate(frame.columns) if name.strip().casefold() in wanted]
        return _exact_numbers(content, frame, numeric) if numeric else frame
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _invalid(_BODY, f"not a readable xlsx file: {message}") from None


def _exact_numbers(content: bytes, frame: pl.DataFrame, numeric: list[int]) -> pl.DataFrame:
    """The number cells of these columns read again as numbers, by the same calamine reader
    (text cells such as "<0,05" come back empty there and keep their text)."""
    sheet = fastexcel.read_excel(content).load_sheet(
        0, use_columns=numeric, dtypes=dict.fromkeys(numeric, "float"), n_rows=MAX_IMPORT_ROWS + 1
    )
    exact = pl.DataFrame(sheet.to_polars())
    if exact.height != frame.height:  # not the same rows: keep the text (9 decimals) rather than guess
        return frame
    numbers = [exact.to_series(i) for i in range(exact.width)]
    return frame.with_columns(
        pl.when(number.is_not_null())
        .then(number.cast(pl.String))
        .otherwise(pl.col(frame.columns[i]))
        .alias(frame.columns[i])
        for i, number in zip(numeric, numbers, strict=True)
    )


def _invalid(field: str, reason: str) -> InvalidInput:
    return InvalidInput([FieldError(field=field, reason=reason)])
