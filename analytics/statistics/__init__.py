"""Pure statistics for EN 689:2018 compliance and Expostats-style Bayesian exposure analysis.

Inputs are numpy arrays of results (same unit as the OEL) with a boolean mask of
non-detects, which are always treated as left-censored at their LOD. Each test of one set
of results (assess, fit_lognormal, bayesian_one) has a form for many sets at once over whole
columns (assess_sets, fit_lognormal_sets, bayesian_sets, on a `Sets`), which gives the same.
"""

from analytics.statistics.bayesian import (
    PRIORS,
    BayesianResult,
    Estimate,
    Prior,
    bayesian_many,
    bayesian_one,
    bayesian_sets,
)
from analytics.statistics.en689 import (
    Assessment,
    LimitWording,
    PreliminaryResult,
    StatisticalResult,
    assess,
    assess_sets,
    preliminary_test,
    reassessment_months,
    seg_warnings,
    statistical_test,
    ur_critical,
)
from analytics.statistics.lognormal import (
    FitMethod,
    Fits,
    LognormalFit,
    describe_fit,
    fit_lognormal,
    fit_lognormal_sets,
    ros_impute,
)
from analytics.statistics.sets import Sets

__all__ = [
    "PRIORS",
    "Assessment",
    "BayesianResult",
    "Estimate",
    "FitMethod",
    "Fits",
    "LimitWording",
    "LognormalFit",
    "PreliminaryResult",
    "Prior",
    "Sets",
    "StatisticalResult",
    "assess",
    "assess_sets",
    "bayesian_many",
    "bayesian_one",
    "bayesian_sets",
    "describe_fit",
    "fit_lognormal",
    "fit_lognormal_sets",
    "preliminary_test",
    "reassessment_months",
    "ros_impute",
    "seg_warnings",
    "statistical_test",
    "ur_critical",
]
