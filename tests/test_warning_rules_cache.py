"""The rules a recorded result is warned by (units, plausibility) are kept per open store
while the limit values are unchanged (issue 15: 5 ms of each single POST went to reading
them): every change of the limit values is seen by the next request, also one made by
another process on the same PostgreSQL database, and one rolled back is not."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest

from analytics.limits import import_limits_csv
from registry.access import Work
from registry.runtime import Runtime, open_runtime
from registry.services import measurements as measurement_service
from registry.services.limits import import_limits
from registry.settings import Settings
from registry.store import limits as limit_table
from schemas.exposure import MeasurementIn, MeasurementOut
from schemas.limits import LimitValue
from tests.conftest import Place
from tests.test_group_commit import _employer_work

HEADER = "substance_name,cas,jurisdiction,limit_type,value,unit,valid_from,valid_to,source_citation"
# Toluene's highest limit is the NL STEL of 384 mg/m3: 500,000 mg/m3 is beyond 1000 x that,
# until a (made-up) STEL of 1000 mg/m3 from 2030 raises the bound to 1,000,000.
HIGHER_STEL = f"{HEADER}\nTolueen,108-88-3,NL,STEL15min,1000,mg/m3,2030-01-01,,Stcrt test\n"


def _toluene_500_000(worker_id: uuid.UUID, day: int) -> MeasurementIn:
    """A shift of toluene at 500,000 mg/m3: implausible unless a STEL of 1000 is in force."""
    start = dt.datetime(2021, 6, day, 7, tzinfo=dt.UTC)
    return MeasurementIn(
        sample_type="personal_air",
        substance_cas="108-88-3",
        worker_id=worker_id,
        value=500_000.0,
        unit="mg/m3",
        sampling_start=start,
        sampling_end=start + dt.timedelta(hours=8),
        method="NIOSH 1501",
        lab="Arbolab",
        lab_report_id=f"T-{day}",
    )


def _record(work: Callable[[], Work], worker_id: uuid.UUID) -> MeasurementOut:
    return work().write(lambda w: measurement_service.record_measurement(w, _toluene_500_000(worker_id, 1)))


def _implausible(out: MeasurementOut) -> bool:
    return any(w.startswith("onwaarschijnlijk") for w in out.warnings or [])


def test_an_import_is_seen_by_the_next_request(runtime: Runtime) -> None:
    work, _, worker_id = _employer_work(runtime)
    assert _implausible(_record(work, worker_id))
    assert _implausible(_record(work, worker_id))  # from the kept rules
    outcome = import_limits(runtime.db, HIGHER_STEL, "test")
    assert outcome.changes is not None and len(outcome.changes.new) == 1
    assert not _implausible(_record(work, worker_id))


def test_limits_changed_and_rolled_back_leave_the_kept_rules_as_they_were(runtime: Runtime) -> None:
    """Inside the transaction that changes the limits, results are warned by the changed
    ones (derived afresh, not kept); after its rollback, by the stored ones again."""
    work, _, worker_id = _employer_work(runtime)
    assert _implausible(_record(work, worker_id))
    higher = _higher_stel()

    class Undo(Exception):
        pass

    def change_then_fail(w: Work) -> None:
        limit_table.insert_limits(w.tx, higher, "test:rolled-back")
        stored = measurement_service.get_measurement(w, _record_in(w, worker_id))
        assert not _implausible(measurement_service.with_warnings(w.tx, [stored])[0])
        raise Undo

    with pytest.raises(Undo):
        work().write(change_then_fail)
    assert _implausible(_record(work, worker_id))


def _higher_stel() -> list[LimitValue]:
    report = import_limits_csv(HIGHER_STEL)
    assert not report.rejected
    return list(report.accepted)


def _record_in(w: Work, worker_id: uuid.UUID) -> uuid.UUID:
    return measurement_service.record_measurement(w, _toluene_500_000(worker_id, 2)).id


def test_another_process_changing_the_limits_is_seen(place: Place, runtime: Runtime, settings: Settings) -> None:
    """PostgreSQL: a second API process (its own store connection and kept rules) imports a
    list; the first process's next request is warned by it."""
    if place.store != "postgres":
        pytest.skip("the embedded store opens in one process at a time")
    work, _, worker_id = _employer_work(runtime)
    assert _implausible(_record(work, worker_id))
    other = open_runtime(settings)
    try:
        assert import_limits(other.db, HIGHER_STEL, "elsewhere").changes is not None
    finally:
        other.close()
    assert not _implausible(_record(work, worker_id))
