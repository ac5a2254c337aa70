"""The caller, an employer's sites, and the substance catalogue."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec

from registry.access import ActorKind, Work
from registry.api.idempotency import Created, create_once, create_record
from registry.services import me as me_service
from registry.services import organisations as service
from registry.services import substances as substance_service
from registry.store import organisations as org_table
from registry.store import substances as substance_table
from schemas.access import SignedIn
from schemas.errors import NotFound
from schemas.organisation import EmployerOut, SiteIn, SiteOut
from schemas.substances import SubstanceIn, SubstanceOut
from schemas.validation import check


class OrganisationController(Controller):
    path = "/api/v1"
    tags = ("organisation",)

    @get(
        "/me",
        summary="Who you are to the registry: your employer (API key), or your role and records (sign-in)",
        sync_to_thread=True,
    )
    def me(self, work: Work) -> EmployerOut | SignedIn:
        if work.actor.kind is ActorKind.EMPLOYER and work.actor.employer_id is not None:
            employer_id = work.actor.employer_id
            employer = work.read(lambda w: org_table.employer_by_id(w.tx, employer_id))
            if employer is None:
                raise NotFound("no employer for this key")
            return employer
        return work.read(me_service.signed_in)

    @post("/sites", summary="Register a site or department", sync_to_thread=True)
    def create_site(self, request: Request[Any, Any, Any], data: SiteIn, work: Work) -> Response[SiteOut]:
        check(data)
        return create_record(
            request, work, resource_type="site", create=lambda w: service.create_site(w, data), read=service.get_site
        )

    @get("/sites", summary="Sites and departments of your organisation", sync_to_thread=True)
    def list_sites(self, work: Work) -> list[SiteOut]:
        return work.read(service.list_sites)

    @get("/substances", summary="The substance catalogue", sync_to_thread=True)
    def list_substances(self, work: Work) -> list[SubstanceOut]:
        return work.read(lambda w: substance_table.list_substances(w.tx))

    @post(
        "/substances",
        summary="Add a substance (an existing CAS number returns its entry)",
        responses={200: ResponseSpec(SubstanceOut, generate_examples=False, description="Already in the catalogue")},
        sync_to_thread=True,
    )
    def add_substance(self, request: Request[Any, Any, Any], data: SubstanceIn, work: Work) -> Response[SubstanceOut]:
        check(data)

        def create(work: Work) -> Created[SubstanceOut]:
            substance, created = substance_service.add_substance(work.tx, data, source=f"employer:{work.employer_id()}")
            return substance, [substance.id], 201 if created else 200

        return create_once(request, work, resource_type="substance", create=create, replay=_substance)


def _substance(work: Work, ids: list[uuid.UUID]) -> SubstanceOut:
    return next(s for s in substance_table.list_substances(work.tx) if s.id == ids[0])
