"""Workers (register, read), their employments and their exposure history."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec

from registry.access import Work
from registry.api.idempotency import Created, create_once
from registry.api.routes.common import Limit, Offset, Page
from registry.services import history
from registry.services import workers as service
from schemas.errors import NotFound
from schemas.history import WorkerHistory
from schemas.people import EmploymentIn, EmploymentOut, WorkerIn, WorkerOut
from schemas.validation import check


class PeopleController(Controller):
    path = "/api/v1"
    tags = ("workers",)

    @post(
        "/workers",
        summary="Register a worker: 201 the first time your organisation registers the BSN, 200 after that",
        description=(
            "Your organisation knows the person by its own worker id, with the identity it supplied; the answer "
            "does not depend on whether anyone else registered the same person."
        ),
        responses={200: ResponseSpec(WorkerOut, generate_examples=False, description="Registered before")},
        sync_to_thread=True,
    )
    def register_worker(self, request: Request[Any, Any, Any], data: WorkerIn, work: Work) -> Response[WorkerOut]:
        check(data)

        def create(work: Work) -> Created[WorkerOut]:
            worker, created = service.register_worker(work, data)
            return worker, [worker.id], 201 if created else 200

        def replay(work: Work, ids: list[uuid.UUID]) -> WorkerOut:
            return service.get_worker(work, ids[0])

        return create_once(request, work, resource_type="worker", create=create, replay=replay)

    @get("/workers", summary="The workers your organisation registered", sync_to_thread=True)
    def list_workers(self, work: Work, limit: Limit = 100, offset: Offset = 0) -> Page[WorkerOut]:
        items, total = work.read(lambda w: service.list_workers(w, limit, offset))
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get("/workers/{worker_id:uuid}", summary="One worker, as your organisation registered them", sync_to_thread=True)
    def get_worker(self, worker_id: uuid.UUID, work: Work) -> WorkerOut:
        return work.read(lambda w: service.get_worker(w, worker_id))

    @post("/employments", summary="Register an employment period of one of your workers", sync_to_thread=True)
    def create_employment(
        self, request: Request[Any, Any, Any], data: EmploymentIn, work: Work
    ) -> Response[EmploymentOut]:
        check(data)

        def create(work: Work) -> Created[EmploymentOut]:
            employment = service.create_employment(work, data)
            return employment, [employment.id], 201

        def replay(work: Work, ids: list[uuid.UUID]) -> EmploymentOut:
            found = next((e for e in service.list_employments(work, data.worker_id) if e.id == ids[0]), None)
            if found is None:
                raise NotFound("employment not found")
            return found

        return create_once(request, work, resource_type="employment", create=create, replay=replay)

    @get(
        "/workers/{worker_id:uuid}/employments",
        summary="A worker's employments with your organisation (and, as agency, the placements you arranged)",
        sync_to_thread=True,
    )
    def list_employments(self, worker_id: uuid.UUID, work: Work) -> list[EmploymentOut]:
        return work.read(lambda w: service.list_employments(w, worker_id))

    @get(
        "/workers/{worker_id:uuid}/history",
        summary="A worker's exposure history as far as you may see it, against the limits in force",
        description=(
            "Employments, exposure-register entries and measurements, each shift-long or 15-minute result compared "
            "with the binding limit in force on its sampling date, and a summary per substance. An employer sees "
            "what it recorded itself and, as agency, what hiring companies recorded during the placements it "
            "arranged; biological values are withheld from employers (medical data). Versioned document: `schema`."
        ),
        sync_to_thread=True,
    )
    def worker_history(self, worker_id: uuid.UUID, work: Work) -> WorkerHistory:
        return work.read(lambda w: history.worker_history(w, worker_id))
