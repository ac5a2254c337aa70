"""A signed-in worker's own view: their whole history and who read their data."""

from __future__ import annotations

from litestar import Controller, get

from registry.access import Work
from registry.api.routes.common import Limit, Offset, Page
from registry.services import me as service
from schemas.access import AccessLogEntry
from schemas.history import WorkerHistory
from schemas.medical import MedicalFactsOut


class MeController(Controller):
    path = "/api/v1/me"
    tags = ("worker",)

    @get(
        "/history",
        summary="Mijn blootstellingsgeschiedenis / my exposure history, across all employers",
        description=(
            "Every employer's records about you, for as long as they are kept, biological values included. "
            "Sign in as a worker (OpenID Connect)."
        ),
        sync_to_thread=True,
    )
    def history(self, work: Work) -> WorkerHistory:
        return work.read(service.my_history)

    @get(
        "/medical-facts",
        summary="Wat de bedrijfsarts over mij vastlegde / what company doctors recorded about me for limits",
        description=(
            "Sex and childbearing potential, each version with the date from which it applies and who recorded it: "
            "they decide which limits for a group of people (such as women of childbearing age) your biological "
            "results are compared with. Medical data: only you and the company doctor see them."
        ),
        sync_to_thread=True,
    )
    def medical_facts(self, work: Work) -> list[MedicalFactsOut]:
        return work.read(service.my_medical_facts)

    @get(
        "/access-log",
        summary="Wie heeft mijn gegevens ingezien / who read my data: when, for whom, why",
        sync_to_thread=True,
    )
    def access_log(self, work: Work, limit: Limit = 100, offset: Offset = 0) -> Page[AccessLogEntry]:
        items, total = work.read(lambda w: service.my_access_log(w, limit, offset))
        return Page(items=items, total=total, limit=limit, offset=offset)
