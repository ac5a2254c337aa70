"""The same-run baseline: a bare Litestar app that decodes the registry's own payload types
(msgspec, with their constraints) and answers 201 without storing anything (ingest), and
that serves a worker-history document held in memory, encoding the registry's own type on
every request (history; the document comes from the file named by BENCH_HISTORY_DOCUMENT).

It runs under uvicorn in its own process, like the registry, with synchronous handlers run
in a thread as the registry's are; what the registry spends beyond it is its own work
(authentication, rule checks, the store, encryption, the audit log, the response body).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import msgspec
from litestar import Litestar, get, post

from schemas.exposure import MeasurementBatch, MeasurementIn
from schemas.history import WorkerHistory

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


_DOCUMENT = os.environ.get("BENCH_HISTORY_DOCUMENT")
_HISTORY = msgspec.json.decode(Path(_DOCUMENT).read_bytes(), type=WorkerHistory) if _DOCUMENT else None


@get("/api/v1/workers/{worker_id:uuid}/history", sync_to_thread=True)
def worker_history(worker_id: uuid.UUID) -> WorkerHistory | None:
    return _HISTORY


app = Litestar(route_handlers=[healthz, record_measurement, record_batch, worker_history], debug=False)
