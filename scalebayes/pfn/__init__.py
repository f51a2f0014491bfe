"""The prior-data fitted network (PFN): one forward pass from a few points of a scaling curve
to a calibrated predictive distribution at larger x.

- **Ask**: [`extrapolate`][scalebayes.pfn.extrapolate] answers one curve's question as the
  command line does, each query by its distance (within ``FAR_SWITCH`` both shipped models
  weighted per curve by a back-test on its own runs and stretched by ``NEAR_SCALE``, a
  [`StackedPrediction`][scalebayes.pfn.StackedPrediction]; the far model beyond);
  [`predict_shipped`][scalebayes.pfn.predict_shipped] does so for many curves at once.
- **Predict**: [`PFN.load`][scalebayes.pfn.PFN.load] reads the shipped model (or any
  checkpoint) and [`PFN.predict`][scalebayes.pfn.PFN.predict] returns a
  [`PFNPrediction`][scalebayes.pfn.PFNPrediction] (median, mean, quantile, interval,
  log_prob, sample), batched over curves by [`PFN.predict_many`][scalebayes.pfn.PFN.predict_many];
  a query beyond the model's [`reach`][scalebayes.pfn.PFN.reach] gives a
  [`ReachWarning`][scalebayes.pfn.ReachWarning].
- **Model**: the NSL-PFN encoder [`PFNModel`][scalebayes.pfn.PFNModel] in named sizes
  ([`CONFIGS`][scalebayes.pfn.CONFIGS]) and its output, the
  [`BarDistribution`][scalebayes.pfn.BarDistribution] with half-normal tails;
  [`ensemble`][scalebayes.pfn.ensemble] averages models that share bar borders into one
  ([`EnsembleModel`][scalebayes.pfn.EnsembleModel]);
  [`predict_stacked`][scalebayes.pfn.predict_stacked] averages any models per curve, each
  weighted by how well it predicts the curve's own later runs.
- **Train**: [`train`][scalebayes.pfn.train] with a [`TrainConfig`][scalebayes.pfn.TrainConfig]
  draws prior batches inside the compiled step and checkpoints atomically (resumable bit for
  bit); [`export_weights`][scalebayes.pfn.export_weights] strips a run to what ships and
  [`read_checkpoint_meta`][scalebayes.pfn.read_checkpoint_meta] reads a checkpoint's record.
- **Study method**: [`pfn_method`][scalebayes.pfn.pfn_method] adapts a model to the
  comparison studies (``scalebayes.studies``), reading each curve's y with
  [`protocol_scale`][scalebayes.pfn.protocol_scale].

Names are imported on first use, so ``import scalebayes.pfn`` (and the command line) loads
JAX only when a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._answer import FlatCurveWarning, extrapolate
    from ._bar import BarDistribution, fit_tail_scales, make_borders
    from ._checkpoint import CheckpointError, read_checkpoint_meta
    from ._ensemble import EnsembleModel, ensemble
    from ._method import PFNMethod, pfn_method, protocol_scale
    from ._model import CONFIGS, PFNConfig, PFNModel, count_parameters, get_config
    from ._plot import plot_fan, shipped_fans
    from ._predict import (
        DEFAULT_MODEL,
        FAR_MODEL,
        FAR_SWITCH,
        NSLPFN_REACH,
        NSLPFN_SPAN,
        PFN,
        SPAN_GUARD,
        Y_SPAN_GUARD,
        PFNPrediction,
        ReachWarning,
        SpanWarning,
    )
    from ._stack import (
        NEAR_SCALE,
        STACK_RATIO,
        StackedPrediction,
        backtest_weights,
        predict_each,
        predict_shipped,
        predict_stacked,
    )
    from ._train import (
        LockedError,
        TrainConfig,
        TrainState,
        export_weights,
        init_state,
        make_step,
        run_keys,
        train,
    )

__all__ = [
    "CONFIGS",
    "DEFAULT_MODEL",
    "FAR_MODEL",
    "FAR_SWITCH",
    "NEAR_SCALE",
    "NSLPFN_REACH",
    "NSLPFN_SPAN",
    "PFN",
    "SPAN_GUARD",
    "STACK_RATIO",
    "Y_SPAN_GUARD",
    "BarDistribution",
    "CheckpointError",
    "EnsembleModel",
    "FlatCurveWarning",
    "LockedError",
    "PFNConfig",
    "PFNMethod",
    "PFNModel",
    "PFNPrediction",
    "ReachWarning",
    "SpanWarning",
    "StackedPrediction",
    "TrainConfig",
    "TrainState",
    "backtest_weights",
    "count_parameters",
    "ensemble",
    "export_weights",
    "extrapolate",
    "fit_tail_scales",
    "get_config",
    "init_state",
    "make_borders",
    "make_step",
    "pfn_method",
    "plot_fan",
    "predict_each",
    "predict_shipped",
    "predict_stacked",
    "protocol_scale",
    "read_checkpoint_meta",
    "run_keys",
    "shipped_fans",
    "train",
]

# private module -> the public names it defines
_MODULES = {
    "_answer": ("FlatCurveWarning", "extrapolate"),
    "_bar": ("BarDistribution", "fit_tail_scales", "make_borders"),
    "_checkpoint": ("CheckpointError", "read_checkpoint_meta"),
    "_ensemble": ("EnsembleModel", "ensemble"),
    "_method": ("PFNMethod", "pfn_method", "protocol_scale"),
    "_model": ("CONFIGS", "PFNConfig", "PFNModel", "count_parameters", "get_config"),
    "_plot": ("plot_fan", "shipped_fans"),
    "_stack": (
        "NEAR_SCALE",
        "STACK_RATIO",
        "StackedPrediction",
        "backtest_weights",
        "predict_each",
        "predict_shipped",
        "predict_stacked",
    ),
    "_predict": (
        "DEFAULT_MODEL",
        "FAR_MODEL",
        "FAR_SWITCH",
        "NSLPFN_REACH",
        "NSLPFN_SPAN",
        "PFN",
        "SPAN_GUARD",
        "PFNPrediction",
        "ReachWarning",
        "SpanWarning",
        "Y_SPAN_GUARD",
    ),
    "_train": (
        "LockedError",
        "TrainConfig",
        "TrainState",
        "export_weights",
        "init_state",
        "make_step",
        "run_keys",
        "train",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _MODULES)
