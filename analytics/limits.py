"""Limit values: CSV import, the cited starter set, and the limits in force for a measurement.

Rule for the limit a measurement is judged against (DOMAIN.md, "Limit values"):

* Only rows in force on the measurement date count; intervals are half-open
  [valid_from, valid_to) and a blank valid_from means "since before any known date"
  (flagged: start date unknown). Reference NOTES.md, "Conventions".
* Per jurisdiction, one row is chosen: a row for the requested population (e.g. women of
  childbearing age) overrides the general one; the EU's mg/m3 and ppm presentation of one
  value count once (the mg/m3 row is kept); of rows that still overlap, the one with the
  latest valid_from wins, a tie goes to the strictest, and the overlap is flagged.
* The binding legal limit is the strictest of the NL value and the EU-BOELV in force: a
  BOELV is a minimum the Netherlands must apply from its transposition date (the
  valid_from of EU rows, NOTES.md), so it binds even where bijlage XIII lags. On a tie
  the NL row is shown, being the text employers apply.
* EU-IOELV rows are informative. Company and sector limits are reported beside the legal
  limit with their own verdict and never replace it, even when stricter (an employer
  "may add its own, never overriding the legal one").
* Every limit is expressed in the measurement's unit with schemas.units.convert, ppm <->
  mg/m3 with the molar mass from reference/substances.csv; the source row (value, unit,
  interval, citation) stays attached so a report can show where it came from.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import functools
import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final, Literal, cast

import msgspec

from analytics.asbestos import with_asbestos_types
from analytics.exposure import Measured
from schemas.errors import FieldError, InvalidInput
from schemas.limits import Fraction, Jurisdiction, LimitType, LimitValue, dimensions_for
from schemas.units import Dimension, UnitError, canonical_unit, convert, dimension_of
from schemas.validation import check

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ApplicableLimits",
    "AppliedLimit",
    "LimitFlag",
    "LimitImport",
    "LimitVerdict",
    "RejectedRow",
    "Verdict",
    "assess",
    "import_limits_csv",
    "limits_in_force",
    "load_reference_limits",
    "molar_mass_of",
    "normalise_name",
    "verdict",
]

REFERENCE_DIR: Final = Path(__file__).with_name("reference")

# Columns of an import file; they are those of reference/oel_reference.csv plus the
# optional fields of a LimitValue. Blank cells mean "not given".
REQUIRED_COLUMNS: Final = (
    "substance_name",
    "cas",
    "jurisdiction",
    "limit_type",
    "value",
    "unit",
    "valid_from",
    "valid_to",
    "source_citation",
)
OPTIONAL_COLUMNS: Final = ("ec", "notation", "population", "fraction", "matrix", "analyte", "owner_employer_id")

_LEGAL: Final[tuple[Jurisdiction, ...]] = ("NL", "EU-BOELV")  # order breaks a tie
_INFORMATIVE: Final[tuple[Jurisdiction, ...]] = ("EU-IOELV",)
_PRIVATE: Final[tuple[Jurisdiction, ...]] = ("company", "sector")


# --------------------------------------------------------------------------- import


class RejectedRow(msgspec.Struct, frozen=True, kw_only=True):
    line: int  # line of the file where the record starts; 1 is the header
    field: str
    reason: str


class LimitImport(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of importing a list of limit values.

    An official list is applied whole or not at all: store `accepted` only when `ok`.
    """

    accepted: list[LimitValue]
    rejected: list[RejectedRow]

    @property
    def ok(self) -> bool:
        return not self.rejected


def import_limits_csv(text: str, *, sector: str | None = None) -> LimitImport:
    """Validate a CSV of limit values, reporting every bad row by line and field.

    `sector` (an SBI code) is the sector whose catalogue this is: it is given by whoever
    vouches for the list's origin, never read from the file itself.
    """
    return _import(text, adapt=(lambda raw: {**raw, "sector_sbi": sector}) if sector else None)


def load_reference_limits() -> list[LimitValue]:
    """The cited starter set, reference/oel_reference.csv; every row must load."""
    result = _import(
        (REFERENCE_DIR / "oel_reference.csv").read_text(encoding="utf-8"),
        adapt=_adapt_reference_row,
    )
    if not result.ok:
        problems = "; ".join(f"line {r.line} {r.field}: {r.reason}" for r in result.rejected)
        raise ValueError(f"reference limits do not load: {problems}")
    return result.accepted


def _import(text: str, *, adapt: Callable[[dict[str, str]], dict[str, str]] | None) -> LimitImport:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [name.strip() for name in next(reader, [])]
    header_errors = _header_errors(header)
    if header_errors:
        return LimitImport(accepted=[], rejected=header_errors)
    accepted: list[LimitValue] = []
    rejected: list[RejectedRow] = []
    line = reader.line_num + 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            outcome = _import_record(header, cells, adapt)
            if isinstance(outcome, LimitValue):
                accepted.append(outcome)
            else:
                rejected += [RejectedRow(line=line, field=e.field, reason=e.reason) for e in outcome]
        line = reader.line_num + 1
    return LimitImport(accepted=with_asbestos_types(accepted), rejected=rejected)


def _header_errors(header: list[str]) -> list[RejectedRow]:
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    problems = [(name, "required column missing") for name in REQUIRED_COLUMNS if name not in header]
    problems += [(name, f"unknown column; known columns: {', '.join(known)}") for name in header if name not in known]
    problems += [(name, "column appears twice") for name in set(header) if header.count(name) > 1]
    return [RejectedRow(line=1, field=name, reason=reason) for name, reason in problems]


def _import_record(
    header: list[str],
    cells: list[str],
    adapt: Callable[[dict[str, str]], dict[str, str]] | None,
) -> LimitValue | list[FieldError]:
    if len(cells) != len(header):
        reason = f"has {len(cells)} fields, the header has {len(header)}"
        return [FieldError(field="row", reason=reason)]
    raw = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    try:
        return _RowReader(adapt(raw) if adapt else raw).limit()
    except InvalidInput as exc:
        return exc.errors


_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# Official lists write the measured basis into the unit: "mg/m3 (as elemental carbon)",
# "µg NCO/m3", "µg Pb/100 ml blood". These are split into unit, analyte and matrix.
_AS_BASIS: Final = re.compile(r"(?P<unit>.+?)\s*\(as (?P<analyte>[^()]+)\)")
_ANALYTE_IN_UNIT: Final = re.compile(
    r"(?P<mass>[µu]g|mg|ng)\s+(?P<analyte>[A-Za-z][\w-]*)/(?P<per>.+?)(?:\s+(?P<matrix>blood|urine))?"
)


class _RowReader:
    """Turns one row's text cells into a LimitValue, collecting every problem at once."""

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw
        self.errors: list[FieldError] = []

    def limit(self) -> LimitValue:
        unit, analyte, matrix = self._unit()
        try:
            limit = check(
                LimitValue(
                    substance_name=self.raw["substance_name"],
                    cas=self._optional("cas"),
                    ec=self._optional("ec"),
                    # Literal fields are checked by LimitValue.problems().
                    jurisdiction=cast(Jurisdiction, self.raw["jurisdiction"]),
                    limit_type=cast(LimitType, self.raw["limit_type"]),
                    value=self._number("value"),
                    unit=unit,
                    valid_from=self._date("valid_from"),
                    valid_to=self._date("valid_to"),
                    notation=self.raw.get("notation", ""),
                    population=self._optional("population"),
                    matrix=matrix,
                    analyte=analyte,
                    owner_employer_id=self._optional("owner_employer_id"),
                    # Checked by LimitValue.problems(), like the Literal fields above.
                    fraction=cast(Fraction | None, self._optional("fraction")),
                    sector_sbi=self._optional("sector_sbi"),
                    source_citation=self.raw["source_citation"],
                )
            )
        except InvalidInput as exc:
            reported = {e.field for e in self.errors}
            new = [e for e in exc.errors if e.field not in reported]
            raise InvalidInput(self.errors + new) from None
        if self.errors:
            raise InvalidInput(self.errors)
        return limit

    def _fail(self, field: str, reason: str) -> None:
        self.errors.append(FieldError(field=field, reason=reason))

    def _optional(self, name: str) -> str | None:
        return self.raw.get(name) or None

    def _number(self, name: str) -> float:
        text = self.raw[name]
        if _NUMBER.fullmatch(text):
            return float(text)
        if re.fullmatch(r"\d+,\d+", text):
            self._fail(name, f"{text!r}: use a decimal point, not a comma")
        else:
            self._fail(name, f"{text!r} is not a number")
        return math.nan

    def _date(self, name: str) -> dt.date | None:
        text = self.raw[name]
        if not text:
            return None
        try:
            if _ISO_DATE.fullmatch(text):
                return dt.date.fromisoformat(text)
        except ValueError:
            pass
        self._fail(name, f"{text!r} is not a date written YYYY-MM-DD")
        return None

    def _unit(self) -> tuple[str, str | None, str | None]:
        text, analyte, matrix = _split_unit(self.raw["unit"])
        for name, embedded in (("analyte", analyte), ("matrix", matrix)):
            given = self._optional(name)
            if embedded and given and given != embedded:
                self._fail(name, f"{given!r} contradicts the unit, which names {embedded!r}")
        try:
            unit = canonical_unit(text)
        except UnitError as exc:
            self._fail("unit", str(exc))
            unit = text
        return unit, self._optional("analyte") or analyte, self._optional("matrix") or matrix


def _split_unit(text: str) -> tuple[str, str | None, str | None]:
    if match := _AS_BASIS.fullmatch(text):
        return match["unit"], match["analyte"], None
    if match := _ANALYTE_IN_UNIT.fullmatch(text):
        return f"{match['mass']}/{match['per']}", match["analyte"], match["matrix"]
    return text, None, None


def _adapt_reference_row(raw: dict[str, str]) -> dict[str, str]:
    """The research file keeps a population's name as a suffix of the substance name as well
    as in its own column (NOTES.md, "population"): the suffix is dropped, so the row is found
    under the substance's name like every other row of that substance."""
    row = dict(raw)
    suffix = f" - {row['population']}"
    if row["population"] and row["substance_name"].endswith(suffix):
        row["substance_name"] = row["substance_name"].removesuffix(suffix)
    return row


# --------------------------------------------------------------------------- substances


class _Substance(msgspec.Struct, frozen=True):
    cas: str | None
    name: str
    molar_mass: float


@functools.cache
def _substances() -> tuple[_Substance, ...]:
    """Only gases and vapours: an agent without a mg/m3-per-ppm factor (dusts such as lead or
    quartz, fibres, mixtures: NOTES.md item 11, "ppm has no meaning") is left out, so no ppm
    result of it is ever converted and compared; the report flags it as not comparable."""
    with (REFERENCE_DIR / "substances.csv").open(encoding="utf-8", newline="") as handle:
        return tuple(
            _Substance(
                cas=row["cas"] or None,
                name=normalise_name(row["substance_name"]),
                molar_mass=float(row["molar_mass_g_per_mol"]),
            )
            for row in csv.DictReader(handle)
            if row["molar_mass_g_per_mol"] and row["mg_per_m3_per_ppm_20C_101.3kPa"]
        )


def molar_mass_of(*, cas: str | None = None, substance_name: str | None = None) -> float | None:
    """Molar mass in g/mol from reference/substances.csv, by CAS first, then by name."""
    name = normalise_name(substance_name) if substance_name else None
    by_cas = (s.molar_mass for s in _substances() if cas and s.cas == cas)
    by_name = (s.molar_mass for s in _substances() if name and s.name == name)
    return next(by_cas, None) or next(by_name, None)


@functools.lru_cache(maxsize=4096)  # a few hundred names, compared for every substance on every report
def normalise_name(name: str) -> str:
    """Compare substance names without case, accents, punctuation or spacing.

    "Acroleïne" matches "acroleine", "1,3-Butadiene" matches "1,3 butadiene". Synonyms
    and translations (Benzeen/Benzene) are not matched: use the CAS number for those.
    """
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(re.findall(r"[^\W_]+", plain.casefold()))


# --------------------------------------------------------------------------- selection


class LimitFlag(enum.StrEnum):
    START_UNKNOWN = "start date unknown"
    OVERLAP = "overlaps other rows in force"
    CONVERTED = "converted from the row's unit"


class AppliedLimit(msgspec.Struct, frozen=True, kw_only=True):
    """A limit row chosen for a date, expressed in the measurement's unit.

    `limit` is the source row as published: its value, unit, validity interval and
    source_citation. `overlapping` lists the rows of the same jurisdiction that were
    also in force but not chosen.
    """

    limit: LimitValue
    value: float
    flags: tuple[LimitFlag, ...] = ()
    overlapping: tuple[LimitValue, ...] = ()


class ApplicableLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The limits for one substance, date and limit type; values are in `unit`."""

    on: dt.date
    limit_type: LimitType
    unit: str
    population: str | None
    binding: AppliedLimit | None  # strictest of `legal`; None when no legal limit exists
    legal: tuple[AppliedLimit, ...]  # the NL and EU-BOELV rows chosen, NL first
    informative: tuple[AppliedLimit, ...]  # EU-IOELV
    additional: tuple[AppliedLimit, ...]  # company and sector limits


class _Query(msgspec.Struct, frozen=True, kw_only=True):
    cas: str | None
    name: str | None
    population: str | None
    employer_id: str | None
    unit: str

    def matches(self, limit: LimitValue) -> bool:
        same_cas = self.cas is not None and limit.cas == self.cas
        same_name = (
            self.name is not None
            and (self.cas is None or limit.cas is None)
            and normalise_name(limit.substance_name) == self.name
        )
        for_group = limit.population is None or (
            self.population is not None and normalise_name(limit.population) == normalise_name(self.population)
        )
        for_employer = limit.jurisdiction != "company" or limit.owner_employer_id == self.employer_id
        return (same_cas or same_name) and for_group and for_employer


def limits_in_force(
    limits: Iterable[LimitValue],
    *,
    on: dt.date,
    limit_type: LimitType,
    unit: str,
    cas: str | None = None,
    substance_name: str | None = None,
    population: str | None = None,
    employer_id: str | None = None,
) -> ApplicableLimits:
    """The binding legal limit and the other limits for a measurement (rule: module doc).

    A row matches by CAS number, or by normalised name when either side lacks a CAS.
    `unit` is the measurement's unit; `employer_id` selects that employer's own limits.
    """
    if cas is None and substance_name is None:
        raise ValueError("give the substance's cas or substance_name")
    target = canonical_unit(unit)
    if dimension_of(target) not in dimensions_for(limit_type):
        raise UnitError(f"{target!r} cannot express a {limit_type} limit")
    query = _Query(
        cas=cas.strip() if cas else None,
        name=normalise_name(substance_name) if substance_name else None,
        population=population,
        employer_id=employer_id,
        unit=target,
    )
    by_jurisdiction: dict[Jurisdiction, list[LimitValue]] = {}
    for limit in limits:
        if limit.limit_type == limit_type and limit.in_force_on(on) and query.matches(limit):
            by_jurisdiction.setdefault(limit.jurisdiction, []).append(limit)
    chosen = {name: _choose(rows, query) for name, rows in by_jurisdiction.items()}
    legal = tuple(chosen[name] for name in _LEGAL if name in chosen)
    return ApplicableLimits(
        on=on,
        limit_type=limit_type,
        unit=target,
        population=population,
        binding=min(legal, key=lambda applied: applied.value, default=None),
        legal=legal,
        informative=tuple(chosen[name] for name in _INFORMATIVE if name in chosen),
        additional=tuple(chosen[name] for name in _PRIVATE if name in chosen),
    )


def _choose(rows: list[LimitValue], query: _Query) -> AppliedLimit:
    """One jurisdiction's row: population-specific first, then latest start, then strictest."""
    rows = [r for r in rows if r.population is not None] or rows
    rows = _without_unit_twins(rows)
    valued = [(row, _in_unit(row, query)) for row in rows]
    latest = max(_start(row) for row in rows)
    row, value = min(((r, v) for r, v in valued if _start(r) == latest), key=lambda rv: rv[1])
    flags = (
        (LimitFlag.START_UNKNOWN, row.valid_from is None),
        (LimitFlag.OVERLAP, len(rows) > 1),
        (LimitFlag.CONVERTED, row.unit != query.unit),
    )
    return AppliedLimit(
        limit=row,
        value=value,
        flags=tuple(flag for flag, raised in flags if raised),
        overlapping=tuple(other for other in rows if other is not row),
    )


def _start(limit: LimitValue) -> dt.date:
    return limit.valid_from or dt.date.min


def _without_unit_twins(rows: list[LimitValue]) -> list[LimitValue]:
    """Drop a ppm row that restates an mg/m3 row of the same interval (EU lists give both)."""
    mass_intervals = {(r.valid_from, r.valid_to) for r in rows if dimension_of(r.unit) is Dimension.MASS_CONCENTRATION}
    return [
        r
        for r in rows
        if dimension_of(r.unit) is not Dimension.VOLUME_FRACTION or (r.valid_from, r.valid_to) not in mass_intervals
    ]


def _in_unit(limit: LimitValue, query: _Query) -> float:
    if dimension_of(limit.unit) is dimension_of(query.unit):
        return convert(limit.value, limit.unit, query.unit)
    molar_mass = molar_mass_of(cas=query.cas or limit.cas, substance_name=limit.substance_name)
    try:
        return convert(limit.value, limit.unit, query.unit, molar_mass=molar_mass)
    except UnitError as exc:
        row = f"{limit.substance_name} {limit.jurisdiction} {limit.value:g} {limit.unit}"
        raise UnitError(f"{row}: {exc}") from exc


# --------------------------------------------------------------------------- verdicts


class Verdict(enum.StrEnum):
    WITHIN = "within the limit"
    ABOVE = "above the limit"
    UNDETERMINED = "undetermined: non-detect whose detection limit is above the limit"


Role = Literal["binding", "informative", "company", "sector"]


class LimitVerdict(msgspec.Struct, frozen=True, kw_only=True):
    role: Role
    applied: AppliedLimit
    verdict: Verdict


def verdict(measured: Measured, applied: AppliedLimit) -> Verdict:
    """A result equal to the limit does not exceed it; a non-detect "< x" is within the
    limit only when x is not above it (EN 689 compares exceedance, never a zero)."""
    if measured.value <= applied.value:
        return Verdict.WITHIN
    return Verdict.UNDETERMINED if measured.censored else Verdict.ABOVE


def assess(applicable: ApplicableLimits, measured: Measured) -> tuple[LimitVerdict, ...]:
    """The binding verdict first, then informative, company and sector limits, each with
    its own verdict. `measured` must be in `applicable.unit`."""
    roles: Sequence[tuple[Role, Sequence[AppliedLimit]]] = (
        ("binding", (applicable.binding,) if applicable.binding else ()),
        ("informative", applicable.informative),
        ("company", [a for a in applicable.additional if a.limit.jurisdiction == "company"]),
        ("sector", [a for a in applicable.additional if a.limit.jurisdiction == "sector"]),
    )
    return tuple(
        LimitVerdict(role=role, applied=applied, verdict=verdict(measured, applied))
        for role, applied_limits in roles
        for applied in applied_limits
    )
