"""SEGs, measurements (single and batch) and exposure registrations."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec import Parameter as HeaderParameter
from litestar.params import Parameter

from registry.access import Work
from registry.api.idempotency import IDEMPOTENCY_HEADER, Created, create_once, create_record
from registry.api.routes.common import Limit, Offset, Page
from registry.services import exposure_groups as seg_service
from registry.services import measurements as measurement_service
from registry.services import registrations as registration_service
from registry.services.measurements import MeasurementFilter
from registry.store.idempotency import find_outcome
from schemas.errors import FieldError, InvalidInput
from schemas.exposure import (
    MAX_BATCH_ITEMS,
    BatchItemResult,
    BatchResult,
    MeasurementBatch,
    MeasurementIn,
    MeasurementOut,
    RegistrationIn,
    RegistrationOut,
    SampleType,
    SegIn,
    SegMemberIn,
    SegMemberOut,
    SegOut,
)
from schemas.identifiers import normalise_cas
from schemas.measurement_columns import MeasurementColumns, schema_problems
from schemas.validation import MAX_LISTED_ERRORS, check, decode_batch

# A batch of 10,000 measurements with every optional field filled is about 8 MB of JSON.
BATCH_MAX_BYTES = 16 * 1024 * 1024


# The shape of a batch's answer, kept with its idempotency key so that a replay answers as
# the first answer did ("measurement": what every batch answered before the minimal shape).
_MINIMAL, _REPRESENTATION = "measurement_batch", "measurement"
_PREFER = (
    "RFC 7240. `return=minimal` (the default): the ids and each item's status and warnings. "
    "`return=representation`: the stored records, as GET /measurements pages them."
)


@dataclass
class BatchOperation(Operation):
    """The batch body is decoded by the handler; this documents it as MeasurementBatch, and
    the two shapes of the answer that `Prefer` chooses between."""

    def __post_init__(self) -> None:
        schema = Schema(
            type=OpenAPIType.OBJECT,
            required=["items"],
            additional_properties=False,
            properties={
                "items": Schema(
                    type=OpenAPIType.ARRAY,
                    min_items=1,
                    max_items=MAX_BATCH_ITEMS,
                    items=Reference(ref="#/components/schemas/MeasurementIn"),
                )
            },
        )
        self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=schema)}, required=True)
        prefer = HeaderParameter(
            name="Prefer",
            param_in="header",
            required=False,
            schema=Schema(type=OpenAPIType.STRING, examples=["return=minimal", "return=representation"]),
            description=_PREFER,
        )
        self.parameters = [*(self.parameters or []), prefer]
        created = (self.responses or {}).get("201")
        if created is not None and not isinstance(created, Reference):
            created.description = (
                "Every item was stored. By default a BatchResult (ids, status and warnings per item, in "
                "request order); with `Prefer: return=representation` a page of the stored records."
            )
            created.headers = {
                "Preference-Applied": OpenAPIHeader(
                    schema=Schema(type=OpenAPIType.STRING),
                    description="the `return` preference honoured, e.g. return=representation",
                ),
                "Idempotent-Replayed": OpenAPIHeader(
                    schema=Schema(type=OpenAPIType.STRING), description="true: the answer to an earlier request"
                ),
            }


class ExposureController(Controller):
    path = "/api/v1"
    tags = ("exposure",)

    @post("/segs", summary="Create a similar exposure group (SEG)", sync_to_thread=True)
    def create_seg(
        self,
        request: Request[Any, Any, Any],
        data: SegIn,
        work: Work,
    ) -> Response[SegOut]:
        check(data)
        return create_record(
            request,
            work,
            resource_type="seg",
            create=lambda w: seg_service.create_seg(w, data),
            read=seg_service.get_seg,
        )

    @get("/segs", summary="This employer's SEGs", sync_to_thread=True)
    def list_segs(self, work: Work) -> list[SegOut]:
        return work.read(seg_service.list_segs)

    @get("/segs/{seg_id:uuid}", summary="One SEG", sync_to_thread=True)
    def get_seg(self, seg_id: uuid.UUID, work: Work) -> SegOut:
        return work.read(lambda w: seg_service.get_seg(w, seg_id))

    @post(
        "/segs/{seg_id:uuid}/members",
        summary="Add a worker to a SEG for a period",
        sync_to_thread=True,
    )
    def add_member(
        self,
        request: Request[Any, Any, Any],
        seg_id: uuid.UUID,
        data: SegMemberIn,
        work: Work,
    ) -> Response[SegMemberOut]:
        check(data)

        def create(work: Work) -> Created[SegMemberOut]:
            member = seg_service.add_seg_member(work, seg_id, data)
            return member, [member.id], 201

        def replay(work: Work, ids: list[uuid.UUID]) -> SegMemberOut:
            return next(m for m in seg_service.list_seg_members(work, seg_id) if m.id == ids[0])

        return create_once(request, work, resource_type="seg_member", create=create, replay=replay)

    @get("/segs/{seg_id:uuid}/members", summary="Who belonged to a SEG when", sync_to_thread=True)
    def list_members(self, seg_id: uuid.UUID, work: Work) -> list[SegMemberOut]:
        return work.read(lambda w: seg_service.list_seg_members(w, seg_id))

    @post("/measurements", summary="Record one measurement", sync_to_thread=True)
    def record_measurement(
        self,
        request: Request[Any, Any, Any],
        data: MeasurementIn,
        work: Work,
    ) -> Response[MeasurementOut]:
        check(data)

        def create(work: Work) -> Created[MeasurementOut]:
            out = measurement_service.record_measurement(work, data)
            return out, [out.id], 201

        return create_once(
            request,
            work,
            resource_type="measurement",
            create=create,
            replay=lambda w, ids: measurement_service.with_warnings(
                w.tx, [measurement_service.get_measurement(w, ids[0])]
            )[0],
        )

    @post(
        "/measurements/batch",
        summary="Record up to 10,000 measurements, all or nothing",
        description=(
            "Every bad item is counted and reported by index (items[i].field): the first "
            f"{MAX_LISTED_ERRORS:,} errors in item order are listed, `total_errors` and `invalid_items` count "
            "them all; if any item is bad, nothing is stored. The answer lists each item's new id, status and "
            "warnings; send `Prefer: return=representation` for the stored records instead."
        ),
        request_max_body_size=BATCH_MAX_BYTES,
        operation_class=BatchOperation,
        sync_to_thread=True,
    )
    def record_batch(
        self,
        request: Request[Any, Any, Any],
        body: bytes,
        work: Work,
    ) -> Response[BatchResult | Page[MeasurementOut]]:
        # Decoded here rather than by Litestar: msgspec in one go, item by item only when that
        # fails, so that schema errors of some items and store errors (unknown worker, ...) of
        # the others come in one answer; then MeasurementIn's rules over whole columns.
        asked = _return_preference(request)
        decoded = decode_batch(body, MeasurementBatch, MeasurementIn, max_items=MAX_BATCH_ITEMS, noun="measurements")
        columns = MeasurementColumns(decoded.items, decoded.positions)
        errors = decoded.errors
        errors.add_frame(schema_problems(columns))
        full = asked == "representation"

        def create(work: Work) -> Created[BatchResult | Page[MeasurementOut]]:
            recorded = measurement_service.record_batch(work, columns, errors)
            count = len(recorded.ids)
            answer = Page(items=recorded.records(), total=count, limit=count, offset=0) if full else recorded.result()
            return answer, recorded.ids, 201

        def replay(work: Work, ids: list[uuid.UUID]) -> BatchResult | Page[MeasurementOut]:
            stored = measurement_service.recorded_again(work, ids)
            if _first_answer_was_full(request, work):
                return Page(items=stored, total=len(stored), limit=len(ids), offset=0)
            items = [
                BatchItemResult(index=index, id=m.id, status="created", warnings=m.warnings)
                for index, m in enumerate(stored)
            ]
            return BatchResult(total=len(items), items=items)

        shape = _REPRESENTATION if full else _MINIMAL
        response = create_once(request, work, resource_type=shape, create=create, replay=replay)
        applied = "representation" if isinstance(response.content, Page) else "minimal"
        response.headers["Vary"] = "Prefer"
        if asked == applied:
            response.headers["Preference-Applied"] = f"return={applied}"
        return response

    @get(
        "/measurements",
        summary="This employer's measurements, filtered and paged",
        sync_to_thread=True,
    )
    def list_measurements(
        self,
        work: Work,
        worker_id: uuid.UUID | None = None,
        seg_id: uuid.UUID | None = None,
        substance_cas: str | None = None,
        sample_type: SampleType | None = None,
        sampled_from: Annotated[dt.date | None, Parameter(description="sampling date on or after")] = None,
        sampled_before: Annotated[dt.date | None, Parameter(description="sampling date before")] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Page[MeasurementOut]:
        try:
            cas = normalise_cas(substance_cas) if substance_cas else None
        except ValueError as exc:
            raise InvalidInput([FieldError(field="query:substance_cas", reason=str(exc))]) from None
        where = MeasurementFilter(
            worker_id=worker_id,
            seg_id=seg_id,
            substance_cas=cas,
            sample_type=sample_type,
            sampled_from=sampled_from,
            sampled_before=sampled_before,
        )
        items, total = work.read(lambda w: measurement_service.list_measurements(w, where, limit, offset))
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get("/measurements/{measurement_id:uuid}", summary="One measurement", sync_to_thread=True)
    def get_measurement(self, measurement_id: uuid.UUID, work: Work) -> MeasurementOut:
        return work.read(lambda w: measurement_service.get_measurement(w, measurement_id))

    @post("/registrations", summary="Add an entry to the exposure register", sync_to_thread=True)
    def create_registration(
        self,
        request: Request[Any, Any, Any],
        data: RegistrationIn,
        work: Work,
    ) -> Response[RegistrationOut]:
        check(data)
        return create_record(
            request,
            work,
            resource_type="registration",
            create=lambda w: registration_service.create_registration(w, data),
            read=registration_service.get_registration,
        )

    @get("/registrations", summary="This employer's exposure register", sync_to_thread=True)
    def list_registrations(
        self,
        work: Work,
        worker_id: uuid.UUID | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Page[RegistrationOut]:
        items, total = work.read(lambda w: registration_service.list_registrations(w, worker_id, limit, offset))
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get("/registrations/{registration_id:uuid}", summary="One register entry", sync_to_thread=True)
    def get_registration(self, registration_id: uuid.UUID, work: Work) -> RegistrationOut:
        return work.read(lambda w: registration_service.get_registration(w, registration_id))


def _return_preference(request: Request[Any, Any, Any]) -> str | None:
    """The `return` preference of the request's Prefer headers (RFC 7240), if it names one
    this endpoint knows; the first one counts."""
    for header in request.headers.getall("Prefer", []):
        for preference in header.split(","):
            name, _, value = preference.split(";", 1)[0].partition("=")
            if name.strip().lower() == "return":
                chosen = value.strip().strip('"').lower()
                if chosen in ("minimal", "representation"):
                    return chosen
    return None


def _first_answer_was_full(request: Request[Any, Any, Any], work: Work) -> bool:
    """Whether the answer a replayed batch first had was the representation."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    outcome = find_outcome(work.tx, work.employer_id(), key) if key else None
    return outcome is not None and outcome.resource_type != _MINIMAL
