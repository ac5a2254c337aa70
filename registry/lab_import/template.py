"""The file a lab fills in: the employer's column mapping as a header row and one example
row, as CSV (`;`-separated, decimal commas, UTF-8 with BOM: Excel in Dutch opens it as it
is) or as xlsx (numbers and dates as real cells, and a second sheet that explains each
column in Dutch and English). The import reads the first sheet only.
"""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
from xlsxwriter import Workbook  # type: ignore[import-untyped]

from schemas.lab_import import FIELDS, ImportFormat, ImportMapping

__all__ = ["CSV_MEDIA_TYPE", "media_type", "template"]

CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8"
_XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_START = dt.datetime(2025, 3, 4, 7, 30)
# The example row: a lab's personal benzene sample; the ids are the employer's to fill in.
_EXAMPLE: dict[str, object] = {
    "sample_type": "personal_air",
    "substance_cas": "71-43-2",
    "value": 0.12,
    "below_lod": "nee",
    "unit": "mg/m3",
    "sampling_start": _START,
    "sampling_end": _START + dt.timedelta(hours=8),
    "air_volume_l": 96.0,
    "method": "NIOSH 1501",
    "lab": "Arbolab",
    "lab_report_id": "R-2025-0001",
    "task": "tanken",
}
# What goes in each column, Dutch first, then English.
_MEANING: dict[str, str] = {
    "sample_type": "personal_air, static_air of biological (ook: persoonlijk, stationair, biologisch) / sample type",
    "substance_cas": "CAS-nummer van de stof, of laat leeg en vul Stof-id / the substance's CAS number",
    "substance_id": "id van de stof in de catalogus (stoffen zonder CAS) / catalogue id of an agent without CAS",
    "worker_id": "werknemer-id uit het register (persoonlijk en biologisch) / the registry's worker id",
    "seg_id": "id van de SEG / id of the similar exposure group",
    "site_id": "id van de locatie / id of the site",
    "value": "uitslag, 0,12 of 0.12; onder de detectiegrens: <0,05 of <LOD / the result, or <0,05 or <LOD",
    "below_lod": "ja of nee (ook af te leiden uit <) / below the limit of detection: yes or no",
    "lod": "detectiegrens (bij <LOD) / the limit of detection",
    "unit": "eenheid, bv. mg/m3, ppm, f/cm3, ug/100mL / unit",
    "matrix": "bij biologisch: bloed, urine, uitademingslucht, haar, overig / biological matrix",
    "analyte": "bij biologisch: de bepaalde stof / biological: the analyte",
    "sampling_start": "begin, 31-12-2025 08:30 (Nederlandse tijd) of ISO 8601 / start, Dutch local time or ISO",
    "sampling_end": "einde, 31-12-2025 16:30 / end of sampling",
    "sampled_minutes": "bemonsterde minuten als die korter zijn dan begin tot einde / minutes sampled",
    "air_volume_l": "luchtvolume in liters / air volume in litres",
    "method": "meetmethode / method",
    "lab": "laboratorium / laboratory",
    "lab_report_id": "rapportnummer van het lab / the lab's report number",
    "chain_of_custody": "monsterketen / chain of custody",
    "task": "taak tijdens de meting / task during sampling",
    "location": "plaats van de meting / where it was sampled",
    "rpe": "gedragen adembescherming / respiratory protection worn",
    "protection_factor": "beschermingsfactor van die adembescherming / its protection factor",
}


def media_type(file_format: ImportFormat) -> str:
    return CSV_MEDIA_TYPE if file_format == "csv" else _XLSX_MEDIA_TYPE


def template(mapping: ImportMapping, file_format: ImportFormat) -> bytes:
    """The mapping's columns, in the order of a measurement's fields, with the example row."""
    columns = mapping.headers()
    fields = [f for f in FIELDS if f in columns]
    headers = {f: columns[f] for f in fields}
    example = pl.DataFrame(
        [pl.Series(headers[f], [_EXAMPLE.get(f)], dtype=_dtype(f)) for f in fields],
    )
    if file_format == "csv":
        text = example.write_csv(separator=";", include_bom=True, decimal_comma=True, datetime_format="%d-%m-%Y %H:%M")
        return text.encode("utf-8")
    buffer = io.BytesIO()
    with Workbook(buffer) as workbook:
        example.write_excel(
            workbook,
            "Metingen",
            dtype_formats={pl.Datetime: "dd-mm-yyyy hh:mm"},
            float_precision=2,
            autofit=True,
            autofilter=False,
        )
        explained = pl.DataFrame(
            {"Kolom / column": [headers[f] for f in fields], "Inhoud / content": [_MEANING[f] for f in fields]}
        )
        explained.write_excel(workbook, "Toelichting", autofit=True, autofilter=False)
    return buffer.getvalue()


def _dtype(field: str) -> type[pl.DataType]:
    example = _EXAMPLE.get(field)
    if isinstance(example, dt.datetime):
        return pl.Datetime
    if isinstance(example, float):
        return pl.Float64
    return pl.String
