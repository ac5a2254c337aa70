"""Biological results against the biological limit and guidance values in force on the
sampling date, for the person sampled.

A result is compared in its own matrix (blood with blood) and unit. The binding value is the
strictest legal BLV in force (analytics/limits.py); guidance values (EU-IOELV, such as the
4.5 µg/100 ml blood lead for women of childbearing age) are reported beside it. A value for
a group of people applies to a person only when the company doctor recorded facts placing
them in that group on the sampling date (schemas.medical); otherwise only the values for
everyone apply. Biological values are medical data, so this runs on values opened for the
worker or the company doctor only, or for group figures that show no value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

import msgspec

from analytics.exposure import Measured
from analytics.limits import LimitVerdict, Verdict, assess
from analytics.timeline import CatalogueSubstance, limits_for_person, rows_for_people
from schemas.exposure import MeasurementOut
from schemas.history import Comparison
from schemas.limits import LimitUsed, LimitValue
from schemas.medical import MedicalFactsOut
from schemas.units import UnitError

__all__ = [
    "BiologicalComparison",
    "BiologicalLimits",
    "BiologicalResult",
    "compare",
    "population_on",
    "result_of",
]


class BiologicalResult(msgspec.Struct, frozen=True, kw_only=True):
    """An opened biological result; `value` is the LOD of a non-detect (`censored`)."""

    id: uuid.UUID
    worker_id: uuid.UUID
    substance_id: uuid.UUID
    day: dt.date  # the sampling date (UTC), as for air results
    value: float
    censored: bool
    unit: str
    matrix: str


class BiologicalComparison(msgspec.Struct, frozen=True, kw_only=True):
    binding: Comparison | None  # the binding BLV in force; None when there is none
    guidance: list[Comparison]  # informative values in force for this person


def result_of(measurement: MeasurementOut) -> BiologicalResult | None:
    """The comparable part of a biological measurement; None when its value is withheld."""
    m = measurement
    value = m.lod if m.below_lod else m.value
    if m.sample_type != "biological" or m.worker_id is None or m.matrix is None or value is None:
        return None
    return BiologicalResult(
        id=m.id,
        worker_id=m.worker_id,
        substance_id=m.substance_id,
        day=m.sampling_start.astimezone(dt.UTC).date(),
        value=value,
        censored=bool(m.below_lod),
        unit=m.unit,
        matrix=m.matrix,
    )


def population_on(versions: Sequence[MedicalFactsOut], day: dt.date) -> str | None:
    """The group of people the facts in force on `day` place the person in: the version with
    the latest valid_from on or before it, the last recorded of equals."""
    in_force = [v for v in versions if v.valid_from <= day]
    if not in_force:
        return None
    latest = max(in_force, key=lambda v: (v.valid_from, v.recorded_at))
    return latest.populations[0] if latest.populations else None


class BiologicalLimits:
    """The BLV rows of some catalogue substances, selected once for many results."""

    def __init__(self, limits: Sequence[LimitValue], substances: Iterable[CatalogueSubstance]) -> None:
        self._substances = {s.id: s for s in substances}
        self._rows = {s.id: rows_for_people(limits, s, "BLV") for s in self._substances.values()}

    def verdicts(self, result: BiologicalResult, population: str | None) -> tuple[LimitVerdict, ...]:
        """The binding verdict first, then the guidance values', for a person of `population`;
        empty when no value of the result's matrix can be put in its unit."""
        substance = self._substances.get(str(result.substance_id))
        rows = [r for r in self._rows.get(str(result.substance_id), []) if r.matrix == result.matrix]
        if substance is None or not rows:
            return ()
        try:
            applicable = limits_for_person(
                rows, substance, on=result.day, limit_type="BLV", unit=result.unit, population=population
            )
        except UnitError:
            return ()
        return assess(applicable, Measured(value=result.value, censored=result.censored))


def compare(limits: BiologicalLimits, result: BiologicalResult, population: str | None) -> BiologicalComparison:
    """The result against the binding value and the guidance values in force for the person."""
    verdicts = limits.verdicts(result, population)
    binding = [_comparison(result, v) for v in verdicts if v.role == "binding"]
    return BiologicalComparison(
        binding=binding[0] if binding else None,
        guidance=[_comparison(result, v) for v in verdicts if v.role == "informative"],
    )


def _comparison(result: BiologicalResult, verdict: LimitVerdict) -> Comparison:
    return Comparison(
        limit_type="BLV",
        compared_value=result.value,
        unit=result.unit,
        exposure_index=result.value / verdict.applied.value,
        non_detect=result.censored,
        above_limit=verdict.verdict is Verdict.ABOVE,
        limit=LimitUsed.of(verdict.applied.limit),
    )
