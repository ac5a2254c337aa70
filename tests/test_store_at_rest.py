"""What an attacker with the disk gets: nothing readable. What a crash costs: nothing acknowledged."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import duckdb
import pytest

from registry.store.backends import DuckDBFile, connect
from schemas.errors import KeyUnavailable
from tests.conftest import Place, Server, create_employer, make_place, run_cli
from tests.helpers import air_sample

SECRETS = {
    "bsn": "123456782",
    "name": "Geheime Grietje Pietersen",
    "birth": "1961-07-23",
    "blood lead": "43.21",
}


def _strings(path: Path) -> str:
    return subprocess.run(["strings", "-n", "4", str(path)], capture_output=True, text=True, check=True).stdout


def _populate(server: Server, api_key: str) -> str:
    with server.client(api_key) as client:
        worker = client.post(
            "/api/v1/workers",
            json={
                "bsn": SECRETS["bsn"],
                "name": SECRETS["name"],
                "date_of_birth": SECRETS["birth"],
            },
        ).json()["id"]
        assert (
            client.post("/api/v1/employments", json={"worker_id": worker, "start_date": "2012-01-01"}).status_code
            == 201
        )
        blood = air_sample(
            worker,
            sample_type="biological",
            substance_cas="7439-92-1",
            value=float(SECRETS["blood lead"]),
            unit="ug/100mL",
            matrix="blood",
            analyte="lood in bloed",
            air_volume_l=None,
        )
        response = client.post("/api/v1/measurements", json=blood)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def test_no_identifier_or_medical_value_on_disk(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    data_dir = place.data_dir
    employer = create_employer(place, "33333330", "Schijf B.V.")
    server = Server(place)
    server.start()
    try:
        _populate(server, employer.api_key)
        files = [p for p in data_dir.iterdir() if p.name.startswith("registry.duckdb")]
        assert any(p.name.endswith(".wal") for p in files), "the WAL should hold the fresh writes"
        for path in files:
            text = _strings(path)
            for what, secret in SECRETS.items():
                assert secret not in text, f"{what} readable in {path.name} while serving"
    finally:
        server.stop()
    # After a clean stop the WAL is checkpointed into the file; check it, and a backup copy, again.
    backup = tmp_path / "backup.duckdb"
    backup.write_bytes((data_dir / "registry.duckdb").read_bytes())
    for path in [*data_dir.glob("registry.duckdb*"), backup]:
        text = _strings(path)
        for what, secret in SECRETS.items():
            assert secret not in text, f"{what} readable in {path.name}"
        assert "Geheime" not in text and "Pietersen" not in text


def test_the_file_does_not_open_without_the_right_key(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    data_dir = place.data_dir
    run_cli(place, "init")
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(data_dir / "registry.duckdb")).execute("SELECT 1 FROM workers")
    with pytest.raises(KeyUnavailable, match="does not open with the database key"):
        connect(DuckDBFile(path=data_dir / "registry.duckdb", encryption_key_hex="00" * 32))


def test_a_lost_key_file_is_not_silently_replaced(place: Place, tmp_path: Path) -> None:
    run_cli(place, "init")
    (place.data_dir / "registry.key").rename(tmp_path / "elsewhere.key")
    refused = run_cli(place, "employer", "list", check=False)
    assert refused.returncode == 2 and "refusing to create a new key" in refused.stderr
    moved = run_cli(place, "--key-file", str(tmp_path / "elsewhere.key"), "employer", "list", check=False)
    assert moved.returncode == 0, moved.stderr


def test_an_acknowledged_write_survives_a_crash(place: Place) -> None:
    employer = create_employer(place, "44444440", "Stroomstoring B.V.")
    server = Server(place)
    server.start()
    try:
        measurement_id = _populate(server, employer.api_key)
    finally:
        server.stop(signal.SIGKILL)  # no checkpoint, no clean shutdown
    server.start()
    try:
        with server.client(employer.api_key) as client:
            read = client.get(f"/api/v1/measurements/{measurement_id}")
            assert read.status_code == 200
            assert read.json()["unit"] == "ug/100mL"
    finally:
        server.stop()
