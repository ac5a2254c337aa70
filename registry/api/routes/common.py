"""Shared pieces of the route modules: paging parameters and the page envelope."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import Parameter

__all__ = ["Limit", "Offset", "Page"]

T = TypeVar("T")

Limit = Annotated[int, Parameter(ge=1, le=500, description="page size (1-500)")]
# Bounded so that no offset overflows the store's 64-bit integers.
Offset = Annotated[int, Parameter(ge=0, le=1_000_000_000, description="records to skip (0 to 10^9)")]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
