"""Exposure statistics per substance, sector, year or task for the whole registry, with
primary disclosure control (analytics/aggregates.py, over the frames of registry.store.frames)."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.aggregates import AggregateCell, Dimension, Disclosure, aggregate, exposure_series
from registry.services.compliance import limit_timelines
from registry.store import Tx
from registry.store.frames import Frames

__all__ = ["exposure_aggregates"]


def exposure_aggregates(
    tx: Tx, by: Sequence[Dimension], disclosure: Disclosure | None = None, *, substance_cas: str | None = None
) -> list[AggregateCell]:
    frames = Frames(tx)
    series = exposure_series(frames)
    used: dict[str, list[str]] = {}
    for substance_id, unit in zip(series["substance_id"].to_pylist(), series["unit"].to_pylist(), strict=True):
        used.setdefault(substance_id, []).append(unit)
    shift_limits, _ = limit_timelines(tx, used)
    return aggregate(frames, series, shift_limits, by, disclosure, substance_cas=substance_cas)
