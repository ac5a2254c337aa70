"""What a CLI command reads and writes, and how it refuses: one shape whether the command
runs in its own process or inside the server for a CLI on the operator channel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

__all__ = ["CommandFailed", "Io", "ParseExit"]


class CommandFailed(Exception):
    """A command's refusal: reported as `registry: <message>` on stderr, exit code 2."""


class ParseExit(Exception):
    """What argparse would print before exiting (help, a usage error), as a value: the
    operator channel parses inside the server, which must neither exit nor print."""

    def __init__(self, status: int, out: str = "", err: str = "") -> None:
        super().__init__(err or out)
        self.status, self.out, self.err = status, out, err


class Io:
    """A command's output streams and the operator's files, which the command reaches only
    through this object: its own process's in the CLI, buffers and the files sent along
    when the command runs inside the server for a CLI on the operator channel."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err

    def read_text(self, path: str) -> str:
        """The file's text; "-" is standard input."""
        if path == "-":
            return sys.stdin.read()
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandFailed(f"cannot read {path}: {exc.strerror}") from None

    def read_bytes(self, path: str) -> bytes:
        """The file's bytes (a spreadsheet); "-" is standard input."""
        if path == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise CommandFailed(f"cannot read {path}: {exc.strerror}") from None

    def write_text(self, path: str, text: str) -> None:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandFailed(f"cannot write {path}: {exc.strerror}") from None
