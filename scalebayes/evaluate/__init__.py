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
  and [`msce`][scalebayes.evaluate.msce] score one curve
  ([`calibrated_msce`][scalebayes.evaluate.calibrated_msce]: the MSCE a calibrated forecaster
  scores on correlated targets, the reference to read an MSCE against), as do
  [`interval_coverage`][scalebayes.evaluate.interval_coverage] and
  [`crps`][scalebayes.evaluate.crps], and [`pit_histogram`][scalebayes.evaluate.pit_histogram]
  bins the probability integral transform of the targets (a PIT histogram; summed over
  curves, [`coverage_from_pit`][scalebayes.evaluate.coverage_from_pit] gives the reliability
  diagram);
  [`score_curve`][scalebayes.evaluate.score_curve] applies all that fit a prediction and
  [`summarise`][scalebayes.evaluate.summarise] aggregates over the curves of a dataset.

[`MixturePredictive`][scalebayes.evaluate.MixturePredictive] averages several predictives of
the same targets (a weighted mixture: model averaging across methods);
[`JoinedPredictive`][scalebayes.evaluate.JoinedPredictive] joins predictives of different
targets of one curve (each target answered by its own part).
[`ScaledPredictive`][scalebayes.evaluate.ScaledPredictive] and
[`conformal_scale`][scalebayes.evaluate.conformal_scale] recalibrate any predictive: one
split-conformal scale on log y around the median, fitted on reference curves.
[`plot_fans`][scalebayes.evaluate.plot_fans] draws any predictive as a fan chart over a
[`fan_grid`][scalebayes.evaluate.fan_grid].

Studies over many methods and datasets live one layer up, in ``scalebayes.studies``; MCMC
diagnostics (ArviZ conversion, convergence checks) in ``scalebayes.inference``. This package
depends only on ``scalebayes.data`` and the internal helpers.
"""

from ._fan import MAX_PANELS, fan_grid, per_curve_x, plot_fans
from ._joined import JoinedPredictive
from ._metrics import (
    CRPS_QUANTILES,
    INTERVAL_SCORES,
    MSCE_LEVELS,
    PIT_BINS,
    calibrated_msce,
    coverage_from_pit,
    crps,
    interval_coverage,
    log_likelihood,
    msce,
    pit_histogram,
    rmsle,
    score_curve,
    summarise,
)
from ._mixture import MixturePredictive
from ._predictive import (
    GaussianPredictive,
    Predictive,
    PredictiveDistribution,
    SamplePredictive,
    check_level,
    check_probabilities,
)
from ._recalibrate import WEIGHTINGS, ScaledPredictive, conformal_scale

__all__ = [
    "CRPS_QUANTILES",
    "INTERVAL_SCORES",
    "MAX_PANELS",
    "MSCE_LEVELS",
    "PIT_BINS",
    "WEIGHTINGS",
    "GaussianPredictive",
    "JoinedPredictive",
    "MixturePredictive",
    "Predictive",
    "PredictiveDistribution",
    "SamplePredictive",
    "ScaledPredictive",
    "calibrated_msce",
    "check_level",
    "check_probabilities",
    "conformal_scale",
    "coverage_from_pit",
    "crps",
    "fan_grid",
    "interval_coverage",
    "log_likelihood",
    "msce",
    "per_curve_x",
    "pit_histogram",
    "plot_fans",
    "rmsle",
    "score_curve",
    "summarise",
]
