"""Mandates (hygienists, sector bodies) and contracts (company doctors) an employer gives."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post

from registry.access import Work
from registry.api.idempotency import create_record
from registry.services import grants as service
from schemas.access import GrantIn, GrantOut
from schemas.validation import check


class GrantController(Controller):
    path = "/api/v1/grants"
    tags = ("grants",)

    @post(
        "",
        summary="Mandate a hygienist or contract a company doctor for a period",
        description="The person signs in with OpenID Connect; `issuer` and `subject` name them there.",
        sync_to_thread=True,
    )
    def create(self, request: Request[Any, Any, Any], data: GrantIn, work: Work) -> Response[GrantOut]:
        check(data)
        return create_record(
            request, work, resource_type="grant", create=lambda w: service.create_grant(w, data), read=service.get_grant
        )

    @get("", summary="Your mandates and contracts in force or to come", sync_to_thread=True)
    def list(self, work: Work) -> list[GrantOut]:
        return work.read(service.list_grants)

    @delete("/{grant_id:uuid}", summary="End a mandate or contract now", sync_to_thread=True)
    def revoke(self, grant_id: uuid.UUID, work: Work) -> None:
        work.write(lambda w: service.revoke_grant(w, grant_id))
