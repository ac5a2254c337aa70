"""Report rows are kept between reports: only the groups whose data changed are computed again,
and a report built on kept rows equals one computed from scratch (registry/services/compliance_rows.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from analytics import compliance as analytics
from analytics.compliance import ComplianceRow
from registry.access import Actor, ActorKind, Purpose, Work
from registry.runtime import Runtime
from registry.services import compliance_rows, exposure_groups, measurements, organisations, workers
from registry.services.compliance import load_inputs
from registry.store import limits as limit_table
from schemas.exposure import MeasurementIn, SegIn, SegMemberIn
from schemas.limits import LimitValue
from schemas.organisation import EmployerIn
from schemas.people import EmploymentIn, WorkerIn

BENZENE = "71-43-2"
Group = tuple[str, str]  # employer id, SEG id


def _operator(runtime: Runtime) -> Work:
    return Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="test"), Purpose.ADMINISTRATION)


def _employer(runtime: Runtime, kvk: str, bsn: str) -> tuple[Work, str, Any]:
    """An employer's unit of work, its id and a worker employed there since 2010."""
    employer = _operator(runtime).write(
        lambda w: organisations.create_employer(w.tx, EmployerIn(kvk=kvk, name=f"Bedrijf {kvk}"))
    )
    work = Work(
        runtime.db, runtime.vault, Actor(kind=ActorKind.EMPLOYER, id="t", employer_id=employer.id), Purpose.PREVENTION
    )

    def hire(w: Work) -> Any:
        worker, _ = workers.register_worker(w, WorkerIn(bsn=bsn, name="Piet Pomp", date_of_birth=dt.date(1970, 1, 1)))
        workers.create_employment(w, EmploymentIn(worker_id=worker.id, start_date=dt.date(2010, 1, 1)))
        return worker

    return work, str(employer.id), work.write(hire)


def _seg(work: Work, worker: Any, name: str) -> str:
    def create(w: Work) -> str:
        seg = exposure_groups.create_seg(w, SegIn(name=name))
        exposure_groups.add_seg_member(w, seg.id, SegMemberIn(worker_id=worker.id, start_date=dt.date(2010, 1, 1)))
        return str(seg.id)

    return work.write(create)


def _record(work: Work, worker: Any, seg_id: str, first: dt.date, values: list[float | None]) -> None:
    """8-h personal benzene samples in mg/m3, one a week from `first`; None is a non-detect < 0.01."""
    items = []
    for i, value in enumerate(values):
        start = dt.datetime.combine(first + dt.timedelta(weeks=i), dt.time(7), tzinfo=dt.UTC)
        items.append(
            MeasurementIn(
                sample_type="personal_air",
                substance_cas=BENZENE,
                worker_id=worker.id,
                seg_id=uuid.UUID(seg_id),
                value=value,
                below_lod=value is None,
                lod=0.01 if value is None else None,
                unit="mg/m3",
                sampling_start=start,
                sampling_end=start + dt.timedelta(hours=8),
            )
        )
    work.write(lambda w: measurements.record_measurements(w, items))


def _computed(monkeypatch: pytest.MonkeyPatch) -> list[Group]:
    """The groups each report computes (rather than reading them back), as they happen."""
    computed: list[Group] = []

    def spy(*args: Any, **kwargs: Any) -> list[ComplianceRow]:
        rows = analytics.compliance_report(*args, **kwargs)
        computed.extend((row.employer_id, row.seg_id) for row in rows)
        return rows

    monkeypatch.setattr(compliance_rows, "compliance_report", spy)
    return computed


def _from_scratch(runtime: Runtime) -> list[ComplianceRow]:
    """The report as compliance_report computes it from everything in the store."""
    with runtime.db.read() as tx:
        data = load_inputs(tx, None)
    return analytics.compliance_report(
        data.indices, data.names, made_from=data.made_from, not_comparable=data.not_comparable
    )


def _two_employers(runtime: Runtime) -> tuple[dict[str, Work], dict[str, Group], dict[str, Any]]:
    a, a_id, worker_a = _employer(runtime, "51515150", "123456782")
    b, b_id, worker_b = _employer(runtime, "62626262", "111222333")
    groups = {
        "a1": (a_id, _seg(a, worker_a, "Tankenpark")),
        "a2": (a_id, _seg(a, worker_a, "Laden")),
        "b1": (b_id, _seg(b, worker_b, "Vullen")),
    }
    _record(a, worker_a, groups["a1"][1], dt.date(2019, 1, 7), [0.05, 0.08, 0.11, 0.06, 0.09, 0.07])
    _record(a, worker_a, groups["a2"][1], dt.date(2019, 3, 4), [0.2, None, 0.35, None, 0.15, 0.5, 0.12])
    _record(b, worker_b, groups["b1"][1], dt.date(2020, 9, 7), [0.02, 0.03, None, 0.025])
    return {"a": a, "b": b}, groups, {"a": worker_a, "b": worker_b}


def test_new_results_recompute_only_their_group(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    works, groups, staff = _two_employers(runtime)
    computed = _computed(monkeypatch)
    operator = _operator(runtime)
    first = compliance_rows.report_rows(operator, None)
    assert sorted(computed) == sorted(groups.values())
    assert first == _from_scratch(runtime)

    computed.clear()
    assert compliance_rows.report_rows(operator, None) == first
    assert computed == []  # nothing changed, nothing computed

    _record(works["a"], staff["a"], groups["a1"][1], dt.date(2019, 6, 3), [0.9, 0.04])
    after = compliance_rows.report_rows(operator, None)
    assert computed == [groups["a1"]]
    assert after == _from_scratch(runtime)
    assert after != first
    (changed,) = [row for row in after if row.seg_id == groups["a1"][1]]
    assert changed.en689.n == 8
    assert any("1 detected result(s) exceed" in warning for warning in changed.en689.warnings)


def test_an_employer_reads_only_its_own_rows(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    works, groups, _ = _two_employers(runtime)
    everyone = compliance_rows.report_rows(_operator(runtime), None)
    computed = _computed(monkeypatch)
    own = compliance_rows.employer_report(works["b"])
    assert computed == []  # kept by the operator's report
    assert own == [row for row in everyone if row.employer_id == groups["b1"][0]]
    assert [row.seg_id for row in own] == [groups["b1"][1]]
    assert compliance_rows.employer_report(works["a"]) == [
        row for row in everyone if row.employer_id != groups["b1"][0]
    ]


def test_each_prior_keeps_its_own_rows(runtime: Runtime) -> None:
    _two_employers(runtime)
    operator = _operator(runtime)
    informed = compliance_rows.report_rows(operator, None)
    flat = compliance_rows.report_rows(operator, None, prior="uninformative")
    bare = compliance_rows.report_rows(operator, None, bayesian=False)
    assert {row.bayesian.prior for row in flat if row.bayesian} == {"uninformative"}
    assert all(row.bayesian is None for row in bare)
    assert compliance_rows.report_rows(operator, None) == informed


def test_a_new_limit_recomputes_the_groups_it_applies_to(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    _, groups, _ = _two_employers(runtime)
    operator = _operator(runtime)
    compliance_rows.report_rows(operator, None)
    computed = _computed(monkeypatch)
    stricter = LimitValue(
        substance_name="benzene",
        cas=BENZENE,
        jurisdiction="EU-BOELV",
        limit_type="TWA8h",
        value=0.1,
        unit="mg/m3",
        source_citation="a test's stricter binding limit from 2020",
        valid_from=dt.date(2020, 1, 1),
    )
    operator.write(lambda w: limit_table.insert_limits(w.tx, [stricter], "test"))
    after = compliance_rows.report_rows(operator, None)
    assert computed == [groups["b1"]]  # the only group with results from 2020
    assert after == _from_scratch(runtime)
    (judged,) = [row for row in after if row.seg_id == groups["b1"][1]]
    assert judged.limits[-1].value == 0.1


def test_a_report_read_in_parts_equals_one_read_at_once(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """A national report reads its results in ranges of employers (memory); each part is whole employers."""
    _two_employers(runtime)
    monkeypatch.setattr(compliance_rows, "_LISTED_EMPLOYERS", 0)
    monkeypatch.setattr(compliance_rows, "_PART_RESULTS", 5)
    computed = _computed(monkeypatch)
    assert compliance_rows.report_rows(_operator(runtime), None) == _from_scratch(runtime)
    assert len(computed) == 3
