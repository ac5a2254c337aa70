"""Medical facts a company doctor records about a worker, for limits that depend on the
person (sex; for a woman, whether she can bear children)."""

from __future__ import annotations

import uuid

from litestar import Controller, get, put

from registry.access import Work
from registry.services import medical_facts as service
from schemas.medical import MedicalFactsIn, MedicalFactsOut
from schemas.validation import check


class MedicalFactsController(Controller):
    path = "/api/v1/workers/{worker_id:uuid}/medical-facts"
    tags = ("medical",)

    @put(
        "",
        summary="Record a worker's sex and childbearing potential from a date (company doctor)",
        description=(
            "Medical data for the limits of a group of people, such as the blood-lead guidance value for women of "
            "childbearing age. A company doctor under a contract in force with the worker's employer records a new "
            "version from `valid_from`; the same facts for the same date again change nothing. Stored encrypted "
            "under the worker's key; the doctor and the worker read them, nobody else."
        ),
        sync_to_thread=True,
    )
    def record(self, worker_id: uuid.UUID, data: MedicalFactsIn, work: Work) -> MedicalFactsOut:
        check(data)
        return work.write(lambda w: service.record_facts(w, worker_id, data))

    @get(
        "",
        summary="Every recorded version of a worker's medical facts (company doctor, the worker)",
        sync_to_thread=True,
    )
    def versions(self, worker_id: uuid.UUID, work: Work) -> list[MedicalFactsOut]:
        return work.read(lambda w: service.facts_of_worker(w, worker_id))
