"""An employer's own limits (huisnormen): reported beside the legal limit, never replacing it."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.openapi import ResponseSpec

from registry.access import Work
from registry.api.idempotency import Created, create_once
from registry.services import company_limits as service
from schemas.company_limits import CompanyLimitIn, CompanyLimitOut
from schemas.validation import check


class CompanyLimitController(Controller):
    path = "/api/v1/limits/company"
    tags = ("limits",)

    @post(
        "",
        summary="Set a company limit for your organisation",
        description=(
            "Your own limit for a substance (e.g. a house norm stricter than the law). The compliance report shows "
            "it beside the legal limit with its own count of results above it; the legal limit stays the one "
            "that decides compliance. Only your organisation sees it. Setting the same limit again returns it "
            "(200); another value for the same substance, limit type, start date and population is refused "
            "(409) until the old one is withdrawn."
        ),
        responses={200: ResponseSpec(CompanyLimitOut, generate_examples=False, description="Already set")},
        sync_to_thread=True,
    )
    def create(self, request: Request[Any, Any, Any], data: CompanyLimitIn, work: Work) -> Response[CompanyLimitOut]:
        check(data)

        def create(work: Work) -> Created[CompanyLimitOut]:
            limit, created = service.create_company_limit(work, data)
            return limit, [limit.id], 201 if created else 200

        return create_once(
            request,
            work,
            resource_type="company_limit",
            create=create,
            replay=lambda w, ids: service.get_company_limit(w, ids[0]),
        )

    @get("", summary="Your organisation's company limits in use", sync_to_thread=True)
    def list(self, work: Work) -> list[CompanyLimitOut]:
        return work.read(service.list_company_limits)

    @delete(
        "/{limit_id:uuid}",
        summary="Withdraw a company limit (kept for the reports that used it, no longer applied)",
        sync_to_thread=True,
    )
    def withdraw(self, limit_id: uuid.UUID, work: Work) -> None:
        work.write(lambda w: service.withdraw_company_limit(w, limit_id))
