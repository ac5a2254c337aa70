"""The project's reference files are the research files, byte for byte (analytics/reference/README.md):
a correction is made upstream in ../shared/reference and copied, never edited here."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.limits import REFERENCE_DIR

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
COPIED = ("oel_reference.csv", "substances.csv", "tsb_diseases.csv")


@pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} is not present on this machine (it is outside the repository)"
)
@pytest.mark.parametrize("name", COPIED)
def test_the_project_copy_equals_the_shared_reference(name: str) -> None:
    ours, theirs = (REFERENCE_DIR / name).read_bytes(), (SHARED / name).read_bytes()
    assert ours == theirs, f"analytics/reference/{name} differs from {SHARED / name}: copy it again"
