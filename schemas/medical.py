"""Medical facts a company doctor records about a worker, so that a limit for a group of
people (e.g. the blood-lead guidance value for women of childbearing age) reaches the right
person. Medical data: shown to the company doctor and the worker only."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Annotated, Final, Literal

import msgspec

from schemas.common import check_not_future
from schemas.errors import FieldError

__all__ = ["WOMEN_OF_CHILDBEARING_AGE", "MedicalFacts", "MedicalFactsIn", "MedicalFactsOut", "Sex", "populations_of"]

Sex = Literal["female", "male"]

# The `population` of limit rows (schemas.limits.LimitValue) that these facts can place a
# person in, as the reference lists name it.
WOMEN_OF_CHILDBEARING_AGE: Final = "women of childbearing age"


class MedicalFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What a population-specific limit needs to know, from the date it applies."""

    valid_from: Annotated[dt.date, msgspec.Meta(description="the first day these facts apply")]
    sex: Sex
    childbearing_potential: Annotated[
        bool | None, msgspec.Meta(description="for a woman: whether she can bear children; none for a man")
    ] = None


class MedicalFactsIn(MedicalFacts, frozen=True, kw_only=True, forbid_unknown_fields=True):
    def problems(self) -> Iterator[FieldError]:
        yield from check_not_future("valid_from", self.valid_from)
        if self.sex == "female" and self.childbearing_potential is None:
            reason = "required for a woman (true or false): the values for women of childbearing age depend on it"
            yield FieldError(field="childbearing_potential", reason=reason)
        if self.sex == "male" and self.childbearing_potential is not None:
            yield FieldError(field="childbearing_potential", reason="recorded for a woman only; leave out for a man")


class MedicalFactsOut(MedicalFacts, frozen=True, kw_only=True):
    """One recorded version; the latest valid_from on or before a date applies on that date
    (of two with the same valid_from, the one recorded last)."""

    id: uuid.UUID
    worker_id: uuid.UUID
    populations: list[str]  # the groups of people limit lists name that these facts place the worker in
    recorded_by: str
    recorded_at: dt.datetime


def populations_of(facts: MedicalFacts) -> list[str]:
    """The limit populations these facts place a person in. A woman who can bear children is
    taken to be "of childbearing age": the lists name the group by age, a doctor knows it by
    the person."""
    if facts.sex == "female" and facts.childbearing_potential:
        return [WOMEN_OF_CHILDBEARING_AGE]
    return []
