"""Administrative commands while `registry serve` holds the embedded store: the CLI runs them
inside the server, over its operator channel, and they take effect there at once."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.demo import valid_bsn
from tests.conftest import REGISTRY, Place, Server, create_employer, make_place, run_cli
from tests.helpers import new_worker


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Place, Server]]:
    place = make_place(tmp_path, "duckdb")
    run_cli(place, "init")
    server = Server(place)
    server.start()
    try:
        yield place, server
    finally:
        server.stop()


def test_keys_issued_and_revoked_while_serving_take_effect_at_once(serving: tuple[Place, Server]) -> None:
    place, server = serving
    employer = create_employer(place, "12345678", "X")
    with server.client(employer.api_key) as client:
        me = client.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert (me.json()["kvk"], me.json()["name"]) == ("12345678", "X")
        assert "revoked" in run_cli(place, "apikey", "revoke", employer.key_id).stdout
        assert client.get("/api/v1/me").status_code == 401
    again = run_cli(place, "apikey", "revoke", employer.key_id, check=False)
    assert again.returncode == 2 and "no active API key" in again.stderr
    listed = [json.loads(line) for line in run_cli(place, "employer", "list").stdout.splitlines()]
    assert [e["kvk"] for e in listed] == ["12345678"]


def test_commands_answer_as_they_would_without_a_server(serving: tuple[Place, Server]) -> None:
    place, _ = serving
    unknown = run_cli(place, "history", "--bsn", valid_bsn(random.Random(11)), check=False)
    assert unknown.returncode == 2 and "no worker" in unknown.stderr
    assert "in use" not in unknown.stderr and "Traceback" not in unknown.stderr
    assert "audit log intact" in run_cli(place, "audit", "verify").stdout
    usage = run_cli(place, "aggregate", "--by", "colour", check=False)
    assert usage.returncode == 2 and "--by: choose from" in usage.stderr
    for command in ("init", "serve"):
        refused = run_cli(place, command, check=False)
        assert refused.returncode == 2 and "holds this store; stop the server first" in refused.stderr


def test_files_stay_on_the_operators_side(serving: tuple[Place, Server], tmp_path: Path) -> None:
    """Relative paths from another working directory than the server's: the CLI reads and
    writes them, the server never opens them."""
    place, server = serving
    here = tmp_path / "operator"
    here.mkdir()
    header = "substance_name,cas,ec,jurisdiction,limit_type,value,unit,valid_from,valid_to,notation,source_citation"
    good = f"{header}\nBenzene,71-43-2,,sector,TWA8h,0.1,mg/m3,2020-01-01,,,Branchenorm petrochemie 2020\n"
    (here / "bad.csv").write_text(good + "Benzene,71-43-3,,NL,TWA8h,-1,furlong,2020-01-01,2019-01-01,,\n")
    (here / "good.csv").write_text(good)
    refused = _cli_in(here, place, "limits", "import", "--sector", "20", "bad.csv")
    assert refused.returncode == 2 and "nothing imported" in refused.stderr and "bad.csv:3: cas" in refused.stderr
    imported = _cli_in(here, place, "limits", "import", "--sector", "20", "good.csv")
    assert imported.returncode == 0 and "good.csv: 1 new" in imported.stdout
    missing = _cli_in(here, place, "limits", "import", "absent.csv")
    assert missing.returncode == 2 and "cannot read absent.csv" in missing.stderr

    employer = create_employer(place, "23456781", "Geschiedenis B.V.")
    bsn = valid_bsn(random.Random(12))
    with server.client(employer.api_key) as client:
        body = {"bsn": bsn, "name": "Els Operator", "date_of_birth": "1980-02-03"}
        assert client.post("/api/v1/workers", json=body).status_code == 201
    written = _cli_in(here, place, "history", "--bsn", bsn, "--output", "history.json")
    assert written.returncode == 0 and "written to history.json" in written.stderr, written.stderr
    assert json.loads((here / "history.json").read_text())["purpose"] == "tsb_claim"


def test_keys_rotated_while_serving_are_the_ones_the_server_uses(serving: tuple[Place, Server]) -> None:
    place, server = serving
    employer = create_employer(place, "34567812", "Rotatie B.V.")
    before = json.loads((place.data_dir / "registry.key").read_text())
    with server.client(employer.api_key) as client:
        first = new_worker(client)
        assert "re-wrapped 1 worker keys" in run_cli(place, "keys", "rotate").stdout
        after = json.loads((place.data_dir / "registry.key").read_text())
        assert after["active_kek"] != before["active_kek"] and list(after["keks"]) == [after["active_kek"]]
        second = new_worker(client)
        for worker in (first, second):
            response = client.get(f"/api/v1/workers/{worker}")
            assert response.status_code == 200 and response.json()["name"] == "Jan de Tester", response.text
    server.stop()
    server.start()  # the key file holds what the server used: a restart reads both workers
    with server.client(employer.api_key) as client:
        assert all(client.get(f"/api/v1/workers/{w}").status_code == 200 for w in (first, second))


def test_the_socket_is_private_and_goes_with_the_server(tmp_path: Path) -> None:
    place = make_place(tmp_path, "duckdb")
    run_cli(place, "init")
    socket_file = place.data_dir / "operator.sock"
    server = Server(place)
    server.start()
    try:
        mode = socket_file.stat().st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    finally:
        server.stop()
    assert not socket_file.exists()
    assert run_cli(place, "employer", "list").returncode == 0  # the CLI opens the store itself again

    server.start()
    try:
        server.stop(signal.SIGKILL)  # no clean-up: the socket file stays behind
        assert socket_file.exists()
        assert run_cli(place, "employer", "list").returncode == 0
        server.start()  # replaces the stale socket file
        create_employer(place, "45678123", "Na De Crash B.V.")
    finally:
        server.stop()


def test_without_its_socket_the_busy_store_is_reported_clearly(serving: tuple[Place, Server]) -> None:
    place, _ = serving
    (place.data_dir / "operator.sock").unlink()
    busy = run_cli(place, "employer", "list", check=False)
    assert busy.returncode == 2 and "is 'registry serve' running?" in busy.stderr
    assert "Traceback" not in busy.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="connecting as another user needs root")
def test_only_the_operator_reaches_the_channel() -> None:
    """The socket's mode keeps other users out; should it be opened up, the server still
    answers only its own uid (or root), by the peer's credentials."""
    base = Path(tempfile.mkdtemp())
    base.chmod(0o711)  # another user may pass through to the socket, not list or read
    try:
        place = make_place(base, "duckdb")
        run_cli(place, "init")
        place.data_dir.chmod(0o711)  # the registry makes it 0700 (umask 077): open it to reach the socket's own checks
        server = Server(place)
        server.start()
        try:
            socket_file = place.data_dir / "operator.sock"
            assert _post_as(65534, socket_file) == "PermissionError"
            socket_file.chmod(0o666)
            answer = _post_as(65534, socket_file)
            assert answer.startswith("HTTP/1.1 403") and "answers only uid 0 or root, not uid 65534" in answer
        finally:
            server.stop()
    finally:
        shutil.rmtree(base)


def test_an_employer_created_while_serving_can_call_at_once(place: Place) -> None:
    """Either store: the embedded one over the channel, PostgreSQL directly."""
    server = Server(place)
    server.start()
    try:
        employer = create_employer(place, "56781234", "Beide Opslagen B.V.")
        with server.client(employer.api_key) as client:
            assert client.get("/api/v1/me").json()["kvk"] == "56781234"
    finally:
        server.stop()


def _cli_in(cwd: Path, place: Place, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REGISTRY, "--data-dir", str(place.data_dir), *place.store_args, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _post_as(uid: int, socket_file: Path) -> str:
    """POST `employer list` to the channel from a child process running as `uid`; returns
    the raw answer, or the name of the error that stopped the connection."""
    body = json.dumps({"argv": ["employer", "list"]}).encode()
    request = (
        b"POST /cli HTTP/1.1\r\nHost: registry\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to `uid`, connect, report, and leave without pytest's clean-up
        answer = b""
        try:
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(str(socket_file))
                client.sendall(request)
                while chunk := client.recv(65536):
                    answer += chunk
        except OSError as exc:
            answer = type(exc).__name__.encode()
        finally:
            os.write(write_end, answer)
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    return answer.decode()


@pytest.mark.postgres
def test_a_postgres_server_follows_a_rotation_made_by_another_process(tmp_path: Path) -> None:
    """On PostgreSQL the CLI rotates the keys itself, beside the running server; the server
    re-reads the key file and still reads every worker, old and new, without a restart."""
    place = make_place(tmp_path, "postgres")
    run_cli(place, "init")
    employer = create_employer(place, "12345678", "X")
    server = Server(place)
    server.start()
    try:
        with server.client(employer.api_key) as client:
            before = new_worker(client)
            assert "re-wrapped" in run_cli(place, "keys", "rotate").stdout
            after = new_worker(client)
            for worker in (before, after):
                answer = client.get(f"/api/v1/workers/{worker}")
                assert answer.status_code == 200, answer.text
                assert answer.json()["name"] == "Jan de Tester"
    finally:
        server.stop()
