"""Substances and their hazard classes (CLP categories)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Literal

import msgspec

from schemas.common import Line, Name, Positive, check_identifier
from schemas.errors import FieldError
from schemas.identifiers import normalise_cas, normalise_ec

__all__ = ["CmrCategory", "SubstanceIn", "SubstanceOut"]

# CLP Regulation (EC) 1272/2008 Annex I: categories 1A, 1B (presumed/known) and 2 (suspected).
CmrCategory = Literal["1A", "1B", "2"]


class SubstanceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    cas: Line | None = None
    ec: Line | None = None
    carcinogen_category: CmrCategory | None = None
    mutagen_category: CmrCategory | None = None
    reprotoxic_category: CmrCategory | None = None
    respiratory_sensitiser: bool = False
    skin_sensitiser: bool = False
    molar_mass_g_per_mol: Positive | None = None

    def problems(self) -> Iterator[FieldError]:
        yield from check_identifier("cas", self.cas, normalise_cas)
        yield from check_identifier("ec", self.ec, normalise_ec)


class SubstanceOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    cas: str | None
    ec: str | None
    carcinogen_category: str | None
    mutagen_category: str | None
    reprotoxic_category: str | None
    respiratory_sensitiser: bool
    skin_sensitiser: bool
    molar_mass_g_per_mol: float | None
