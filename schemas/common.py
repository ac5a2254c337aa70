"""Constrained field types and checks shared by the domain schemas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Annotated

import msgspec

from schemas.errors import FieldError
from schemas.text import FREE_TEXT, NOT_BLANK_LINE, ONE_LINE

__all__ = [
    "EARLIEST_RECORD_DATE",
    "Line",
    "LongText",
    "Name",
    "NonNegative",
    "Positive",
    "ShortText",
    "check_identifier",
    "check_not_future",
    "check_order",
    "today_somewhere",
]

# Text fields (schemas.text): one line without control characters, or free text that may
# also hold line feeds and tabs. Identifiers and units are a Line their validator reads.
Line = Annotated[str, msgspec.Meta(max_length=200, pattern=ONE_LINE)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NOT_BLANK_LINE)]
LongText = Annotated[str, msgspec.Meta(max_length=4000, pattern=FREE_TEXT)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]

# No sample, register entry, employment or living worker's birth predates 1900: workplace air
# sampling began in the early twentieth century and the oldest occupational-hygiene records
# and exposure limit lists are younger still. An earlier date is a typo (a two-digit year, a
# day where the year belongs), and year 1 with an offset cannot even be put in UTC.
EARLIEST_RECORD_DATE = dt.date(1900, 1, 1)
_TOO_OLD = f"lies before {EARLIEST_RECORD_DATE.isoformat()}, earlier than any occupational-hygiene record"
# A date lies in the future once it has begun nowhere on Earth (UTC+14): a Dutch employer who
# enters today's date just after midnight (UTC+1 or +2) is not refused while UTC is on yesterday.
_FIRST_ZONE = dt.timezone(dt.timedelta(hours=14))


def today_somewhere() -> dt.date:
    """The latest date that has begun anywhere: dates after it lie in the future."""
    return dt.datetime.now(_FIRST_ZONE).date()


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
        elif value.date() < EARLIEST_RECORD_DATE:
            yield FieldError(field=field, reason=_TOO_OLD)
        return
    if value > today_somewhere():
        yield FieldError(field=field, reason="lies in the future")
    elif value < EARLIEST_RECORD_DATE:
        yield FieldError(field=field, reason=_TOO_OLD)


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
