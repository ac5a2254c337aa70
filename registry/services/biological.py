"""Biological results against the limits in force for the person sampled (analytics/biological.py):
in a worker's history, for the worker and the company doctor, and as group figures for an
employer, which never sees a person's value."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from analytics.biological import BiologicalComparison, BiologicalLimits, BiologicalResult, compare, population_on
from analytics.biological import result_of as biological_result
from analytics.biological_groups import BiologicalGroup, GroupedResult, group_figures
from registry.access import Work
from registry.services.compliance import substance_catalogue
from registry.services.measurements import biological_results_for_group_figures
from registry.services.medical_facts import read_facts
from registry.store import Tx
from registry.store import exposure as exposure_table
from registry.store import limits as limit_table
from registry.store import people as people_table
from registry.store import substances as substance_table
from schemas.exposure import MeasurementOut, SegMemberOut

__all__ = ["employer_group_figures", "history_comparisons"]


def history_comparisons(
    work: Work, measurements: Sequence[MeasurementOut], records: Sequence[people_table.EncryptedWorker]
) -> dict[uuid.UUID, BiologicalComparison]:
    """By measurement id, each opened biological result against the values in force for the
    person on its date, as the medical facts of `records` place them (a read of those facts,
    checked and audited). Results whose value is withheld are left out."""
    results = [r for m in measurements if (r := biological_result(m)) is not None]
    if not results:
        return {}
    facts = read_facts(work, records)
    limits = _limits(work.tx, results)
    return {r.id: compare(limits, r, population_on(facts, r.day)) for r in results}


def employer_group_figures(work: Work) -> list[BiologicalGroup]:
    """Per SEG, substance, matrix and year: how many of this employer's biological results
    were above each value, for groups large enough (analytics/biological_groups.py)."""
    employer_id = work.employer_id()
    measured = biological_results_for_group_figures(work)
    results = [r for m in measured if (r := biological_result(m)) is not None]
    work.note_list("biological_group_figures", {r.worker_id for r in results})
    tx = work.tx
    memberships = exposure_table.seg_memberships_of_employer(tx, employer_id)
    named_seg = {m.id: m.seg_id for m in measured}
    grouped = [
        GroupedResult(seg_id=seg_id, result=r) for r in results for seg_id in _segs(r, named_seg[r.id], memberships)
    ]
    seg_names = {s.id: s.name for s in exposure_table.segs_in_scope(tx, work.scope())}
    substance_names = {s.id: s.name for s in substance_table.list_substances(tx)}
    return group_figures(grouped, _limits(tx, results), seg_names, substance_names)


def _segs(
    result: BiologicalResult, named: uuid.UUID | None, memberships: Sequence[SegMemberOut]
) -> list[uuid.UUID | None]:
    """The SEG the sample names, else every SEG the worker was a member of on its date."""
    if named is not None:
        return [named]
    return sorted(
        {m.seg_id for m in memberships if m.worker_id == result.worker_id and _during(result.day, m)}, key=str
    ) or [None]


def _during(day: dt.date, member: SegMemberOut) -> bool:
    return member.start_date <= day and (member.end_date is None or day <= member.end_date)


def _limits(tx: Tx, results: Sequence[BiologicalResult]) -> BiologicalLimits:
    units: dict[str, set[str]] = {}
    for r in results:
        units.setdefault(str(r.substance_id), set()).add(r.unit)
    catalogue = substance_catalogue(tx, {s: sorted(u) for s, u in units.items()})
    return BiologicalLimits(limit_table.limit_values(tx), catalogue)
