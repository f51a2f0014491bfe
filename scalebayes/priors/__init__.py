"""Priors over scaling curves: the NSL-PFN prior as NumPyro models, and a fast generator.

- [`nslpfn_prior`][scalebayes.priors.nslpfn_prior] and the per-family models
  [`down_prior`][scalebayes.priors.down_prior],
  [`down_down_prior`][scalebayes.priors.down_down_prior] and
  [`down_up_down_prior`][scalebayes.priors.down_up_down_prior] draw one curve per call; every
  draw is a named sample site. Hyperparameters: [`PriorConfig`][scalebayes.priors.PriorConfig].
- [`sample_curves`][scalebayes.priors.sample_curves] draws batches of padded curves
  ([`PriorBatch`][scalebayes.priors.PriorBatch]) with the release's rejection loop, compiled.
- [`plot_prior_predictive`][scalebayes.priors.plot_prior_predictive] plots curves of each
  family.

The scale-free prior over log-spaced curves, for far extrapolation (x relative to the last
context point, on a log scale; targets up to 1.1x-1000x beyond it, the nearest of them
just beyond the context):

- [`scalefree_prior`][scalebayes.priors.scalefree_prior] and the per-family models
  [`scalefree_down_prior`][scalebayes.priors.scalefree_down_prior],
  [`scalefree_down_down_prior`][scalebayes.priors.scalefree_down_down_prior] and
  [`scalefree_down_up_down_prior`][scalebayes.priors.scalefree_down_up_down_prior], with
  hyperparameters [`ScaleFreePriorConfig`][scalebayes.priors.ScaleFreePriorConfig]; a curve's
  shape is a [`ScaleFreeCurve`][scalebayes.priors.ScaleFreeCurve], evaluated by
  [`scalefree_log_curve`][scalebayes.priors.scalefree_log_curve] and
  [`scalefree_slope`][scalebayes.priors.scalefree_slope].
- [`sample_scalefree_curves`][scalebayes.priors.sample_scalefree_curves] draws batches
  ([`ScaleFreeBatch`][scalebayes.priors.ScaleFreeBatch]) without rejection;
  [`end_slopes`][scalebayes.priors.end_slopes] and
  [`plot_scalefree_prior`][scalebayes.priors.plot_scalefree_prior] summarise them.
"""

from ._config import PriorConfig
from ._curve_prior import (
    DOWN,
    DOWN_DOWN,
    DOWN_UP_DOWN,
    FAMILY_MODELS,
    FAMILY_NAMES,
    ContextSize,
    down_down_prior,
    down_prior,
    down_up_down_prior,
    nslpfn_prior,
)
from ._generator import PriorBatch, sample_curves
from ._plot import plot_prior_predictive
from ._scalefree import (
    SCALEFREE_FAMILY_MODELS,
    ScaleFreeCurve,
    ScaleFreePriorConfig,
    scalefree_down_down_prior,
    scalefree_down_prior,
    scalefree_down_up_down_prior,
    scalefree_log_curve,
    scalefree_prior,
    scalefree_slope,
)
from ._scalefree_generator import (
    ScaleFreeBatch,
    end_slopes,
    plot_scalefree_prior,
    sample_scalefree_curves,
)

__all__ = [
    "DOWN",
    "DOWN_DOWN",
    "DOWN_UP_DOWN",
    "FAMILY_MODELS",
    "FAMILY_NAMES",
    "SCALEFREE_FAMILY_MODELS",
    "ContextSize",
    "PriorBatch",
    "PriorConfig",
    "ScaleFreeBatch",
    "ScaleFreeCurve",
    "ScaleFreePriorConfig",
    "down_down_prior",
    "down_prior",
    "down_up_down_prior",
    "end_slopes",
    "nslpfn_prior",
    "plot_prior_predictive",
    "plot_scalefree_prior",
    "sample_curves",
    "sample_scalefree_curves",
    "scalefree_down_down_prior",
    "scalefree_down_prior",
    "scalefree_down_up_down_prior",
    "scalefree_log_curve",
    "scalefree_prior",
    "scalefree_slope",
]
