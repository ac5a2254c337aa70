"""Constrained field types and checks shared by the domain schemas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Annotated

import msgspec

from schemas.errors import FieldError

__all__ = [
    "EARLIEST_RECORD_DATE",
    "LongText",
    "Name",
    "NonNegative",
    "Positive",
    "ShortText",
    "check_identifier",
    "check_not_future",
    "check_order",
    "today_utc",
]

ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
LongText = Annotated[str, msgspec.Meta(max_length=4000)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]

# Nothing in the registry predates industrial hygiene records; older dates are typos.
EARLIEST_RECORD_DATE = dt.date(1900, 1, 1)


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def check_identifier(field: str, value: str | None, normalise: Callable[[str], str]) -> Iterator[FieldError]:
    if value is None:
        return
    try:
        normalise(value)
    except ValueError as exc:
        yield FieldError(field=field, reason=str(exc))


def check_not_future(field: str, value: dt.date | dt.datetime | None) -> Iterator[FieldError]:
    if value is None:
        return
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            yield FieldError(field=field, reason="a timestamp needs a UTC offset, e.g. 2024-03-01T08:00:00+01:00")
            return
        # One minute of clock skew between the lab's machine and ours is not an error.
        if value > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1):
            yield FieldError(field=field, reason="lies in the future")
        elif value.date() < EARLIEST_RECORD_DATE:  # (year 1 with an offset cannot even be put in UTC)
            yield FieldError(field=field, reason=f"lies before {EARLIEST_RECORD_DATE.isoformat()}")
        return
    if value > today_utc():
        yield FieldError(field=field, reason="lies in the future")
    elif value < EARLIEST_RECORD_DATE:
        yield FieldError(field=field, reason=f"lies before {EARLIEST_RECORD_DATE.isoformat()}")


def check_order(
    start_field: str,
    start: dt.date | dt.datetime | None,
    end_field: str,
    end: dt.date | dt.datetime | None,
    *,
    strict: bool = False,
) -> Iterator[FieldError]:
    if start is None or end is None:
        return
    if isinstance(start, dt.datetime) != isinstance(end, dt.datetime):
        return
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime) and (start.tzinfo is None or end.tzinfo is None):
        return
    if end < start or (strict and end == start):
        yield FieldError(field=end_field, reason=f"must be after {start_field}")
