"""SEGs, measurements (single and batch) and exposure registrations."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import Parameter

from registry.access import Work
from registry.api.idempotency import Created, create_once, create_record
from registry.api.routes.common import Limit, Offset, Page
from registry.services import exposure_groups as seg_service
from registry.services import measurements as measurement_service
from registry.services import registrations as registration_service
from registry.services.measurements import MeasurementFilter
from schemas.errors import FieldError, InvalidInput
from schemas.exposure import (
    MAX_BATCH_ITEMS,
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
from schemas.validation import check, parse_items

# A batch of 10,000 measurements with every optional field filled is about 8 MB of JSON.
BATCH_MAX_BYTES = 16 * 1024 * 1024


@dataclass
class BatchOperation(Operation):
    """The batch body is decoded by the handler; this documents it as MeasurementBatch."""

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
            (out,) = measurement_service.record_measurements(work, [data], single=True)
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
        description="Every bad item is reported by index (items[i].field); if any item is bad, nothing is stored.",
        request_max_body_size=BATCH_MAX_BYTES,
        operation_class=BatchOperation,
        sync_to_thread=True,
    )
    def record_batch(
        self,
        request: Request[Any, Any, Any],
        data: Any,
        work: Work,
    ) -> Response[Page[MeasurementOut]]:
        # Decoded here rather than by Litestar, item by item, so that schema errors of some
        # items and store errors (unknown worker, ...) of the others come in one answer.
        raw_items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(raw_items, list) or not 1 <= len(raw_items) <= MAX_BATCH_ITEMS:
            raise InvalidInput([FieldError(field="items", reason=f"an array of 1 to {MAX_BATCH_ITEMS} measurements")])
        unknown = [FieldError(field=k, reason="unknown field") for k in data if k != "items"]
        parsed, errors = parse_items(MeasurementIn, raw_items)

        def create(work: Work) -> Created[Page[MeasurementOut]]:
            items = measurement_service.record_measurements(
                work,
                [item for _, item in parsed],
                positions=[index for index, _ in parsed],
                earlier_errors=unknown + errors,
            )
            return (
                Page(items=items, total=len(items), limit=len(items), offset=0),
                [m.id for m in items],
                201,
            )

        def replay(work: Work, ids: list[uuid.UUID]) -> Page[MeasurementOut]:
            items, total = measurement_service.list_measurements(
                work, MeasurementFilter(), limit=len(ids), offset=0, ids=ids
            )
            position = {measurement_id: i for i, measurement_id in enumerate(ids)}
            items.sort(key=lambda m: position[m.id])  # the order of the first answer
            return Page(items=measurement_service.with_warnings(work.tx, items), total=total, limit=len(ids), offset=0)

        return create_once(request, work, resource_type="measurement", create=create, replay=replay)

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
