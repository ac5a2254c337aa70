"""Group figures of biological monitoring for an employer, who may see group results only:
per SEG, substance, matrix and year, how many workers and results there were and how many
were above each biological limit or guidance value in force, never a value of one person.

Minimum group size: MIN_GROUP_WORKERS distinct workers, else the group's figures are
withheld and the reason given. The employer knows who was sampled, so in a smaller group a
count comes close to one person's result: "1 of 2 above" tells each of the two about the
other. From five workers on, a count cannot be laid on one worker without knowledge from
elsewhere. It is lower than the ten workers of the operator's published aggregates because
the employer needs these figures for prevention (its legal duty) and most SEGs are small;
a constant, so a registry that wants more protection can raise it.

Only the values for everyone are counted. A value for a group of people (women of
childbearing age) would tell the employer about the medical facts of the few it applies to,
whom it can often name by their sex alone; that comparison is for the company doctor and
the worker.

Not protected: an employer that asks before and after one new result, or compares two SEGs
that differ by one worker, can tell that worker's part from the difference (no secondary
suppression yet).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import msgspec

from analytics.biological import BiologicalLimits, BiologicalResult
from analytics.limits import Verdict
from schemas.limits import LimitUsed

__all__ = ["MIN_GROUP_WORKERS", "BiologicalGroup", "GroupedResult", "LimitCount", "group_figures"]

MIN_GROUP_WORKERS: Final = 5
SUPPRESSED = (
    f"minder dan {MIN_GROUP_WORKERS} werknemers: groepscijfers zouden uitslagen van personen prijsgeven / "
    f"fewer than {MIN_GROUP_WORKERS} workers: group figures would disclose individual results"
)
NOT_COUNTED = (
    "Waarden voor een groep personen (zoals vrouwen in de vruchtbare leeftijd) tellen hier niet mee; die "
    "vergelijking ziet alleen de bedrijfsarts en de werknemer. / Values for a group of people (such as women of "
    "childbearing age) are not counted here; only the company doctor and the worker see that comparison."
)


class GroupedResult(msgspec.Struct, frozen=True, kw_only=True):
    """A biological result and the SEG it is counted in (None: the worker was in none)."""

    seg_id: uuid.UUID | None
    result: BiologicalResult


class LimitCount(msgspec.Struct, frozen=True, kw_only=True):
    role: str  # "binding" or "informative"
    limit: LimitUsed
    results_above: int  # detected results above the value
    workers_above: int


class BiologicalGroup(msgspec.Struct, frozen=True, kw_only=True):
    seg_id: uuid.UUID | None
    seg_name: str | None
    substance_id: uuid.UUID
    substance_name: str
    matrix: str
    year: int
    suppressed: str | None  # why the figures are withheld; None when they are given
    workers: int | None
    results: int | None
    limits: list[LimitCount]  # empty when suppressed
    note: str = NOT_COUNTED


def group_figures(
    grouped: Iterable[GroupedResult],
    limits: BiologicalLimits,
    seg_names: Mapping[uuid.UUID, str],
    substance_names: Mapping[uuid.UUID, str],
) -> list[BiologicalGroup]:
    """Per SEG, substance, matrix and year, sorted by SEG name, substance and year."""
    groups: dict[tuple[uuid.UUID | None, uuid.UUID, str, int], list[BiologicalResult]] = {}
    for item in grouped:
        r = item.result
        groups.setdefault((item.seg_id, r.substance_id, r.matrix, r.day.year), []).append(r)
    figures = [_figures(key, results, limits, seg_names, substance_names[key[1]]) for key, results in groups.items()]
    return sorted(figures, key=lambda g: (g.seg_name or "", str(g.seg_id), g.substance_name, g.matrix, g.year))


def _figures(
    key: tuple[uuid.UUID | None, uuid.UUID, str, int],
    results: Sequence[BiologicalResult],
    limits: BiologicalLimits,
    seg_names: Mapping[uuid.UUID, str],
    substance_name: str,
) -> BiologicalGroup:
    seg_id, substance_id, matrix, year = key
    workers = {r.worker_id for r in results}
    enough = len(workers) >= MIN_GROUP_WORKERS
    return BiologicalGroup(
        seg_id=seg_id,
        seg_name=seg_names.get(seg_id) if seg_id else None,
        substance_id=substance_id,
        substance_name=substance_name,
        matrix=matrix,
        year=year,
        suppressed=None if enough else SUPPRESSED,
        workers=len(workers) if enough else None,
        results=len(results) if enough else None,
        limits=_counts(results, limits) if enough else [],
    )


def _counts(results: Sequence[BiologicalResult], limits: BiologicalLimits) -> list[LimitCount]:
    """Per value for everyone that any result met, in the order binding, informative."""
    tally: dict[tuple[str, LimitUsed], tuple[int, set[uuid.UUID]]] = {}
    for r in results:
        for v in limits.verdicts(r, population=None):
            key = (v.role, LimitUsed.of(v.applied.limit))
            above, workers = tally.get(key, (0, set()))
            if v.verdict is Verdict.ABOVE:
                above, workers = above + 1, workers | {r.worker_id}
            tally[key] = (above, workers)
    return [
        LimitCount(role=role, limit=limit, results_above=above, workers_above=len(workers))
        for (role, limit), (above, workers) in sorted(
            tally.items(), key=lambda item: (item[0][0] != "binding", item[0][1].valid_from or dt.date.min)
        )
    ]
