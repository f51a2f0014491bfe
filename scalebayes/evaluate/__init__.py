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
- [`run_study`][scalebayes.evaluate.run_study] scores registered methods
  ([`METHODS`][scalebayes.evaluate.METHODS], extended with
  [`register_method`][scalebayes.evaluate.register_method]) on benchmarks and CSV files,
  writing tidy, resumable results; the MCMC baselines ``mcmc-m3``, ``mcmc-m4`` and
  ``mcmc-bnsl`` are registered there too.
- [`to_datatree`][scalebayes.evaluate.to_datatree] converts an MCMC result to an ArviZ
  ``DataTree`` and [`check_convergence`][scalebayes.evaluate.check_convergence] checks every
  curve's R-hat, ESS and divergences, warning with a
  [`ConvergenceWarning`][scalebayes.evaluate.ConvergenceWarning] that names the curves that
  fail (ArviZ is imported only when these are called).
"""

from ._arviz import ConvergenceReport, ConvergenceWarning, check_convergence, to_datatree
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
from ._study import METHODS, PER_CURVE_COLUMNS, Method, StudyResult, register_method, run_study

__all__ = [
    "CRPS_QUANTILES",
    "INTERVAL_SCORES",
    "METHODS",
    "MSCE_LEVELS",
    "PER_CURVE_COLUMNS",
    "ConvergenceReport",
    "ConvergenceWarning",
    "GaussianPredictive",
    "Method",
    "PredictiveDistribution",
    "SamplePredictive",
    "StudyResult",
    "check_convergence",
    "crps",
    "interval_coverage",
    "log_likelihood",
    "msce",
    "register_method",
    "rmsle",
    "run_study",
    "score_curve",
    "summarise",
    "to_datatree",
]
