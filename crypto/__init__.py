"""How secrets are kept: the key file, per-worker envelope encryption, blind index, API keys, JWTs.

Only this package imports cryptographic primitives; everything else uses these recipes.
"""

from crypto.keyring import Keyring, KeyringError, create_keyring, load_keyring, save_keyring
from crypto.local_issuer import (
    LOCAL_ISSUER,
    JwtKeySet,
    JwtProblem,
    JwtRefused,
    LocalIssuer,
    UnverifiedJwt,
    read_unverified_jwt,
)
from crypto.tokens import IssuedApiKey, issue_api_key, parse_api_key, verify_api_key
from crypto.vault import Vault, WorkerCipher, WorkerKeyStore, WrappedKey, rotate_kek, shred_worker

__all__ = [
    "LOCAL_ISSUER",
    "IssuedApiKey",
    "JwtKeySet",
    "JwtProblem",
    "JwtRefused",
    "Keyring",
    "KeyringError",
    "LocalIssuer",
    "UnverifiedJwt",
    "Vault",
    "WorkerCipher",
    "WorkerKeyStore",
    "WrappedKey",
    "create_keyring",
    "issue_api_key",
    "load_keyring",
    "parse_api_key",
    "read_unverified_jwt",
    "rotate_kek",
    "save_keyring",
    "shred_worker",
    "verify_api_key",
]
