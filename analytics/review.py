"""Results a hygienist must look at before signing: a unit in which no limit of the substance
can be expressed ("not comparable: unit"), and a value beyond the substance's plausibility
bound ("implausible"). Neither is dropped nor silently used: the API warns when such a
result is recorded, and reports list it with the reason.

Plausibility bound: PLAUSIBILITY_FACTOR x the highest binding limit ever in force for the
substance, in the result's unit, per limit type (the limit timeline). No workplace
measurement of a regulated agent is expected a thousand times above its highest limit; a
value beyond that is far more likely a unit or typing error (5,000 f/cm3 of asbestos for
5,000 f/m3) than an exposure, so it is reported for review and kept as recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Literal

import msgspec
import polars as pl
import pyarrow as pa

from analytics.limits import molar_mass_of
from analytics.timeline import CatalogueSubstance, rows_for_people
from schemas.limits import LimitType, LimitValue
from schemas.units import UnitError, convert, dimension_of

__all__ = [
    "IMPLAUSIBLE",
    "NOT_COMPARABLE_UNIT",
    "PLAUSIBILITY_FACTOR",
    "Incomparable",
    "ReviewFlag",
    "implausible_reason",
    "implausible_warning",
    "incomparable_units",
    "plausibility_bounds",
    "with_plausibility_bounds",
]

PLAUSIBILITY_FACTOR: Final = 1000.0
NOT_COMPARABLE_UNIT: Final = "not comparable: unit"
IMPLAUSIBLE: Final = "implausible: review value and unit"
_AIR_LIMITS: Final[tuple[LimitType, ...]] = ("TWA8h", "STEL15min", "ceiling")


class ReviewFlag(msgspec.Struct, frozen=True, kw_only=True):
    """Results to review before signing, and why."""

    flag: Literal["not comparable: unit", "implausible: review value and unit"]
    measurement_ids: list[str]
    reason: str


def with_plausibility_bounds(timeline: pa.Table) -> pa.Table:
    """`timeline` with `plausible_max`: PLAUSIBILITY_FACTOR x the highest limit of its
    substance in its unit over all its rows (module doc)."""
    frame = pl.from_arrow(timeline)
    assert isinstance(frame, pl.DataFrame)  # a table, not a single column
    bounded = frame.with_columns(
        (pl.col("limit_value").max().over("substance_id", "unit") * PLAUSIBILITY_FACTOR).alias("plausible_max")
    )
    return bounded.to_arrow()


def implausible_reason(count: int, units: Sequence[str]) -> str:
    return (
        f"{count} result(s) more than {PLAUSIBILITY_FACTOR:g} x the highest limit ever in force for this substance "
        f"in {', '.join(units)}: check value and unit (e.g. f/m3 recorded as f/cm3); kept and used as recorded"
    )


class Incomparable(msgspec.Struct, frozen=True, kw_only=True):
    """A unit in which no air limit of a substance can be expressed."""

    substance: str
    unit: str
    limit_units: tuple[str, ...]

    @property
    def reason(self) -> str:
        return (
            f"{NOT_COMPARABLE_UNIT}: no limit of {self.substance} can be expressed in {self.unit} "
            f"(its limits are in {', '.join(self.limit_units)}); not compared with any limit"
        )

    @property
    def warning(self) -> str:
        """For the worker's employer, in Dutch and English."""
        return (
            f"niet vergelijkbaar: geen grenswaarde van {self.substance} is uit te drukken in {self.unit} "
            f"(de grenswaarden zijn in {', '.join(self.limit_units)}); deze uitslag wordt met geen grenswaarde "
            f"vergeleken / {self.reason}"
        )


def incomparable_units(
    limits: Sequence[LimitValue], catalogue: Iterable[CatalogueSubstance]
) -> dict[tuple[str, str], Incomparable]:
    """By (substance id, unit) of the catalogue: the units in which no air limit of the
    substance can be expressed, for substances that have air limits (lead in ppm: a dust has
    no ppm; benzene in f/cm3: not a fibre)."""
    found: dict[tuple[str, str], Incomparable] = {}
    for substance in catalogue:
        stated = sorted({row.unit for kind in _AIR_LIMITS for row in rows_for_people(limits, substance, kind)})
        if not stated:
            continue
        # As the limit timeline converts (analytics.timeline): through the CAS number's molar mass.
        molar_mass = molar_mass_of(cas=substance.cas) if substance.cas else None
        for unit in substance.units:
            if not any(_convertible(limit_unit, unit, molar_mass) for limit_unit in stated):
                found[(substance.id, unit)] = Incomparable(
                    substance=substance.names[0], unit=unit, limit_units=tuple(stated)
                )
    return found


def plausibility_bounds(timelines: Iterable[pa.Table]) -> dict[tuple[str, str], float]:
    """By (substance id, unit): the plausibility bound over these timelines (module doc)."""
    bounds: dict[tuple[str, str], float] = {}
    for timeline in timelines:
        for substance, unit, value in zip(
            timeline["substance_id"].to_pylist(),
            timeline["unit"].to_pylist(),
            timeline["limit_value"].to_pylist(),
            strict=True,
        ):
            bounds[(substance, unit)] = max(bounds.get((substance, unit), 0.0), value * PLAUSIBILITY_FACTOR)
    return bounds


def implausible_warning(unit: str) -> str:
    """For the worker's employer, in Dutch and English."""
    return (
        f"onwaarschijnlijk: meer dan {PLAUSIBILITY_FACTOR:g} x de hoogste grenswaarde ooit voor deze stof in {unit}; "
        f"controleer waarde en eenheid / {implausible_reason(1, [unit])}"
    )


def _convertible(limit_unit: str, unit: str, molar_mass: float | None) -> bool:
    if dimension_of(limit_unit) is dimension_of(unit):
        return True
    try:
        convert(1.0, limit_unit, unit, molar_mass=molar_mass)
    except UnitError:
        return False
    return True
