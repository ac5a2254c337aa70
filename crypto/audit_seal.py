"""Tamper evidence for the audit log that holds against someone with database access.

Two parts, one recipe:

- **The seal.** Each entry already carries `entry_hash`, a SHA-256 chain over every earlier
  entry. Anyone who can write to the database can recompute that chain, so each entry also
  gets `seal = HMAC-SHA-256(K, stream | seq | entry_hash)`, where K is derived (HKDF) from the
  key file's index key. Without the key file an edited, removed or reordered entry cannot be
  given a valid seal, and the first bad seal names the entry.
- **The anchor.** Deleting the newest entries leaves a valid chain. So after every commit
  the writer appends the head of its stream (stream, seq, seal) to an append-only file
  beside the key file, outside the database. Verification checks that each anchored head is
  still in the store, with the same seal.

The index key is used because it never rotates (a KEK rotation must not break old seals)
and already lives only in the key file; HKDF with its own label keeps the two uses apart.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.keyring import Keyring

__all__ = ["AnchorFile", "AnchorState", "AuditSeal"]

_SEAL_LABEL = b"blootstellingsregister/audit-seal/v1"
_COMPACT_AT_BYTES = 4 * 1024 * 1024  # a line per commit; rewritten to one line per stream past this


class AuditSeal:
    """The keyed MAC of audit entries. Never logged; built from the key file only."""

    def __init__(self, keyring: Keyring) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_LABEL).derive(keyring.index_key())

    def __repr__(self) -> str:
        return "AuditSeal(<key from the key file>)"

    def seal(self, stream: str, seq: int, entry_hash: str) -> str:
        message = f"{stream}|{seq}|{entry_hash}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def matches(self, stream: str, seq: int, entry_hash: str, seal: str | None) -> bool:
        return seal is not None and hmac.compare_digest(self.seal(stream, seq, entry_hash), seal)


class _Header(msgspec.Struct, frozen=True, tag="header"):
    """First line: when sealing began, and how many entries were written before it
    (sealed once, at the cut-over, after their SHA-256 chain was checked)."""

    sealed_since: dt.datetime
    legacy_entries: int
    recreated: bool = False  # the file was lost while the log was already sealed


class _Head(msgspec.Struct, frozen=True, tag="head"):
    stream: str
    seq: int
    seal: str


_Line = _Header | _Head
_decoder = msgspec.json.Decoder(_Line)


class AnchorState(msgspec.Struct, frozen=True):
    """What the anchor file says: the cut-over, and the newest head of every stream."""

    header: _Header | None
    heads: dict[str, tuple[int, str]]
    damaged_lines: int


class AnchorFile:
    """An append-only file of stream heads, shared by every process that writes the store.

    Appends are single `write` calls on an O_APPEND descriptor (atomic for lines this short)
    under a shared `flock`; compaction takes the exclusive lock and replaces the file, and an
    appender that finds its descriptor no longer names the file opens it again. Appends are
    not fsynced: after a crash the anchor may lag the store by the last commit, never lead it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def start(self, legacy_entries: int, recreated: bool = False) -> None:
        """Create the file with its header (once, when sealing begins for this store)."""
        header = _Header(sealed_since=dt.datetime.now(dt.UTC), legacy_entries=legacy_entries, recreated=recreated)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(msgspec.json.encode(header) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    def record(self, stream: str, seq: int, seal: str) -> None:
        line = msgspec.json.encode(_Head(stream=stream, seq=seq, seal=seal)) + b"\n"
        with self._locked(fcntl.LOCK_SH) as handle:
            handle.write(line)
            handle.flush()
            size = os.fstat(handle.fileno()).st_size
        if size > _COMPACT_AT_BYTES:
            self.compact()

    def read(self) -> AnchorState:
        if not self.path.exists():
            return AnchorState(header=None, heads={}, damaged_lines=0)
        with self._locked(fcntl.LOCK_SH) as handle:
            handle.seek(0)
            return _parse(handle.read())

    def compact(self) -> None:
        """Rewrite as the header plus one line per stream (the newest head)."""
        with self._locked(fcntl.LOCK_EX) as handle:
            handle.seek(0)
            state = _parse(handle.read())
            lines = [msgspec.json.encode(state.header)] if state.header else []
            lines += [msgspec.json.encode(_Head(stream=s, seq=q, seal=m)) for s, (q, m) in sorted(state.heads.items())]
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(b"".join(line + b"\n" for line in lines))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[IO[bytes]]:
        """The current file, locked; reopened if a compaction replaced it meanwhile."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            handle = os.fdopen(fd, "a+b")
            try:
                fcntl.flock(fd, mode)
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    yield handle
                    return
            finally:
                handle.close()  # closing releases the lock


def _parse(data: bytes) -> AnchorState:
    header: _Header | None = None
    heads: dict[str, tuple[int, str]] = {}
    damaged = 0
    for raw in data.splitlines():
        try:
            line = _decoder.decode(raw)
        except msgspec.DecodeError:
            damaged += 1  # a torn last line after a crash, or an edit
            continue
        if isinstance(line, _Header):
            header = header or line
        elif line.seq > heads.get(line.stream, (0, ""))[0]:
            heads[line.stream] = (line.seq, line.seal)
    return AnchorState(header=header, heads=heads, damaged_lines=damaged)
