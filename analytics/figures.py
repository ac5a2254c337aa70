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
from collections.abc import Sequence

import msgspec
from scipy import stats

from analytics.statistics import Assessment, LimitWording, LognormalFit, ur_critical
from analytics.statistics.en689 import P95_PROBABILITY
from analytics.statistics.exact import rounded
from analytics.wording import limit_text
from schemas.limits import LimitUsed

__all__ = ["Figures", "figures_in_unit", "one_unit", "wording_for"]

_Z95 = float(stats.norm.ppf(P95_PROBABILITY))


class Figures(msgspec.Struct, frozen=True, kw_only=True):
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
    limits: Sequence[LimitUsed], assessment: Assessment, concentrations: LognormalFit | ValueError | None
) -> Figures:
    """The group's figures in the unit of its latest limit: scaled index figures with one
    limit, else from `concentrations`, the fit of its results in that unit (module doc)."""
    latest = limits[-1]
    if len(limits) == 1:
        scale = latest.value
        gm, p95, ucl = (None if x is None else x * scale for x in (assessment.gm, assessment.p95, assessment.ucl70_p95))
        basis = "exposure index figures x the limit"
    elif one_unit(limits) and isinstance(concentrations, LognormalFit) and assessment.test == "statistical":
        gm, p95 = concentrations.gm, math.exp(concentrations.mu + _Z95 * concentrations.sigma)
        ucl = math.exp(concentrations.mu + ur_critical(concentrations.n) * concentrations.sigma)
        earlier = ", ".join(limit_text(limit) for limit in limits[:-1])
        basis = f"fitted to the results in {latest.unit}; earlier results were judged against {earlier}"
    else:
        gm = p95 = ucl = None
        basis = (
            "limits in different units: see the exposure indices"
            if not one_unit(limits)
            else "no fitted distribution for this test"
        )
    return Figures(
        unit=latest.unit,
        limit=latest.value,
        limit_text=limit_text(latest),
        gm=_shown(gm),
        p95=_shown(p95),
        ucl70_p95=_shown(ucl),
        basis=basis,
    )


def _shown(figure: float | None) -> float | None:
    return None if figure is None else float(rounded(figure))
