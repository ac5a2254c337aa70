"""A worker's exposure history: what a worker (or a TSB claim on their behalf) needs to show
what they were exposed to, where and when, and how that compared with the limits in force.

The document is versioned (`schema`): recipients may keep it for decades, so a later
version adds fields and never changes the meaning of one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from schemas.exposure import MeasurementOut, RegistrationOut
from schemas.limits import LimitUsed
from schemas.people import EmploymentOut, WorkerOut

__all__ = ["HISTORY_SCHEMA", "Comparison", "HistoryMeasurement", "HistoryScope", "SubstanceSummary", "WorkerHistory"]

HISTORY_SCHEMA = "blootstellingsregister/worker-history/v1"

# "employer": what the asking employer recorded itself; "registry": every employer's records.
HistoryScope = Literal["employer", "registry"]


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """A result set against the limit in force on its sampling date.

    A shift-long sample (>= 2 h) is compared with the 8-h limit, a sample of at most 15
    minutes, averaged over 15 minutes, with the STEL; other samples are not compared. A
    biological result is compared with the biological limit (BLV) of its matrix, for the
    worker and the company doctor only.
    """

    limit_type: str
    compared_value: float  # in the measurement's unit; for a STEL, the 15-minute average
    unit: str
    exposure_index: float  # compared_value / limit; for a non-detect, an upper bound
    non_detect: bool
    above_limit: bool  # a detected result above the limit
    limit: LimitUsed


class HistoryMeasurement(msgspec.Struct, frozen=True, kw_only=True):
    measurement: MeasurementOut
    comparison: Comparison | None  # None: no limit in force for it, or not a comparable sample
    # Biological results: the guidance values in force for this worker on the sampling date,
    # those for a group of people the company doctor placed them in included.
    guidance: list[Comparison] = []


class SubstanceSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Per substance, the figures a claim starts from; the details follow in the document."""

    substance_id: uuid.UUID
    substance_name: str
    cas: str | None
    employers: int
    measurements: int
    registrations: int
    first_date: dt.date
    last_date: dt.date
    compared: int  # results compared with a limit
    above_limit: int
    highest_exposure_index: float | None


class WorkerHistory(msgspec.Struct, frozen=True, kw_only=True):
    schema: str
    generated_at: dt.datetime
    scope: HistoryScope
    purpose: str
    worker: WorkerOut
    substances: list[SubstanceSummary]
    employments: list[EmploymentOut]
    registrations: list[RegistrationOut]
    measurements: list[HistoryMeasurement]
    notes: list[str]  # how the figures were made, Dutch first, English second
