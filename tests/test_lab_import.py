"""Lab files straight in (issue 15, item 3): CSV and xlsx as Dutch labs write them, over real
HTTP against a real server on both stores, and through `registry import`.

The files are made here as a lab would make them: CSV text with decimal commas and a BOM,
and xlsx written with polars (xlsxwriter), with number and date cells.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from registry.lab_import.convert import prepare
from registry.lab_import.files import read_table
from schemas.exposure import MeasurementIn
from schemas.lab_import import DEFAULT_HEADERS, FIELDS, MAX_IMPORT_ROWS, ImportMapping, MeasurementField
from tests.conftest import Employer, Place, Server, create_employer, run_cli
from tests.helpers import new_worker

Live = tuple[Server, Employer, Employer]
CSV = {"Content-Type": "text/csv"}
XLSX = {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
HEADER = "Monstertype;CAS-nummer;Werknemer-id;Concentratie;Detectiegrens;Eenheid;Begin monstername;Einde monstername"


def _csv(*rows: str, header: str = HEADER, bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n").encode()


def _row(
    worker: str, result: str, lod: str = "", start: str = "04-03-2025 07:30", end: str = "04-03-2025 15:30"
) -> str:
    return f"personal_air;71-43-2;{worker};{result};{lod};mg/m3;{start};{end}"


def _import(client: httpx.Client, content: bytes, headers: dict[str, str] = CSV) -> httpx.Response:
    return client.post("/api/v1/measurements/import", content=content, headers=headers)


def _stored(client: httpx.Client, ids: list[str]) -> list[dict[str, Any]]:
    found = []
    for measurement_id in ids:
        answer = client.get(f"/api/v1/measurements/{measurement_id}")
        assert answer.status_code == 200, answer.text
        found.append(answer.json())
    return found


def _count(client: httpx.Client, worker: str) -> int:
    total: int = client.get("/api/v1/measurements", params={"worker_id": worker}).json()["total"]
    return total


def test_a_csv_with_decimal_commas_and_non_detects_is_stored(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        content = _csv(
            _row(worker, "0,12"),
            _row(worker, "<0,05"),
            _row(worker, "< 0.05"),
            _row(worker, "<LOD", lod="0,02"),
            _row(worker, "<RG", lod="<0,03"),
            _row(worker, "1,5", start="01-07-2024 08:00", end="1-7-2024 16:00"),  # summer time
            _row(worker, "2.25", start="2024-12-31T08:30", end="2024-12-31T16:30:00+00:00"),
            ";;;;;;;",  # a blank row, as spreadsheets leave them
        )
        answer = _import(client, content)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["stored"] == 7 and len(body["ids"]) == 7 and body["ignored_columns"] == []
        rows = _stored(client, body["ids"])
    assert [(m["value"], m["below_lod"], m["lod"]) for m in rows] == [
        (0.12, False, None),
        (None, True, 0.05),
        (None, True, 0.05),
        (None, True, 0.02),
        (None, True, 0.03),
        (1.5, False, None),
        (2.25, False, None),
    ]
    # Without an offset a time is Dutch local time: CET in March and December, CEST in July.
    assert rows[0]["sampling_start"] == "2025-03-04T06:30:00Z"
    assert (rows[5]["sampling_start"], rows[5]["sampling_end"]) == ("2024-07-01T06:00:00Z", "2024-07-01T14:00:00Z")
    assert (rows[6]["sampling_start"], rows[6]["sampling_end"]) == ("2024-12-31T07:30:00Z", "2024-12-31T16:30:00Z")
    assert {m["worker_id"] for m in rows} == {worker} and {m["unit"] for m in rows} == {"mg/m3"}


def test_a_comma_separated_csv_and_unknown_columns(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        header = (
            "monstertype , CAS-NUMMER,Werknemer-id,Concentratie,Eenheid,Begin monstername,Einde monstername,Opmerking"
        )
        content = _csv(
            f'persoonlijk,71-43-2,{worker},"0,7",mg/m3,2025-03-04 07:30,2025-03-04 15:30,"duplo, zie rapport"',
            header=header,
            bom=False,
        )
        answer = _import(client, content, headers={"Content-Type": "text/csv; charset=utf-8"})
        assert answer.status_code == 201, answer.text
        assert answer.json()["ignored_columns"] == ["Opmerking"]
        (stored,) = _stored(client, answer.json()["ids"])
        assert stored["value"] == 0.7 and stored["sample_type"] == "personal_air"


def _xlsx(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_excel(buffer)
    return buffer.getvalue()


def test_an_xlsx_with_number_and_date_cells_is_stored(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        start = dt.datetime(2025, 3, 4, 7, 30)
        frame = pl.DataFrame(
            {
                "Monstertype": ["personal_air"] * 3,
                "CAS-nummer": ["71-43-2"] * 3,
                "Werknemer-id": [worker] * 3,
                # a column of numbers and text, as a lab fills it: the number kept in full
                "Concentratie": ["0.000012345678", "<0,05", "3"],
                "Detectiegrens": [None, None, None],
                "Eenheid": ["mg/m3"] * 3,
                "Begin monstername": [start] * 3,
                "Einde monstername": [start + dt.timedelta(hours=8)] * 3,
                "Luchtvolume (l)": [96.5, 96.5, 96.5],
            },
            schema_overrides={"Detectiegrens": pl.Float64},
        )
        content = _xlsx(frame)
        answer = _import(client, content, headers=XLSX)
        assert answer.status_code == 201, answer.text
        rows = _stored(client, answer.json()["ids"])
        assert [(m["value"], m["below_lod"], m["lod"]) for m in rows] == [
            (0.000012345678, False, None),
            (None, True, 0.05),
            (3.0, False, None),
        ]
        assert {m["sampling_start"] for m in rows} == {"2025-03-04T06:30:00Z"}
        assert {m["air_volume_l"] for m in rows} == {96.5}

        # A number cell beyond calamine's 9 decimals of text, read in full.
        tiny = pl.DataFrame(
            {
                "Monstertype": ["personal_air"],
                "CAS-nummer": ["71-43-2"],
                "Werknemer-id": [worker],
                "Concentratie": [1.2345e-10],
                "Eenheid": ["mg/m3"],
                "Begin monstername": [start],
                "Einde monstername": [start + dt.timedelta(hours=8)],
            }
        )
        answer = _import(client, _xlsx(tiny), headers={})  # no media type: recognised by its bytes
        assert answer.status_code == 201, answer.text
        assert _stored(client, answer.json()["ids"])[0]["value"] == 1.2345e-10


def test_a_file_with_three_bad_rows_stores_nothing_and_names_each_row_and_column(live: Live) -> None:
    server, first, second = live
    with server.client(first.api_key) as client, server.client(second.api_key) as other:
        worker = new_worker(client)
        foreign = new_worker(other)
        before = _count(client, worker)
        content = _csv(
            _row(worker, "0,12"),
            _row(worker, "veel"),  # row 3: not a number
            _row(foreign, "0,2"),  # row 4: another employer's worker
            _row(worker, "0,3"),
            _row(worker, "0,4", start="31-02-2025 07:30"),  # row 6: no such date
            _row(worker, "0,5"),
        )
        answer = _import(client, content)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert [e["field"] for e in problem["errors"]] == [
            'row 3, column "Concentratie"',
            'row 4, column "Werknemer-id"',
            'row 6, column "Begin monstername"',
        ]
        assert '"veel" is not a number' in problem["errors"][0]["reason"]
        assert "3 error(s) in 3 of 6 row(s); nothing was stored" in problem["detail"]
        assert (problem["total_errors"], problem["invalid_items"]) == (3, 3)
        assert _count(client, worker) == before

        # A hostile employer learns nothing from the error: another employer's worker reads
        # exactly like an id that exists nowhere.
        unknown = str(uuid.uuid4())
        again = _import(client, _csv(_row(unknown, "0,2")))
        assert again.json()["errors"][0]["reason"] == problem["errors"][1]["reason"]
        assert foreign not in problem["errors"][1]["reason"]


def test_errors_are_capped_and_counted(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        content = _csv(*[_row(worker, "x") for _ in range(1_200)])
        answer = _import(client, content)
        assert answer.status_code == 422
        problem = answer.json()
        assert len(problem["errors"]) == 1_000 and problem["errors"][-1]["field"] == 'row 1001, column "Concentratie"'
        assert "1,200 error(s) in 1,200 of 1,200 row(s)" in problem["detail"] and "first 1,000" in problem["detail"]
        assert (problem["total_errors"], problem["invalid_items"]) == (1_200, 1_200)


def test_files_that_cannot_be_read_are_refused_with_a_reason(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        cases = [
            (b"", CSV, "body", "empty"),
            (_csv(_row(worker, "0,1")), {"Content-Type": "application/json"}, "header:Content-Type", "not a lab file"),
            ("Concentratie;Eenheid\n0,1;mg/m³\n".encode("latin-1"), CSV, "body", "UTF-8"),
            (_csv(_row(worker, "0,1") + ";extra"), CSV, "body", "more cells"),
            (b"PK\x03\x04 not really a zip", XLSX, "body", "xlsx"),
            (_csv(header="Monstertype;Concentratie"), CSV, 'column "Eenheid"', "not in the file"),
            (_csv(), CSV, "body", "no rows"),
            (
                _csv(_row(worker, "0,1") + ";0,2", header=HEADER + "; concentratie"),
                CSV,
                'column "Concentratie"',
                "2 times",
            ),
            (b"Eenheid\n" + b"mg/m3\n" * (MAX_IMPORT_ROWS + 1), CSV, "body", "more than 100,000 rows"),
        ]
        for content, headers, field, reason in cases:
            answer = _import(client, content, headers)
            assert answer.status_code == 422, (field, answer.text)
            first_error = answer.json()["errors"][0]
            assert first_error["field"] == field and reason in first_error["reason"], first_error


def test_a_retry_of_the_same_file_stores_it_once(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        content = _csv(_row(worker, "0,12"), _row(worker, "<0,05"))
        headers = {**CSV, "Idempotency-Key": f"lab-{uuid.uuid4()}"}
        once = _import(client, content, headers)
        again = _import(client, content, headers)
        assert once.status_code == again.status_code == 201
        assert again.json()["ids"] == once.json()["ids"] and again.headers["Idempotent-Replayed"] == "true"
        assert _count(client, worker) == 2
        other = _import(client, _csv(_row(worker, "0,13")), headers)
        assert other.status_code == 409


def test_the_template_round_trips(live: Live) -> None:
    """Download the template, fill it in as a lab would, upload it: stored."""
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        csv = client.get("/api/v1/measurements/import/template", params={"format": "csv"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert csv.content.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel in Dutch
        text = csv.content.decode("utf-8-sig")
        header, example = text.splitlines()[:2]
        assert header.split(";") == list(DEFAULT_HEADERS.values())
        cells = example.split(";")
        cells[header.split(";").index("Werknemer-id")] = worker
        filled = (text.splitlines()[0] + "\n" + ";".join(cells) + "\n").encode()
        answer = _import(client, filled)
        assert answer.status_code == 201, answer.text
        (stored,) = _stored(client, answer.json()["ids"])
        assert (stored["value"], stored["air_volume_l"], stored["lab_report_id"]) == (0.12, 96.0, "R-2025-0001")

        xlsx = client.get("/api/v1/measurements/import/template", params={"format": "xlsx"})
        assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX["Content-Type"]
        sheet = pl.read_excel(xlsx.content, sheet_name="Metingen")
        assert sheet.columns == list(DEFAULT_HEADERS.values())
        assert "Toelichting" in pl.read_excel(xlsx.content, sheet_id=0)
        filled_sheet = sheet.with_columns(pl.lit(worker).alias("Werknemer-id"), pl.lit("R-xlsx").alias("Rapportnummer"))
        answer = _import(client, _xlsx(filled_sheet), headers=XLSX)
        assert answer.status_code == 201, answer.text
        (stored,) = _stored(client, answer.json()["ids"])
        assert (stored["value"], stored["sampling_start"], stored["lab_report_id"]) == (
            0.12,
            "2025-03-04T06:30:00Z",
            "R-xlsx",
        )


LAB_MAPPING = {
    "columns": {
        "worker_id": "Medewerker",
        "substance_cas": "CAS",
        "value": "Resultaat",
        "lod": "Rapportagegrens",
        "sampling_start": "Start",
        "sampling_end": "Stop",
        "lab_report_id": "Certificaat",
    },
    "defaults": {"sample_type": "persoonlijk", "unit": "mg/m3", "lab": "Eurofins"},
}


def test_the_saved_mapping_is_used(live: Live) -> None:
    server, first, _ = live
    # An employer of its own: the mapping is per employer, and the module's others keep theirs.
    kvk = str(uuid.uuid4().int % 90_000_000 + 10_000_000)
    mine = create_employer(server.place, kvk, "Mapping B.V.")
    with server.client(mine.api_key) as client, server.client(first.api_key) as other:
        worker = new_worker(client)
        assert client.get("/api/v1/measurements/import/mapping").json()["saved"] is False
        saved = client.put("/api/v1/measurements/import/mapping", json=LAB_MAPPING)
        assert saved.status_code == 200, saved.text
        assert saved.json()["saved"] is True and saved.json()["columns"]["value"] == "Resultaat"
        again = client.put("/api/v1/measurements/import/mapping", json=LAB_MAPPING)  # replaced, not duplicated
        assert again.status_code == 200, again.text
        assert client.get("/api/v1/measurements/import/mapping").json()["defaults"] == LAB_MAPPING["defaults"]
        assert other.get("/api/v1/measurements/import/mapping").json()["saved"] is False

        lab_file = _csv(
            f"{worker};71-43-2;0,33;;2025-03-04 07:30;2025-03-04 15:30;C-1",
            f"{worker};71-43-2;<RG;0,01;2025-03-04 07:30;2025-03-04 15:30;C-2",
            header="Medewerker;CAS;Resultaat;Rapportagegrens;Start;Stop;Certificaat",
        )
        answer = _import(client, lab_file)
        assert answer.status_code == 201, answer.text
        rows = _stored(client, answer.json()["ids"])
        assert [(m["value"], m["lod"], m["lab"], m["lab_report_id"]) for m in rows] == [
            (0.33, None, "Eurofins", "C-1"),
            (None, 0.01, "Eurofins", "C-2"),
        ]
        # The template follows the saved mapping; the default headers no longer do.
        template = client.get("/api/v1/measurements/import/template").content.decode("utf-8-sig")
        assert template.splitlines()[0] == "CAS;Medewerker;Resultaat;Rapportagegrens;Start;Stop;Certificaat"
        refused = _import(client, _csv(_row(worker, "0,1")))
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ['column "Start"', 'column "Stop"']

        bad = {
            "columns": {"value": "Resultaat", "lod": " resultaat", "sampling_start": "Start"},
            "defaults": {"sampling_end": "gisteren", "bogus": "x"},
        }
        refused = client.put("/api/v1/measurements/import/mapping", json=bad)
        assert refused.status_code == 422
        bad["defaults"].pop("bogus")  # type: ignore[union-attr]
        refused = client.put("/api/v1/measurements/import/mapping", json=bad)
        fields = {e["field"] for e in refused.json()["errors"]}
        assert fields == {"columns.lod", "columns.sample_type", "columns.unit", "defaults.sampling_end"}, refused.text


def test_cli_import_with_a_progress_bar(place: Place, tmp_path: Path) -> None:
    """`registry import` alongside a running server (over its channel on the embedded
    store) and on its own, with the API's rules and errors."""
    employer = create_employer(place, "31313130", "Lab CLI B.V.")
    server = Server(place)
    server.start()
    try:
        with server.client(employer.api_key) as client:
            worker = new_worker(client)
            good = tmp_path / "uitslagen.csv"
            good.write_bytes(_csv(_row(worker, "0,12"), _row(worker, "<LOD", lod="0,02")))
            served = run_cli(place, "import", str(good), "--employer", employer.kvk)
            assert json.loads(served.stdout)["stored"] == 2
    finally:
        server.stop()
    sheet = tmp_path / "uitslagen.xlsx"
    start = dt.datetime(2025, 3, 4, 7, 30)
    frame = pl.DataFrame(
        {
            "Resultaat": [0.44, 0.55],
            "Medewerker": [worker, worker],
            "CAS": ["71-43-2", "71-43-2"],
            "Start": [start, start],
            "Stop": [start + dt.timedelta(hours=8)] * 2,
        }
    )
    sheet.write_bytes(_xlsx(frame))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(LAB_MAPPING))
    alone = run_cli(place, "import", str(sheet), "--employer", employer.kvk, "--mapping", str(mapping))
    result = json.loads(alone.stdout)
    assert result["stored"] == 2 and len(result["ids"]) == 2
    assert "opslaan / storing" in alone.stderr  # the progress bar's last state

    bad = tmp_path / "fout.csv"
    bad.write_bytes(
        _csv(_row(worker, "0,1"), _row(worker, "x"), _row(str(uuid.uuid4()), "0,1"), _row(worker, "0,1", end="x"))
    )
    refused = run_cli(place, "import", str(bad), "--employer", employer.kvk, check=False)
    assert refused.returncode == 2
    lines = [line for line in refused.stderr.splitlines() if line.startswith("fout.csv: ")]
    assert [line.split(": ")[1] for line in lines] == [
        'row 3, column "Concentratie"',
        'row 4, column "Werknemer-id"',
        'row 5, column "Einde monstername"',
    ]
    assert "nothing imported: 3 error(s) in 3 of 4 row(s)" in refused.stderr
    server.start()
    try:
        with server.client(employer.api_key) as client:
            assert _count(client, worker) == 4  # 2 + 2; the bad file stored nothing
    finally:
        server.stop()
    unknown = run_cli(place, "import", str(good), "--employer", "99999999", check=False)
    assert unknown.returncode == 2 and "no employer with KvK number 99999999" in unknown.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"columns": {"value": "Resultaat"}}))
    refused = run_cli(place, "import", str(good), "--employer", employer.kvk, "--mapping", str(wrong), check=False)
    assert refused.returncode == 2 and "--mapping" in refused.stderr and "columns.unit: required" in refused.stderr


# The rules of reading, without a server.


def test_every_field_has_a_header_and_a_place_in_the_mapping() -> None:
    assert tuple(DEFAULT_HEADERS) == FIELDS == MeasurementIn.__struct_fields__
    assert set(MeasurementField.__args__) == set(FIELDS)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("31-12-2025 08:30", "2025-12-31T07:30:00+00:00"),
        ("31/12/2025 8:30:15", "2025-12-31T07:30:15+00:00"),
        ("1.7.2025 08:30", "2025-07-01T06:30:00+00:00"),
        ("2025-12-31", "2025-12-30T23:00:00+00:00"),
        ("2025-07-01T08:30", "2025-07-01T06:30:00+00:00"),
        ("2025-07-01T08:30:00Z", "2025-07-01T08:30:00+00:00"),
        ("2025-07-01 08:30:00+0530", "2025-07-01T03:00:00+00:00"),
        ("2025-10-26 02:30", "2025-10-26T00:30:00+00:00"),  # the repeated hour: its first (summer) time
    ],
)
def test_dates_as_dutch_labs_write_them(written: str, utc: str) -> None:
    prepared = _prepared({"Begin monstername": written})
    assert prepared.errors == [], prepared.errors
    assert prepared.items[0].sampling_start.isoformat() == utc


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("2025-03-30 02:30", "does not exist in Dutch local time"),
        ("31-12-25 08:30", "is not a date and time"),
        ("morgen", "is not a date and time"),
    ],
)
def test_dates_that_are_refused(written: str, reason: str) -> None:
    prepared = _prepared({"Begin monstername": written})
    (error,) = prepared.refusal(prepared.errors).errors
    assert error.field == 'row 2, column "Begin monstername"' and reason in error.reason


@pytest.mark.parametrize(
    ("written", "value", "below_lod", "lod"),
    [
        ("0,12", 0.12, False, None),
        ("0.12", 0.12, False, None),
        ("1e-3", 0.001, False, None),
        (",5", 0.5, False, None),
        ("<0,05", None, True, 0.05),
        ("< 0.05", None, True, 0.05),
    ],
)
def test_results_and_non_detects(written: str, value: float | None, below_lod: bool, lod: float | None) -> None:
    (item,) = _prepared({"Concentratie": written}).items
    assert (item.value, item.below_lod, item.lod) == (value, below_lod, lod)


@pytest.mark.parametrize("written", ["1.234,5", "12 mg", "<", "<0,05 mg", "n.d."])
def test_results_that_are_refused(written: str) -> None:
    prepared = _prepared({"Concentratie": written})
    errors = prepared.refusal(prepared.errors).errors
    assert [e.field for e in errors] == ['row 2, column "Concentratie"'], errors


def test_a_non_detect_without_a_limit_says_where_to_give_it() -> None:
    prepared = _prepared({"Concentratie": "<LOD"})
    (error,) = prepared.refusal(prepared.errors).errors
    assert error.field == 'row 2, column "Concentratie"' and "names no detection limit" in error.reason


def _prepared(cells: dict[str, str]) -> Any:
    row = {
        "Monstertype": "personal_air",
        "CAS-nummer": "71-43-2",
        "Werknemer-id": str(uuid.uuid4()),
        "Concentratie": "0,1",
        "Eenheid": "mg/m3",
        "Begin monstername": "04-03-2025 07:30",
        "Einde monstername": "2025-12-31T23:59:59Z",
    } | cells
    content = ("\n".join([";".join(row), ";".join(row.values())]) + "\n").encode()
    return prepare(read_table(content, "csv"), ImportMapping.default())
