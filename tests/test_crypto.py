"""The crypto recipes with real AES-GCM: round trips, wrong keys, tampering, shredding, rotation."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from crypto import (
    Vault,
    WrappedKey,
    create_keyring,
    issue_api_key,
    load_keyring,
    parse_api_key,
    rotate_kek,
    save_keyring,
    shred_worker,
    verify_api_key,
)
from crypto.keyring import KeyringError
from registry.runtime import Runtime
from registry.store.people import KeyTable
from schemas.errors import IntegrityFailure, KeyUnavailable


def test_round_trip_and_ciphertext_hides_plaintext() -> None:
    vault = Vault(create_keyring())
    worker = uuid.uuid4()
    cipher = vault.worker_cipher(worker, vault.new_worker_key(worker))
    token = cipher.encrypt_text("workers.bsn", "111222333")
    assert b"111222333" not in token
    assert cipher.decrypt_text("workers.bsn", token) == "111222333"
    assert cipher.encrypt_text("workers.bsn", "111222333") != token  # fresh nonce each time


def test_another_workers_key_cannot_read() -> None:
    vault = Vault(create_keyring())
    alice, bob = uuid.uuid4(), uuid.uuid4()
    token = vault.worker_cipher(alice, vault.new_worker_key(alice)).encrypt_text("workers.name", "Alice")
    with pytest.raises(IntegrityFailure):
        vault.worker_cipher(bob, vault.new_worker_key(bob)).decrypt_text("workers.name", token)


def test_a_wrapped_key_copied_to_another_worker_does_not_open() -> None:
    vault = Vault(create_keyring())
    alice, bob = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(IntegrityFailure):
        vault.worker_cipher(bob, vault.new_worker_key(alice))


def test_wrong_key_file_fails() -> None:
    worker = uuid.uuid4()
    wrapped = Vault(create_keyring()).new_worker_key(worker)
    with pytest.raises(KeyUnavailable):  # the other key file has no KEK of that id
        Vault(create_keyring()).worker_cipher(worker, wrapped)


def test_tampered_ciphertext_and_swapped_context_fail() -> None:
    vault = Vault(create_keyring())
    worker = uuid.uuid4()
    cipher = vault.worker_cipher(worker, vault.new_worker_key(worker))
    token = bytearray(cipher.encrypt_text("measurements.result:1", '{"value": 41.0}'))
    token[-1] ^= 0x01
    with pytest.raises(IntegrityFailure):
        cipher.decrypt(("measurements.result:1"), bytes(token))
    good = cipher.encrypt_text("measurements.result:1", "41.0")
    with pytest.raises(IntegrityFailure):  # moved onto another record
        cipher.decrypt("measurements.result:2", good)
    with pytest.raises(IntegrityFailure):
        cipher.decrypt("measurements.result:1", b"\x01short")


def _store_worker_key(runtime: Runtime, worker: uuid.UUID) -> WrappedKey:
    key = runtime.vault.new_worker_key(worker)
    with runtime.db.write() as tx:
        tx.execute("INSERT INTO worker_keys VALUES (?, ?, ?, now())", [worker, key.kek_id, key.blob])
    return key


def test_shredding_makes_data_unreadable(runtime: Runtime) -> None:
    vault = runtime.vault
    worker = uuid.uuid4()
    token = vault.worker_cipher(worker, _store_worker_key(runtime, worker)).encrypt_text("workers.name", "Carla")
    with runtime.db.write() as tx:
        assert shred_worker(KeyTable(tx), worker)
    with runtime.db.read() as tx:
        stored = KeyTable(tx).wrapped_key(worker)
    with pytest.raises(KeyUnavailable, match="destroyed"):
        vault.worker_cipher(worker, stored).decrypt_text("workers.name", token)
    with runtime.db.write() as tx:
        assert not shred_worker(KeyTable(tx), worker)


def test_kek_rotation_rewraps_every_key_and_retires_the_old_one(runtime: Runtime) -> None:
    ring = runtime.vault.keyring
    tokens = {}
    for _ in range(3):
        worker = uuid.uuid4()
        key = _store_worker_key(runtime, worker)
        tokens[worker] = runtime.vault.worker_cipher(worker, key).encrypt_text("workers.name", str(worker))
    new_ring = ring.with_new_kek()
    with runtime.db.write() as tx:
        assert rotate_kek(Vault(new_ring), KeyTable(tx)) == 3
    with runtime.db.read() as tx:
        keys = dict(KeyTable(tx).wrapped_keys())
    assert {k.kek_id for k in keys.values()} == {new_ring.active_kek_id}
    retired = Vault(new_ring.without_keks_except_active())
    for worker, token in tokens.items():
        assert retired.worker_cipher(worker, keys[worker]).decrypt_text("workers.name", token) == str(worker)
    old_copy = Vault(ring).new_worker_key(uuid.uuid4())  # e.g. from a backup taken before rotation
    with pytest.raises(KeyUnavailable):
        retired.worker_cipher(uuid.uuid4(), old_copy)


def test_blind_index_is_keyed_and_stable() -> None:
    ring = create_keyring()
    assert Vault(ring).blind_index("bsn", "111222333") == Vault(ring).blind_index("bsn", "111222333")
    assert Vault(ring).blind_index("bsn", "111222333") != Vault(create_keyring()).blind_index("bsn", "111222333")
    assert "111222333" not in Vault(ring).blind_index("bsn", "111222333")


def test_key_file_round_trip_and_permissions(tmp_path: Path) -> None:
    path = tmp_path / "registry.key"
    ring = create_keyring()
    save_keyring(ring, path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert load_keyring(path).database_key_hex() == ring.database_key_hex()
    assert "kek" in repr(ring) and ring.database_key_hex() not in repr(ring)
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        load_keyring(path)
    with pytest.raises(KeyringError, match="does not exist"):
        load_keyring(tmp_path / "missing.key")


def test_api_keys_are_stored_as_hashes() -> None:
    issued = issue_api_key()
    assert issued.token not in issued.secret_hash
    parsed = parse_api_key(issued.token)
    assert parsed is not None and parsed[0] == issued.key_id
    assert verify_api_key(parsed[1], issued.secret_hash)
    assert not verify_api_key(parsed[1] + "x", issued.secret_hash)
    assert parse_api_key("Bearer nonsense") is None
