"""Exposure statistics per substance, sector, year or task for the whole registry, with
primary disclosure control (analytics/aggregates.py)."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.aggregates import AggregateCell, Dimension, Disclosure, aggregate
from registry.services.compliance import limit_timelines
from registry.store import Tx
from registry.store.exposure import units_in_use

__all__ = ["exposure_aggregates"]


def exposure_aggregates(
    tx: Tx, by: Sequence[Dimension], disclosure: Disclosure | None = None, *, substance_cas: str | None = None
) -> list[AggregateCell]:
    shift_limits, _ = limit_timelines(tx, units_in_use(tx))
    return aggregate(tx, shift_limits, by, disclosure, substance_cas=substance_cas)
