"""Evaluation of scaling-law extrapolations: predictive distributions and NSL-PFN metrics.

- [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution]: the contract the
  metrics score (median, log density, central intervals);
  [`Predictive`][scalebayes.evaluate.Predictive]: the base class of every predictive the
  package ships (numpyro's names ``log_prob``, ``icdf``, ``sample`` plus ``quantile``,
  ``median``, ``interval``, with one check of levels,
  [`check_level`][scalebayes.evaluate.check_level]), implemented here by
  [`GaussianPredictive`][scalebayes.evaluate.GaussianPredictive] and
  [`SamplePredictive`][scalebayes.evaluate.SamplePredictive], and by the MCMC and PFN
  predictives.
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
from ._predictive import (
    GaussianPredictive,
    Predictive,
    PredictiveDistribution,
    SamplePredictive,
    check_level,
    check_probabilities,
)

__all__ = [
    "CRPS_QUANTILES",
    "INTERVAL_SCORES",
    "MSCE_LEVELS",
    "GaussianPredictive",
    "Predictive",
    "PredictiveDistribution",
    "SamplePredictive",
    "check_level",
    "check_probabilities",
    "crps",
    "interval_coverage",
    "log_likelihood",
    "msce",
    "rmsle",
    "score_curve",
    "summarise",
]
