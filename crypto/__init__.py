"""How secrets are kept: the key file, per-worker envelope encryption, blind index, API keys.

Only this package imports cryptographic primitives; everything else uses these recipes.
"""

from crypto.keyring import Keyring, KeyringError, create_keyring, load_keyring, save_keyring
from crypto.tokens import IssuedApiKey, issue_api_key, parse_api_key, verify_api_key
from crypto.vault import Vault, WorkerCipher, WorkerKeyStore, WrappedKey, rotate_kek, shred_worker

__all__ = [
    "IssuedApiKey",
    "Keyring",
    "KeyringError",
    "Vault",
    "WorkerCipher",
    "WorkerKeyStore",
    "WrappedKey",
    "create_keyring",
    "issue_api_key",
    "load_keyring",
    "parse_api_key",
    "rotate_kek",
    "save_keyring",
    "shred_worker",
    "verify_api_key",
]
