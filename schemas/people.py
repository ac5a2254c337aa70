"""Workers and their employment periods."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec

from schemas.common import Line, Name, ShortText, check_identifier, check_not_future, check_order
from schemas.errors import FieldError
from schemas.identifiers import normalise_bsn, normalise_kvk

__all__ = ["EmploymentIn", "EmploymentOut", "EmploymentType", "WorkerIn", "WorkerOut"]

EmploymentType = Literal["employee", "agency", "self_employed"]


class WorkerIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A person, known across all employers by BSN. Stored encrypted; found by a blind index."""

    bsn: Annotated[Line, msgspec.Meta(description="Burgerservicenummer, 9 digits (elfproef)")]
    name: Name
    date_of_birth: dt.date

    def problems(self) -> Iterator[FieldError]:
        yield from check_identifier("bsn", self.bsn, normalise_bsn)
        yield from check_not_future("date_of_birth", self.date_of_birth)


class WorkerOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    bsn: str
    name: str
    date_of_birth: dt.date


class EmploymentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A period in which a worker worked for (or, as agency worker, at) the registering employer.

    For an agency worker the registering employer is the hiring company (inlener) and
    `agency_kvk` names the agency (uitzendbureau) that formally employs the worker.
    """

    worker_id: uuid.UUID
    employment_type: EmploymentType = "employee"
    agency_kvk: Line | None = None
    site_id: uuid.UUID | None = None
    job_title: ShortText | None = None
    start_date: dt.date
    end_date: dt.date | None = None

    def problems(self) -> Iterator[FieldError]:
        if self.employment_type == "agency" and self.agency_kvk is None:
            yield FieldError(field="agency_kvk", reason="an agency employment names the agency's KvK number")
        if self.employment_type != "agency" and self.agency_kvk is not None:
            yield FieldError(field="agency_kvk", reason="only an agency employment has an agency")
        yield from check_identifier("agency_kvk", self.agency_kvk, normalise_kvk)
        yield from check_not_future("start_date", self.start_date)
        yield from check_order("start_date", self.start_date, "end_date", self.end_date)


class EmploymentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    worker_id: uuid.UUID
    employer_id: uuid.UUID
    employment_type: str
    agency_employer_id: uuid.UUID | None
    site_id: uuid.UUID | None
    job_title: str | None
    start_date: dt.date
    end_date: dt.date | None
