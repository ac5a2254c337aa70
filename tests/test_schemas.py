"""Validation of records: each rule names the field and the reason; all problems at once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from schemas.errors import InvalidInput
from schemas.exposure import MeasurementBatch, MeasurementIn, RegistrationIn
from schemas.people import EmploymentIn, WorkerIn
from schemas.validation import parse

WORKER = str(uuid.uuid4())


def measurement(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sample_type": "personal_air",
        "substance_cas": "71-43-2",
        "worker_id": WORKER,
        "value": 0.5,
        "unit": "mg/m3",
        "sampling_start": "2024-03-04T07:30:00+01:00",
        "sampling_end": "2024-03-04T15:00:00+01:00",
    }
    body.update(overrides)
    return body


def errors_of(type_: Any, raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse(type_, raw)
    return {e.field: e.reason for e in caught.value.errors}


def test_a_good_measurement_parses() -> None:
    parsed = parse(MeasurementIn, measurement())
    assert parsed.value == 0.5 and parsed.sampling_start.tzinfo is not None


def test_non_detect_needs_its_lod_and_no_value() -> None:
    found = errors_of(MeasurementIn, measurement(below_lod=True, value=0.1))
    assert "needs the lod" in found["lod"]
    assert "no value" in found["value"]
    assert parse(MeasurementIn, measurement(below_lod=True, value=None, lod=0.01)).lod == 0.01


def test_zero_or_negative_result_is_refused() -> None:
    assert "> 0" in errors_of(MeasurementIn, measurement(value=0))["value"]
    assert "> 0" in errors_of(MeasurementIn, measurement(value=-1.5))["value"]


def test_every_problem_is_reported_at_once() -> None:
    found = errors_of(
        MeasurementIn,
        measurement(
            substance_cas="71-43-3",
            unit="mg",
            sampling_start="2024-03-04T15:00:00+01:00",
            sampling_end="2024-03-04T07:00:00+01:00",
        ),
    )
    assert set(found) == {"substance_cas", "unit", "sampling_end"}
    assert "check digit" in found["substance_cas"]
    assert "unknown unit" in found["unit"]
    assert "after sampling_start" in found["sampling_end"]


def test_future_and_zoneless_timestamps() -> None:
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    found = errors_of(MeasurementIn, measurement(sampling_start=later, sampling_end=later))
    assert found["sampling_start"] == "lies in the future"
    found = errors_of(MeasurementIn, measurement(sampling_start="2024-03-04T07:30:00"))
    assert "UTC offset" in found["sampling_start"]


def test_units_must_fit_the_sample_type() -> None:
    assert "not a unit for an air sample" in errors_of(MeasurementIn, measurement(unit="ug/L"))["unit"]
    bio = measurement(sample_type="biological", unit="mg/m3")
    found = errors_of(MeasurementIn, bio)
    assert "not a unit for a biological sample" in found["unit"]
    assert "matrix" in found and "analyte" in found


def test_unknown_fields_and_missing_fields_are_named() -> None:
    raw = measurement(colour="blue")
    del raw["unit"]
    found = errors_of(MeasurementIn, raw)
    assert found["colour"] == "unknown field"
    assert found["unit"] == "required field is missing"


def test_batch_reports_each_bad_item_by_index() -> None:
    raw = {
        "items": [
            measurement(),
            measurement(value="high"),
            measurement(),
            measurement(substance_cas="1-2-3"),
        ]
    }
    found = errors_of(MeasurementBatch, raw)
    assert set(found) == {"items[1].value", "items[3].substance_cas"}


def test_batch_size_limit() -> None:
    found = errors_of(MeasurementBatch, {"items": []})
    assert "items" in found


def test_worker_rules() -> None:
    found = errors_of(WorkerIn, {"bsn": "123456789", "name": "Jo", "date_of_birth": "2999-01-01"})
    assert set(found) == {"bsn", "date_of_birth"}
    # A field of the wrong shape is reported first; rules between fields follow once it parses.
    assert set(errors_of(WorkerIn, {"bsn": "123456789", "name": " ", "date_of_birth": "2999-01-01"})) == {"name"}


def test_employment_rules() -> None:
    found = errors_of(
        EmploymentIn,
        {
            "worker_id": WORKER,
            "employment_type": "agency",
            "start_date": "2020-01-01",
            "end_date": "2019-01-01",
        },
    )
    assert "agency" in found["agency_kvk"]
    assert "after start_date" in found["end_date"]


def test_registration_needs_a_level() -> None:
    raw = {
        "worker_id": WORKER,
        "substance_cas": "71-43-2",
        "task": "t",
        "period_start": "2020-01-01",
        "basis": "model",
    }
    assert "level" in errors_of(RegistrationIn, raw)["level_value"]
    found = errors_of(RegistrationIn, {**raw, "level_value": 1.0})
    assert found == {"level_unit": "required with level_value"}
    assert parse(RegistrationIn, {**raw, "level_band": "below_limit"}).level_band == "below_limit"
