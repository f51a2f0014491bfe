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

__all__ = [
    "DOWN",
    "DOWN_DOWN",
    "DOWN_UP_DOWN",
    "FAMILY_MODELS",
    "FAMILY_NAMES",
    "ContextSize",
    "PriorBatch",
    "PriorConfig",
    "down_down_prior",
    "down_prior",
    "down_up_down_prior",
    "nslpfn_prior",
    "plot_prior_predictive",
    "sample_curves",
]
