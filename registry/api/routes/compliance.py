"""Compliance of this employer's SEGs with the limits in force (EN 689, Bayesian), the
results above their limit, and the trend per substance and year."""

from __future__ import annotations

from litestar import Controller, get

from analytics.compliance import ComplianceRow, Exceedance, TrendRow
from registry.access import Work
from registry.services import compliance as service


class ComplianceController(Controller):
    path = "/api/v1/compliance"
    tags = ("compliance",)

    @get(
        "/report",
        summary="EN 689 assessment per SEG and substance",
        description=(
            "Each result is divided by the binding 8-h limit in force on its sampling date (exposure index), "
            "so gm and ucl70_p95 are fractions of the limit. Non-detects are censored (method named in en689.method). "
            "`bayesian` gives the Expostats-style exceedance fraction, P95 and the overexposure risk. "
            "Every row lists the measurements and the limit rows (with citation) it rests on."
        ),
        sync_to_thread=True,
    )
    def report(self, work: Work, bayesian: bool = True) -> list[ComplianceRow]:
        return work.read(lambda w: service.employer_report(w, bayesian=bayesian))

    @get("/exceedances", summary="Results above the limit in force on their date, worst first", sync_to_thread=True)
    def exceedances(self, work: Work) -> list[Exceedance]:
        return work.read(service.employer_exceedances)

    @get(
        "/trend",
        summary="Per substance and year: results, median exposure index, share above the limit",
        sync_to_thread=True,
    )
    def trend(self, work: Work) -> list[TrendRow]:
        return work.read(service.employer_trend)
