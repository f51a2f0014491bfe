"""Evaluation of scaling-law extrapolations: predictive distributions and NSL-PFN metrics.

- [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution]: the contract a
  method's per-curve prediction satisfies (median, log density, central intervals), with two
  implementations, [`GaussianPredictive`][scalebayes.evaluate.GaussianPredictive] and
  [`SamplePredictive`][scalebayes.evaluate.SamplePredictive].
- [`rmsle`][scalebayes.evaluate.rmsle], [`log_likelihood`][scalebayes.evaluate.log_likelihood]
  and [`msce`][scalebayes.evaluate.msce] score one curve, as do
  [`interval_coverage`][scalebayes.evaluate.interval_coverage] and
  [`crps`][scalebayes.evaluate.crps];
  [`score_curve`][scalebayes.evaluate.score_curve] applies all that fit a prediction and
  [`summarise`][scalebayes.evaluate.summarise] aggregates over the curves of a dataset.

Studies over many methods and datasets live one layer up, in ``scalebayes.studies``; MCMC
diagnostics (ArviZ conversion, convergence checks) in ``scalebayes.inference``. This package
depends only on ``scalebayes.data`` and the internal helpers.
"""

from ._metrics import (
    CRPS_QUANTILES,
    INTERVAL_SCORES,
    MSCE_LEVELS,
    crps,
    interval_coverage,
    log_likelihood,
    msce,
    rmsle,
    score_curve,
    summarise,
)
from ._predictive import GaussianPredictive, PredictiveDistribution, SamplePredictive

__all__ = [
    "CRPS_QUANTILES",
    "INTERVAL_SCORES",
    "MSCE_LEVELS",
    "GaussianPredictive",
    "PredictiveDistribution",
    "SamplePredictive",
    "crps",
    "interval_coverage",
    "log_likelihood",
    "msce",
    "rmsle",
    "score_curve",
    "summarise",
]
