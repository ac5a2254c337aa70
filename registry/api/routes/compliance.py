"""Compliance of this employer's SEGs with the limits in force (EN 689, Bayesian), the
results above their limit, and the trend per substance and year."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from analytics.biological_groups import BiologicalGroup
from analytics.compliance import ComplianceRow, Exceedance, TrendRow
from analytics.statistics import Prior
from registry.access import Work
from registry.services import biological, compliance_rows
from registry.services import compliance as service


class ComplianceController(Controller):
    path = "/api/v1/compliance"
    tags = ("compliance",)

    @get(
        "/report",
        summary="EN 689 assessment per SEG and substance",
        description=(
            "Each result is judged against the binding 8-h limit in force on its sampling date, on the decimal "
            "values (0.3 at a limit of 3 is not below 0.1 x the limit). en689 gives the verdict on exposure "
            "indices (result / limit: gm, p95 and ucl70_p95 are fractions of the limit); `figures` gives GM, P95 "
            "and its 70 % UCL in the unit of the limit in force, beside that limit, and en689.reason names it. "
            "Non-detects are censored (the fit and its sigma convention in en689.method_detail). `bayesian` gives "
            "the Expostats-style exceedance fraction, P95 and overexposure risk under the chosen `prior`. Shift "
            "results combined from short samples are listed in combined_shifts; `review` lists results to check "
            "before signing (not comparable: unit; implausible values). Every row lists the measurements and the "
            "limit rows (with citation) it rests on."
        ),
        sync_to_thread=True,
    )
    def report(
        self,
        work: Work,
        bayesian: bool = True,
        prior: Annotated[
            Prior,
            Parameter(description="Expostats prior: informedvar (default) or uninformative (sigma uniform up to 2.3)"),
        ] = "informedvar",
    ) -> list[ComplianceRow]:
        return compliance_rows.employer_report(work, bayesian=bayesian, prior=prior)

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

    @get(
        "/biological",
        summary="Biological monitoring as group figures: per SEG, how many results were above each value",
        description=(
            "Per SEG, substance, matrix and year: workers, results, and per biological limit or guidance value in "
            "force how many results and workers were above it. Never a person's value: a group of fewer than 5 "
            "workers is `suppressed`, with the reason and no figures. Values for a group of people (women of "
            "childbearing age) are not counted; only the company doctor and the worker see that comparison."
        ),
        sync_to_thread=True,
    )
    def biological(self, work: Work) -> list[BiologicalGroup]:
        return work.read(biological.employer_group_figures)
