"""Managing the limit lists: importing a list again changes nothing, a corrected row replaces
the row it corrects, a sector's catalogue belongs to its sector, and an operator can see what
is in force on a date."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from pathlib import Path

import msgspec
import pytest

from analytics.asbestos import asbestos_types
from analytics.limits import REFERENCE_DIR, load_reference_limits
from crypto import create_keyring, save_keyring
from registry.access import Actor, ActorKind, Purpose, Work
from registry.runtime import Runtime, open_runtime
from registry.services import organisations
from registry.services.limits import import_limits, limits_beside_legal, limits_on, reference_batch
from registry.store import Database, DuckDBFile, PostgresServer, StoreLocation
from registry.store import limits as table
from registry.store.migrations import migrate
from schemas.errors import InvalidInput
from schemas.limits import LimitValue
from schemas.organisation import EmployerIn
from tests.conftest import Place, make_place, run_cli

HEADER = "substance_name,cas,jurisdiction,limit_type,value,unit,valid_from,valid_to,source_citation"
SER = "https://www.ser.nl/nl/thema/arbeidsomstandigheden/Grenswaarden-gevaarlijke-stoffen/Grenswaarden/benzeen"
BENZENE_LIST = (
    f"{HEADER}\n"
    f"Benzeen,71-43-2,NL,TWA8h,3.25,mg/m3,,2017-10-01,{SER}\n"
    f"Benzeen,71-43-2,NL,TWA8h,0.7,mg/m3,2017-10-01,,{SER}\n"
)


def benzene_on(runtime: Runtime, day: dt.date) -> list[float]:
    with runtime.db.read() as tx:
        return [row.value for row in limits_on(tx, day, "71-43-2") if row.jurisdiction == "NL"]


def test_importing_the_same_list_twice_stores_nothing_the_second_time(runtime: Runtime) -> None:
    """The operator imports bijlage XIII: its two benzene rows replace those of the starter set
    (same substance, jurisdiction, type and start; another citation). Again: nothing changes."""
    first = import_limits(runtime.db, BENZENE_LIST, "bijlage-xiii.csv")
    assert first.changes is not None and first.batch is not None
    assert (len(first.changes.new), len(first.changes.changed), len(first.changes.superseded)) == (0, 2, 2)
    again = import_limits(runtime.db, BENZENE_LIST, "bijlage-xiii.csv")
    assert again.changes is not None and again.changes.unchanged == 2
    assert (again.changes.new, again.changes.changed, again.batch) == ([], [], None)
    assert benzene_on(runtime, dt.date(2018, 1, 1)) == [0.7]  # once, not twice
    with runtime.db.read() as tx:
        assert table.batches(tx)[first.batch] == 2 and len(table.batches(tx)) == 2  # with the starter set


def test_rows_in_another_order_are_the_same_list(runtime: Runtime) -> None:
    import_limits(runtime.db, BENZENE_LIST, "a.csv")
    header, *rows = BENZENE_LIST.splitlines()
    shuffled = "\n".join([header, *reversed(rows)]) + "\n"
    outcome = import_limits(runtime.db, shuffled, "b.csv")
    assert outcome.changes is not None and outcome.changes.unchanged == 2 and outcome.batch is None


def eu_lead_air_row(valid_to: str) -> str:
    """The reference file's EU lead value of 0.15 mg/m3, as a one-row list ending on `valid_to`."""
    with (REFERENCE_DIR / "oel_reference.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    (row,) = [r for r in rows if r["substance_name"] == "Lead and its inorganic compounds" and r["value"] == "0.15"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow({**row, "valid_to": valid_to})
    return out.getvalue()


def test_a_corrected_row_replaces_the_row_it_corrects(runtime: Runtime) -> None:
    """Before the correction the EU lead value of 0.15 mg/m3 ended on 8 April 2026 and the
    0.03 mg/m3 value began on the 9th: on the 8th no EU limit applied. The corrected row (the
    text says "until 8 April 2026" inclusive, so valid_to is the 9th) supersedes the old one."""

    def eu_lead_on(day: dt.date) -> list[float]:
        with runtime.db.read() as tx:
            return [r.value for r in limits_on(tx, day, "7439-92-1") if r.jurisdiction == "EU-BOELV" and not r.matrix]

    old = import_limits(runtime.db, eu_lead_air_row("2026-04-08"), "oel_reference-before.csv")
    assert old.changes is not None and len(old.changes.changed) == 1
    assert eu_lead_on(dt.date(2026, 4, 8)) == []
    corrected = import_limits(runtime.db, eu_lead_air_row("2026-04-09"), "oel_reference.csv")
    assert corrected.changes is not None
    assert (len(corrected.changes.changed), len(corrected.changes.superseded)) == (1, 1)
    assert eu_lead_on(dt.date(2026, 4, 8)) == [0.15]
    assert eu_lead_on(dt.date(2026, 4, 9)) == [0.03]
    with runtime.db.read() as tx:  # the superseded row is kept, for the reports that used it
        assert old.batch is not None and table.batches(tx)[old.batch] == 1


def test_a_list_with_a_bad_row_changes_nothing(runtime: Runtime) -> None:
    import_limits(runtime.db, BENZENE_LIST, "a.csv")
    bad = BENZENE_LIST.replace("0.7,", "0.5,") + "Tolueen,108-88-3,NL,TWA8h,-1,mg/m3,,,x\n"
    outcome = import_limits(runtime.db, bad, "b.csv")
    assert outcome.changes is None and [(r.line, r.field) for r in outcome.report.rejected] == [(4, "value")]
    assert benzene_on(runtime, dt.date(2018, 1, 1)) == [0.7]


def test_the_starter_set_is_stored_once_per_version(runtime: Runtime) -> None:
    with runtime.db.read() as tx:
        batches = table.batches(tx)
        assert batches[reference_batch()] == len(load_reference_limits()) == 279 + 35
    runtime.close()
    again = open_runtime(runtime.settings)
    try:
        with again.db.read() as tx:
            assert table.batches(tx) == batches
    finally:
        again.close()


def test_a_store_loaded_with_the_earlier_starter_set_takes_up_its_corrections(place: Place) -> None:
    """A store made before the reference files were corrected (schema version 6): its EU lead
    value ended a day early and its EU cadmium rows had no CAS number. On the next start the
    corrected rows supersede those, the asbestos types join, and nothing is doubled."""
    settings = place.settings()
    keyring = create_keyring()
    save_keyring(keyring, settings.key_file)
    location: StoreLocation = (
        PostgresServer(dsn=settings.postgres_dsn, schema=settings.postgres_schema)
        if settings.postgres_dsn
        else DuckDBFile(path=settings.database_file, encryption_key_hex=keyring.database_key_hex())
    )
    earlier = [
        msgspec.structs.replace(limit, valid_to=dt.date(2026, 4, 8))
        if limit.substance_name == "Lead and its inorganic compounds" and limit.value == 0.15
        else msgspec.structs.replace(limit, cas=None, ec=None)
        if limit.substance_name == "Cadmium and its inorganic compounds"
        else limit
        for limit in load_reference_limits()
        if limit.cas not in {kind.cas for kind in asbestos_types()}
    ]
    old_columns = [name for name in LimitValue.__struct_fields__ if name not in ("fraction", "sector_sbi")]
    db = Database(location)
    try:
        migrate(db, until=6)
        with db.write() as tx:
            columns: dict[str, list[object]] = {"id": [str(uuid.uuid4()) for _ in earlier]}
            columns |= {name: [getattr(limit, name) for limit in earlier] for name in old_columns}
            columns |= {"import_batch": ["reference"] * len(earlier), "imported_at": [dt.datetime.now()] * len(earlier)}
            tx.insert_columns("limit_values", columns)
    finally:
        db.close()
    runtime = open_runtime(settings)
    try:
        with runtime.db.read() as tx:
            lead = [r for r in limits_on(tx, dt.date(2026, 4, 8), "7439-92-1") if r.jurisdiction == "EU-BOELV"]
            assert [(r.value, r.valid_to) for r in lead if not r.matrix] == [(0.15, dt.date(2026, 4, 9))]
            cadmium = [r for r in limits_on(tx, dt.date(2024, 1, 1), "7440-43-9") if r.jurisdiction == "EU-BOELV"]
            assert [(r.value, r.fraction) for r in cadmium] == [(0.004, "inhalable")]
            assert len(table.rows_in_use(tx)) == len(load_reference_limits())
            assert set(table.batches(tx)) == {"reference", reference_batch()}
    finally:
        runtime.close()


def sector_list(jurisdiction: str = "sector") -> str:
    return f"{HEADER}\nBenzeen,71-43-2,{jurisdiction},TWA8h,0.1,ppm,2020-01-01,,Branchenorm petrochemie 2020\n"


def employer(runtime: Runtime, kvk: str, sbi: str | None) -> uuid.UUID:
    operator = Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="test"), Purpose.ADMINISTRATION)
    created = operator.write(lambda w: organisations.create_employer(w.tx, EmployerIn(kvk=kvk, name=kvk, sbi_code=sbi)))
    return created.id


def test_a_sector_catalogue_reaches_the_employers_of_that_sector_only(runtime: Runtime) -> None:
    outcome = import_limits(runtime.db, sector_list(), "petrochemie.csv", sector="19")
    assert outcome.changes is not None and len(outcome.changes.new) == 1
    refinery, sawmill, unknown = (
        employer(runtime, "61616160", "1920"),
        employer(runtime, "62626260", "1623"),
        employer(runtime, "63636360", None),
    )
    with runtime.db.read() as tx:
        (norm,) = limits_beside_legal(tx, refinery)
        assert (norm.jurisdiction, norm.sector_sbi, norm.value) == ("sector", "19", 0.1)
        assert limits_beside_legal(tx, sawmill) == limits_beside_legal(tx, unknown) == []


def test_a_sector_limit_needs_its_sector_and_a_sector_list_holds_only_sector_limits(runtime: Runtime) -> None:
    without = import_limits(runtime.db, sector_list(), "petrochemie.csv")
    assert [(r.line, r.field) for r in without.report.rejected] == [(2, "sector_sbi")]
    mixed = import_limits(runtime.db, sector_list("NL"), "petrochemie.csv", sector="19")
    assert [(r.line, r.field, r.reason) for r in mixed.report.rejected] == [
        (2, "sector_sbi", "only a sector limit has a sector")
    ]


def test_company_limits_are_not_imported_by_the_operator(runtime: Runtime) -> None:
    text = HEADER + ",owner_employer_id\nBenzeen,71-43-2,company,TWA8h,0.1,ppm,2020-01-01,,huisnorm,12345678\n"
    with pytest.raises(InvalidInput) as refused:
        import_limits(runtime.db, text, "huisnormen.csv")
    assert "POST /api/v1/limits/company" in refused.value.errors[0].reason


@pytest.fixture
def duckdb_place(tmp_path: Path) -> Place:
    return make_place(tmp_path, "duckdb")


def test_the_cli_reports_a_second_import_as_unchanged(duckdb_place: Place, tmp_path: Path) -> None:
    (tmp_path / "bijlage.csv").write_text(BENZENE_LIST)
    first = run_cli(duckdb_place, "limits", "import", str(tmp_path / "bijlage.csv")).stdout
    assert "bijlage.csv: 0 new, 2 changed (superseding 2 stored), 0 unchanged" in first and "batch" in first
    second = run_cli(duckdb_place, "limits", "import", str(tmp_path / "bijlage.csv")).stdout
    assert "0 new, 0 changed (superseding 0 stored), 2 unchanged limit values; nothing new to store" in second


def test_the_cli_imports_a_sector_catalogue_with_its_sbi_code(duckdb_place: Place, tmp_path: Path) -> None:
    (tmp_path / "sector.csv").write_text(sector_list())
    refused = run_cli(duckdb_place, "limits", "import", str(tmp_path / "sector.csv"), check=False)
    assert refused.returncode == 2 and "sector.csv:2: sector_sbi" in refused.stderr and "--sector SBI" in refused.stderr
    assert run_cli(duckdb_place, "limits", "import", "--sector", "19.2", str(tmp_path / "sector.csv")).returncode == 0
    listed = run_cli(duckdb_place, "limits", "list", "--substance", "71-43-2", "--on", "2021-01-01", "--json")
    sector = [row for row in map(json.loads, listed.stdout.splitlines()) if row["jurisdiction"] == "sector"]
    assert [(row["sector_sbi"], row["value"], row["unit"]) for row in sector] == [("192", 0.1, "ppm")]


def test_limits_list_shows_what_is_in_force_on_a_date(duckdb_place: Place) -> None:
    """Asbestos on 2016-01-01: chrysotile 2000 fibres/m3 (NL, since 2014-07-01) and 0.1 f/cm3
    (EU, all forms); for amosite the amphibole value 10 000 fibres/m3 until 2017-01-01."""
    table_text = run_cli(duckdb_place, "limits", "list", "--substance", "12001-29-5", "--on", "2016-01-01").stdout
    header, *lines = table_text.splitlines()
    for column in (
        "jurisdiction",
        "type",
        "value",
        "unit",
        "population",
        "fraction",
        "in force [from, to)",
        "citation",
    ):
        assert column in header
    assert len(lines) == 2
    nl, eu = sorted(lines, key=lambda line: "EU-BOELV" in line)
    assert "Asbest - chrysotiel (serpentijn)" in nl and " 2000 " in nl and "2014-07-01 .. " in nl and "ser.nl" in nl
    assert "EU-BOELV" in eu and " 0.1 " in eu and "f/cm3" in eu and "? .. 2025-12-21" in eu
    amosite = run_cli(duckdb_place, "limits", "list", "--substance", "12172-73-5", "--on", "2016-01-01", "--json")
    rows = [json.loads(line) for line in amosite.stdout.splitlines()]
    assert sorted((r["jurisdiction"], r["value"], r["unit"], r["valid_to"]) for r in rows) == [
        ("EU-BOELV", 0.1, "f/cm3", "2025-12-21"),
        ("NL", 10000.0, "f/m3", "2017-01-01"),
    ]


def test_limits_list_shows_the_fraction_and_the_population(duckdb_place: Place) -> None:
    manganese = run_cli(duckdb_place, "limits", "list", "--substance", "mangaan", "--on", "2024-01-01").stdout
    assert "respirable" in manganese and "inhalable" in manganese
    lead = run_cli(duckdb_place, "limits", "list", "--substance", "blood lead", "--on", "2027-01-01", "--json")
    populations = {json.loads(line)["population"] for line in lead.stdout.splitlines()}
    assert populations == {None, "women of childbearing age"}


def test_limits_list_refuses_a_date_it_cannot_read(duckdb_place: Place) -> None:
    refused = run_cli(duckdb_place, "limits", "list", "--on", "1-1-2016", check=False)
    assert refused.returncode == 2 and "--on" in refused.stderr
