"""Employers, their sites and departments."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec

from schemas.common import Line, Name, check_identifier
from schemas.errors import FieldError
from schemas.identifiers import normalise_kvk, normalise_sbi

__all__ = ["EmployerIn", "EmployerOut", "SiteIn", "SiteOut"]


class EmployerIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An employer, agency (uitzendbureau) or self-employed person, known by KvK number."""

    kvk: Annotated[Line, msgspec.Meta(description="KvK number, 8 digits", examples=["12345678"])]
    name: Name
    sbi_code: Line | None = None

    def problems(self) -> Iterator[FieldError]:
        yield from check_identifier("kvk", self.kvk, normalise_kvk)
        yield from check_identifier("sbi_code", self.sbi_code, normalise_sbi)


class EmployerOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kvk: str
    name: str
    sbi_code: str | None


class SiteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A site (vestiging) or a department within one; departments name their parent site."""

    name: Name
    kind: Literal["site", "department"] = "site"
    parent_id: uuid.UUID | None = None
    city: Line | None = None

    def problems(self) -> Iterator[FieldError]:
        if self.kind == "department" and self.parent_id is None:
            yield FieldError(field="parent_id", reason="a department belongs to a site: give parent_id")
        if self.kind == "site" and self.parent_id is not None:
            yield FieldError(field="parent_id", reason="only a department has a parent site")


class SiteOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    employer_id: uuid.UUID
    name: str
    kind: str
    parent_id: uuid.UUID | None
    city: str | None
