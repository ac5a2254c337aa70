"""What a running registry holds: its settings, the open store and the vault of keys.

`open_runtime` is the single way in: it creates the key file and an empty encrypted
store on first use, applies pending migrations and loads the substance catalogue.
"""

from __future__ import annotations

import msgspec

from crypto import Vault, create_keyring, load_keyring, save_keyring
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


def open_runtime(settings: Settings, *, create: bool = True) -> Runtime:
    """Open (and on first use, create) the key file and the store."""
    if not settings.key_file.exists():
        if not create:
            load_keyring(settings.key_file)  # raises the helpful "run registry init" error
        if settings.database_file.exists() and not settings.postgres_dsn:
            raise FileExistsError(
                f"{settings.database_file} exists but its key file {settings.key_file} does not; "
                "refusing to create a new key (the data would be unreadable). Point --key-file at the right one."
            )
        save_keyring(create_keyring(), settings.key_file)
    keyring = load_keyring(settings.key_file)
    location: StoreLocation = (
        PostgresServer(dsn=settings.postgres_dsn)
        if settings.postgres_dsn
        else DuckDBFile(path=settings.database_file, encryption_key_hex=keyring.database_key_hex())
    )
    db = Database(location)
    try:
        migrate(db)
        load_reference_substances(db)
    except BaseException:
        db.close()
        raise
    return Runtime(settings=settings, db=db, vault=Vault(keyring))
