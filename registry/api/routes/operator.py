"""The operator's work over HTTP (signed in as operator): identity reconciliation."""

from __future__ import annotations

from litestar import Controller, get, post

from registry.access import Work
from registry.services import identities as service
from schemas.access import ReconciliationItem, ResolutionIn
from schemas.validation import check


class OperatorController(Controller):
    path = "/api/v1/operator"
    tags = ("operator",)

    @get(
        "/reconciliations",
        summary="Persons whose employers supplied differing names or birth dates",
        sync_to_thread=True,
    )
    def reconciliations(self, work: Work, include_resolved: bool = False) -> list[ReconciliationItem]:
        return work.read(lambda w: service.reconciliation_items(w, include_resolved=include_resolved))

    @post(
        "/reconciliations/{item_id:str}/resolve",
        summary="Record how a reconciliation item was settled",
        status_code=204,
        sync_to_thread=True,
    )
    def resolve(self, item_id: str, data: ResolutionIn, work: Work) -> None:
        check(data)
        work.write(lambda w: service.resolve_item(w, item_id, data.note))
