"""One worker's results against the limits in force, and a summary per substance.

The comparison is the compliance report's own SQL (analytics.compliance.exposure_indices),
so a result is judged the same way in a worker's history as in the employer's EN 689 report.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

import polars as pl
import pyarrow as pa

from analytics.compliance import Source, above_limit, exposure_indices, limit_used
from analytics.statistics.exact import rounded
from schemas.exposure import MeasurementOut, RegistrationOut
from schemas.history import Comparison, SubstanceSummary

__all__ = ["NOTES", "compare_results", "substance_summaries"]

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
    "Biologische meetwaarden zijn medische gegevens: alleen de werknemer en de bedrijfsarts zien ze, met de "
    "biologische grenswaarde die op de datum van afname gold en de richtwaarden voor een groep waartoe de "
    "bedrijfsarts de werknemer op die datum rekende (zoals vrouwen in de vruchtbare leeftijd). / "
    "Biological monitoring values are medical data: only the worker and the company doctor see them, with the "
    "biological limit in force on the sampling date and the guidance values for a group the company doctor "
    "placed the worker in on that date (such as women of childbearing age).",
]


def compare_results(
    source: Source, measurements: Sequence[MeasurementOut], shift_limits: pa.Table, stel_limits: pa.Table
) -> dict[uuid.UUID, Comparison]:
    """By measurement id, each comparable result against the limit in force on its date.

    The results already read are registered as a table of their own for the report's SQL,
    so a history never scans the store's results again."""
    source.register("_history_results", _results_table(measurements))
    try:
        indices = pl.concat(
            [
                exposure_indices(source, shift_limits, results="_history_results"),
                exposure_indices(source, stel_limits, short_term=True, results="_history_results"),
            ]
        )
    finally:
        source.unregister("_history_results")
    return _comparisons(indices)


def _results_table(measurements: Sequence[MeasurementOut]) -> pa.Table:
    """The columns of the measurements table that exposure_indices reads (times naive UTC)."""
    columns: dict[str, list[object]] = {
        "id": [str(m.id) for m in measurements],
        "employer_id": [str(m.employer_id) for m in measurements],
        "seg_id": [None if m.seg_id is None else str(m.seg_id) for m in measurements],
        "worker_id": [None if m.worker_id is None else str(m.worker_id) for m in measurements],
        "substance_id": [str(m.substance_id) for m in measurements],
        "sampling_start": [m.sampling_start.astimezone(dt.UTC).replace(tzinfo=None) for m in measurements],
        "value": [m.value for m in measurements],
        "lod": [m.lod for m in measurements],
        "below_lod": [m.below_lod for m in measurements],
        "unit": [m.unit for m in measurements],
        "sample_type": [m.sample_type for m in measurements],
        "sampled_minutes": [m.sampled_minutes for m in measurements],
    }
    types = {
        "sampling_start": pa.timestamp("us"),
        "value": pa.float64(),
        "lod": pa.float64(),
        "below_lod": pa.bool_(),
        "sampled_minutes": pa.float64(),
    }
    return pa.table({name: pa.array(values, type=types.get(name, pa.string())) for name, values in columns.items()})


def _comparisons(indices: pl.DataFrame) -> dict[uuid.UUID, Comparison]:
    """By measurement id: each comparable result (exposure_indices rows, 8-h and STEL), judged
    on the decimals as the report judges it; derived figures rounded to their decimal."""
    return {
        uuid.UUID(row["measurement_id"]): Comparison(
            limit_type=row["limit_type"],
            compared_value=float(rounded(row["value"])),
            unit=row["unit"],
            exposure_index=float(rounded(row["exposure_index"])),
            non_detect=row["censored"],
            above_limit=bool(above),
            limit=limit_used(row),
        )
        for row, above in zip(indices.to_dicts(), above_limit(indices), strict=True)
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
