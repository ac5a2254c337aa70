"""Compliance analytics over a real store, against answers computed by hand in the test."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from typing import Any

import pytest

from registry.access import Actor, ActorKind, Purpose, Work
from registry.runtime import Runtime
from registry.services import compliance, compliance_rows, exposure_groups, measurements, organisations, workers
from schemas.exposure import MeasurementIn, SegIn, SegMemberIn
from schemas.organisation import EmployerIn
from schemas.people import EmploymentIn, WorkerIn
from tests.conftest import Server, create_employer, make_place
from tests.helpers import air_sample, new_worker

BENZENE = "71-43-2"
MG_PER_PPM_BENZENE = 78.11 / (8.314462618 * 293.15 / 101.325)  # 3.2471 mg/m3 per ppm at 20 degC


def _setup(runtime: Runtime) -> tuple[Work, Any, Any]:
    operator = Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="test"), Purpose.ADMINISTRATION)
    employer = operator.write(
        lambda w: organisations.create_employer(w.tx, EmployerIn(kvk="51515150", name="Raffinaderij B.V."))
    )
    actor = Actor(kind=ActorKind.EMPLOYER, id="test", employer_id=employer.id)
    work = Work(runtime.db, runtime.vault, actor, Purpose.PREVENTION)

    def build(w: Work) -> tuple[Any, Any]:
        worker, _ = workers.register_worker(
            w, WorkerIn(bsn="123456782", name="Piet Pomp", date_of_birth=dt.date(1970, 1, 1))
        )
        workers.create_employment(w, EmploymentIn(worker_id=worker.id, start_date=dt.date(2010, 1, 1)))
        seg = exposure_groups.create_seg(w, SegIn(name="Tankenpark"))
        exposure_groups.add_seg_member(w, seg.id, SegMemberIn(worker_id=worker.id, start_date=dt.date(2010, 1, 1)))
        return worker, seg

    worker, seg = work.write(build)
    return work, worker, seg


def _record(
    runtime: Runtime, gate: Work, worker: Any, seg: Any, results: list[tuple[str, float | None, float | None, str]]
) -> None:
    """results: (date, value or None, lod or None, unit) of 8-hour personal samples."""
    items = []
    for day, value, lod, unit in results:
        start = dt.datetime.fromisoformat(f"{day}T07:00:00+00:00")
        items.append(
            MeasurementIn(
                sample_type="personal_air",
                substance_cas=BENZENE,
                worker_id=worker.id,
                seg_id=seg.id,
                value=value,
                below_lod=value is None,
                lod=lod,
                unit=unit,
                sampling_start=start,
                sampling_end=start + dt.timedelta(hours=8),
            )
        )
    gate.write(lambda w: measurements.record_measurements(w, items))


def _report(runtime: Runtime, gate: Work) -> Any:
    (row,) = compliance_rows.employer_report(gate)
    return row, gate.read(compliance.employer_exceedances)


def test_statistical_test_matches_a_hand_calculation(runtime: Runtime) -> None:
    gate, worker, seg = _setup(runtime)
    values = [0.050, 0.080, 0.110, 0.060, 0.090, 0.070]  # mg/m3, all after the 0.7 mg/m3 NL limit (2017-10-01)
    _record(runtime, gate, worker, seg, [(f"2019-0{i + 1}-15", v, None, "mg/m3") for i, v in enumerate(values)])
    row, found = _report(runtime, gate)
    logs = [math.log(v / 0.7) for v in values]
    mean, sd = statistics.fmean(logs), statistics.stdev(logs)  # EN 689 uses the n-1 standard deviation
    assert row.en689.test == "statistical" and row.en689.n == 6
    assert row.en689.gm == pytest.approx(math.exp(mean), rel=1e-9)  # 0.1078 of the limit
    assert row.en689.gsd == pytest.approx(math.exp(sd), rel=1e-9)
    assert row.en689.ur == pytest.approx(-mean / sd, rel=1e-9)  # (ln 1 - ln GM) / ln GSD = 7.73
    assert row.en689.ur_critical == pytest.approx(2.187, abs=1e-3)
    assert row.en689.decision == "compliant"
    assert [(lim.value, lim.unit, lim.jurisdiction) for lim in row.limits] == [(0.7, "mg/m3", "NL")]
    assert "SER" in row.limits[0].citation or "http" in row.limits[0].citation
    assert len(row.measurement_ids) == 6 and found == []
    assert row.bayesian is not None and row.bayesian.decision == "acceptable"


def test_each_result_meets_the_limit_in_force_on_its_date(runtime: Runtime) -> None:
    gate, worker, seg = _setup(runtime)
    # 1.0 mg/m3 was within the NL limit of 3.25 in 2016, and above its successor 0.7 in 2018.
    _record(
        runtime, gate, worker, seg,
        [("2016-03-01", 1.0, None, "mg/m3"), ("2016-04-01", 0.5, None, "mg/m3"), ("2016-05-01", 0.4, None, "mg/m3"),
         ("2018-03-01", 1.0, None, "mg/m3"), ("2018-04-01", 0.5, None, "mg/m3"), ("2018-05-01", 0.4, None, "mg/m3")],
    )  # fmt: skip
    row, found = _report(runtime, gate)
    assert sorted(lim.value for lim in row.limits) == [0.7, 3.25]
    assert [(e.sampling_date.isoformat(), round(e.exposure_index, 4)) for e in found] == [("2018-03-01", 1.4286)]
    expected = [1.0 / 3.25, 0.5 / 3.25, 0.4 / 3.25, 1.0 / 0.7, 0.5 / 0.7, 0.4 / 0.7]
    assert row.en689.gm == pytest.approx(math.exp(statistics.fmean(math.log(x) for x in expected)), rel=1e-9)
    assert row.en689.decision == "non_compliant"  # a result above its limit


def test_ppm_and_mg_per_m3_give_the_same_index(runtime: Runtime) -> None:
    gate, worker, seg = _setup(runtime)
    ppm = 0.3  # = 0.974 mg/m3, above 0.7
    _record(
        runtime,
        gate,
        worker,
        seg,
        [("2019-06-01", ppm, None, "ppm"), ("2019-06-02", ppm * MG_PER_PPM_BENZENE, None, "mg/m3")],
    )
    _, found = _report(runtime, gate)
    assert len(found) == 2
    assert found[0].exposure_index == pytest.approx(found[1].exposure_index, rel=1e-9)
    assert found[0].exposure_index == pytest.approx(ppm * MG_PER_PPM_BENZENE / 0.7, rel=1e-9)
    by_unit = {e.unit: e for e in found}
    assert by_unit["ppm"].limit.value == 0.7 and by_unit["ppm"].limit.unit == "mg/m3"  # the row as published


def test_non_detects_are_censored_not_zero(runtime: Runtime) -> None:
    gate, worker, seg = _setup(runtime)
    _record(
        runtime, gate, worker, seg,
        [("2019-01-10", None, 0.02, "mg/m3"), ("2019-02-10", None, 0.02, "mg/m3"), ("2019-03-10", 0.09, None, "mg/m3"),
         ("2019-04-10", 0.12, None, "mg/m3"), ("2019-05-10", 0.05, None, "mg/m3"), ("2019-06-10", 0.30, None, "mg/m3")],
    )  # fmt: skip
    row, _ = _report(runtime, gate)
    assert row.en689.n == 6 and row.en689.n_censored == 2
    assert row.en689.method is not None and "mle" in row.en689.method.lower()
    detected = [0.09 / 0.7, 0.12 / 0.7, 0.05 / 0.7, 0.30 / 0.7]
    # Censored at 0.02/0.7, the fitted GM lies below the GM of the detects alone, but above 0.
    assert 0 < row.en689.gm < math.exp(statistics.fmean(math.log(x) for x in detected))
    assert row.bayesian is not None and row.bayesian.n_censored == 2


def test_report_over_http_is_limited_to_the_employer(tmp_path: Any) -> None:
    place = make_place(tmp_path, "duckdb")
    mine = create_employer(place, "52525250", "Eigen B.V.")
    other = create_employer(place, "53535350", "Ander B.V.")
    server = Server(place)
    server.start()
    try:
        with server.client(mine.api_key) as client, server.client(other.api_key) as theirs:
            worker = new_worker(client)
            seg = client.post("/api/v1/segs", json={"name": "Vulstation"}).json()["id"]
            items = [
                air_sample(
                    worker,
                    seg_id=seg,
                    value=v,
                    sampling_start=f"2023-0{i + 1}-01T07:00:00+01:00",
                    sampling_end=f"2023-0{i + 1}-01T15:00:00+01:00",
                )
                for i, v in enumerate([0.1, 0.2, 0.9, 0.3])
            ]
            assert client.post("/api/v1/measurements/batch", json={"items": items}).status_code == 201
            report = client.get("/api/v1/compliance/report").json()
            assert len(report) == 1 and report[0]["en689"]["test"] == "preliminary" and report[0]["en689"]["n"] == 4
            exceeded = client.get("/api/v1/compliance/exceedances").json()
            assert [e["value"] for e in exceeded] == [0.9] and exceeded[0]["limit"]["value"] == 0.7
            assert client.get("/api/v1/compliance/trend").json()[0]["n"] == 4
            assert theirs.get("/api/v1/compliance/report").json() == []
            assert theirs.get("/api/v1/compliance/exceedances").json() == []
    finally:
        server.stop()


def test_short_samples_meet_the_stel_not_the_8_hour_limit(runtime: Runtime) -> None:
    gate, worker, seg = _setup(runtime)
    start = dt.datetime(2019, 5, 6, 10, 0, tzinfo=dt.UTC)
    # Benzene STEL (EU BOELV from 2026; before that none) is absent in 2019: use toluene, NL STEL 384 mg/m3.
    items = [
        MeasurementIn(
            sample_type="personal_air",
            substance_cas="108-88-3",
            worker_id=worker.id,
            seg_id=seg.id,
            value=value,
            unit="mg/m3",
            sampling_start=start,
            sampling_end=start + dt.timedelta(minutes=minutes),
        )
        for value, minutes in [(600.0, 10), (500.0, 15), (300.0, 30)]
    ]
    gate.write(lambda w: measurements.record_measurements(w, items))
    found = gate.read(compliance.employer_exceedances)
    report = compliance_rows.employer_report(gate)
    # 600 mg/m3 for 10 min = 400 over 15 min > 384; 500 for 15 min > 384; the 30-min sample is neither
    # a STEL sample nor a shift sample.
    assert sorted((round(e.value, 1), e.limit.limit_type, e.limit.value) for e in found) == [
        (400.0, "STEL15min", 384.0),
        (500.0, "STEL15min", 384.0),
    ]
    assert report == []  # no shift-long samples: nothing for EN 689


def test_an_exceedance_outside_any_seg_names_its_substance(runtime: Runtime) -> None:
    gate, worker, _ = _setup(runtime)
    start = dt.datetime(2019, 6, 3, 7, 0, tzinfo=dt.UTC)
    sample = MeasurementIn(
        sample_type="personal_air",
        substance_cas=BENZENE,
        worker_id=worker.id,
        value=1.4,
        unit="mg/m3",
        sampling_start=start,
        sampling_end=start + dt.timedelta(hours=8),
    )
    gate.write(lambda w: measurements.record_measurements(w, [sample]))
    (found,) = gate.read(compliance.employer_exceedances)
    assert found.seg_id is None and found.substance_name == "Benzene"
    assert found.exposure_index == pytest.approx(2.0)
