"""Where the registry keeps its data and keys; one struct, filled from CLI flags or environment."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

__all__ = ["Settings"]

DEFAULT_DATA_DIR = "./data"
# Abuse limits per caller (registry.api.rate_limits): bursts of this many requests, refilled at
# this rate per minute. 1,200 (20/s sustained) is about half of what the whole server stores
# one by one on two cores (docs/benchmarks.md), far above what an employer's system or a person
# needs; the identity endpoints (and refused credentials, per address) allow 120 (2/s): a new
# worker or a sign-in at a time; a bulk onboarding of 10,000 workers takes 85 minutes, or less
# with the limit raised for the occasion.
DEFAULT_RATE_LIMIT = 1200
DEFAULT_IDENTITY_RATE_LIMIT = 120


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
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT
    identity_rate_limit_per_minute: int = DEFAULT_IDENTITY_RATE_LIMIT

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
        `ISSUER=role,role`, REGISTRY_LOCAL_ISSUER=0 to distrust the embedded issuer), and so
        do the abuse limits (REGISTRY_RATE_LIMIT, REGISTRY_IDENTITY_RATE_LIMIT: per minute)."""
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
            rate_limit_per_minute=_per_minute("REGISTRY_RATE_LIMIT", DEFAULT_RATE_LIMIT),
            identity_rate_limit_per_minute=_per_minute("REGISTRY_IDENTITY_RATE_LIMIT", DEFAULT_IDENTITY_RATE_LIMIT),
        )


def _per_minute(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and int(raw) > 0):
        raise ValueError(f"{variable} must be a whole number of requests per minute, at least 1, not {raw!r}")
    return int(raw)
