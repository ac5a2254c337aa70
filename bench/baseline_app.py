"""The same-run baseline for ingest: a bare Litestar app that decodes the registry's own
payload types (msgspec, with their constraints) and answers 201 without storing anything.

It runs under uvicorn in its own process, like the registry, with synchronous handlers run
in a thread as the registry's are; what the registry spends beyond it is its own work
(authentication, rule checks, the store, encryption, the audit log, the response body).
"""

from __future__ import annotations

from litestar import Litestar, get, post

from schemas.exposure import MeasurementBatch, MeasurementIn

BATCH_MAX_BYTES = 16 * 1024 * 1024  # as the registry's batch endpoint


@get("/healthz", sync_to_thread=True)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@post("/api/v1/measurements", sync_to_thread=True)
def record_measurement(data: MeasurementIn) -> dict[str, int]:
    return {"accepted": 1}


@post("/api/v1/measurements/batch", request_max_body_size=BATCH_MAX_BYTES, sync_to_thread=True)
def record_batch(data: MeasurementBatch) -> dict[str, int]:
    return {"accepted": len(data.items)}


app = Litestar(route_handlers=[healthz, record_measurement, record_batch], debug=False)
