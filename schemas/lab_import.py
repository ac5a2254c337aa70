"""A lab's file of results: which column holds which field of a measurement, and what an
import answers.

Labs deliver CSV or Excel with their own headers. An employer saves a column mapping once
(field -> header); without one the template's own Dutch headers apply. Each field of
`MeasurementIn` can be mapped; `defaults` give a value for cells that are empty, or for a
field the file has no column for at all (a lab that only does personal air samples has no
"Monstertype" column).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec

from schemas.common import ShortText
from schemas.errors import FieldError
from schemas.exposure import MeasurementIn
from schemas.text import ONE_LINE

__all__ = [
    "DEFAULT_HEADERS",
    "FIELDS",
    "IMPORT_CHUNK_ROWS",
    "MAX_IMPORT_ROWS",
    "MAX_REPORTED_ERRORS",
    "REQUIRED_FIELDS",
    "ImportFormat",
    "ImportMapping",
    "ImportMappingOut",
    "ImportResult",
    "MeasurementField",
]

# One import is at most 100,000 rows (ten JSON batches): checked and stored in one
# transaction, in chunks of 10,000 (the batch's own size), so all or nothing still holds.
MAX_IMPORT_ROWS = 100_000
IMPORT_CHUNK_ROWS = 10_000
# A bad file is reported by row and column up to this many errors; the total is counted.
MAX_REPORTED_ERRORS = 1_000

ImportFormat = Literal["csv", "xlsx"]
MeasurementField = Literal[
    "sample_type",
    "substance_cas",
    "substance_id",
    "worker_id",
    "seg_id",
    "site_id",
    "value",
    "below_lod",
    "lod",
    "unit",
    "matrix",
    "analyte",
    "sampling_start",
    "sampling_end",
    "sampled_minutes",
    "air_volume_l",
    "method",
    "lab",
    "lab_report_id",
    "chain_of_custody",
    "task",
    "location",
    "rpe",
    "protection_factor",
]
FIELDS: tuple[str, ...] = MeasurementIn.__struct_fields__

# The template's headers, in the order of its columns: what a Dutch lab calls each field.
DEFAULT_HEADERS: dict[str, str] = {
    "sample_type": "Monstertype",
    "substance_cas": "CAS-nummer",
    "substance_id": "Stof-id",
    "worker_id": "Werknemer-id",
    "seg_id": "SEG-id",
    "site_id": "Locatie-id",
    "value": "Concentratie",
    "below_lod": "Onder detectiegrens",
    "lod": "Detectiegrens",
    "unit": "Eenheid",
    "matrix": "Matrix",
    "analyte": "Analyt",
    "sampling_start": "Begin monstername",
    "sampling_end": "Einde monstername",
    "sampled_minutes": "Bemonsterde minuten",
    "air_volume_l": "Luchtvolume (l)",
    "method": "Methode",
    "lab": "Laboratorium",
    "lab_report_id": "Rapportnummer",
    "chain_of_custody": "Monsterketen",
    "task": "Taak",
    "location": "Plaats",
    "rpe": "Adembescherming",
    "protection_factor": "Beschermingsfactor",
}
# What every row needs, from a column or a default (the rest may stay empty).
REQUIRED_FIELDS = tuple(f.name for f in msgspec.structs.fields(MeasurementIn) if f.required)

Header = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE, examples=["Concentratie"])]


class ImportMapping(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which header of the lab's file holds which field (headers match trimmed and regardless
    of case), and a value for fields the file leaves empty or has no column for."""

    columns: dict[MeasurementField, Header]
    defaults: dict[MeasurementField, ShortText] = msgspec.field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """field -> header, as plain strings."""
        return {str(field): header for field, header in self.columns.items()}

    def fallbacks(self) -> dict[str, str]:
        """field -> default, as plain strings."""
        return {str(field): value for field, value in self.defaults.items()}

    def problems(self) -> Iterator[FieldError]:
        seen: dict[str, str] = {}
        for field, header in self.headers().items():
            key = header.strip().casefold()
            if key in seen:
                yield FieldError(field=f"columns.{field}", reason=f'column "{header}" already holds {seen[key]}')
            seen[key] = field
        for field in REQUIRED_FIELDS:
            if field not in self.columns and field not in self.defaults:
                yield FieldError(field=f"columns.{field}", reason="required: name its column or give it a default")

    @classmethod
    def default(cls) -> ImportMapping:
        return msgspec.convert({"columns": DEFAULT_HEADERS}, cls)


class ImportMappingOut(msgspec.Struct, kw_only=True):
    """The mapping in force for this employer; `saved` is false while the default applies."""

    columns: dict[str, str]
    defaults: dict[str, str]
    saved: bool
    updated_at: dt.datetime | None = None


class ImportResult(msgspec.Struct, kw_only=True):
    """What an import stored: how many measurements and their ids, in the file's row order.
    `ignored_columns` are the file's columns no field is mapped to, the first 100 (a misspelt
    header shows here)."""

    stored: int
    ids: list[uuid.UUID]
    ignored_columns: list[str] = msgspec.field(default_factory=list)
