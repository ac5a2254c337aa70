"""A real, third-party OpenID provider for the tests: panva's certified `oidc-provider` on Node.js.

The registry is an OpenID Connect relying party; testing it against a provider we wrote ourselves
would only prove that our two halves agree. `tests/oidc_provider/server.mjs` runs the npm package
(installed by `scripts/install-oidc-provider.sh`) and this module starts it, one process per test
session, and fetches RFC 9068 JWT access tokens for test personas with the claims a test asks for.
"""

from __future__ import annotations

import json
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
SERVER_SCRIPT = PROVIDER_DIR / "server.mjs"
INSTALL_SCRIPT = "scripts/install-oidc-provider.sh"
DEFAULT_AUDIENCE = "blootstellingsregister"
SCOPE = "registry"
START_TIMEOUT = 30.0
PERSONAS = ("worker-1", "worker-2", "doctor-1", "hygienist-1", "inspector-1", "operator-1", "researcher-1")


def _free_port() -> int:
    """Let the kernel pick a loopback port, so parallel sessions never collide on a fixed one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OidcProvider:
    """One `oidc-provider` process with a confidential client (client_credentials only) per persona.

    Tokens come from the provider's real token endpoint, signed with a key generated at start, so
    the relying party must do discovery and fetch the JWKS exactly as it would in production.
    """

    def __init__(self, client_ids: Iterable[str], audience: str = DEFAULT_AUDIENCE) -> None:
        self._secrets = {client_id: secrets.token_urlsafe(32) for client_id in client_ids}
        self._audience = audience
        # oidc-provider requires the RFC 8707 `resource` parameter to be an absolute URI, which a
        # bare audience is not; the token's `aud` is still the audience. Passed to server.mjs.
        self._resource = audience if ":" in audience else f"urn:{audience}"
        self._port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._http: httpx.Client | None = None
        self._discovery: dict[str, Any] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def audience(self) -> str:
        return self._audience

    @property
    def resource(self) -> str:
        """The resource indicator to ask tokens for (not the `aud`; see `audience`)."""
        return self._resource

    @property
    def discovery(self) -> dict[str, Any]:
        """The provider's `/.well-known/openid-configuration`, as fetched at start."""
        if self._discovery is None:
            raise RuntimeError("OidcProvider is not started")
        return self._discovery

    def start(self) -> None:
        """Start node, wait for its `ready` line and for discovery; raise with its log if it fails."""
        if self._process is not None:
            raise RuntimeError("OidcProvider is already started")
        node = shutil.which("node")
        if node is None:
            raise RuntimeError(f"Node.js (`node`) is not on PATH; the OIDC tests need it (see {INSTALL_SCRIPT})")
        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(f"{PROVIDER_DIR / 'node_modules'} has no oidc-provider; run `{INSTALL_SCRIPT}` first")
        self._tmp = tempfile.TemporaryDirectory(prefix="oidc-provider-")
        tmp = Path(self._tmp.name)
        clients = tmp / "clients.json"
        clients.write_text(json.dumps([{"client_id": c, "client_secret": s} for c, s in self._secrets.items()]))
        log = tmp / "provider.log"
        try:
            with log.open("wb") as stderr:
                # stderr goes to a file (a pipe nobody drains could block node); stdout only
                # carries the `ready` line.
                self._process = subprocess.Popen(
                    [
                        node,
                        str(SERVER_SCRIPT),
                        "--port",
                        str(self._port),
                        "--issuer",
                        self.issuer,
                        "--audience",
                        self._audience,
                        "--resource",
                        self._resource,
                        "--clients",
                        str(clients),
                    ],
                    cwd=PROVIDER_DIR,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                )
            deadline = time.monotonic() + START_TIMEOUT
            self._wait_ready(deadline, log)
            self._http = httpx.Client(timeout=10, trust_env=False)  # loopback only: never a proxy
            self._discovery = self._wait_discovery(deadline, log)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, deadline: float, log: Path) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([stdout], [], [], remaining)
            if not readable:
                break
            line = stdout.readline().decode().strip()
            if not line:  # EOF: node exited
                self._process.wait(timeout=5)
                raise RuntimeError(f"oidc-provider exited ({self._process.returncode}):\n{self._log_tail(log)}")
            if line == f"ready {self.issuer}":
                return
        raise RuntimeError(f"oidc-provider did not report ready within {START_TIMEOUT:.0f} s:\n{self._log_tail(log)}")

    def _wait_discovery(self, deadline: float, log: Path) -> dict[str, Any]:
        assert self._http is not None
        url = f"{self.issuer}/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            try:
                response = self._http.get(url)
                if response.status_code == 200:
                    document: dict[str, Any] = response.json()
                    if document.get("issuer") != self.issuer:
                        raise RuntimeError(f"discovery names issuer {document.get('issuer')!r}, not {self.issuer!r}")
                    return document
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"oidc-provider discovery did not answer at {url}:\n{self._log_tail(log)}")

    @staticmethod
    def _log_tail(log: Path) -> str:
        try:
            return "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop node and remove the clients file; safe to call twice or after a failed start."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._discovery = None

    def token(self, client_id: str, claims: dict[str, object]) -> str:
        """A JWT access token for `client_id` carrying `claims`, from the real token endpoint."""
        if client_id not in self._secrets:
            raise KeyError(f"unknown client {client_id!r}; known: {', '.join(self._secrets)}")
        if self._http is None:
            raise RuntimeError("OidcProvider is not started")
        response = self._http.post(
            str(self.discovery["token_endpoint"]),
            data={
                "grant_type": "client_credentials",
                "resource": self._resource,
                "scope": SCOPE,
                "registry_claims": json.dumps(claims),
            },
            auth=httpx.BasicAuth(client_id, self._secrets[client_id]),
        )
        if response.status_code != 200:
            raise RuntimeError(f"token request for {client_id!r} failed: {response.status_code} {response.text}")
        access_token: str = response.json()["access_token"]
        return access_token


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One provider for the whole session: starting node and generating an RSA key costs ~1 s."""
    provider = OidcProvider(PERSONAS)
    try:
        provider.start()
        yield provider
    finally:
        provider.stop()
