"""What a running registry holds: its settings, the open store and the vault of keys.

`open_runtime` is the single way in: it creates the key file and an empty encrypted
store on first use, applies pending migrations and loads the substance catalogue.
"""

from __future__ import annotations

import msgspec

from crypto import Vault, create_keyring, load_keyring, save_keyring
from registry.services.limits import load_reference_limits_once
from registry.services.substances import load_reference_substances
from registry.settings import Settings
from registry.store import Database, DuckDBFile, PostgresServer, StoreLocation, migrate

__all__ = ["Runtime", "open_runtime"]


class Runtime(msgspec.Struct, frozen=True):
    settings: Settings
    db: Database
    vault: Vault

    def close(self) -> None:
        self.db.close()


def open_runtime(settings: Settings) -> Runtime:
    """Open (and on first use, create) the key file and the store."""
    location = _location(settings, None)
    if not settings.key_file.exists():
        _refuse_new_key_for_existing_store(settings, location)
        save_keyring(create_keyring(), settings.key_file)
    keyring = load_keyring(settings.key_file)
    db = Database(_location(settings, keyring.database_key_hex()))
    try:
        migrate(db)
        load_reference_substances(db)
        load_reference_limits_once(db)
    except BaseException:
        db.close()
        raise
    return Runtime(settings=settings, db=db, vault=Vault(keyring))


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
