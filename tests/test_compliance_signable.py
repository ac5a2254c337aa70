"""Results a hygienist can sign (issue 19): exact boundaries in the report as in a direct call,
figures in the unit of the limit, short samples, and results to review before signing.
Real stores (both), real services; the API's own answers in tests/test_compliance_api_review.py."""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from typing import Any

import pytest

from analytics.statistics import assess
from registry.access import Actor, ActorKind, Purpose, Work
from registry.runtime import Runtime
from registry.services import compliance, compliance_rows, exposure_groups, measurements, organisations, workers
from schemas.exposure import MeasurementIn, SegIn, SegMemberIn
from schemas.organisation import EmployerIn
from schemas.people import EmploymentIn, WorkerIn

BENZENE, CARBON_MONOXIDE, LEAD, TOLUENE = "71-43-2", "630-08-0", "7439-92-1", "108-88-3"


def _setup(runtime: Runtime) -> tuple[Work, Any, Any]:
    operator = Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="test"), Purpose.ADMINISTRATION)
    employer = operator.write(
        lambda w: organisations.create_employer(w.tx, EmployerIn(kvk="51515150", name="Gieterij B.V."))
    )
    work = Work(
        runtime.db,
        runtime.vault,
        Actor(kind=ActorKind.EMPLOYER, id="test", employer_id=employer.id),
        Purpose.PREVENTION,
    )

    def build(w: Work) -> tuple[Any, Any]:
        worker, _ = workers.register_worker(
            w, WorkerIn(bsn="123456782", name="Gerda Giet", date_of_birth=dt.date(1975, 3, 1))
        )
        workers.create_employment(w, EmploymentIn(worker_id=worker.id, start_date=dt.date(2010, 1, 1)))
        seg = exposure_groups.create_seg(w, SegIn(name="Smelterij"))
        exposure_groups.add_seg_member(w, seg.id, SegMemberIn(worker_id=worker.id, start_date=dt.date(2010, 1, 1)))
        return worker, seg

    worker, seg = work.write(build)
    return work, worker, seg


def _record(
    work: Work, worker: Any, seg: Any, cas: str, samples: list[tuple[str, float | None, float | None, int]]
) -> None:
    """samples: (start "YYYY-MM-DDTHH:MM", value or None, lod or None, minutes) in mg/m3."""
    items = []
    for start, value, lod, minutes in samples:
        begin = dt.datetime.fromisoformat(f"{start}:00+00:00")
        items.append(
            MeasurementIn(
                sample_type="personal_air",
                substance_cas=cas,
                worker_id=worker.id,
                seg_id=seg.id,
                value=value,
                below_lod=value is None,
                lod=lod,
                unit="mg/m3",
                sampling_start=begin,
                sampling_end=begin + dt.timedelta(minutes=minutes),
            )
        )
    work.write(lambda w: measurements.record_measurements(w, items))


def test_2_3_at_a_limit_of_23_is_not_compliant_in_the_report_as_in_a_direct_call(runtime: Runtime) -> None:
    """0.1 x 23 is 2.3, and 2.3 is not below it; in binary 2.3 / 23 is 0.09999999999999999,
    which the report used to call compliant. The limit: carbon monoxide, NL 23 mg/m3."""
    work, worker, seg = _setup(runtime)
    _record(work, worker, seg, CARBON_MONOXIDE, [("2025-02-03T07:00", v, None, 480) for v in (0.5, 1.0)])
    _record(work, worker, seg, CARBON_MONOXIDE, [("2025-02-04T07:00", 2.3, None, 480)])
    (row,) = compliance_rows.employer_report(work)
    direct = assess([0.5, 1.0, 2.3], [False, False, False], 23.0)
    assert row.en689.decision == direct.decision == "inconclusive"
    assert row.en689.test == "preliminary" and row.en689.n == 3
    assert "0.1 x the limit of 23 mg/m3 (NL, 8 h TWA) = 2.3 mg/m3" in row.en689.reason


def test_a_non_detect_below_3_45_at_23_with_4_results_gets_one_verdict(runtime: Runtime) -> None:
    """'<3.45' is below 0.15 x 23 = 3.45: compliant in the report and in a direct call."""
    work, worker, seg = _setup(runtime)
    _record(
        work, worker, seg, CARBON_MONOXIDE,
        [("2025-03-03T07:00", None, 3.45, 480), ("2025-03-04T07:00", 1.0, None, 480),
         ("2025-03-05T07:00", 2.0, None, 480), ("2025-03-06T07:00", 0.5, None, 480)],
    )  # fmt: skip
    (row,) = compliance_rows.employer_report(work)
    direct = assess([3.45, 1.0, 2.0, 0.5], [True, False, False, False], 23.0)
    assert row.en689.decision == direct.decision == "compliant"


def test_the_report_speaks_in_the_unit_of_the_limit(runtime: Runtime) -> None:
    work, worker, seg = _setup(runtime)
    values = [0.050, 0.080, 0.110, 0.060, 0.090, 0.070]  # mg/m3 benzene; NL limit 0.7 mg/m3 since 2017-10-01
    _record(work, worker, seg, BENZENE, [(f"2019-0{i + 1}-15T07:00", v, None, 480) for i, v in enumerate(values)])
    (row,) = compliance_rows.employer_report(work)
    logs = [math.log(v) for v in values]
    gm = math.exp(statistics.fmean(logs))
    figures = row.figures
    assert figures is not None and (figures.unit, figures.limit) == ("mg/m3", 0.7)
    assert figures.limit_text == "0.7 mg/m3 (NL, 8 h TWA, 2017)"
    assert figures.gm == pytest.approx(gm, rel=1e-9)
    assert figures.p95 == pytest.approx(gm * math.exp(1.6448536 * statistics.stdev(logs)), rel=1e-6)
    assert figures.ucl70_p95 == pytest.approx(row.en689.ucl70_p95 * 0.7, rel=1e-9)
    assert row.en689.gm == pytest.approx(gm / 0.7, rel=1e-9)  # the index figures stay, as indices
    ucl = f"{figures.ucl70_p95:.3g} mg/m3"
    assert f"the 95th percentile, {ucl}, is below the limit of 0.7 mg/m3 (NL, 8 h TWA, 2017)." in row.en689.reason
    assert row.en689.method_detail is not None and "sqrt(n/(n-1))" in row.en689.method_detail
    assert not re.search(r"\d\.\d{7,}", row.en689.reason)  # rounded for display only


def test_the_15_minute_lead_exceedance(runtime: Runtime) -> None:
    """2 mg/m3 of lead for 15 minutes is at least 2 x 15 / 480 = 0.0625 mg/m3 over 8 hours,
    whatever the rest of the shift: above the 8-h limit of 0.03 mg/m3 (EU, from 2026-04-09)."""
    work, worker, seg = _setup(runtime)
    _record(work, worker, seg, LEAD, [("2026-05-04T10:00", 2.0, None, 15)])
    (found,) = work.read(compliance.employer_exceedances)
    assert (found.value, found.unit, found.limit.value, found.limit.limit_type) == (0.0625, "mg/m3", 0.03, "TWA8h")
    assert found.basis.startswith("8-h TWA lower bound from a 15-min sample (rest of the shift at zero")
    assert found.summary == (
        "The 8-h TWA of at least 0.0625 mg/m3 is above the limit of 0.03 mg/m3 (EU-BOELV, 8 h TWA, 2026)."
    )
    assert found.exposure_index == pytest.approx(0.0625 / 0.03)
    assert compliance_rows.employer_report(work) == []  # a lower bound is no EN 689 result


def test_short_samples_of_one_shift_are_one_8_hour_twa(runtime: Runtime) -> None:
    """Three 1-h samples of one worker on one day: (1.2 + 0.9 + 0.6) x 60 / 180 = 0.9 mg/m3 as
    an 8-h TWA (unsampled time as sampled), above benzene's 0.7 mg/m3."""
    work, worker, seg = _setup(runtime)
    _record(
        work, worker, seg, BENZENE,
        [("2019-06-03T07:00", 1.2, None, 60), ("2019-06-03T09:00", 0.9, None, 60), ("2019-06-03T11:00", 0.6, None, 60)],
    )  # fmt: skip
    (found,) = work.read(compliance.employer_exceedances)
    assert (found.value, found.limit.value) == (0.9, 0.7) and len(found.measurement_ids) == 3
    assert found.basis.startswith("8-h TWA of 3 samples of one shift covering 180 min, time-weighted")
    (row,) = compliance_rows.employer_report(work)
    assert row.en689.n == 1 and row.measurement_ids == [found.measurement_id]
    (shift,) = row.combined_shifts
    assert shift.measurement_ids == found.measurement_ids and shift.kind == "combined"


def test_a_stel_average_is_shown_as_its_decimal(runtime: Runtime) -> None:
    """576.9 mg/m3 for 12 min is 461.52 over 15 min (461.5199999999999 in binary)."""
    work, worker, seg = _setup(runtime)
    _record(work, worker, seg, TOLUENE, [("2019-05-06T10:00", 576.9, None, 12)])
    stel = [e for e in work.read(compliance.employer_exceedances) if e.limit.limit_type == "STEL15min"]
    assert [(e.value, e.limit.value) for e in stel] == [(461.52, 384.0)]
    assert stel[0].summary == "The 15-min average 462 mg/m3 is above the limit of 384 mg/m3 (NL, 15 min STEL)."


def test_a_shift_long_sample_speaks_for_its_day_and_a_non_detect_proves_nothing(runtime: Runtime) -> None:
    """A 15-min lead sample on a day with an 8-h sample of the same worker is left to that
    sample; a 15-min non-detect bounds the 8-h TWA by zero, so it is no exceedance."""
    work, worker, seg = _setup(runtime)
    _record(work, worker, seg, LEAD, [("2026-05-04T06:00", 0.02, None, 480), ("2026-05-04T10:00", 2.0, None, 15)])
    _record(work, worker, seg, LEAD, [("2026-05-05T10:00", None, 2.0, 15)])
    assert work.read(compliance.employer_exceedances) == []
