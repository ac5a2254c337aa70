"""Small builders for request bodies used across the API tests."""

from __future__ import annotations

import random
from typing import Any

import httpx

from registry.demo import valid_bsn

_rng = random.Random(7)


def new_worker(client: httpx.Client, start_date: str = "2015-01-01", **employment: Any) -> str:
    """Register a fresh worker with an employment at the client's employer; returns its id."""
    body = {"bsn": valid_bsn(_rng), "name": "Jan de Tester", "date_of_birth": "1970-05-17"}
    worker = client.post("/api/v1/workers", json=body)
    assert worker.status_code in (200, 201), worker.text
    worker_id: str = worker.json()["id"]
    job = client.post("/api/v1/employments", json={"worker_id": worker_id, "start_date": start_date, **employment})
    assert job.status_code == 201, job.text
    return worker_id


def air_sample(worker_id: str | None, **overrides: Any) -> dict[str, Any]:
    sample: dict[str, Any] = {
        "sample_type": "personal_air",
        "substance_cas": "71-43-2",
        "worker_id": worker_id,
        "value": 0.42,
        "unit": "mg/m3",
        "sampling_start": "2024-03-04T07:30:00+01:00",
        "sampling_end": "2024-03-04T15:00:00+01:00",
        "air_volume_l": 900.0,
        "method": "NIOSH 1501",
        "lab": "Arbolab",
        "lab_report_id": "R-1",
        "task": "tanken",
    }
    sample.update(overrides)
    return sample
