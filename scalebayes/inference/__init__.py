"""Inference: fast multi-start point fits and vectorised NUTS over many curves.

- **Point fits**: [`fit_curves`][scalebayes.inference.fit_curves] fits a family to every
  curve of a batch at once (multi-start Levenberg-Marquardt);
  [`predict_fits`][scalebayes.inference.predict_fits] evaluates many fits in one compiled call.
- **MCMC**: [`bayes_model`][scalebayes.inference.bayes_model] gives the Bayesian M3, M4 and
  BNSL models (NumPyro, weakly informative priors in normalised units, noise on log y);
  [`sample_posterior`][scalebayes.inference.sample_posterior] runs NUTS for every curve of a
  dataset in one compiled call (own chains, step sizes and mass matrices per curve) and
  returns an [`MCMCResult`][scalebayes.inference.MCMCResult], whose
  [`predictive`][scalebayes.inference.MCMCResult.predictive] gives an
  [`MCMCPredictive`][scalebayes.inference.MCMCPredictive] per curve;
  [`mcmc_method`][scalebayes.inference.mcmc_method] wraps it as a study method
  (``mcmc-m4``, ``mcmc-bnsl``).
- **Diagnostics**: [`to_datatree`][scalebayes.inference.to_datatree] converts an MCMC result
  to an ArviZ ``DataTree`` and [`check_convergence`][scalebayes.inference.check_convergence]
  checks every curve's R-hat, ESS and divergences, warning with a
  [`ConvergenceWarning`][scalebayes.inference.ConvergenceWarning] that names the curves that
  fail (ArviZ is imported only when these are called); [`diagnose`][scalebayes.inference.diagnose]
  gives the same checks for one posterior.
- **One MCMC driver**: both samplers run the same NUTS chain (NumPyro's functional kernel in
  one ``lax.scan``); [`sample_model`][scalebayes.inference.sample_model] samples any one
  NumPyro model with it (the compute-optimal joint laws use it).

The MCMC names load NumPyro on first use, so the point fits import without it.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .._mcmc_names import NOISE_SUFFIXES
from ._lm import LMState, levenberg_marquardt
from ._point import (
    DEFAULT_RIDGE,
    MAX_BREAKS,
    POINT_FAMILIES,
    PointFit,
    UntestedBreakWarning,
    fit_curve,
    fit_curves,
    min_fit_points,
    predict_fits,
    untested_break,
)

if TYPE_CHECKING:
    from ._bayes_base import NOISE_MODELS, BayesModel, CurveData, curve_data
    from ._bayes_models import BAYES_FAMILIES, MAX_BAYES_BREAKS, bayes_model
    from ._diagnostics import (
        ESS_PER_CHAIN,
        MIXING,
        R_HAT_MAX,
        ConvergenceReport,
        ConvergenceWarning,
        CurveCheck,
        Diagnostics,
        check_convergence,
        check_mixing,
        diagnose,
        to_datatree,
    )
    from ._mcmc import sample_posterior
    from ._mcmc_methods import MCMCMethod, curve_keys, mcmc_method
    from ._mcmc_predictive import MCMCPredictive
    from ._mcmc_result import MCMCResult
    from ._sample_model import ModelPosterior, sample_model

__all__ = [
    "BAYES_FAMILIES",
    "DEFAULT_RIDGE",
    "ESS_PER_CHAIN",
    "MAX_BAYES_BREAKS",
    "MAX_BREAKS",
    "MIXING",
    "NOISE_MODELS",
    "NOISE_SUFFIXES",
    "POINT_FAMILIES",
    "R_HAT_MAX",
    "BayesModel",
    "ConvergenceReport",
    "ConvergenceWarning",
    "CurveCheck",
    "CurveData",
    "Diagnostics",
    "LMState",
    "MCMCMethod",
    "MCMCPredictive",
    "MCMCResult",
    "ModelPosterior",
    "PointFit",
    "UntestedBreakWarning",
    "bayes_model",
    "check_convergence",
    "check_mixing",
    "curve_data",
    "curve_keys",
    "diagnose",
    "fit_curve",
    "fit_curves",
    "levenberg_marquardt",
    "mcmc_method",
    "min_fit_points",
    "predict_fits",
    "sample_model",
    "sample_posterior",
    "to_datatree",
    "untested_break",
]

# the MCMC names import NumPyro (and through it tqdm.auto): loaded on first use
_MODULES = {
    "_lm": ("LMState", "levenberg_marquardt"),
    "._mcmc_names": ("NOISE_SUFFIXES",),  # scalebayes._mcmc_names (the CLI reads it too)
    "_point": (
        "DEFAULT_RIDGE",
        "MAX_BREAKS",
        "POINT_FAMILIES",
        "PointFit",
        "UntestedBreakWarning",
        "fit_curve",
        "fit_curves",
        "min_fit_points",
        "predict_fits",
        "untested_break",
    ),
    "_bayes_base": ("NOISE_MODELS", "BayesModel", "CurveData", "curve_data"),
    "_bayes_models": ("BAYES_FAMILIES", "MAX_BAYES_BREAKS", "bayes_model"),
    "_mcmc": ("sample_posterior",),
    "_diagnostics": (
        "ESS_PER_CHAIN",
        "MIXING",
        "R_HAT_MAX",
        "ConvergenceReport",
        "ConvergenceWarning",
        "CurveCheck",
        "Diagnostics",
        "check_convergence",
        "check_mixing",
        "diagnose",
        "to_datatree",
    ),
    "_mcmc_methods": ("MCMCMethod", "curve_keys", "mcmc_method"),
    "_mcmc_predictive": ("MCMCPredictive",),
    "_mcmc_result": ("MCMCResult",),
    "_sample_model": ("ModelPosterior", "sample_model"),
}
__getattr__, __dir__ = lazy_exports(globals(), _MODULES)
