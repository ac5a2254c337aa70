"""The `registry` command as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Place, Server, create_employer, make_place, run_cli
from tests.helpers import new_worker


def test_help_explains_every_command(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    out = run_cli(place, "--help").stdout
    for command in ("init", "serve", "employer", "apikey", "keys", "demo", "audit"):
        assert command in out
    assert (
        "--data-dir" in run_cli(place, "serve", "--help").stdout or "--demo" in run_cli(place, "serve", "--help").stdout
    )


def test_init_creates_a_private_key_file_and_an_encrypted_store(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    out = run_cli(place, "init").stdout
    assert "key file" in out
    assert (place.data_dir / "registry.key").stat().st_mode & 0o777 == 0o600
    assert (place.data_dir / "registry.duckdb").exists()


def test_employer_create_prints_one_json_object(place: Place) -> None:
    employer = create_employer(place, "55555550", "Json B.V.")
    assert employer.api_key.startswith("brk_") and employer.kvk == "55555550"
    duplicate = run_cli(place, "employer", "create", "--kvk", "55555550", "--name", "Again", check=False)
    assert duplicate.returncode == 2 and "already registered" in duplicate.stderr
    bad = run_cli(place, "employer", "create", "--kvk", "123", "--name", "Short", check=False)
    assert bad.returncode == 2 and "kvk" in bad.stderr
    listed = [json.loads(line) for line in run_cli(place, "employer", "list").stdout.splitlines()]
    assert [e["kvk"] for e in listed] == ["55555550"]


def test_a_revoked_key_is_refused_and_a_new_one_works(place: Place) -> None:
    employer = create_employer(place, "66666660", "Sleutel B.V.")
    fresh = json.loads(run_cli(place, "apikey", "create", "--kvk", "66666660").stdout)
    run_cli(place, "apikey", "revoke", employer.key_id)
    server = Server(place)
    server.start()
    try:
        with server.client(employer.api_key) as old:
            refused = old.get("/api/v1/me")
            assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
        with server.client(fresh["api_key"]) as new:
            assert new.get("/api/v1/me").json()["kvk"] == "66666660"
    finally:
        server.stop()


def test_key_rotation_keeps_data_readable(place: Place) -> None:
    employer = create_employer(place, "77777770", "Rotatie B.V.")
    server = Server(place)
    server.start()
    try:
        with server.client(employer.api_key) as client:
            worker = new_worker(client)
    finally:
        server.stop()
    before = json.loads((place.data_dir / "registry.key").read_text())
    assert "re-wrapped 1 worker keys" in run_cli(place, "keys", "rotate").stdout
    after = json.loads((place.data_dir / "registry.key").read_text())
    assert after["active_kek"] != before["active_kek"] and list(after["keks"]) == [after["active_kek"]]
    server.start()
    try:
        with server.client(employer.api_key) as client:
            response = client.get(f"/api/v1/workers/{worker}")
            assert response.json()["name"] == "Jan de Tester", response.text
    finally:
        server.stop()


def test_demo_data_loads_once(place: Place) -> None:
    *keys, worker = run_cli(place, "demo").stdout.splitlines()
    assert len(keys) == 5 and all("brk_" in line for line in keys)
    assert "registry token --role worker --bsn 123456782" in worker
    assert "already present" in run_cli(place, "demo").stdout
    assert "audit log intact" in run_cli(place, "audit", "verify").stdout


def test_limits_import_is_all_or_nothing(place: Place, tmp_path: Path) -> None:
    header = "substance_name,cas,ec,jurisdiction,limit_type,value,unit,valid_from,valid_to,notation,source_citation"
    good = f"{header}\nBenzene,71-43-2,,sector,TWA8h,0.1,mg/m3,2020-01-01,,,Branchenorm petrochemie 2020\n"
    bad = good + "Benzene,71-43-3,,NL,TWA8h,-1,furlong,2020-01-01,2019-01-01,,\n"
    (tmp_path / "bad.csv").write_text(bad)
    refused = run_cli(place, "limits", "import", "--sector", "20", str(tmp_path / "bad.csv"), check=False)
    assert refused.returncode != 0 and "nothing imported" in refused.stderr
    assert "bad.csv:3: cas" in refused.stderr and "bad.csv:3: unit" in refused.stderr
    (tmp_path / "good.csv").write_text(good)
    imported = run_cli(place, "limits", "import", "--sector", "20", str(tmp_path / "good.csv")).stdout
    assert "good.csv: 1 new, 0 changed (superseding 0 stored), 0 unchanged limit values; stored as batch" in imported


def test_report_prints_one_json_object_per_seg(place: Place) -> None:
    run_cli(place, "demo")
    lines = run_cli(place, "report", "--kvk", "90000011").stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert {r["seg_name"] for r in rows} == {"Zagerij", "Lakstraat"}
    assert all(r["limits"] and r["measurement_ids"] for r in rows)


def test_serve_and_init_warn_when_the_key_file_is_in_the_data_dir(tmp_path: Path) -> None:
    default = make_place(tmp_path / "default", "duckdb")
    log = tmp_path / "default.log"
    server = Server(default, log=log)
    server.start()
    server.stop()
    warnings = [line for line in log.read_text().splitlines() if "warning" in line]
    assert len(warnings) == 1 and "copying the data directory copies its key" in warnings[0]
    assert "REGISTRY_KEY_FILE" in warnings[0] and "--key-file" in warnings[0]
    assert "copies its key" in run_cli(default, "init").stderr

    apart = make_place(tmp_path / "apart", "duckdb")
    key_file = tmp_path / "etc" / "registry.key"
    log = tmp_path / "apart.log"
    server = Server(apart, env={"REGISTRY_KEY_FILE": str(key_file)}, log=log)
    server.start()
    server.stop()
    assert key_file.exists() and "warning" not in log.read_text()
    assert run_cli(apart, "--key-file", str(key_file), "init").stderr == ""


def test_a_bsn_is_read_from_standard_input_or_a_file(place: Place, tmp_path: Path) -> None:
    run_cli(place, "demo")
    bsn_file = tmp_path / "bsn.txt"
    bsn_file.write_text(" 123456782\n")

    def history(*how: str) -> dict[str, str]:
        out = run_cli(place, "history", *how, stdin="\t123456782 \n")
        return dict(json.loads(out.stdout)["worker"])

    assert history("--bsn", "-")["name"] == "Anna de Vries"  # the store opened by the CLI itself
    server = Server(place)
    server.start()
    try:  # and, for the embedded store, run inside the server: the BSN is read on the CLI's side
        for how in (["--bsn", "-"], ["--bsn-file", str(bsn_file)], ["--bsn", "123456782"]):
            assert history(*how)["bsn"] == "123456782", how
        token = run_cli(place, "token", "--role", "worker", "--bsn", "-", stdin="123456782\n").stdout.strip()
        with server.client(token) as client:
            assert client.get("/api/v1/me/history").json()["worker"]["name"] == "Anna de Vries"
        refused = run_cli(place, "history", "--bsn", "-", stdin="123456789\n", check=False)
        assert refused.returncode == 2
        assert refused.stderr == "registry: --bsn: not a valid BSN (fails the elfproef check)\n"
        bsn_file.write_text("1234\n")
        refused = run_cli(place, "token", "--role", "worker", "--bsn-file", str(bsn_file), check=False)
        assert refused.returncode == 2 and refused.stderr == "registry: --bsn-file: a BSN has 9 digits\n"
        both = run_cli(place, "history", "--bsn", "-", "--bsn-file", str(bsn_file), check=False)
        assert both.returncode == 2 and "not allowed with argument" in both.stderr
    finally:
        server.stop()
