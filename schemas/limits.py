"""Limit values (grenswaarden) as versioned, cited records.

A limit value is never "the" limit of a substance: it belongs to a jurisdiction, has a
type (8-h TWA, 15-min STEL, ceiling, biological), and is valid on a half-open date
interval [valid_from, valid_to). Keeping every version lets a measurement be judged
against the limit that was in force on its own date (DOMAIN.md, "Limit values").

Validation is pure: it reads only the record itself and reports every problem with the
field it concerns, so an import can tell an administrator exactly what to fix.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Final, Literal, get_args

import msgspec

from schemas.units import Dimension, UnitError, canonical_unit, dimension_of

__all__ = [
    "FieldError",
    "Jurisdiction",
    "LimitType",
    "LimitValidationError",
    "LimitValue",
    "dimensions_for",
    "is_valid_cas",
    "is_valid_ec",
]

# EU-BOELV: binding values (Dir 2004/37/EC Annex III, Dir 98/24/EC Annex I/II, Dir 2009/148/EC
# art. 8); EU-IOELV: indicative lists; NL: Arbeidsomstandighedenregeling bijlage XIII.
# "company" and "sector" are private norms that never replace the legal limit.
Jurisdiction = Literal["NL", "EU-BOELV", "EU-IOELV", "company", "sector"]
LimitType = Literal["TWA8h", "STEL15min", "ceiling", "BLV"]

_AIR: Final = frozenset({Dimension.MASS_CONCENTRATION, Dimension.VOLUME_FRACTION, Dimension.FIBRE_CONCENTRATION})
_BIOLOGICAL: Final = frozenset(
    {
        Dimension.BIOLOGICAL_MASS_PER_VOLUME,
        Dimension.BIOLOGICAL_MOLAR,
        Dimension.BIOLOGICAL_PER_CREATININE,
    }
)

_CAS: Final = re.compile(r"(\d{2,7})-(\d{2})-(\d)")
_EC: Final = re.compile(r"(\d{3})-(\d{3})-(\d)")


def dimensions_for(limit_type: LimitType) -> frozenset[Dimension]:
    """Air limits are concentrations in air; a BLV is a level in blood or urine."""
    return _BIOLOGICAL if limit_type == "BLV" else _AIR


def is_valid_cas(cas: str) -> bool:
    """CAS check digit: digits right to left weighted 1, 2, 3 ..., sum mod 10 (DOMAIN.md)."""
    match = _CAS.fullmatch(cas)
    if match is None:
        return False
    body = (match[1] + match[2])[::-1]
    return sum(i * int(d) for i, d in enumerate(body, start=1)) % 10 == int(match[3])


def is_valid_ec(ec: str) -> bool:
    """EC number check digit: first six digits weighted 1..6 left to right, sum mod 11."""
    match = _EC.fullmatch(ec)
    if match is None:
        return False
    body = match[1] + match[2]
    return sum(i * int(d) for i, d in enumerate(body, start=1)) % 11 == int(match[3])


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    reason: str


class LimitValidationError(ValueError):
    """One or more fields of a limit value are invalid; `errors` lists each of them."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))
        self.errors = tuple(errors)


class LimitValue(msgspec.Struct, frozen=True, kw_only=True):
    """One limit value as published, with the citation of the text it comes from.

    `unit` is stored in the canonical spelling of schemas.units. For a BLV, `matrix`
    (blood, urine) and `analyte` (e.g. Pb) say what is measured; for an air limit,
    `analyte` may name the basis the value is expressed as (as NCO, as elemental carbon).
    """

    substance_name: str
    jurisdiction: Jurisdiction
    limit_type: LimitType
    value: float
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

    def __post_init__(self) -> None:
        errors = _field_errors(self)
        if errors:
            raise LimitValidationError(errors)

    def in_force_on(self, day: dt.date) -> bool:
        """Half-open interval; a blank start means "since before any known date"."""
        started = self.valid_from is None or self.valid_from <= day
        return started and (self.valid_to is None or day < self.valid_to)


def _field_errors(limit: LimitValue) -> list[FieldError]:
    checks = (
        _check_identity,
        _check_classification,
        _check_value,
        _check_unit,
        _check_interval,
        _check_biological,
        _check_owner,
        _check_texts,
    )
    return [error for check in checks for error in check(limit)]


def _blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip()


def _check_identity(limit: LimitValue) -> list[FieldError]:
    errors = []
    if _blank(limit.substance_name):
        errors.append(FieldError(field="substance_name", reason="required, must not be blank"))
    if limit.cas is not None and not is_valid_cas(limit.cas):
        errors.append(FieldError(field="cas", reason=f"{limit.cas!r} is not a CAS number with a valid check digit"))
    if limit.ec is not None and not is_valid_ec(limit.ec):
        errors.append(FieldError(field="ec", reason=f"{limit.ec!r} is not an EC number with a valid check digit"))
    return errors


def _check_classification(limit: LimitValue) -> list[FieldError]:
    errors = []
    if limit.jurisdiction not in get_args(Jurisdiction):
        allowed = ", ".join(get_args(Jurisdiction))
        errors.append(FieldError(field="jurisdiction", reason=f"{limit.jurisdiction!r} is not one of {allowed}"))
    if limit.limit_type not in get_args(LimitType):
        allowed = ", ".join(get_args(LimitType))
        errors.append(FieldError(field="limit_type", reason=f"{limit.limit_type!r} is not one of {allowed}"))
    return errors


def _check_value(limit: LimitValue) -> list[FieldError]:
    value = limit.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [FieldError(field="value", reason=f"must be a number, got {value!r}")]
    if not math.isfinite(value) or value <= 0:
        return [FieldError(field="value", reason=f"must be a finite number > 0, got {value}")]
    return []


def _check_unit(limit: LimitValue) -> list[FieldError]:
    try:
        canonical = canonical_unit(limit.unit)
    except (UnitError, AttributeError) as exc:
        return [FieldError(field="unit", reason=str(exc))]
    if canonical != limit.unit:
        return [FieldError(field="unit", reason=f"write {limit.unit!r} as {canonical!r}")]
    if limit.limit_type not in get_args(LimitType):
        return []  # reported under limit_type; the fit cannot be judged
    allowed = dimensions_for(limit.limit_type)
    if dimension_of(canonical) not in allowed:
        kind = "a biological unit" if limit.limit_type == "BLV" else "an air-concentration unit"
        return [
            FieldError(
                field="unit",
                reason=f"{limit.limit_type} needs {kind}; {canonical!r} is {dimension_of(canonical).value}",
            )
        ]
    return []


def _check_interval(limit: LimitValue) -> list[FieldError]:
    errors = [
        FieldError(field=name, reason=f"must be a date or blank, got {day!r}")
        for name, day in (("valid_from", limit.valid_from), ("valid_to", limit.valid_to))
        if day is not None and (not isinstance(day, dt.date) or isinstance(day, dt.datetime))
    ]
    if errors or limit.valid_from is None or limit.valid_to is None:
        return errors
    if limit.valid_to <= limit.valid_from:
        reason = (
            f"{limit.valid_to} must be after valid_from {limit.valid_from} "
            "(the interval [valid_from, valid_to) would be empty)"
        )
        return [FieldError(field="valid_to", reason=reason)]
    return []


def _check_biological(limit: LimitValue) -> list[FieldError]:
    if limit.limit_type == "BLV":
        return [
            FieldError(field=name, reason=f"a BLV needs the {what}")
            for name, what, text in (
                ("matrix", "biological matrix (e.g. blood, urine)", limit.matrix),
                ("analyte", "analyte measured (e.g. Pb)", limit.analyte),
            )
            if _blank(text)
        ]
    errors = []
    if limit.matrix is not None:
        errors.append(FieldError(field="matrix", reason="only a BLV has a biological matrix"))
    if limit.analyte is not None and _blank(limit.analyte):
        errors.append(FieldError(field="analyte", reason="leave out rather than blank"))
    return errors


def _check_owner(limit: LimitValue) -> list[FieldError]:
    if limit.jurisdiction == "company" and _blank(limit.owner_employer_id):
        return [FieldError(field="owner_employer_id", reason="a company limit needs its employer")]
    if limit.jurisdiction != "company" and limit.owner_employer_id is not None:
        return [FieldError(field="owner_employer_id", reason="only a company limit has an employer")]
    return []


def _check_texts(limit: LimitValue) -> list[FieldError]:
    errors = []
    if _blank(limit.source_citation):
        errors.append(FieldError(field="source_citation", reason="required: cite the text the value is from"))
    if not isinstance(limit.notation, str):
        errors.append(FieldError(field="notation", reason="must be text"))
    if limit.population is not None and _blank(limit.population):
        errors.append(FieldError(field="population", reason="leave out rather than blank"))
    return errors
