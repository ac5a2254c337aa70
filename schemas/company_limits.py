"""An employer's own limits (huisnormen) as the API takes and gives them.

A company limit is a LimitValue of jurisdiction "company" owned by the employer that set it:
reports show it beside the legal limit, with its own verdict, and it never replaces the
legal limit, even when stricter (DOMAIN.md, "Limit values").
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated

import msgspec

from schemas.common import Line, LongText, Name, Positive
from schemas.errors import FieldError
from schemas.identifiers import normalise_cas
from schemas.limits import Fraction, LimitType, LimitValue
from schemas.units import canonical_unit

__all__ = ["CompanyLimitIn", "CompanyLimitOut"]


class CompanyLimitIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    substance_name: Name
    cas: Annotated[Line, msgspec.Meta(examples=["71-43-2"])] | None = None
    limit_type: LimitType
    value: Positive
    unit: Annotated[Line, msgspec.Meta(examples=["mg/m3", "ppm", "ug/100mL"])]
    valid_from: dt.date | None = None
    valid_to: Annotated[dt.date | None, msgspec.Meta(description="exclusive: the first day it no longer applies")] = (
        None
    )
    population: Line | None = None
    fraction: Fraction | None = None
    matrix: Line | None = None
    analyte: Line | None = None
    notation: LongText = ""
    source_citation: Annotated[
        Name, msgspec.Meta(description="the decision or document the norm rests on", examples=["Huisnorm 2024-03"])
    ]

    def problems(self) -> Iterator[FieldError]:
        """The rules of every limit value (schemas.limits), named by this body's fields."""
        yield from self.as_limit(owner_employer_id="employer").problems()

    def as_limit(self, *, owner_employer_id: str) -> LimitValue:
        """The limit value it sets, with the CAS number and unit in their canonical spelling."""
        return LimitValue(
            substance_name=self.substance_name,
            cas=None if self.cas is None else _spelled(self.cas, normalise_cas),
            jurisdiction="company",
            limit_type=self.limit_type,
            value=self.value,
            unit=_spelled(self.unit, canonical_unit),
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            notation=self.notation,
            population=self.population,
            fraction=self.fraction,
            matrix=self.matrix,
            analyte=self.analyte,
            owner_employer_id=owner_employer_id,
            source_citation=self.source_citation,
        )


class CompanyLimitOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    substance_name: str
    cas: str | None
    limit_type: str
    value: float
    unit: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    population: str | None
    fraction: str | None
    matrix: str | None
    analyte: str | None
    notation: str
    source_citation: str

    @classmethod
    def of(cls, limit_id: str, limit: LimitValue) -> CompanyLimitOut:
        fields = {name: getattr(limit, name) for name in cls.__struct_fields__ if name != "id"}
        return cls(id=uuid.UUID(limit_id), **fields)


def _spelled(value: str, canonical: Callable[[str], str]) -> str:
    """The canonical spelling; as given when there is none (LimitValue then says why)."""
    try:
        return canonical(value)
    except ValueError:
        return value
