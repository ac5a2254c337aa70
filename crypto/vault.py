"""Envelope encryption per worker: the recipes, so no other package touches AES-GCM.

Each worker has a random 256-bit data key (DEK). The DEK is stored only wrapped
(AES-256-GCM under a key-encryption key from the key file), bound by associated data to
the worker's id and the KEK id, so a wrapped key copied onto another worker fails to
open. Field ciphertexts are bound to (worker, context) in the same way, where context
names the table, column and record: swapping two ciphertexts between rows fails.

Destroying a worker's wrapped DEK (shred_worker) makes every copy of that worker's
ciphertexts unreadable, including those in backups, once retired KEKs are dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Iterable
from typing import Protocol

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.keyring import Keyring
from schemas.errors import IntegrityFailure, KeyUnavailable

__all__ = [
    "Vault",
    "WorkerCipher",
    "WorkerKeyStore",
    "WrappedKey",
    "rotate_kek",
    "shred_worker",
]

_FORMAT = b"\x01"  # ciphertext format version, so the recipe can change without ambiguity
_NONCE_BYTES = 12


class WrappedKey(msgspec.Struct, frozen=True):
    """A worker's data key, encrypted under the key-encryption key `kek_id`."""

    kek_id: str
    blob: bytes


class WorkerKeyStore(Protocol):
    """Where wrapped worker keys live (the store implements it inside a transaction)."""

    def wrapped_keys(self) -> Iterable[tuple[uuid.UUID, WrappedKey]]: ...

    def replace_wrapped_key(self, worker_id: uuid.UUID, key: WrappedKey) -> None: ...

    def delete_wrapped_key(self, worker_id: uuid.UUID) -> bool: ...


class WorkerCipher:
    """A worker's unwrapped data key, bound to that worker. Lives only in memory."""

    __slots__ = ("_aead", "_worker")

    def __init__(self, worker_id: uuid.UUID, dek: bytes) -> None:
        self._worker = worker_id
        self._aead = AESGCM(dek)

    def __repr__(self) -> str:
        return f"WorkerCipher(worker={self._worker})"

    def encrypt(self, context: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, self._aad(context))

    def decrypt(self, context: str, token: bytes) -> bytes:
        if len(token) < 1 + _NONCE_BYTES + 16 or token[:1] != _FORMAT:
            raise IntegrityFailure(f"ciphertext for {context} is malformed")
        nonce, body = token[1 : 1 + _NONCE_BYTES], token[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, self._aad(context))
        except InvalidTag:
            raise IntegrityFailure(f"ciphertext for {context} failed authentication") from None

    def encrypt_text(self, context: str, text: str) -> bytes:
        return self.encrypt(context, text.encode("utf-8"))

    def decrypt_text(self, context: str, token: bytes) -> str:
        return self.decrypt(context, token).decode("utf-8")

    def _aad(self, context: str) -> bytes:
        return b"field|" + self._worker.bytes + b"|" + context.encode("utf-8")


class Vault:
    """The registry's key operations, built on a loaded key file."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def new_worker_key(self, worker_id: uuid.UUID) -> WrappedKey:
        return self._wrap(worker_id, AESGCM.generate_key(bit_length=256))

    def worker_cipher(self, worker_id: uuid.UUID, wrapped: WrappedKey | None) -> WorkerCipher:
        if wrapped is None:
            raise KeyUnavailable(f"the data key of worker {worker_id} was destroyed")
        return WorkerCipher(worker_id, self._unwrap(worker_id, wrapped))

    def rewrap(self, worker_id: uuid.UUID, wrapped: WrappedKey) -> WrappedKey:
        """The same data key, wrapped under the active KEK (for KEK rotation)."""
        return self._wrap(worker_id, self._unwrap(worker_id, wrapped))

    def blind_index(self, kind: str, value: str) -> str:
        """Keyed hash for equality lookups (BSN) that reveals nothing without the key file."""
        mac = hmac.new(self.keyring.index_key(), f"{kind}|{value}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def _wrap(self, worker_id: uuid.UUID, dek: bytes) -> WrappedKey:
        kek_id = self.keyring.active_kek_id
        nonce = os.urandom(_NONCE_BYTES)
        blob = nonce + AESGCM(self.keyring.kek(kek_id)).encrypt(nonce, dek, _wrap_aad(worker_id, kek_id))
        return WrappedKey(kek_id=kek_id, blob=blob)

    def _unwrap(self, worker_id: uuid.UUID, wrapped: WrappedKey) -> bytes:
        kek = self.keyring.kek(wrapped.kek_id)
        nonce, body = wrapped.blob[:_NONCE_BYTES], wrapped.blob[_NONCE_BYTES:]
        try:
            return AESGCM(kek).decrypt(nonce, body, _wrap_aad(worker_id, wrapped.kek_id))
        except InvalidTag:
            raise IntegrityFailure(f"the data key of worker {worker_id} does not open with this key file") from None


def _wrap_aad(worker_id: uuid.UUID, kek_id: str) -> bytes:
    return b"dek|" + worker_id.bytes + b"|" + kek_id.encode("ascii")


def shred_worker(keys: WorkerKeyStore, worker_id: uuid.UUID) -> bool:
    """Destroy a worker's data key: every ciphertext of that worker becomes noise."""
    return keys.delete_wrapped_key(worker_id)


def rotate_kek(vault: Vault, keys: WorkerKeyStore) -> int:
    """Re-wrap every worker key under the vault's active KEK. Returns how many moved."""
    moved = 0
    active = vault.keyring.active_kek_id
    for worker_id, wrapped in list(keys.wrapped_keys()):
        if wrapped.kek_id != active:
            keys.replace_wrapped_key(worker_id, vault.rewrap(worker_id, wrapped))
            moved += 1
    return moved
