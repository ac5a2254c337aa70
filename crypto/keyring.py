"""The key file: every secret the registry holds, kept outside the database it protects.

Layout (JSON, mode 0600):
  format          1
  keks            {kek_id: base64 32 bytes}  key-encryption keys; one is active
  active_kek      the kek_id that wraps new worker keys
  database_key    base64 32 bytes: DuckDB's AES-GCM file encryption key
  index_key       base64 32 bytes: HMAC key of the BSN blind index

The database key and the index key are separate from the KEKs so that rotating a KEK
only re-wraps the small per-worker keys; nothing else has to be rewritten.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

import msgspec

from schemas.errors import KeyUnavailable

__all__ = ["Keyring", "KeyringError", "create_keyring", "load_keyring", "save_keyring"]

KEY_BYTES = 32
_CHECK_LABEL = b"blootstellingsregister/key-check/v1"


class KeyringError(KeyUnavailable):
    slug = "keyring-error"
    title = "Key file problem"


class _KeyFile(msgspec.Struct, forbid_unknown_fields=True):
    format: int
    keks: dict[str, str]
    active_kek: str
    database_key: str
    index_key: str


class Keyring:
    """In-memory view of the key file. Never logged, never written into a database."""

    def __init__(self, keks: dict[str, bytes], active_kek: str, database_key: bytes, index_key: bytes) -> None:
        if active_kek not in keks:
            raise KeyringError(f"active key-encryption key {active_kek!r} is not in the key file")
        for name, key in [*keks.items(), ("database_key", database_key), ("index_key", index_key)]:
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {name!r} must be {KEY_BYTES} bytes")
        self._keks = dict(keks)
        self.active_kek_id = active_kek
        self._database_key = database_key
        self._index_key = index_key

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(keks={sorted(self._keks)}, active_kek={self.active_kek_id!r})"

    @property
    def kek_ids(self) -> list[str]:
        return sorted(self._keks)

    def kek(self, kek_id: str) -> bytes:
        try:
            return self._keks[kek_id]
        except KeyError:
            raise KeyringError(f"key-encryption key {kek_id!r} is not in the key file") from None

    def database_key_hex(self) -> str:
        return self._database_key.hex()

    def index_key(self) -> bytes:
        return self._index_key

    def check_values(self) -> dict[str, str]:
        """A check value per key (HMAC-SHA-256 of a fixed label under the key, truncated to 128
        bits): stored beside the data, it shows that a key file belongs to a store, or that a
        key in it was damaged, before any key is used, and reveals nothing of the keys."""
        keys = {f"kek:{k}": v for k, v in self._keks.items()} | {"index": self._index_key}
        return {name: hmac.new(key, _CHECK_LABEL, hashlib.sha256).hexdigest()[:32] for name, key in keys.items()}

    def with_new_kek(self) -> Keyring:
        """A keyring whose active KEK is fresh; old KEKs stay until every key is re-wrapped."""
        new_id = f"kek-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        return Keyring(
            {**self._keks, new_id: secrets.token_bytes(KEY_BYTES)},
            new_id,
            self._database_key,
            self._index_key,
        )

    def without_keks_except_active(self) -> Keyring:
        """Drop retired KEKs once nothing is wrapped with them: old backups become unreadable."""
        active = self._keks[self.active_kek_id]
        return Keyring({self.active_kek_id: active}, self.active_kek_id, self._database_key, self._index_key)


def create_keyring() -> Keyring:
    kek_id = f"kek-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    return Keyring(
        {kek_id: secrets.token_bytes(KEY_BYTES)},
        kek_id,
        secrets.token_bytes(KEY_BYTES),
        secrets.token_bytes(KEY_BYTES),
    )


def save_keyring(keyring: Keyring, path: Path) -> None:
    """Write the key file atomically with mode 0600 (never readable by group or others)."""
    data = _KeyFile(
        format=1,
        keks={k: _b64(keyring.kek(k)) for k in keyring.kek_ids},
        active_kek=keyring.active_kek_id,
        database_key=_b64(bytes.fromhex(keyring.database_key_hex())),
        index_key=_b64(keyring.index_key()),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(msgspec.json.format(msgspec.json.encode(data)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


def load_keyring(path: Path) -> Keyring:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyringError(f"key file {path} does not exist (run 'registry init')") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(f"key file {path} is readable by others; run: chmod 600 {path}")
    try:
        data = msgspec.json.decode(path.read_bytes(), type=_KeyFile)
    except msgspec.DecodeError as exc:
        raise KeyringError(f"key file {path} is not a valid registry key file: {exc}") from None
    if data.format != 1:
        raise KeyringError(f"key file {path} has unknown format {data.format}")
    return Keyring(
        {k: _unb64(v) for k, v in data.keks.items()},
        data.active_kek,
        _unb64(data.database_key),
        _unb64(data.index_key),
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def fsync_dir(directory: Path) -> None:
    """Make a file created or renamed in `directory` survive a crash (the entry, not just the data)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
