"""The calling employer, its sites, and the substance catalogue."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post

from registry.access import Actor, Gate, Purpose
from registry.api.idempotency import Created, create_once, create_record
from registry.runtime import Runtime
from registry.services import organisations as service
from registry.services import substances as substance_service
from registry.store import Tx
from registry.store import organisations as org_table
from registry.store import substances as substance_table
from schemas.errors import NotFound
from schemas.organisation import EmployerOut, SiteIn, SiteOut
from schemas.substances import SubstanceIn, SubstanceOut
from schemas.validation import check


class OrganisationController(Controller):
    path = "/api/v1"
    tags = ("organisation",)

    @get("/me", summary="The employer this API key belongs to", sync_to_thread=True)
    def me(self, runtime: Runtime, actor: Actor) -> EmployerOut:
        with runtime.db.read() as tx:
            employer = org_table.employer_by_id(tx, actor.employer_id) if actor.employer_id else None
        if employer is None:
            raise NotFound("no employer for this key")
        return employer

    @post("/sites", summary="Register a site or department", sync_to_thread=True)
    def create_site(
        self,
        request: Request[Any, Any, Any],
        data: SiteIn,
        runtime: Runtime,
        actor: Actor,
        purpose: Purpose,
    ) -> Response[SiteOut]:
        check(data)
        return create_record(
            request,
            runtime,
            actor,
            purpose,
            resource_type="site",
            create=lambda tx, gate: service.create_site(tx, gate, data),
            read=_site,
        )

    @get("/sites", summary="Sites and departments of this employer", sync_to_thread=True)
    def list_sites(self, runtime: Runtime, actor: Actor) -> list[SiteOut]:
        with runtime.db.read() as tx:
            return org_table.sites_of(tx, actor.employer_id) if actor.employer_id else []

    @get("/substances", summary="The substance catalogue", sync_to_thread=True)
    def list_substances(self, runtime: Runtime, actor: Actor) -> list[SubstanceOut]:
        with runtime.db.read() as tx:
            return substance_table.list_substances(tx)

    @post(
        "/substances",
        summary="Add a substance (an existing CAS number returns its entry)",
        sync_to_thread=True,
    )
    def add_substance(
        self,
        request: Request[Any, Any, Any],
        data: SubstanceIn,
        runtime: Runtime,
        actor: Actor,
        purpose: Purpose,
    ) -> Response[SubstanceOut]:
        check(data)

        def create(tx: Tx, gate: Gate) -> Created[SubstanceOut]:
            substance, created = substance_service.add_substance(tx, data, source=f"employer:{gate.employer_id()}")
            return substance, [substance.id], 201 if created else 200

        return create_once(
            request,
            runtime,
            actor,
            purpose,
            resource_type="substance",
            create=create,
            replay=_substance,
        )


def _site(tx: Tx, gate: Gate, site_id: uuid.UUID) -> SiteOut:
    site = org_table.site_by_id(tx, site_id)
    if site is None:
        raise NotFound("site not found")
    return site


def _substance(tx: Tx, gate: Gate, ids: list[uuid.UUID]) -> SubstanceOut:
    return next(s for s in substance_table.list_substances(tx) if s.id == ids[0])
