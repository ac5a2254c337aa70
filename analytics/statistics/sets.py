"""Many sets of results (one per SEG and substance) as flat arrays, set after set.

A national report has ~10^5 sets of a few to a few hundred results. Looping over them in
Python cost more than the statistics; laid out flat with each result's set number, one numpy
pass (np.bincount, a reduceat) computes a figure of every set at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray", "IntArray", "Sets"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]


class Sets(NamedTuple):
    """`values[starts[k] : starts[k] + sizes[k]]` are the results of set k (a non-detect is its
    LOD with `censored` True), `oel` the limit of each result."""

    values: FloatArray
    censored: BoolArray
    oel: FloatArray
    sizes: IntArray

    @classmethod
    def of(cls, values: FloatArray, censored: BoolArray, sizes: npt.ArrayLike, oel: FloatArray | None = None) -> Sets:
        """Sets from flat columns; `oel` defaults to 1 (the results are exposure indices)."""
        return cls(
            values=np.asarray(values, dtype=np.float64),
            censored=np.asarray(censored, dtype=np.bool_),
            oel=np.ones(len(values)) if oel is None else np.asarray(oel, dtype=np.float64),
            sizes=np.asarray(sizes, dtype=np.intp),
        )

    @classmethod
    def stacked(cls, groups: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]]) -> Sets:
        """Sets from one (values, censored) pair per set, for callers holding separate arrays."""
        values = [np.asarray(v, dtype=np.float64).ravel() for v, _ in groups]
        censored = [np.asarray(c).ravel() for _, c in groups]
        empty = np.empty(0)
        return cls.of(
            np.concatenate(values) if values else empty,
            np.concatenate(censored).astype(np.bool_) if censored else empty.astype(np.bool_),
            [v.size for v in values],
        )

    @property
    def n_sets(self) -> int:
        return int(self.sizes.size)

    @property
    def starts(self) -> IntArray:
        starts: IntArray = np.cumsum(self.sizes) - self.sizes
        return starts

    @property
    def owner(self) -> IntArray:
        """The set of each result."""
        owner: IntArray = np.repeat(np.arange(self.n_sets), self.sizes)
        return owner

    def total(self, x: npt.ArrayLike) -> FloatArray:
        """Per set: the sum of `x` (one number per result), added in order, as a loop would."""
        weights = np.asarray(x, dtype=np.float64)
        return np.bincount(self.owner, weights=weights, minlength=self.n_sets).astype(np.float64, copy=False)

    def counted(self, mask: BoolArray) -> IntArray:
        """Per set: how many results `mask` holds for."""
        counts: IntArray = np.bincount(self.owner[mask], minlength=self.n_sets)
        return counts

    def largest(self, x: FloatArray) -> FloatArray:
        """Per set: the largest of `x` (every set has a result)."""
        largest: FloatArray = np.maximum.reduceat(x, self.starts) if self.n_sets else np.empty(0)
        return largest

    def subset(self, chosen: BoolArray) -> Sets:
        """The sets where `chosen` (one flag per set) holds, in order."""
        keep = chosen[self.owner]
        return Sets(self.values[keep], self.censored[keep], self.oel[keep], self.sizes[chosen])
