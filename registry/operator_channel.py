"""The operator's way into a running server: administrative commands without downtime.

The embedded store opens in one process at a time, and `registry serve` holds it. So the
server also listens on a Unix socket, DATA_DIR/operator.sock (mode 0600, and only a peer
with the server's uid or root is answered), where `POST /cli` takes a command line and runs
it in-process, in a worker thread, with the server's own runtime: a new API key or a
rotated key-encryption key takes effect in the server at once. The CLI forwards a command
there when it finds the store busy. Files a command names (`limits import FILE`,
`history --output FILE`) stay on the CLI's side: their content travels with the request or
the answer, so the server never needs to see the operator's paths.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from io import StringIO
from pathlib import Path

import httpx
import msgspec
import uvicorn
from litestar import Litestar, post
from litestar.types import ASGIApp
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.h11_impl import H11Protocol

from registry.command_io import CommandFailed, Io, ParseExit
from registry.runtime import Runtime

__all__ = ["Command", "CommandTable", "Outcome", "create_operator_app", "execute", "forward", "serve", "socket_path"]

SOCKET_NAME = "operator.sock"
_NOT_OVER_THE_CHANNEL = frozenset({"serve", "init"})
_MAX_COMMAND_BYTES = 256 * 1024 * 1024


class Command(msgspec.Struct, frozen=True):
    """A command line without the global store flags (the server uses its own store), and
    the content of the local files it reads, by the path given on the command line (text, or
    bytes for a file such as a lab's xlsx)."""

    argv: list[str]
    files: dict[str, str] = {}
    binary_files: dict[str, bytes] = {}


class Outcome(msgspec.Struct, frozen=True):
    """What the command printed and its exit code, and the files it wrote, by the path given
    on the command line, for the CLI to save on its side."""

    exit_code: int
    stdout: str
    stderr: str
    files: dict[str, str] = {}


class CommandTable(msgspec.Struct, frozen=True):
    """The CLI's commands, handed in by the CLI (so this module does not import it back)."""

    parse: Callable[[Sequence[str]], argparse.Namespace]  # raises ParseExit for help and usage errors
    run: Callable[[Runtime, argparse.Namespace, Io], int]


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


class _ChannelIo(Io):
    """Buffers for output; the operator's files are the ones sent along or sent back."""

    def __init__(self, files: dict[str, str], binary_files: dict[str, bytes] | None = None) -> None:
        self._stdout, self._stderr = StringIO(), StringIO()
        super().__init__(out=self._stdout, err=self._stderr)
        self._received = files
        self._received_bytes = binary_files or {}
        self._written: dict[str, str] = {}

    def read_text(self, path: str) -> str:
        if path not in self._received:
            raise CommandFailed(f"{path} was not sent along with the command")
        return self._received[path]

    def read_bytes(self, path: str) -> bytes:
        if path not in self._received_bytes:
            raise CommandFailed(f"{path} was not sent along with the command")
        return self._received_bytes[path]

    def write_text(self, path: str, text: str) -> None:
        self._written[path] = text

    def outcome(self, exit_code: int) -> Outcome:
        return Outcome(
            exit_code=exit_code, stdout=self._stdout.getvalue(), stderr=self._stderr.getvalue(), files=self._written
        )


def execute(rt: Runtime, commands: CommandTable, command: Command) -> Outcome:
    """Run a command as the CLI would, with output and files captured instead."""
    io = _ChannelIo(command.files, command.binary_files)
    try:
        args = commands.parse(command.argv)
    except ParseExit as exc:
        return Outcome(exit_code=exc.status, stdout=exc.out, stderr=exc.err)
    if args.command in _NOT_OVER_THE_CHANNEL:
        return Outcome(
            exit_code=2,
            stdout="",
            stderr=f"registry: '{args.command}' cannot run while 'registry serve' (pid {os.getpid()}) "
            "holds this store; stop the server first\n",
        )
    try:
        exit_code = commands.run(rt, args, io)
    except Exception:  # a bug: the operator gets the traceback the CLI would have printed
        io.err.write(traceback.format_exc())
        exit_code = 1
    return io.outcome(exit_code)


def create_operator_app(rt: Runtime, commands: CommandTable) -> Litestar:
    @post("/cli", status_code=200, sync_to_thread=True)
    def cli(data: Command) -> Outcome:
        return execute(rt, commands, data)

    # A command carries the operator's files along: a lab file of 100,000 rows is tens of MB.
    return Litestar(route_handlers=[cli], openapi_config=None, debug=False, request_max_body_size=_MAX_COMMAND_BYTES)


class _Refusal:
    """The whole channel, as a peer that is not the operator sees it."""

    def __init__(self, uid: int) -> None:
        self._body = msgspec.json.encode(
            Outcome(
                exit_code=2,
                stdout="",
                stderr=f"registry: the operator channel answers only uid {os.getuid()} or root, not uid {uid}\n",
            )
        )

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self._body)).encode())]
        await send({"type": "http.response.start", "status": 403, "headers": headers, "trailers": False})
        await send({"type": "http.response.body", "body": self._body, "more_body": False})


class _OperatorOnly(H11Protocol):
    """Checks who is on the other end of each connection (SO_PEERCRED): besides the socket
    file's mode, only a process of the server's own uid, or root, reaches the channel."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("socket")
        creds = peer.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid not in (0, os.getuid()):
            self.app = _Refusal(uid)


_SWITCH_INTERVAL_S = 0.001  # how often a thread running Python offers the GIL to the others


class _Server(uvicorn.Server):
    """Leaves the signals to `serve`: two uvicorn servers in one process would each take the
    handlers from the other, and one SIGTERM would stop only one of them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve(rt: Runtime, app: ASGIApp, host: str, port: int, io: Io, commands: CommandTable) -> None:
    """Serve `app` on host:port and, for the embedded store, the operator channel beside it,
    in one process until SIGTERM or SIGINT stops both. (A PostgreSQL store needs no channel:
    the CLI opens it itself, and several servers may share one data dir.)"""
    # Every DuckDB statement releases the GIL and must win it back, and the writer that all
    # requests wait for (Database.transact) then waits for a thread running Python to yield
    # it: every 5 ms by default. At 1 ms, 8 clients posting single measurements were served
    # twice as fast (issue 15; bench ingest).
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    public = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    if rt.settings.postgres_dsn:
        asyncio.run(_serve_until_signal([(public, None)]))
        return
    path = socket_path(rt.settings.data_dir)
    listener = _listen(path)
    channel = _Server(
        uvicorn.Config(create_operator_app(rt, commands), http=_OperatorOnly, log_level="warning", access_log=False)
    )
    io.out.write(f"administrative commands reach this server through {path}\n")
    try:
        asyncio.run(_serve_until_signal([(public, None), (channel, [listener])]))
    finally:
        listener.close()
        path.unlink(missing_ok=True)


async def _serve_until_signal(servers: list[tuple[_Server, list[socket.socket] | None]]) -> None:
    def stop() -> None:
        for server, _ in servers:
            server.force_exit = server.should_exit  # a second signal: stop waiting for open connections
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    await asyncio.gather(*(server.serve(sockets=sockets) for server, sockets in servers))


def _listen(path: Path) -> socket.socket:
    """The channel's socket, created with mode 0600 under a umask (uvicorn's own `uds=`
    would chmod it to 0666). A socket file that no server answers on, left by one that was
    killed, is replaced; one that answers belongs to a live server and is left alone."""
    if _answers(path):
        raise CommandFailed(f"another process answers on {path}; is a second 'registry serve' using this data dir?")
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    except OSError as exc:
        listener.close()
        raise CommandFailed(f"cannot listen on {path}: {exc}") from None
    finally:
        os.umask(umask)
    listener.listen()
    return listener


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def forward(data_dir: Path, argv: Sequence[str], args: argparse.Namespace, io: Io) -> int | None:
    """Run the command inside the server that holds the store and relay what it printed;
    returns its exit code, or None when no server answers on the channel."""
    path = socket_path(data_dir)
    if not path.exists():
        return None
    try:
        files = {name: io.read_text(name) for name in _named_files(args, args.reads)}
        binary = {name: io.read_bytes(name) for name in _named_files(args, getattr(args, "reads_binary", ()))}
    except CommandFailed as exc:
        io.err.write(f"registry: {exc}\n")
        return 2
    command = Command(argv=_without_global_flags(argv), files=files, binary_files=binary)
    transport = httpx.HTTPTransport(uds=str(path))
    # No read timeout: a report over a national-size store takes as long as it takes.
    with httpx.Client(transport=transport, timeout=httpx.Timeout(None, connect=5.0)) as client:
        try:
            response = client.post(
                "http://registry/cli",
                content=msgspec.json.encode(command),
                headers={"content-type": "application/json"},
            )
        except httpx.ConnectError:
            return None
        except httpx.TransportError as exc:
            io.err.write(f"registry: the server on {path} stopped answering: {exc}\n")
            return 2
    try:
        outcome = msgspec.json.decode(response.content, type=Outcome)
    except msgspec.DecodeError:
        io.err.write(f"registry: the server on {path} answered HTTP {response.status_code}: {response.text[:500]}\n")
        return 2
    try:
        for name in _named_files(args, args.writes):
            if name in outcome.files:
                io.write_text(name, outcome.files[name])
    except CommandFailed as exc:
        io.err.write(f"registry: {exc}\n")
        return 2
    io.out.write(outcome.stdout)
    io.err.write(outcome.stderr)
    return outcome.exit_code


def _named_files(args: argparse.Namespace, dests: Sequence[str]) -> list[str]:
    return [getattr(args, dest) for dest in dests if getattr(args, dest)]


def _without_global_flags(argv: Sequence[str]) -> list[str]:
    """The subcommand and its arguments: argparse takes the global flags only before the
    subcommand, and each of them has one value (`--flag value` or `--flag=value`)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 1 if "=" in argv[i] else 2
    return list(argv[i:])
