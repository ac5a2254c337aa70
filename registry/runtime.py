"""What a running registry holds: its settings, the open store and the vault of keys.

`open_runtime` is the single way in: it creates the key file and an empty encrypted
store on first use, applies pending migrations, refuses a key file that is not the store's
(check values) and loads the substance catalogue.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Final

from crypto import Keyring, KeyringError, Vault, create_keyring, load_keyring, rotate_kek, save_keyring
from crypto.audit_seal import AnchorFile, AuditSeal
from registry.access import audit
from registry.services.limits import apply_reference_limits
from registry.services.substances import load_reference_substances
from registry.settings import Settings
from registry.store import Database, DuckDBFile, PostgresServer, StoreLocation, Tx, key_checks, migrate
from registry.store.people import KeyTable

__all__ = ["Runtime", "open_runtime"]


class Runtime:
    """The open store and the vault. The vault changes through `rotate_keys`, which a running
    server also executes (for `registry keys rotate` on its operator channel), or when
    another process rotated the key file (PostgreSQL: a CLI or another API host), so the
    server goes on with the new keys either way."""

    def __init__(self, settings: Settings, db: Database, vault: Vault, seal: AuditSeal, anchor: AnchorFile) -> None:
        self.settings: Final = settings
        self.db: Final = db
        self.audit_seal: Final = seal
        self.audit_anchor: Final = anchor
        self._vault = vault
        self._rotating = threading.Lock()
        self._following = threading.Lock()
        self._key_file_seen = _stamp(settings.key_file)

    @property
    def vault(self) -> Vault:
        """The vault, with the key file re-read if it changed since (one stat per unit of
        work): a rotation by another process retires the KEK this process holds, and every
        worker key it re-wrapped would otherwise be unreadable here until a restart."""
        stamp = _stamp(self.settings.key_file)
        if stamp is not None and stamp != self._key_file_seen:
            self._follow_key_file(stamp)
        return self._vault

    def _follow_key_file(self, stamp: tuple[int, int, int]) -> None:
        with self._following:
            if stamp == self._key_file_seen:
                return
            self._key_file_seen = stamp
            current = self._vault.keyring
            try:
                loaded = load_keyring(self.settings.key_file)
            except KeyringError as exc:
                print(f"registry: key file changed but cannot be read; keeping the keys in use: {exc}", file=sys.stderr)
                return
            if loaded.check_values()["index"] != current.check_values()["index"] or (
                loaded.database_key_hex() != current.database_key_hex()
            ):
                print(
                    f"registry: the key file {self.settings.key_file} now holds other index or database keys; "
                    "keeping the keys in use (restart to find out which is right)",
                    file=sys.stderr,
                )
                return
            self._vault.keyring = loaded

    def rotate_keys(self) -> tuple[int, str]:
        """New KEK, every worker key re-wrapped, then the old KEKs removed from the key file
        and from memory. Returns how many keys moved and the new KEK's id.

        The vault in use holds both KEKs from before the re-wrap until it has committed
        (writes wait for it, and read whichever wrapping their snapshot shows); rotations
        run one at a time, so none saves a key file that drops another's KEK. The keyring is
        swapped inside the one vault every unit of work shares: a request that began before
        the rotation and writes after it would otherwise wrap a new worker key under the KEK
        just retired, and that worker could never be read again (tests/test_crash_harness.py)."""
        with self._rotating:
            both = self._vault.keyring.with_new_kek()
            save_keyring(both, self.settings.key_file)  # old KEK kept until every key moved
            self._vault.keyring = both
            with self.db.write() as tx:
                check_keys(tx, both, self.settings.key_file)  # records the new KEK's check value
                moved = rotate_kek(self._vault, KeyTable(tx))
            retired = both.without_keks_except_active()
            save_keyring(retired, self.settings.key_file)
            self._vault.keyring = retired
        return moved, retired.active_kek_id

    def close(self) -> None:
        self.db.close()


def open_runtime(settings: Settings) -> Runtime:
    """Open (and on first use, create) the key file and the store."""
    location = _location(settings, None)
    if not settings.key_file.exists():
        _refuse_new_key_for_existing_store(settings, location)
        save_keyring(create_keyring(), settings.key_file)
    keyring = load_keyring(settings.key_file)
    seal, anchor = AuditSeal(keyring), AnchorFile(settings.audit_anchor_file)
    db = Database(_location(settings, keyring.database_key_hex()), seal=seal, anchor=anchor)
    try:
        migrate(db)
        with db.write() as tx:
            check_keys(tx, keyring, settings.key_file)
            audit.start_sealing(tx, seal, anchor)
        load_reference_substances(db)
        apply_reference_limits(db)
    except BaseException:
        db.close()
        raise
    return Runtime(settings=settings, db=db, vault=Vault(keyring), seal=seal, anchor=anchor)


def check_keys(tx: Tx, keyring: Keyring, key_file: Path) -> None:
    """Refuse a key file whose keys do not match the store's check values, before any key is
    used; record the check values of keys the store has not seen yet (first use, a new KEK)."""
    computed = keyring.check_values()
    stored = key_checks.stored_checks(tx)
    wrong = sorted(name for name, value in computed.items() if stored.get(name, value) != value)
    if wrong:
        raise KeyringError(
            f"the key file {key_file} does not belong to this store or is damaged: {', '.join(wrong)} "
            "does not match the check value the store keeps; nothing was read or written"
        )
    key_checks.insert_checks(tx, {name: value for name, value in computed.items() if name not in stored})


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size


def _location(settings: Settings, database_key_hex: str | None) -> StoreLocation:
    if settings.postgres_dsn:
        return PostgresServer(dsn=settings.postgres_dsn, schema=settings.postgres_schema)
    return DuckDBFile(path=settings.database_file, encryption_key_hex=database_key_hex or "")


def _refuse_new_key_for_existing_store(settings: Settings, location: StoreLocation) -> None:
    """A new key file for a store that already holds data would make that data unreadable."""
    if isinstance(location, DuckDBFile):
        exists = settings.database_file.exists()
    else:
        db = Database(location)
        try:
            with db.read() as tx:
                exists = bool(
                    tx.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'")
                )
        finally:
            db.close()
    if exists:
        raise FileExistsError(
            f"the store exists but its key file {settings.key_file} does not; refusing to create a new key "
            "(the data would be unreadable). Point --key-file at the right one."
        )
