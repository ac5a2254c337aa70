"""Analytics over the store: limit values and the limit in force (limits, timeline), TWA/STEL,
EN 689 and Bayesian statistics (statistics/), and the compliance report (compliance)."""
