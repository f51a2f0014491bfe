"""Compute-optimal planning: information-theoretic bounds, joint scaling laws and allocation.

- **Bounds** (Jeon & Van Roy): the reducible error as estimation ``I(F; F~) / T`` plus
  misspecification ``3 K (1 + d eps^2) / n`` ([`TwoLayerBound`][scalebayes.compute.TwoLayerBound]),
  and a differentiable solver for the compute-optimal allocation of any bound or law
  ([`optimal_allocation`][scalebayes.compute.optimal_allocation],
  [`allocation_exponent`][scalebayes.compute.allocation_exponent]).
- **Experiment**: a wide teacher network and trained students give the empirical
  compute-optimal exponent ([`run_teacher_experiment`][scalebayes.compute.run_teacher_experiment],
  [`compare_exponents`][scalebayes.compute.compare_exponents]).
- **Joint laws** ``L(N, D)``: NumPyro models with Besiroglu's Huber density or Student-t on
  log loss ([`fit_joint_law`][scalebayes.compute.fit_joint_law]), the posterior of ``N*(C)``,
  ``D*(C)``, ``L*(C)``
  ([`JointLawPosterior.allocation`][scalebayes.compute.JointLawPosterior.allocation]), and
  Besiroglu's multi-start Huber fit
  ([`fit_joint_law_mle`][scalebayes.compute.fit_joint_law_mle]).
- **Data**: runs from CSV files ([`read_runs_csv`][scalebayes.compute.read_runs_csv]) and the
  bundled Chinchilla runs ([`chinchilla_runs`][scalebayes.compute.chinchilla_runs]).

The names are imported on first use, so that ``import scalebayes.compute`` (and the command
line) does not load JAX and NumPyro until they are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._allocation import (
        Allocation,
        ExponentFit,
        allocation_exponent,
        chinchilla_allocation,
        optimal_allocation,
    )
    from ._bounds import (
        MISSPECIFICATION_CONSTANT,
        TwoLayerBound,
        estimation_error,
        misspecification_error,
        two_layer_mutual_information,
    )
    from ._joint_law import (
        LIKELIHOODS,
        JointLaw,
        chinchilla_law,
        default_chinchilla_priors,
        joint_law_model,
        residual_distribution,
    )
    from ._likelihood import DELTA, Huber, huber_log_normaliser, huber_loss
    from ._mle import (
        JointLawMLE,
        besiroglu_grid,
        estimates_table,
        fit_joint_law_mle,
        huber_objective,
        small_grid,
    )
    from ._posterior import (
        AllocationPosterior,
        ConvergenceWarning,
        JointLawPosterior,
        fit_joint_law,
    )
    from ._reference import (
        BESIROGLU_2024,
        BESIROGLU_2024_ALLOCATION,
        BESIROGLU_2024_SE,
        CHINCHILLA_BUDGET,
        HOFFMANN_2022,
        HOFFMANN_2022_ALLOCATION,
        HOFFMANN_2022_UNROUNDED,
    )
    from ._runs import Runs, chinchilla_runs, read_runs_csv, validate_runs
    from ._teacher import (
        PAPER_EXPONENT,
        ExponentComparison,
        TeacherConfig,
        TeacherResult,
        compare_exponents,
        run_teacher_experiment,
    )

__all__ = [
    "BESIROGLU_2024",
    "BESIROGLU_2024_ALLOCATION",
    "BESIROGLU_2024_SE",
    "CHINCHILLA_BUDGET",
    "DELTA",
    "HOFFMANN_2022",
    "HOFFMANN_2022_ALLOCATION",
    "HOFFMANN_2022_UNROUNDED",
    "LIKELIHOODS",
    "MISSPECIFICATION_CONSTANT",
    "PAPER_EXPONENT",
    "Allocation",
    "AllocationPosterior",
    "ConvergenceWarning",
    "ExponentComparison",
    "ExponentFit",
    "Huber",
    "JointLaw",
    "JointLawMLE",
    "JointLawPosterior",
    "Runs",
    "TeacherConfig",
    "TeacherResult",
    "TwoLayerBound",
    "allocation_exponent",
    "besiroglu_grid",
    "chinchilla_allocation",
    "chinchilla_law",
    "chinchilla_runs",
    "compare_exponents",
    "default_chinchilla_priors",
    "estimates_table",
    "estimation_error",
    "fit_joint_law",
    "fit_joint_law_mle",
    "huber_log_normaliser",
    "huber_loss",
    "huber_objective",
    "joint_law_model",
    "misspecification_error",
    "optimal_allocation",
    "read_runs_csv",
    "residual_distribution",
    "run_teacher_experiment",
    "small_grid",
    "two_layer_mutual_information",
    "validate_runs",
]

# public name -> private module that defines it
_MODULES = {
    "_allocation": (
        "Allocation",
        "ExponentFit",
        "allocation_exponent",
        "chinchilla_allocation",
        "optimal_allocation",
    ),
    "_bounds": (
        "MISSPECIFICATION_CONSTANT",
        "TwoLayerBound",
        "estimation_error",
        "misspecification_error",
        "two_layer_mutual_information",
    ),
    "_joint_law": (
        "LIKELIHOODS",
        "JointLaw",
        "chinchilla_law",
        "default_chinchilla_priors",
        "joint_law_model",
        "residual_distribution",
    ),
    "_likelihood": ("DELTA", "Huber", "huber_log_normaliser", "huber_loss"),
    "_mle": (
        "JointLawMLE",
        "besiroglu_grid",
        "estimates_table",
        "fit_joint_law_mle",
        "huber_objective",
        "small_grid",
    ),
    "_posterior": (
        "AllocationPosterior",
        "ConvergenceWarning",
        "JointLawPosterior",
        "fit_joint_law",
    ),
    "_reference": (
        "BESIROGLU_2024",
        "BESIROGLU_2024_ALLOCATION",
        "BESIROGLU_2024_SE",
        "CHINCHILLA_BUDGET",
        "HOFFMANN_2022",
        "HOFFMANN_2022_ALLOCATION",
        "HOFFMANN_2022_UNROUNDED",
    ),
    "_runs": ("Runs", "chinchilla_runs", "read_runs_csv", "validate_runs"),
    "_teacher": (
        "PAPER_EXPONENT",
        "ExponentComparison",
        "TeacherConfig",
        "TeacherResult",
        "compare_exponents",
        "run_teacher_experiment",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _MODULES)
