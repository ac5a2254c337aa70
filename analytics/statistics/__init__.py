"""Pure statistics for EN 689:2018 compliance and Expostats-style Bayesian exposure analysis.

Inputs are numpy arrays of results (same unit as the OEL) with a boolean mask of
non-detects, which are always treated as left-censored at their LOD.
"""

from analytics.statistics.bayesian import PRIORS, BayesianResult, Estimate, Prior, bayesian_many, bayesian_one
from analytics.statistics.en689 import (
    Assessment,
    LimitWording,
    PreliminaryResult,
    StatisticalResult,
    assess,
    preliminary_test,
    reassessment_months,
    seg_warnings,
    statistical_test,
    ur_critical,
)
from analytics.statistics.lognormal import (
    FitMethod,
    LognormalFit,
    describe_fit,
    fit_lognormal,
    fit_lognormal_many,
    ros_impute,
)

__all__ = [
    "PRIORS",
    "Assessment",
    "BayesianResult",
    "Estimate",
    "FitMethod",
    "LimitWording",
    "LognormalFit",
    "PreliminaryResult",
    "Prior",
    "StatisticalResult",
    "assess",
    "bayesian_many",
    "bayesian_one",
    "describe_fit",
    "fit_lognormal",
    "fit_lognormal_many",
    "preliminary_test",
    "reassessment_months",
    "ros_impute",
    "seg_warnings",
    "statistical_test",
    "ur_critical",
]
