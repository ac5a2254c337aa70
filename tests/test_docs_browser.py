"""The API documentation page in a real browser, with every host but this one unreachable."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Server, make_place, run_cli

# Flags from the machine notes: no background networking, no first-run UI, a fresh profile.
_CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Any host other than the registry fails to resolve: a page that needs a CDN breaks.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=15000",
]


def test_swagger_ui_renders_every_operation_offline(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run `make test`, which installs Debian's chromium")
    place = make_place(tmp_path, "duckdb")
    run_cli(place, "init")
    server = Server(place)
    server.start()
    try:
        dom = subprocess.run(
            [chromium, *_CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
             f"{server.url}/schema/swagger"],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
    finally:
        server.stop()
    assert "Unable to render this definition" not in dom
    assert "Blootstellingsregister API" in dom
    for path in ("/api/v1/measurements/batch", "/api/v1/workers", "/api/v1/compliance/report"):
        assert f'data-path="{path}"' in dom, f"operation {path} missing from the rendered page"
