"""Re-importing a list of limit values: what is new, what changed, what is unchanged.

A row's identity is what it is a limit *of* and from when: substance (by published name),
jurisdiction, limit type, start date, population, and its owner (the employer of a company
limit, the sector of a sector limit). Value, unit, end date, fraction, CAS number, notation
and citation are what a correction may change.

Some lists hold several rows under one identity: the EU gives mg/m3 and ppm side by side,
a transitional value for one sector beside the general one (formaldehyde 2019/983), or two
options a Member State chooses from (asbestos 2023/2668). So rows are compared per identity,
as a group: the same rows (in any order) are unchanged; any difference and the incoming
group supersedes the stored one as a whole. Rows the list does not mention stay as they are:
an import adds and corrects, it never withdraws.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence

import msgspec

from analytics.limits import normalise_name
from schemas.limits import LimitValue

__all__ = ["LimitChanges", "compare", "identity"]


def identity(limit: LimitValue) -> Hashable:
    return (
        normalise_name(limit.substance_name),
        limit.jurisdiction,
        limit.limit_type,
        limit.valid_from,
        normalise_name(limit.population) if limit.population else None,
        limit.owner_employer_id,
        limit.sector_sbi,
    )


class LimitChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What storing an incoming list changes."""

    new: list[LimitValue]  # rows of identities the store does not hold
    changed: list[LimitValue]  # rows that replace the stored group of their identity
    superseded: list[str]  # ids of the stored rows they replace
    unchanged: int  # incoming rows already stored as they are

    @property
    def nothing_to_store(self) -> bool:
        return not self.new and not self.changed


def compare(stored: Sequence[tuple[str, LimitValue]], incoming: Sequence[LimitValue]) -> LimitChanges:
    """`stored` are the rows in use, with their ids; `incoming` the validated list."""
    held: defaultdict[Hashable, list[tuple[str, LimitValue]]] = defaultdict(list)
    for row_id, limit in stored:
        held[identity(limit)].append((row_id, limit))
    arriving: defaultdict[Hashable, list[LimitValue]] = defaultdict(list)
    for limit in incoming:
        arriving[identity(limit)].append(limit)
    new: list[LimitValue] = []
    changed: list[LimitValue] = []
    superseded: list[str] = []
    unchanged = 0
    for key, rows in arriving.items():
        before = held.get(key, [])
        if not before:
            new += rows
        elif Counter(limit for _, limit in before) == Counter(rows):
            unchanged += len(rows)
        else:
            changed += rows
            superseded += [row_id for row_id, _ in before]
    return LimitChanges(new=new, changed=changed, superseded=superseded, unchanged=unchanged)
