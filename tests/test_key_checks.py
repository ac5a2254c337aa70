"""A wrong or damaged key file is refused before any key is used: every command and `serve`
exit with one clear line, and nothing is written with the wrong keys."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REGISTRY, Place, make_place, run_cli


def _flip_one_bit(place: Place, field: str) -> None:
    """Flip the lowest bit of one key in the key file (a damaged copy, a wrong backup)."""
    path = place.settings().key_file
    data = json.loads(path.read_text())
    if field == "kek":
        kek_id = data["active_kek"]
        raw = bytearray(base64.b64decode(data["keks"][kek_id]))
        raw[0] ^= 1
        data["keks"][kek_id] = base64.b64encode(bytes(raw)).decode()
    else:
        raw = bytearray(base64.b64decode(data[field]))
        raw[0] ^= 1
        data[field] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)


@pytest.mark.parametrize("field", ["kek", "index_key"])
def test_a_damaged_key_is_refused_by_every_command(place: Place, field: str) -> None:
    run_cli(place, "employer", "create", "--kvk", "12345678", "--name", "Sleutel B.V.")
    _flip_one_bit(place, field)
    for command in (["employer", "list"], ["employer", "create", "--kvk", "87654321", "--name", "Na B.V."]):
        refused = run_cli(place, *command, check=False)
        assert refused.returncode == 2, refused.stdout
        assert "does not belong to this store or is damaged" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr


def test_a_wrong_database_key_is_refused_in_one_line(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    run_cli(place, "init")
    _flip_one_bit(place, "database_key")
    refused = run_cli(place, "employer", "list", check=False)
    assert refused.returncode == 2 and "does not open with the database key" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_serve_with_a_damaged_key_file_exits_within_seconds(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    run_cli(place, "employer", "create", "--kvk", "12345678", "--name", "Sleutel B.V.")
    _flip_one_bit(place, "kek")
    started = time.monotonic()
    served = subprocess.run(
        [REGISTRY, "--data-dir", str(place.data_dir), "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode == 2 and time.monotonic() - started < 30
    assert served.stderr.strip().startswith("registry: the key file") and "Traceback" not in served.stderr


def test_key_rotation_keeps_the_checks_in_step(place: Place) -> None:
    run_cli(place, "employer", "create", "--kvk", "12345678", "--name", "Sleutel B.V.")
    run_cli(place, "keys", "rotate")
    assert run_cli(place, "employer", "list").returncode == 0


def test_store_files_are_the_operators_alone(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    run_cli(place, "employer", "create", "--kvk", "12345678", "--name", "Privé B.V.")
    files = [p for p in place.data_dir.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"registry.duckdb", "registry.key"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o600" for p in files}
