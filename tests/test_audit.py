"""Every read of personal data is authorised and logged; the log is tamper-evident."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from crypto.audit_seal import AnchorFile
from registry.access import audit
from registry.runtime import open_runtime
from tests.conftest import Place, Server, create_employer, run_cli
from tests.helpers import air_sample, new_worker


def test_reads_and_refusals_are_logged_with_purpose_and_reason(place: Place) -> None:
    mine = create_employer(place, "12121210", "Lezer B.V.")
    other = create_employer(place, "13131310", "Nieuwsgierig B.V.")
    server = Server(place)
    server.start()
    try:
        with server.client(mine.api_key) as client, server.client(other.api_key) as snoop:
            worker = new_worker(client)
            measurement = client.post("/api/v1/measurements", json=air_sample(worker)).json()["id"]
            assert client.get(f"/api/v1/workers/{worker}", headers={"X-Purpose": "prevention"}).status_code == 200
            assert snoop.get(f"/api/v1/measurements/{measurement}").status_code == 404
    finally:
        server.stop()
    rt = open_runtime(place.settings())
    try:
        with rt.db.read() as tx:
            rows = tx.all(
                "SELECT actor_id, action, resource_type, purpose, outcome, reason FROM audit_log "
                "WHERE subject_worker_id = ? OR resource_id = ? ORDER BY seq",
                [worker, measurement],
            )
            assert (
                f"key:{mine.key_id}",
                "read",
                "worker",
                "prevention",
                "allowed",
                "recorded by this employer",
            ) in rows
            assert (
                f"key:{other.key_id}",
                "read",
                "measurement",
                "legal_duty",
                "denied",
                "recorded by another employer",
            ) in rows
            assert any(r[1] == "create" and r[2] == "measurement" for r in rows)
            assert audit.verify_chain(tx, rt.audit_seal, rt.audit_anchor.read()).entries >= 4
            text = " ".join(str(v) for row in tx.all("SELECT * FROM audit_log") for v in row)
            assert "Jan de Tester" not in text
    finally:
        rt.close()


def _log_some_entries(place: Place, commits: int = 6) -> None:
    """Commits through the real append path (each seals its entries and anchors its head)."""
    rt = open_runtime(place.settings())
    try:
        for i in range(commits):
            with rt.db.write() as tx:
                audit.append(
                    tx,
                    [
                        audit.AuditEntry(
                            actor_type="employer",
                            actor_id=f"key:{i}",
                            action="read",
                            resource_type="worker",
                            resource_id=f"w{i}",
                            purpose="legal_duty",
                            outcome="denied",
                            reason="recorded by another employer",
                        )
                    ],
                )
    finally:
        rt.close()


def _as_attacker(place: Place, *statements: str) -> None:
    """SQL access to the store, as someone who reached the database but not the key file
    (the embedded store needs its key to open; the statements use none of the key file)."""
    rt = open_runtime(place.settings())
    try:
        with rt.db.write() as tx:
            for sql in statements:
                tx.execute(sql)
    finally:
        rt.close()


def _recompute_chain(place: Place) -> None:
    """What an attacker with SQL access can do: rebuild every SHA-256 link after an edit."""
    rt = open_runtime(place.settings())
    try:
        with rt.db.write() as tx:
            rows = tx.all(f"SELECT {audit._COLUMNS} FROM audit_log ORDER BY stream, seq")
            prev, stream = audit.GENESIS, None
            for name, seq, at, *fields, _p, _h, acting, _seal in rows:
                if name != stream:
                    prev, stream = audit.GENESIS, name
                entry = audit.AuditEntry(**dict(zip(audit._ENTRY_FIELDS, fields, strict=True)), acting_for=acting)
                digest = audit._digest(prev, name, seq, at, entry)
                tx.execute(
                    "UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE stream = ? AND seq = ?",
                    [prev, digest, name, seq],
                )
                prev = digest
    finally:
        rt.close()


def _stream_and_last(place: Place) -> tuple[str, int]:
    rt = open_runtime(place.settings())
    try:
        with rt.db.read() as tx:
            row = tx.one("SELECT stream, max(seq) FROM audit_log WHERE actor_type = 'employer' GROUP BY stream")
            assert row is not None
            return row[0], row[1]
    finally:
        rt.close()


def _verify(place: Place) -> subprocess.CompletedProcess[str]:
    return run_cli(place, "audit", "verify", check=False)


def test_an_untouched_log_verifies(place: Place) -> None:
    _log_some_entries(place)
    result = _verify(place)
    assert result.returncode == 0, result.stderr
    assert "audit log intact" in result.stdout and "every one sealed" in result.stdout


def test_a_deleted_past_entry_is_named(place: Place) -> None:
    _log_some_entries(place)
    stream, last = _stream_and_last(place)
    _as_attacker(place, f"DELETE FROM audit_log WHERE stream = '{stream}' AND seq = {last - 2}")
    result = _verify(place)
    assert result.returncode != 0
    assert f"entries {last - 2} to {last - 2} of stream {stream} were removed" in result.stderr


def test_a_truncated_tail_is_named(place: Place) -> None:
    _log_some_entries(place)
    stream, last = _stream_and_last(place)
    _as_attacker(place, f"DELETE FROM audit_log WHERE stream = '{stream}' AND seq >= {last - 1}")
    result = _verify(place)
    assert result.returncode != 0
    assert f"stream {stream} was truncated: entries {last - 1} to {last} are missing" in result.stderr


def test_a_rewritten_entry_with_the_chain_recomputed_is_named(place: Place) -> None:
    """The attack that passed before sealing: a denied read turned into an allowed one, and
    every SHA-256 link after it rebuilt."""
    _log_some_entries(place)
    stream, last = _stream_and_last(place)
    _as_attacker(place, f"UPDATE audit_log SET outcome = 'allowed' WHERE stream = '{stream}' AND seq = {last - 3}")
    _recompute_chain(place)
    result = _verify(place)
    assert result.returncode != 0
    assert f"entry {last - 3} of stream {stream}" in result.stderr
    assert "its seal does not match" in result.stderr


def test_reordered_entries_are_named(place: Place) -> None:
    _log_some_entries(place)
    stream, last = _stream_and_last(place)
    a, b = last - 3, last - 2
    _as_attacker(
        place,
        f"UPDATE audit_log SET seq = -1 WHERE stream = '{stream}' AND seq = {a}",
        f"UPDATE audit_log SET seq = {a} WHERE stream = '{stream}' AND seq = {b}",
        f"UPDATE audit_log SET seq = {b} WHERE stream = '{stream}' AND seq = -1",
    )
    result = _verify(place)
    assert result.returncode != 0
    assert f"entry {a} of stream {stream}" in result.stderr


def test_a_removed_seal_is_named_and_never_resealed(place: Place) -> None:
    _log_some_entries(place)
    stream, last = _stream_and_last(place)
    _as_attacker(place, f"UPDATE audit_log SET seal = NULL WHERE stream = '{stream}' AND seq = {last - 1}")
    result = _verify(place)  # opening the store again must not bless the entry
    assert result.returncode != 0
    assert f"entry {last - 1} of stream {stream}" in result.stderr and "has no seal" in result.stderr


def test_a_log_written_before_sealing_is_sealed_once_at_the_cut_over(place: Place) -> None:
    """A store from before sealing: every entry unsealed, no anchor file. Opening it checks
    nothing away: the entries are sealed once, the cut-over is recorded, and from then on an
    edit is caught."""
    _log_some_entries(place)
    _as_attacker(place, "UPDATE audit_log SET seal = NULL")
    place.settings().audit_anchor_file.unlink()
    result = _verify(place)
    assert result.returncode == 0, result.stderr
    assert "were written before sealing began and were sealed on" in result.stdout
    stream, last = _stream_and_last(place)
    _as_attacker(place, f"UPDATE audit_log SET reason = 'x' WHERE stream = '{stream}' AND seq = {last}")
    _recompute_chain(place)
    assert _verify(place).returncode != 0


def test_the_anchor_file_keeps_every_streams_newest_head_while_compacted_under_load(tmp_path: Path) -> None:
    """Several writers append while another compacts: no head is lost or rolled back."""
    anchor = AnchorFile(tmp_path / "audit-anchor.jsonl")
    anchor.start(legacy_entries=0)
    per_writer = 300

    def write(stream: str) -> None:
        for seq in range(1, per_writer + 1):
            anchor.record(stream, seq, f"seal-{stream}-{seq}")

    writers = [threading.Thread(target=write, args=(f"s{i}",)) for i in range(4)]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers):
        anchor.compact()
    for thread in writers:
        thread.join()
    state = anchor.read()
    assert state.heads == {f"s{i}": (per_writer, f"seal-s{i}-{per_writer}") for i in range(4)}
    assert state.header is not None and state.damaged_lines == 0
    anchor.compact()
    assert len((tmp_path / "audit-anchor.jsonl").read_bytes().splitlines()) == 1 + 4
    assert oct((tmp_path / "audit-anchor.jsonl").stat().st_mode & 0o777) == "0o600"
