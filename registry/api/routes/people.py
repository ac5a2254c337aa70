"""Workers (register, read) and their employments."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post

from registry.access import Actor, Gate, Purpose, audited
from registry.api.idempotency import Created, create_once
from registry.api.routes.common import Limit, Offset
from registry.runtime import Runtime
from registry.services import history
from registry.services import workers as service
from registry.store import Tx
from registry.store import people as people_table
from schemas.errors import NotFound
from schemas.history import WorkerHistory
from schemas.people import EmploymentIn, EmploymentOut, WorkerIn, WorkerOut
from schemas.validation import check


class PeopleController(Controller):
    path = "/api/v1"
    tags = ("workers",)

    @post(
        "/workers",
        summary="Register a worker (201), or get the id of one already registered by BSN (200)",
        sync_to_thread=True,
    )
    def register_worker(
        self,
        request: Request[Any, Any, Any],
        data: WorkerIn,
        runtime: Runtime,
        actor: Actor,
        purpose: Purpose,
    ) -> Response[WorkerOut]:
        check(data)

        def create(tx: Tx, gate: Gate) -> Created[WorkerOut]:
            worker, created = service.register_worker(tx, runtime.vault, gate, data)
            return worker, [worker.id], 201 if created else 200

        def replay(tx: Tx, gate: Gate, ids: list[uuid.UUID]) -> WorkerOut:
            worker, _ = service.register_worker(tx, runtime.vault, gate, data)
            return worker

        return create_once(request, runtime, actor, purpose, resource_type="worker", create=create, replay=replay)

    @get("/workers", summary="Workers with an employment at this employer", sync_to_thread=True)
    def list_workers(
        self,
        runtime: Runtime,
        actor: Actor,
        purpose: Purpose,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[WorkerOut]:
        with audited(runtime.db, actor, purpose) as gate, runtime.db.read() as tx:
            return service.list_workers(tx, runtime.vault, gate, limit, offset)

    @get("/workers/{worker_id:uuid}", summary="One worker", sync_to_thread=True)
    def get_worker(self, worker_id: uuid.UUID, runtime: Runtime, actor: Actor, purpose: Purpose) -> WorkerOut:
        with audited(runtime.db, actor, purpose) as gate, runtime.db.read() as tx:
            return service.get_worker(tx, runtime.vault, gate, worker_id)

    @post("/employments", summary="Register an employment period", sync_to_thread=True)
    def create_employment(
        self,
        request: Request[Any, Any, Any],
        data: EmploymentIn,
        runtime: Runtime,
        actor: Actor,
        purpose: Purpose,
    ) -> Response[EmploymentOut]:
        check(data)

        def create(tx: Tx, gate: Gate) -> Created[EmploymentOut]:
            employment = service.create_employment(tx, gate, data)
            return employment, [employment.id], 201

        def replay(tx: Tx, gate: Gate, ids: list[uuid.UUID]) -> EmploymentOut:
            found = people_table.employment_by_id(tx, ids[0])
            if found is None:
                raise NotFound("employment not found")
            return found

        return create_once(
            request,
            runtime,
            actor,
            purpose,
            resource_type="employment",
            create=create,
            replay=replay,
        )

    @get(
        "/workers/{worker_id:uuid}/employments",
        summary="A worker's employments with this employer",
        sync_to_thread=True,
    )
    def list_employments(
        self, worker_id: uuid.UUID, runtime: Runtime, actor: Actor, purpose: Purpose
    ) -> list[EmploymentOut]:
        with audited(runtime.db, actor, purpose) as gate, runtime.db.read() as tx:
            return service.list_employments(tx, gate, worker_id)

    @get(
        "/workers/{worker_id:uuid}/history",
        summary="A worker's exposure history as recorded by this employer, against the limits in force",
        description=(
            "Employments, exposure-register entries and measurements this employer recorded for the worker, each "
            "shift-long or 15-minute result compared with the binding limit in force on its sampling date, and a "
            "summary per substance. Biological values are withheld (medical data). Versioned document: `schema`."
        ),
        sync_to_thread=True,
    )
    def worker_history(self, worker_id: uuid.UUID, runtime: Runtime, actor: Actor, purpose: Purpose) -> WorkerHistory:
        with audited(runtime.db, actor, purpose) as gate, runtime.db.read() as tx:
            return history.worker_history(tx, runtime.vault, gate, worker_id)


def _employment(tx: Tx, gate: Gate, employment_id: uuid.UUID) -> EmploymentOut:
    found = people_table.employment_by_id(tx, employment_id)
    if found is None:
        raise NotFound("employment not found")
    return found
