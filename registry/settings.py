"""Where the registry keeps its data and keys; one struct, filled from CLI flags or environment."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

__all__ = ["Settings"]

DEFAULT_DATA_DIR = "./data"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: Path
    key_file: Path
    # Empty: the embedded encrypted DuckDB file in data_dir. Otherwise a libpq connection
    # string ("host=... dbname=...") of the PostgreSQL database that holds the registry.
    postgres_dsn: str = ""
    postgres_schema: str = "registry"
    # OpenID Connect: the audience our tokens must name, the issuers we trust and for which
    # roles ("https://broker.example=worker" ...), and whether the embedded issuer (a key file
    # beside the registry's, for `registry token`) is trusted; off in production.
    oidc_audience: str = "blootstellingsregister"
    oidc_issuers: tuple[str, ...] = ()
    local_issuer: bool = True

    @property
    def database_file(self) -> Path:
        return self.data_dir / "registry.duckdb"

    @property
    def audit_anchor_file(self) -> Path:
        """The audit log's anchor (crypto.audit_seal): beside the key file, outside the store."""
        return self.key_file.with_name("audit-anchor.jsonl")

    @property
    def issuer_key_file(self) -> Path:
        """The embedded issuer's signing key: kept beside the key file, apart from the data."""
        return self.key_file.with_name("oidc-issuer.jwk")

    @classmethod
    def resolve(
        cls,
        data_dir: str | None = None,
        key_file: str | None = None,
        postgres_dsn: str | None = None,
        postgres_schema: str | None = None,
    ) -> Settings:
        """Flags win over environment (REGISTRY_DATA_DIR, REGISTRY_KEY_FILE,
        REGISTRY_POSTGRES_DSN, REGISTRY_POSTGRES_SCHEMA); OpenID Connect comes from the
        environment only (REGISTRY_OIDC_AUDIENCE, REGISTRY_OIDC_ISSUERS: space-separated
        `ISSUER=role,role`, REGISTRY_LOCAL_ISSUER=0 to distrust the embedded issuer)."""
        directory = Path(data_dir or os.environ.get("REGISTRY_DATA_DIR") or DEFAULT_DATA_DIR)
        keys = Path(key_file or os.environ.get("REGISTRY_KEY_FILE") or directory / "registry.key")
        dsn = postgres_dsn if postgres_dsn is not None else os.environ.get("REGISTRY_POSTGRES_DSN", "")
        schema = postgres_schema or os.environ.get("REGISTRY_POSTGRES_SCHEMA") or "registry"
        return cls(
            data_dir=directory,
            key_file=keys,
            postgres_dsn=dsn,
            postgres_schema=schema,
            oidc_audience=os.environ.get("REGISTRY_OIDC_AUDIENCE") or "blootstellingsregister",
            oidc_issuers=tuple(os.environ.get("REGISTRY_OIDC_ISSUERS", "").split()),
            local_issuer=os.environ.get("REGISTRY_LOCAL_ISSUER", "1") not in ("0", "false", "no"),
        )
