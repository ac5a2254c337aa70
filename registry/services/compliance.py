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
from analytics.timeline import CatalogueSubstance, limit_timeline
from registry.access import Work
from registry.store import Tx
from registry.store import exposure as exposure_table
from registry.store import limits as limit_table
from registry.store import substances as substance_table

__all__ = [
    "ComplianceInput",
    "employer_exceedances",
    "employer_report",
    "employer_trend",
    "limit_timelines",
    "load_inputs",
]


class ComplianceInput(msgspec.Struct):
    """Everything the analytics need for one employer, read in one transaction."""

    indices: pl.DataFrame  # shift-long samples against the 8-h limits
    short_term: pl.DataFrame  # samples of at most 15 minutes against the STELs
    names: pl.DataFrame


def load_inputs(tx: Tx, employer_id: str | None) -> ComplianceInput:
    """The indices of one employer's results, or (None) of all of them."""
    where, params = results_of(employer_id)
    shift, stel = limit_timelines(tx, exposure_table.units_in_use(tx, where, params))
    indices = exposure_indices(tx, shift, employer_id)
    short_term = exposure_indices(tx, stel, employer_id, short_term=True)
    names = _frame(exposure_table.seg_and_substance_names(tx, where, params))
    return ComplianceInput(indices=indices, short_term=short_term, names=names)


def limit_timelines(tx: Tx, used_units: Mapping[str, Sequence[str]]) -> tuple[pa.Table, pa.Table]:
    """The binding 8-h and STEL timelines of these substances in these units: each limit
    list names an agent its own way, so the catalogue carries every alias."""
    aliases = _reference_aliases()
    catalogue = [
        CatalogueSubstance(
            id=str(s.id), cas=s.cas, names=(s.name, *aliases.get(s.name, ())), units=tuple(used_units[str(s.id)])
        )
        for s in substance_table.list_substances(tx)
        if str(s.id) in used_units
    ]
    limits = limit_table.limit_values(tx)
    return limit_timeline(limits, catalogue), limit_timeline(limits, catalogue, "STEL15min")


def employer_report(work: Work, *, bayesian: bool = True) -> list[ComplianceRow]:
    data = load_inputs(work.tx, str(work.employer_id()))
    work.note_list("compliance_report")
    return compliance_report(data.indices, data.names, bayesian=bayesian)


def employer_exceedances(work: Work) -> list[Exceedance]:
    data = load_inputs(work.tx, str(work.employer_id()))
    found = exceedances(pl.concat([data.indices, data.short_term]), data.names)
    work.note_list("exceedance", {uuid.UUID(e.worker_id) for e in found if e.worker_id})
    return found


def employer_trend(work: Work) -> list[TrendRow]:
    data = load_inputs(work.tx, str(work.employer_id()))
    work.note_list("exposure_trend")
    return trend(data.indices, data.names)


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
