"""Limit values (grenswaarden) as versioned, cited records.

A limit value is never "the" limit of a substance: it belongs to a jurisdiction, has a
type (8-h TWA, 15-min STEL, ceiling, biological), and is valid on a half-open date
interval [valid_from, valid_to). Keeping every version lets a measurement be judged
against the limit that was in force on its own date (DOMAIN.md, "Limit values").

Validation follows schemas.validation: `LimitValue.problems()` reads only the record
itself and names every problem with the field it concerns; `check(limit)` or
`parse(LimitValue, raw)` raise InvalidInput listing them all, so an import can tell an
administrator exactly what to fix.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from typing import Literal, get_args

import msgspec

from schemas.common import Positive, check_order
from schemas.errors import FieldError
from schemas.identifiers import normalise_cas, normalise_ec, normalise_sbi
from schemas.units import AIR_DIMENSIONS, BIOLOGICAL_DIMENSIONS, Dimension, canonical_unit, dimension_of

__all__ = [
    "AdditionalLimit",
    "Fraction",
    "Jurisdiction",
    "LimitType",
    "LimitUsed",
    "LimitValue",
    "dimensions_for",
]

# EU-BOELV: binding values (Dir 2004/37/EC Annex III, Dir 98/24/EC Annex I/II, Dir 2009/148/EC
# art. 8); EU-IOELV: indicative lists; NL: Arbeidsomstandighedenregeling bijlage XIII.
# "company" and "sector" are private norms that never replace the legal limit.
Jurisdiction = Literal["NL", "EU-BOELV", "EU-IOELV", "company", "sector"]
LimitType = Literal["TWA8h", "STEL15min", "ceiling", "BLV"]
# The particle-size fraction a dust limit refers to, as the cited text names it (EN 481);
# the same substance can have an inhalable and a respirable limit at once.
Fraction = Literal["inhalable", "respirable", "thoracic"]


def dimensions_for(limit_type: LimitType) -> frozenset[Dimension]:
    """Air limits are concentrations in air; a BLV is a level in blood or urine."""
    return BIOLOGICAL_DIMENSIONS if limit_type == "BLV" else AIR_DIMENSIONS


class LimitValue(msgspec.Struct, frozen=True, kw_only=True):
    """One limit value as published, with the citation of the text it comes from.

    `unit` is stored in the canonical spelling of schemas.units. For a BLV, `matrix`
    (blood, urine) and `analyte` (e.g. Pb) say what is measured; for an air limit,
    `analyte` may name the basis the value is expressed as (as NCO, as elemental carbon).
    A company limit belongs to its employer (`owner_employer_id`), a sector limit to the
    SBI code of its sector (`sector_sbi`, covering every code that starts with it).
    """

    substance_name: str
    jurisdiction: Jurisdiction
    limit_type: LimitType
    value: Positive
    unit: str
    source_citation: str
    cas: str | None = None
    ec: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None  # exclusive: the next value starts on this date
    notation: str = ""
    population: str | None = None
    matrix: str | None = None
    analyte: str | None = None
    owner_employer_id: str | None = None
    fraction: Fraction | None = None
    sector_sbi: str | None = None

    def problems(self) -> Iterator[FieldError]:
        """Every rule the record breaks; the fields may hold anything (a CSV row is built
        unchecked), so each rule also guards its own field's type."""
        yield from self._identity_problems()
        yield from self._classification_problems()
        yield from self._value_problems()
        yield from self._unit_problems()
        yield from self._interval_problems()
        yield from self._biological_problems()
        yield from self._owner_problems()
        yield from self._text_problems()

    def in_force_on(self, day: dt.date) -> bool:
        """Half-open interval; a blank start means "since before any known date"."""
        started = self.valid_from is None or self.valid_from <= day
        return started and (self.valid_to is None or day < self.valid_to)

    def _identity_problems(self) -> Iterator[FieldError]:
        if _blank(self.substance_name):
            yield FieldError(field="substance_name", reason="required, must not be blank")
        if self.cas is not None:
            yield from _canonical_problems("cas", self.cas, normalise_cas)
        if self.ec is not None:
            yield from _canonical_problems("ec", self.ec, normalise_ec)

    def _classification_problems(self) -> Iterator[FieldError]:
        checks: list[tuple[str, object, object]] = [
            ("jurisdiction", self.jurisdiction, Jurisdiction),
            ("limit_type", self.limit_type, LimitType),
        ]
        if self.fraction is not None:
            checks.append(("fraction", self.fraction, Fraction))
        for field, value, literal in checks:
            if value not in get_args(literal):
                yield FieldError(field=field, reason=f"{value!r} is not one of {', '.join(get_args(literal))}")

    def _value_problems(self) -> Iterator[FieldError]:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            yield FieldError(field="value", reason=f"must be a number, got {value!r}")
        elif not math.isfinite(value) or value <= 0:
            yield FieldError(field="value", reason=f"must be a finite number > 0, got {value}")

    def _unit_problems(self) -> Iterator[FieldError]:
        errors = list(_canonical_problems("unit", self.unit, canonical_unit))
        yield from errors
        if errors or self.limit_type not in get_args(LimitType):
            return  # the fit cannot be judged; the problem is reported under its field
        dimension = dimension_of(self.unit)
        if dimension not in dimensions_for(self.limit_type):
            kind = "a biological unit" if self.limit_type == "BLV" else "an air-concentration unit"
            reason = f"{self.limit_type} needs {kind}; {self.unit!r} is {dimension.value}"
            yield FieldError(field="unit", reason=reason)

    def _interval_problems(self) -> Iterator[FieldError]:
        errors = [
            FieldError(field=name, reason=f"must be a date or blank, got {day!r}")
            for name, day in (("valid_from", self.valid_from), ("valid_to", self.valid_to))
            if day is not None and (not isinstance(day, dt.date) or isinstance(day, dt.datetime))
        ]
        yield from errors
        if errors:
            return
        for error in check_order("valid_from", self.valid_from, "valid_to", self.valid_to, strict=True):
            empty = "(the interval [valid_from, valid_to) would be empty)"
            yield FieldError(field=error.field, reason=f"{self.valid_to} {error.reason} {self.valid_from} {empty}")

    def _biological_problems(self) -> Iterator[FieldError]:
        if self.limit_type == "BLV":
            if _blank(self.matrix):
                yield FieldError(field="matrix", reason="a BLV needs the biological matrix (e.g. blood, urine)")
            if _blank(self.analyte):
                yield FieldError(field="analyte", reason="a BLV needs the analyte measured (e.g. Pb)")
            return
        if self.matrix is not None:
            yield FieldError(field="matrix", reason="only a BLV has a biological matrix")
        if self.analyte is not None and _blank(self.analyte):
            yield FieldError(field="analyte", reason="leave out rather than blank")

    def _owner_problems(self) -> Iterator[FieldError]:
        if self.jurisdiction == "company" and _blank(self.owner_employer_id):
            yield FieldError(field="owner_employer_id", reason="a company limit needs its employer")
        elif self.jurisdiction != "company" and self.owner_employer_id is not None:
            yield FieldError(field="owner_employer_id", reason="only a company limit has an employer")
        if self.jurisdiction == "sector" and self.sector_sbi is None:
            yield FieldError(field="sector_sbi", reason="a sector limit needs the SBI code of its sector")
        elif self.jurisdiction != "sector" and self.sector_sbi is not None:
            yield FieldError(field="sector_sbi", reason="only a sector limit has a sector")
        elif self.sector_sbi is not None:
            yield from _canonical_problems("sector_sbi", self.sector_sbi, normalise_sbi)

    def _text_problems(self) -> Iterator[FieldError]:
        if _blank(self.source_citation):
            yield FieldError(field="source_citation", reason="required: cite the text the value is from")
        if not isinstance(self.notation, str):
            yield FieldError(field="notation", reason="must be text")
        if self.population is not None and _blank(self.population):
            yield FieldError(field="population", reason="leave out rather than blank")


class LimitUsed(msgspec.Struct, frozen=True, kw_only=True):
    """The limit a result was judged against, as published, with its citation: every
    comparison the registry shows can be traced to the text it rests on."""

    limit_type: str
    value: float
    unit: str
    jurisdiction: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    citation: str
    population: str | None = None  # a value for a group of people only, e.g. women of childbearing age
    fraction: str | None = None  # the particle-size fraction a dust limit refers to

    @classmethod
    def of(cls, limit: LimitValue) -> LimitUsed:
        return cls(
            limit_type=limit.limit_type,
            value=limit.value,
            unit=limit.unit,
            jurisdiction=limit.jurisdiction,
            valid_from=limit.valid_from,
            valid_to=limit.valid_to,
            citation=limit.source_citation,
            population=limit.population,
            fraction=limit.fraction,
        )


class AdditionalLimit(msgspec.Struct, frozen=True, kw_only=True):
    """A company or sector limit shown beside the legal one: how many of a group's results
    were compared with it and how many were above it. It never decides compliance, even when
    stricter than the legal limit."""

    limit: LimitUsed  # jurisdiction "company" or "sector"
    sector_sbi: str | None  # the sector of a sector limit
    compared: int
    above: int


def _blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip()


def _canonical_problems(field: str, value: object, canonical: Callable[[str], str]) -> Iterator[FieldError]:
    """A stored identifier or unit must be valid and in its canonical spelling, so that
    rows compare equal by plain string comparison; `canonical` raises ValueError with
    the reason (schemas.identifiers, schemas.units)."""
    if not isinstance(value, str):
        yield FieldError(field=field, reason=f"must be text, got {value!r}")
        return
    try:
        spelled = canonical(value)
    except ValueError as exc:
        yield FieldError(field=field, reason=str(exc))
        return
    if spelled != value:
        yield FieldError(field=field, reason=f"write {value!r} as {spelled!r}")
