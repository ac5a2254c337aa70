"""Lab files straight in: POST a lab's CSV or xlsx, read and save the column mapping, and
download the template a lab fills in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter

from registry.access import Work
from registry.api.idempotency import Created, create_once
from registry.lab_import.convert import numeric_headers, prepare
from registry.lab_import.files import XLSX_TYPE, format_of, read_table
from registry.lab_import.template import media_type, template
from registry.services import lab_import as service
from schemas.lab_import import (
    MAX_IMPORT_ROWS,
    MAX_REPORTED_ERRORS,
    ImportFormat,
    ImportMapping,
    ImportMappingOut,
    ImportResult,
)

__all__ = ["LabImportController"]

# 100,000 rows with every column filled are some 30 MB of CSV; an xlsx of them is smaller.
IMPORT_MAX_BYTES = 64 * 1024 * 1024
_FILE = Schema(type=OpenAPIType.STRING, format=None)
_BINARY = Schema(type=OpenAPIType.STRING, content_media_type=XLSX_TYPE, content_encoding=None)


@dataclass
class ImportOperation(Operation):
    """The body is a lab's file, decoded by the handler: documented as both media types."""

    def __post_init__(self) -> None:
        csv = Schema(
            type=OpenAPIType.STRING,
            description="`;`- or `,`-separated, UTF-8 with or without BOM; the header row names the columns",
        )
        self.request_body = RequestBody(
            content={"text/csv": OpenAPIMediaType(schema=csv), XLSX_TYPE: OpenAPIMediaType(schema=_BINARY)},
            required=True,
            description="the lab's file: its first sheet (xlsx) or its rows (CSV), the header in row 1",
        )


@dataclass
class TemplateOperation(Operation):
    """The answer is a file: documented as both media types."""

    def __post_init__(self) -> None:
        content = {"text/csv": OpenAPIMediaType(schema=_FILE), XLSX_TYPE: OpenAPIMediaType(schema=_BINARY)}
        self.responses = {
            "200": OpenAPIResponse(description="the template (format=csv or format=xlsx)", content=content)
        }


class LabImportController(Controller):
    path = "/api/v1/measurements/import"
    tags = ("exposure",)

    @post(
        "",
        summary=f"Record a lab's file of results (CSV or xlsx, up to {MAX_IMPORT_ROWS:,} rows), all or nothing",
        description=(
            "The file's columns are read through your column mapping (`GET /api/v1/measurements/import/mapping`; "
            "by default the template's headers). Dutch conventions are understood: 0,12 and 0.12; non-detects "
            "as <0,05 or <LOD (with a detection-limit column); dates as 31-12-2025 08:30 (Dutch local time) or "
            "ISO 8601. If any row is bad nothing is stored, and every error names the row as a spreadsheet shows "
            f'it (the header is row 1) and the column by its header, e.g. `row 7, column "Concentratie"`; the '
            f"first {MAX_REPORTED_ERRORS:,} errors are listed and `detail` counts them all. The answer gives the "
            "number stored and their ids, in the file's row order."
        ),
        request_max_body_size=IMPORT_MAX_BYTES,
        operation_class=ImportOperation,
        sync_to_thread=True,
    )
    def import_file(self, request: Request[Any, Any, Any], body: bytes, work: Work) -> Response[ImportResult]:
        # `body` is the raw request body (Litestar would decode `data` as JSON).
        file_format = format_of(request.headers.get("Content-Type"), body)
        mapping = service.mapping_of(work.read(service.mapping_in_force))
        prepared = prepare(read_table(body, file_format, numeric_headers(mapping)), mapping)
        ignored = prepared.ignored_columns

        def create(work: Work) -> Created[ImportResult]:
            ids = service.record_prepared(work, prepared)
            return ImportResult(stored=len(ids), ids=ids, ignored_columns=ignored), ids, 201

        def replay(work: Work, ids: list[uuid.UUID]) -> ImportResult:
            return ImportResult(stored=len(ids), ids=ids, ignored_columns=ignored)

        return create_once(request, work, resource_type="measurement", create=create, replay=replay)

    @get(
        "/mapping",
        summary="Which column of a lab's file holds which field (yours, or the default)",
        sync_to_thread=True,
    )
    def get_mapping(self, work: Work) -> ImportMappingOut:
        return work.read(service.mapping_in_force)

    @put(
        "/mapping",
        summary="Save your column mapping for lab files",
        description=(
            "`columns` maps a measurement's fields to the headers of your lab's file (matched trimmed and "
            "regardless of case); `defaults` give a value for a field whose cell is empty or that the file has no "
            "column for (e.g. `sample_type: personal_air`). Every field `MeasurementIn` requires needs one of both."
        ),
        sync_to_thread=True,
    )
    def save_mapping(self, data: ImportMapping, work: Work) -> ImportMappingOut:
        service.valid_mapping(data)
        return work.write(lambda w: service.save_mapping(w, data))

    @get(
        "/template",
        summary="A file for a lab to fill in: your mapping's header row and an example row",
        operation_class=TemplateOperation,
        sync_to_thread=True,
    )
    def get_template(
        self,
        work: Work,
        file_format: Annotated[ImportFormat, Parameter(query="format", description="csv or xlsx")] = "csv",
    ) -> Response[bytes]:
        mapping = service.mapping_of(work.read(service.mapping_in_force))
        name = f"metingen-sjabloon.{file_format}"
        return Response(
            template(mapping, file_format),
            media_type=media_type(file_format),
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
