"""A SEG's figures in the unit of its limit, and how its texts name that limit.

The EN 689 test runs on exposure indices (result / limit in force on its date), so a limit
that changed within the period is applied exactly. A hygienist signs concentrations,
though: "the 70 % UCL of the P95, 0.12 mg/m3, is below the limit of 0.7 mg/m3 (NL, 8 h
TWA, 2017)". With one limit, a figure in its unit is the index figure times the limit.
With several limits in one unit, index x limit of each result is that result in the unit,
and the figures are a lognormal fit of those concentrations, shown beside the latest limit.
Limits in different units share no unit; the indices then stand alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec
import numpy as np
from scipy import stats

from analytics.statistics import Assessment, LimitWording, LognormalFit, ur_critical
from analytics.statistics.en689 import P95_PROBABILITY
from analytics.statistics.exact import rounded
from analytics.wording import limit_text
from schemas.limits import LimitUsed

__all__ = ["Figures", "figures_in_unit", "one_unit", "wording_for"]

_Z95 = float(stats.norm.ppf(P95_PROBABILITY))


class Figures(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """GM, P95 and the 70 % UCL of the P95 in the unit of the limit in force (the latest of
    the group's limits), beside that limit; None where the test gives no such figure."""

    unit: str
    limit: float  # as published
    limit_text: str  # "0.7 mg/m3 (NL, 8 h TWA, 2017)"
    gm: float | None
    p95: float | None
    ucl70_p95: float | None
    basis: str


def one_unit(limits: Sequence[LimitUsed]) -> bool:
    """Whether the group's limits share a unit, so its results can be put in it."""
    return len({limit.unit for limit in limits}) == 1


def wording_for(limits: Sequence[LimitUsed]) -> LimitWording:
    """How the EN 689 texts of a group with these limits (in order of use) name the limit."""
    if len(limits) == 1:
        (limit,) = limits
        return LimitWording(name=f"the limit of {limit_text(limit)}", scale=limit.value, unit=limit.unit)
    return LimitWording(
        name=f"the limit in force on each result's date (latest: {limit_text(limits[-1])})", unit="(exposure index)"
    )


def figures_in_unit(
    limits: Sequence[Sequence[LimitUsed]],
    assessments: Sequence[Assessment],
    concentrations: Mapping[int, LognormalFit | ValueError],
) -> list[Figures]:
    """Each group's figures in the unit of its latest limit: scaled index figures with one
    limit, else from `concentrations[i]`, the fit of group i's results in that unit (module
    doc). The figures of all groups are rounded for display in one pass."""
    raw: list[tuple[float | None, float | None, float | None]] = []
    bases: list[str] = []
    texts: dict[tuple[LimitUsed, ...], tuple[str, str]] = {}
    for i, (group, assessment) in enumerate(zip(limits, assessments, strict=True)):
        key = tuple(group)
        if key not in texts:
            texts[key] = (limit_text(group[-1]), _basis(group))
        fit = concentrations.get(i)
        if len(group) == 1:
            scale = group[-1].value
            gm, p95, ucl = assessment.gm, assessment.p95, assessment.ucl70_p95
            raw.append((_times(gm, scale), _times(p95, scale), _times(ucl, scale)))
            bases.append(texts[key][1])
        elif one_unit(group) and isinstance(fit, LognormalFit) and assessment.test == "statistical":
            raw.append(
                (
                    fit.gm,
                    math.exp(fit.mu + _Z95 * fit.sigma),
                    math.exp(fit.mu + ur_critical(fit.n) * fit.sigma),
                )
            )
            bases.append(texts[key][1])
        else:
            raw.append((None, None, None))
            bases.append("no fitted distribution for this test" if one_unit(group) else texts[key][1])
    shown = rounded(np.array(raw, dtype=np.float64).reshape(-1, 3)).tolist()
    return [
        Figures(
            unit=group[-1].unit,
            limit=group[-1].value,
            limit_text=texts[tuple(group)][0],
            gm=None if values[0] is None else figures[0],
            p95=None if values[1] is None else figures[1],
            ucl70_p95=None if values[2] is None else figures[2],
            basis=basis,
        )
        for group, values, figures, basis in zip(limits, raw, shown, bases, strict=True)
    ]


def _times(figure: float | None, scale: float) -> float | None:
    return None if figure is None else figure * scale


def _basis(limits: Sequence[LimitUsed]) -> str:
    """How a group's figures in the unit were made, when they were (figures_in_unit)."""
    if len(limits) == 1:
        return "exposure index figures x the limit"
    if not one_unit(limits):
        return "limits in different units: see the exposure indices"
    earlier = ", ".join(limit_text(limit) for limit in limits[:-1])
    return f"fitted to the results in {limits[-1].unit}; earlier results were judged against {earlier}"
