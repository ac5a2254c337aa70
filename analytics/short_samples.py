"""8-h figures from personal samples shorter than the shift.

A sample shorter than MIN_SHIFT_SAMPLE_MINUTES does not represent a shift on its own
(analytics/compliance.py), but it is not meaningless for the 8-h limit:

- Several samples of one worker, substance and unit on one day (one shift) that together
  cover at least MIN_SHIFT_SAMPLE_MINUTES are one shift result: the time-weighted average
  sum(c_i t_i) / sum(t_i), the unsampled time taken as exposed like the sampled time (the
  assumption a single shift-long sample rests on). A non-detect enters at its LOD, which
  makes the average an upper bound, censored like the non-detect.
- Samples that do not cover that much still bound the 8-h TWA from below: with no exposure
  for the rest of the shift, TWA >= sum(c_i t_i) / 480 over the detected samples (a
  non-detect counts as zero). When that lower bound is above the 8-h limit, the limit was
  exceeded whatever happened in the rest of the shift: 2 mg/m3 of lead for 15 minutes is
  at least 0.0625 mg/m3 over 8 h, above a limit of 0.03.

A worker's day that also has a shift-long sample of the substance is left to that sample.
Samples without a worker (a SEG's personal sample) are each their own shift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec
import polars as pl
import pyarrow as pa

from analytics.exposure import REFERENCE_PERIOD_MINUTES
from analytics.review import with_plausibility_bounds
from analytics.source import Source
from analytics.wording import shown

__all__ = ["MIN_SHIFT_SAMPLE_MINUTES", "ShiftFromSamples", "ShortSamples", "short_sample_shifts"]

# EN 689:2018 §5.3.2 asks for measurements that represent the shift; shorter samples
# describe tasks. Two hours is the shortest sample we let stand for a whole shift.
MIN_SHIFT_SAMPLE_MINUTES = 120.0


class ShiftFromSamples(msgspec.Struct, frozen=True, kw_only=True):
    """How one 8-h figure was made from short samples: the samples and the method."""

    kind: Literal["combined", "lower_bound"]
    measurement_ids: list[str]  # the first is the id the figure's row carries
    sampled_minutes: float
    basis: str


class ShortSamples(msgspec.Struct, frozen=True):
    """Rows in the columns of analytics.compliance.exposure_indices: `combined` shift results
    (they join the 8-h results) and `lower_bounds` (proofs of exceedance only), with how each
    was made, by the measurement_id of its row."""

    combined: pl.DataFrame
    lower_bounds: pl.DataFrame
    made_from: Mapping[str, ShiftFromSamples]


def short_sample_shifts(
    source: Source, timeline: pa.Table, where: str = "", params: Sequence[str] = (), results: str = "measurements"
) -> ShortSamples:
    """Combined shift results and 8-h lower bounds of the short personal samples `m` of
    `results` (limited by `where`, analytics.compliance.results_of), each with the 8-h limit
    of `timeline` in force on its date."""
    source.register("_limit_timeline", with_plausibility_bounds(timeline))
    try:
        sql = _SQL.format(
            results=results, where=where, minimum=MIN_SHIFT_SAMPLE_MINUTES, period=REFERENCE_PERIOD_MINUTES
        )
        table = source.arrow(sql, params)
    finally:
        source.unregister("_limit_timeline")
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table, not a single column
    made_from = {row["measurement_id"]: _made_from(row) for row in frame.select(_DESCRIBED).iter_rows(named=True)}
    rows = frame.drop("kind", "members", "samples", "minutes", "with_non_detect")
    return ShortSamples(
        combined=rows.filter(frame["kind"] == "combined"),
        lower_bounds=rows.filter(frame["kind"] == "lower_bound"),
        made_from=made_from,
    )


_DESCRIBED = ["measurement_id", "kind", "members", "samples", "minutes", "with_non_detect"]


def _made_from(row: dict[str, Any]) -> ShiftFromSamples:
    minutes, samples = float(row["minutes"]), int(row["samples"])
    if row["kind"] == "combined":
        basis = (
            f"8-h TWA of {samples} samples of one shift covering {shown(minutes)} min, time-weighted "
            "(sum of concentration x minutes / sampled minutes; unsampled time taken as exposed like the sampled time)"
        )
    else:
        what = f"a {shown(minutes)}-min sample" if samples == 1 else f"{samples} samples covering {shown(minutes)} min"
        zero = (
            "rest of the shift at zero, non-detects at zero" if row["with_non_detect"] else "rest of the shift at zero"
        )
        basis = f"8-h TWA lower bound from {what} ({zero})"
    return ShiftFromSamples(kind=row["kind"], measurement_ids=row["members"], sampled_minutes=minutes, basis=basis)


# One row per worker-day (a calendar day in UTC, as stored), or per sample without a worker, of
# samples shorter than the shift minimum, on days without a shift-long sample of that worker and
# substance. The anti-join probes only the workers with a short sample, so a store without any
# costs two filtered scans.
_SQL = """
WITH short AS (
    SELECT m.id, m.employer_id, m.seg_id, m.worker_id, m.substance_id, m.unit, m.sampling_start,
           CAST(m.sampling_start AS DATE) AS day, coalesce(m.value, m.lod) AS level,
           coalesce(m.below_lod, FALSE) AS censored, m.sampled_minutes,
           coalesce(CAST(m.worker_id AS VARCHAR), CAST(m.id AS VARCHAR)) AS who
    FROM {results} m
    WHERE m.sample_type = 'personal_air' AND m.sampled_minutes < {minimum}
      AND coalesce(m.value, m.lod) > 0 {where}
),
short_workers AS (SELECT DISTINCT worker_id, substance_id FROM short WHERE worker_id IS NOT NULL),
long_days AS (
    SELECT DISTINCT l.worker_id, l.substance_id, CAST(l.sampling_start AS DATE) AS day
    FROM {results} l JOIN short_workers w ON l.worker_id = w.worker_id AND l.substance_id = w.substance_id
    WHERE l.sample_type = 'personal_air' AND l.sampled_minutes >= {minimum}
),
shifts AS (
    SELECT s.employer_id, s.who, any_value(s.worker_id) AS worker_id, s.substance_id, s.unit, s.day,
           CASE WHEN count(s.seg_id) = count(*) AND min(s.seg_id) = max(s.seg_id) THEN min(s.seg_id) END AS seg_id,
           list(CAST(s.id AS VARCHAR) ORDER BY s.sampling_start, s.id) AS members,
           min(s.sampling_start) AS sampling_start,
           count(*) AS samples,
           sum(s.sampled_minutes) AS minutes,
           sum(s.level * s.sampled_minutes) AS dose,
           sum(CASE WHEN s.censored THEN 0 ELSE s.level * s.sampled_minutes END) AS detected_dose,
           bool_or(s.censored) AS with_non_detect
    FROM short s
    WHERE NOT EXISTS (
        SELECT 1 FROM long_days d WHERE d.worker_id = s.worker_id AND d.substance_id = s.substance_id AND d.day = s.day
    )
    GROUP BY s.employer_id, s.who, s.substance_id, s.unit, s.day
),
figures AS (
    SELECT *,
           CASE WHEN minutes >= {minimum} THEN 'combined' ELSE 'lower_bound' END AS kind,
           CASE WHEN minutes >= {minimum} THEN dose / minutes ELSE detected_dose / {period} END AS level,
           minutes >= {minimum} AND with_non_detect AS censored
    FROM shifts
)
SELECT members[1] AS measurement_id,
       CAST(f.employer_id AS VARCHAR) AS employer_id,
       CAST(f.seg_id AS VARCHAR) AS seg_id,
       CAST(f.worker_id AS VARCHAR) AS worker_id,
       CAST(f.substance_id AS VARCHAR) AS substance_id,
       f.day AS sampling_date,
       f.level AS value,
       f.censored,
       f.unit,
       f.level / t.limit_value AS exposure_index,
       'TWA8h' AS limit_type,
       t.limit_value, t.jurisdiction, t.limit_unit, t.limit_stated_value,
       t.limit_valid_from, t.limit_valid_to, t.citation,
       f.level > t.plausible_max AS implausible,
       f.kind, f.members, f.samples, f.minutes, f.with_non_detect
FROM figures f
JOIN _limit_timeline t ON CAST(t.substance_id AS UUID) = f.substance_id AND t.unit = f.unit
     AND f.sampling_start >= coalesce(t.valid_from, DATE '0001-01-01')
     AND f.sampling_start < coalesce(t.valid_to, DATE '9999-12-31')
WHERE f.level > 0
ORDER BY f.day, measurement_id
"""
