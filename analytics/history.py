"""One worker's results against the limits in force, and a summary per substance.

The comparison is the compliance report's own (analytics.compliance.exposure_indices), so a
result is judged the same way in a worker's history as in the employer's EN 689 report.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

import polars as pl

from analytics.compliance import limit_used
from schemas.exposure import MeasurementOut, RegistrationOut
from schemas.history import Comparison, SubstanceSummary

__all__ = ["NOTES", "comparisons", "substance_summaries"]

NOTES = [
    "Een meting van minstens 2 uur telt als representatief voor de hele dienst en wordt vergeleken met de "
    "8-uursgrenswaarde die op de meetdatum gold; een meting van hoogstens 15 minuten, gemiddeld over 15 minuten, "
    "met de 15-minutengrenswaarde. / A sample of at least 2 h is taken to represent the whole shift and is "
    "compared with the 8-h limit in force on its date; a sample of at most 15 minutes, averaged over 15 minutes, "
    "with the STEL.",
    "De bindende grenswaarde is de strengste van de Nederlandse en de Europese bindende waarde op die datum. / "
    "The binding limit is the stricter of the Dutch limit and the EU binding limit in force on that date.",
    "Bij een meting onder de detectiegrens is de blootstellingsindex een bovengrens. / "
    "For a result below the limit of detection the exposure index is an upper bound.",
    "Biologische meetwaarden zijn medische gegevens: alleen de werknemer zelf ziet ze. / "
    "Biological monitoring values are medical data: only the worker sees them.",
]


def comparisons(indices: pl.DataFrame) -> dict[uuid.UUID, Comparison]:
    """By measurement id: each comparable result (exposure_indices rows, 8-h and STEL)."""
    return {
        uuid.UUID(row["measurement_id"]): Comparison(
            limit_type=row["limit_type"],
            compared_value=row["value"],
            unit=row["unit"],
            exposure_index=row["exposure_index"],
            non_detect=row["censored"],
            above_limit=not row["censored"] and row["exposure_index"] > 1.0,
            limit=limit_used(row),
        )
        for row in indices.to_dicts()
    }


def substance_summaries(
    measurements: Sequence[MeasurementOut],
    registrations: Sequence[RegistrationOut],
    compared: Mapping[uuid.UUID, Comparison],
    names: Mapping[uuid.UUID, tuple[str, str | None]],
) -> list[SubstanceSummary]:
    """Per substance: how many results and register entries, from how many employers, over
    which period, and how they compared with the limits. Sorted by substance name."""
    groups: dict[uuid.UUID, _Tally] = {}
    for m in measurements:
        tally = groups.setdefault(m.substance_id, _Tally())
        tally.add(m.employer_id, m.sampling_start.date(), m.sampling_start.date())
        tally.measurements += 1
        comparison = compared.get(m.id)
        if comparison is not None:
            tally.compared += 1
            tally.above += comparison.above_limit
            if not comparison.non_detect:
                tally.highest = max(tally.highest or 0.0, comparison.exposure_index)
    for r in registrations:
        tally = groups.setdefault(r.substance_id, _Tally())
        tally.add(r.employer_id, r.period_start, r.period_end or r.period_start)
        tally.registrations += 1
    summaries = [
        SubstanceSummary(
            substance_id=substance_id,
            substance_name=names[substance_id][0],
            cas=names[substance_id][1],
            employers=len(t.employers),
            measurements=t.measurements,
            registrations=t.registrations,
            first_date=min(t.dates),
            last_date=max(t.dates),
            compared=t.compared,
            above_limit=t.above,
            highest_exposure_index=t.highest,
        )
        for substance_id, t in groups.items()
    ]
    return sorted(summaries, key=lambda s: (s.substance_name, str(s.substance_id)))


class _Tally:
    def __init__(self) -> None:
        self.employers: set[uuid.UUID] = set()
        self.dates: list[dt.date] = []
        self.measurements = 0
        self.registrations = 0
        self.compared = 0
        self.above = 0
        self.highest: float | None = None

    def add(self, employer_id: uuid.UUID, first: dt.date, last: dt.date) -> None:
        self.employers.add(employer_id)
        self.dates += [first, last]
