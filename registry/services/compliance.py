"""Compliance reports for an employer: which SEGs meet the limits, where they were exceeded,
how exposure developed; computed by analytics/compliance.py over the store."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Mapping, Sequence
from importlib import resources

import msgspec
import polars as pl
import pyarrow as pa

from analytics.additional_limits import with_additional_limits
from analytics.compliance import (
    ComplianceRow,
    Exceedance,
    TrendRow,
    compliance_report,
    exceedances,
    exposure_indices,
    results_of,
    trend,
)
from analytics.review import Incomparable, implausible_warning, incomparable_units, plausibility_bounds
from analytics.short_samples import ShiftFromSamples, short_sample_shifts
from analytics.statistics import Prior
from analytics.timeline import CatalogueSubstance, limit_timeline
from registry.access import Work
from registry.services.limits import limits_beside_legal
from registry.store import Tx
from registry.store import exposure as exposure_table
from registry.store import limits as limit_table
from registry.store import substances as substance_table
from schemas.exposure import MeasurementOut

__all__ = [
    "ComplianceInput",
    "employer_exceedances",
    "employer_report",
    "employer_trend",
    "limit_timelines",
    "load_inputs",
    "report_of",
    "substance_catalogue",
    "with_warnings",
]


class ComplianceInput(msgspec.Struct):
    """Everything the analytics need for one employer, read in one transaction."""

    indices: pl.DataFrame  # shift results against the 8-h limits: shift-long samples, combined short ones
    short_term: pl.DataFrame  # samples of at most 15 minutes against the STELs
    names: pl.DataFrame
    lower_bounds: pl.DataFrame  # 8-h lower bounds from short samples: exceedances, never EN 689 results
    made_from: dict[str, ShiftFromSamples]  # how each row from short samples was made, by its id
    not_comparable: pl.DataFrame | None  # results in a unit none of their substance's limits fits


def load_inputs(tx: Tx, employer_id: str | None) -> ComplianceInput:
    """The indices of one employer's results, or (None) of all of them."""
    where, params = results_of(employer_id)
    catalogue = substance_catalogue(tx, exposure_table.units_in_use(tx, where, params))
    limits = limit_table.limit_values(tx)
    shift, stel = limit_timeline(limits, catalogue), limit_timeline(limits, catalogue, "STEL15min")
    indices = exposure_indices(tx, shift, employer_id)
    short = short_sample_shifts(tx, shift, where, params)
    if short.combined.height:
        indices = pl.concat([indices, short.combined], how="vertical_relaxed")
    return ComplianceInput(
        indices=indices,
        short_term=exposure_indices(tx, stel, employer_id, short_term=True),
        names=_frame(exposure_table.seg_and_substance_names(tx, where, params)),
        lower_bounds=short.lower_bounds,
        made_from=dict(short.made_from),
        not_comparable=_not_comparable(tx, incomparable_units(limits, catalogue), where, params),
    )


def _not_comparable(
    tx: Tx, reasons: Mapping[tuple[str, str], Incomparable], where: str, params: Sequence[str]
) -> pl.DataFrame | None:
    """The results of the (substance, unit) pairs in `reasons`, each with its reason."""
    if not reasons:
        return None
    why = pl.DataFrame(
        [(substance, unit, found.reason) for (substance, unit), found in reasons.items()],
        schema=["substance_id", "unit", "reason"],
        orient="row",
    )
    results = _frame(exposure_table.results_in_units(tx, list(reasons), where, params))
    return results.join(why, on=["substance_id", "unit"])


def limit_timelines(tx: Tx, used_units: Mapping[str, Sequence[str]]) -> tuple[pa.Table, pa.Table]:
    """The binding 8-h and STEL timelines of these substances in these units."""
    catalogue = substance_catalogue(tx, used_units)
    limits = limit_table.limit_values(tx)
    return limit_timeline(limits, catalogue), limit_timeline(limits, catalogue, "STEL15min")


def substance_catalogue(tx: Tx, used_units: Mapping[str, Sequence[str]]) -> list[CatalogueSubstance]:
    """These substances (by id) with their units: each limit list names an agent its own way,
    so the catalogue carries every alias."""
    aliases = _reference_aliases()
    return [
        CatalogueSubstance(
            id=str(s.id), cas=s.cas, names=(s.name, *aliases.get(s.name, ())), units=tuple(used_units[str(s.id)])
        )
        for s in substance_table.list_substances(tx)
        if str(s.id) in used_units
    ]


def with_warnings(tx: Tx, results: Sequence[MeasurementOut]) -> list[MeasurementOut]:
    """Each air result with what to check at once: a unit in which no limit of its substance
    can be expressed (it would never be compared), a value beyond the plausibility bound."""
    used: dict[str, set[str]] = {}
    for result in results:
        if result.sample_type != "biological":
            used.setdefault(str(result.substance_id), set()).add(result.unit)
    if not used:
        return list(results)
    catalogue = substance_catalogue(tx, {substance: sorted(units) for substance, units in used.items()})
    limits = limit_table.limit_values(tx)
    incomparable = incomparable_units(limits, catalogue)
    bounds = plausibility_bounds([limit_timeline(limits, catalogue), limit_timeline(limits, catalogue, "STEL15min")])
    return [_warned(result, incomparable, bounds) for result in results]


def _warned(
    result: MeasurementOut,
    incomparable: Mapping[tuple[str, str], Incomparable],
    bounds: Mapping[tuple[str, str], float],
) -> MeasurementOut:
    key = (str(result.substance_id), result.unit)
    level = result.value if result.value is not None else result.lod
    warnings = [incomparable[key].warning] if key in incomparable else []
    if key in bounds and level is not None and level > bounds[key]:
        warnings.append(implausible_warning(result.unit))
    return msgspec.structs.replace(result, warnings=warnings) if warnings else result


def employer_report(work: Work, *, bayesian: bool = True, prior: Prior = "informedvar") -> list[ComplianceRow]:
    """Each row with the employer's own and its sector's limits beside the legal one."""
    data = load_inputs(work.tx, str(work.employer_id()))
    work.note_list("compliance_report")
    rows = report_of(data, bayesian=bayesian, prior=prior)
    return with_additional_limits(rows, data.indices, limits_beside_legal(work.tx, work.employer_id()))


def employer_exceedances(work: Work) -> list[Exceedance]:
    data = load_inputs(work.tx, str(work.employer_id()))
    compared = pl.concat([data.indices, data.short_term, data.lower_bounds], how="vertical_relaxed")
    found = exceedances(compared, data.names, data.made_from)
    work.note_list("exceedance", {uuid.UUID(e.worker_id) for e in found if e.worker_id})
    return found


def employer_trend(work: Work) -> list[TrendRow]:
    data = load_inputs(work.tx, str(work.employer_id()))
    work.note_list("exposure_trend")
    return trend(data.indices, data.names)


def report_of(data: ComplianceInput, *, bayesian: bool = True, prior: Prior = "informedvar") -> list[ComplianceRow]:
    """The EN 689 report of what load_inputs read (for the API and the CLI alike)."""
    return compliance_report(
        data.indices,
        data.names,
        bayesian=bayesian,
        prior=prior,
        made_from=data.made_from,
        not_comparable=data.not_comparable,
    )


def _frame(table: object) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table, not a single column
    return frame


def _reference_aliases() -> dict[str, tuple[str, ...]]:
    """Other names limit lists use for a catalogue agent (agents.csv, column aliases)."""
    with (resources.files("analytics") / "reference" / "agents.csv").open(encoding="utf-8") as handle:
        return {
            row["substance_name"]: tuple(a for a in row["aliases"].split("|") if a) for row in csv.DictReader(handle)
        }
