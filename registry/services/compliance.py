"""Compliance reports for an employer: which SEGs meet the limits, where they were exceeded,
how exposure developed; computed by analytics/compliance.py over the store."""

from __future__ import annotations

import csv
import functools
import threading
import uuid
from collections.abc import Collection, Mapping, Sequence
from importlib import resources

import msgspec
import polars as pl
import pyarrow as pa

from analytics.compliance import (
    Employers,
    Exceedance,
    TrendRow,
    exceedances,
    exposure_indices,
    results_of,
    trend,
)
from analytics.review import Incomparable, implausible_warning, incomparable_units, plausibility_bounds
from analytics.short_samples import ShiftFromSamples, short_sample_shifts
from analytics.timeline import CatalogueSubstance, limit_timeline
from registry.access import Work
from registry.store import Tx
from registry.store import exposure as exposure_table
from registry.store import limits as limit_table
from registry.store import substances as substance_table
from schemas.exposure import MeasurementOut
from schemas.limits import LimitValue

__all__ = [
    "ComplianceInput",
    "employer_exceedances",
    "employer_trend",
    "limit_timelines",
    "load_inputs",
    "substance_catalogue",
    "warnings_of_columns",
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


def load_inputs(tx: Tx, employer_id: Employers, *, stel: bool = True) -> ComplianceInput:
    """The indices of one employer's results (or of several employers', analytics.compliance.
    results_of), or (None) of all of them; without `stel`, short_term is left empty (the EN 689
    report does not read it)."""
    where, params = results_of(employer_id)
    catalogue = substance_catalogue(tx, exposure_table.units_in_use(tx, where, params))
    limits = limit_table.limit_values(tx)
    shift, stel_timeline = limit_timeline(limits, catalogue), limit_timeline(limits, catalogue, "STEL15min")
    indices = exposure_indices(tx, shift, employer_id)
    short = short_sample_shifts(tx, shift, where, params)
    if short.combined.height:
        indices = pl.concat([indices, short.combined], how="vertical_relaxed")
    return ComplianceInput(
        indices=indices,
        short_term=exposure_indices(tx, stel_timeline, employer_id, short_term=True) if stel else pl.DataFrame(),
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
    pairs = {(str(r.substance_id), r.unit) for r in results if r.sample_type != "biological"}
    if not pairs:
        return list(results)
    rules = _warning_rules(tx)
    if missing := pairs - rules.known:
        rules.learn(tx, missing)
    return [_warned(r, rules.incomparable, rules.bounds) if r.sample_type != "biological" else r for r in results]


_WARNING_RULES = "services.compliance.warning_rules"  # its key in Tx.remembered


class _WarningRules:
    """What with_warnings holds a result to, by (substance id, unit), derived from the limit
    values of one version of the store and learned pair by pair as results arrive: so a
    single POST does not read and convert every limit row (5 ms of each request did). Kept
    per open store while the limit values are unchanged (registry.store.limits.stamp): an
    import, a company limit set or withdrawn, by this process or by another one on the same
    PostgreSQL database, makes new ones. Substances are never changed once stored (a new one
    is a new id), so a learned pair stays right."""

    def __init__(self, limits: Sequence[LimitValue]) -> None:
        self.limits = limits
        self.incomparable: dict[tuple[str, str], Incomparable] = {}
        self.bounds: dict[tuple[str, str], float] = {}
        self.known: set[tuple[str, str]] = set()
        self._learning = threading.Lock()

    def learn(self, tx: Tx, pairs: Collection[tuple[str, str]]) -> None:
        used: dict[str, list[str]] = {}
        for substance, unit in sorted(pairs):
            used.setdefault(substance, []).append(unit)
        catalogue = substance_catalogue(tx, used)
        incomparable = incomparable_units(self.limits, catalogue)
        shift, stel = limit_timeline(self.limits, catalogue), limit_timeline(self.limits, catalogue, "STEL15min")
        bounds = plausibility_bounds([shift, stel])
        with self._learning:  # the answers first, then that they are known
            self.incomparable.update(incomparable)
            self.bounds.update(bounds)
            self.known.update(pairs)


def _warning_rules(tx: Tx) -> _WarningRules:
    """The rules of the limit values `tx` sees: those kept for the store while the limit
    values are unchanged (Tx.remembered), else new ones."""
    return tx.remembered(_WARNING_RULES, limit_table.stamp(tx), lambda: _WarningRules(limit_table.limit_values(tx)))


def warnings_of_columns(tx: Tx, results: pl.DataFrame) -> pl.Series:
    """`with_warnings` over a batch's columns (substance_id as text, unit, level: the value or
    else the lod, biological), by the same rules: each row's warnings, empty if none."""
    air = results.filter(~pl.col("biological"))
    pairs = set(air.select("substance_id", "unit").unique().iter_rows())
    rules = _warning_rules(tx)
    if missing := pairs - rules.known:
        rules.learn(tx, missing)
    known = pl.DataFrame(
        [
            (
                substance,
                unit,
                rules.incomparable[substance, unit].warning if (substance, unit) in rules.incomparable else None,
                rules.bounds.get((substance, unit)),
                implausible_warning(unit),
            )
            for substance, unit in pairs
        ],
        schema={"substance_id": pl.String, "unit": pl.String, "w1": pl.String, "bound": pl.Float64, "w2": pl.String},
        orient="row",
    )
    implausible = pl.col("bound").is_not_null() & pl.col("level").is_not_null() & (pl.col("level") > pl.col("bound"))
    warned = results.join(known, on=["substance_id", "unit"], how="left", maintain_order="left").select(
        pl.when(pl.col("biological"))
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.concat_list(pl.col("w1"), pl.when(implausible).then(pl.col("w2"))).list.drop_nulls())
        .alias("warnings")
    )
    return warned.get_column("warnings")


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


def _frame(table: object) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table, not a single column
    return frame


@functools.cache
def _reference_aliases() -> dict[str, tuple[str, ...]]:
    """Other names limit lists use for a catalogue agent (agents.csv, column aliases)."""
    with (resources.files("analytics") / "reference" / "agents.csv").open(encoding="utf-8") as handle:
        return {
            row["substance_name"]: tuple(a for a in row["aliases"].split("|") if a) for row in csv.DictReader(handle)
        }
