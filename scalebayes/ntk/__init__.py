"""Infinite-width uncertainty: NTK ensemble loss mean and variance as data grows.

How uncertain is a trained network's test loss because of its random initialisation, and
how does that scale with the training-set size ``N``? For MLPs in NTK parameterisation the
infinite ensemble of infinite-width networks trained on MSE has Gaussian test outputs
(neural-tangents' ``gradient_descent_mse_ensemble``), and the mean ``mu_L``, standard
deviation ``sigma_L`` and coefficient of variation ``eps_L = sigma_L / mu_L`` of the test
loss follow exactly from Gaussian quadratic forms (Elsharkawy, Kahn and Hooberman,
arXiv:2503.05938). Finite-width Equinox ensembles trained by gradient descent are the check.

- **Kernels**: [`MLPConfig`][scalebayes.ntk.MLPConfig] and its NNGP/NTK
  ([`mlp_kernels`][scalebayes.ntk.mlp_kernels]) from neural-tangents 0.6.5, loaded on current
  JAX without TensorFlow by [`neural_tangents`][scalebayes.ntk.neural_tangents].
- **Ensembles**: [`infinite_ensemble`][scalebayes.ntk.infinite_ensemble] (mean and full test
  covariance at ``t = inf`` or finite ``t``), [`loss_statistics`][scalebayes.ntk.loss_statistics]
  (exact ``mu_L``, ``sigma_L``, ``eps_L``); finite widths by
  [`init_ensemble`][scalebayes.ntk.init_ensemble] and
  [`train_ensemble`][scalebayes.ntk.train_ensemble].
- **Studies**: [`infinite_width_study`][scalebayes.ntk.infinite_width_study],
  [`finite_width_study`][scalebayes.ntk.finite_width_study],
  [`run_ntk_study`][scalebayes.ntk.run_ntk_study]; power laws with bootstrap intervals
  ([`fit_power_law`][scalebayes.ntk.fit_power_law]) and the ``eps_L`` plateau
  ([`find_plateau`][scalebayes.ntk.find_plateau]).
- **Data**: [`load_digits`][scalebayes.ntk.load_digits],
  [`calorimeter_showers`][scalebayes.ntk.calorimeter_showers],
  [`load_npz`][scalebayes.ntk.load_npz].

The names are imported on first use, so ``import scalebayes.ntk`` (and the command line)
loads neither JAX nor neural-tangents until they are needed; TensorFlow is never imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._compat import (
        NT_VERSION,
        applied_shims,
        neural_tangents,
    )
    from ._data import (
        DATASETS,
        Dataset,
        calorimeter_showers,
        load_dataset,
        load_digits,
        load_npz,
    )
    from ._finite import (
        FiniteMLP,
        ensemble_losses,
        init_ensemble,
        train_ensemble,
    )
    from ._fits import (
        Plateau,
        PowerLawFit,
        find_plateau,
        fit_power_law,
    )
    from ._kernels import (
        ACTIVATIONS,
        Kernels,
        MLPConfig,
        mlp_kernels,
        stax_mlp,
    )
    from ._loss import (
        LossStats,
        loss_statistics,
        sample_losses,
    )
    from ._predict import (
        EnsemblePrediction,
        ensemble_from_kernels,
        infinite_ensemble,
        max_stable_learning_rate,
    )
    from ._report import (
        NTKStudy,
        run_ntk_study,
    )
    from ._study import (
        ScalingCurve,
        finite_width_study,
        infinite_width_study,
        log_sizes,
    )

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "NT_VERSION",
    "Dataset",
    "EnsemblePrediction",
    "FiniteMLP",
    "Kernels",
    "LossStats",
    "MLPConfig",
    "NTKStudy",
    "Plateau",
    "PowerLawFit",
    "ScalingCurve",
    "applied_shims",
    "calorimeter_showers",
    "ensemble_from_kernels",
    "ensemble_losses",
    "find_plateau",
    "finite_width_study",
    "fit_power_law",
    "infinite_ensemble",
    "infinite_width_study",
    "init_ensemble",
    "load_dataset",
    "load_digits",
    "load_npz",
    "log_sizes",
    "loss_statistics",
    "max_stable_learning_rate",
    "mlp_kernels",
    "neural_tangents",
    "run_ntk_study",
    "sample_losses",
    "stax_mlp",
    "train_ensemble",
]

# private module -> the public names it defines
_MODULES = {
    "_compat": ("NT_VERSION", "applied_shims", "neural_tangents"),
    "_data": (
        "DATASETS",
        "Dataset",
        "calorimeter_showers",
        "load_dataset",
        "load_digits",
        "load_npz",
    ),
    "_finite": ("FiniteMLP", "ensemble_losses", "init_ensemble", "train_ensemble"),
    "_fits": ("Plateau", "PowerLawFit", "find_plateau", "fit_power_law"),
    "_kernels": ("ACTIVATIONS", "Kernels", "MLPConfig", "mlp_kernels", "stax_mlp"),
    "_loss": ("LossStats", "loss_statistics", "sample_losses"),
    "_predict": (
        "EnsemblePrediction",
        "ensemble_from_kernels",
        "infinite_ensemble",
        "max_stable_learning_rate",
    ),
    "_report": ("NTKStudy", "run_ntk_study"),
    "_study": ("ScalingCurve", "finite_width_study", "infinite_width_study", "log_sizes"),
}
__getattr__, __dir__ = lazy_exports(globals(), _MODULES)
