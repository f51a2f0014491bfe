"""Joint scaling laws ``L(N, D)`` as NumPyro models with robust likelihoods on log loss.

A [`JointLaw`][scalebayes.compute.JointLaw] is a function ``fn(params, N, D) -> loss`` with a
NumPyro prior for each named parameter. [`chinchilla_law`][scalebayes.compute.chinchilla_law]
is Hoffmann et al.'s ``L = E + A / N^alpha + B / D^beta``, parametrised by ``log A`` and
``log B`` because ``A`` and ``B`` span orders of magnitude. Any other form is a
``JointLaw(fn, priors)``.

[`joint_law_model`][scalebayes.compute.joint_law_model] is the NumPyro model: the observed
``log loss`` of each run is ``log L(N, D)`` plus a residual from one of

- ``"huber"``: the [`Huber`][scalebayes.compute.Huber] density of Besiroglu et al. with
  ``delta = 1e-3`` and scale ``delta * sigma`` (so ``sigma`` is the scale of its Laplace-like
  tails, comparable across likelihoods);
- ``"student_t"``: Student-t with ``df`` degrees of freedom (4 by default) and scale ``sigma``;
- ``"normal"``: Gaussian with standard deviation ``sigma`` (not robust; for comparison).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jaxtyping import Array, ArrayLike

from ._allocation import Allocation, chinchilla_allocation
from ._likelihood import DELTA, Huber

LIKELIHOODS = ("huber", "student_t", "normal")
"""The residual densities of [`joint_law_model`][scalebayes.compute.joint_law_model]."""
RESERVED = ("sigma", "log_loss")
"""Site names the model uses itself; a law's parameters may not take them."""

LawFn = Callable[[Mapping[str, Array], Array, Array], Array]


def _closed_form(params: Mapping[str, Any], compute, flops_per_param_token: float) -> Allocation:
    return chinchilla_allocation(
        params["E"],
        jnp.exp(params["log_A"]),
        jnp.exp(params["log_B"]),
        params["alpha"],
        params["beta"],
        compute,
        flops_per_param_token=flops_per_param_token,
    )


@dataclass(frozen=True, eq=False)
class JointLaw:
    """A joint scaling law ``L(N, D)``: its function and a NumPyro prior per parameter.

    Attributes:
        fn: ``fn(params, N, D) -> loss`` (> 0), with ``params`` a dict of scalars keyed like
            ``priors``; written with ``jnp`` so that NumPyro can differentiate it.
        priors: a scalar NumPyro distribution per parameter name.
        name: a label for tables.
        formula: the formula as text.
        allocation: optional closed-form compute-optimal allocation
            ``allocation(params, compute, flops_per_param_token) -> Allocation``; without it
            the allocation is found numerically.
    """

    fn: LawFn
    priors: Mapping[str, dist.Distribution]
    name: str = "custom"
    formula: str = ""
    allocation: Callable[[Mapping[str, Any], Any, float], Allocation] | None = field(
        default=None, repr=False
    )

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"fn must be callable, got {type(self.fn).__name__}")
        if not isinstance(self.priors, Mapping) or not self.priors:
            raise TypeError("priors must be a non-empty dict {name: numpyro distribution}")
        for name, prior in self.priors.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"prior names must be identifiers, got {name!r}")
            if name in RESERVED:
                raise ValueError(f"{name!r} is used by the model itself; rename the parameter")
            if not isinstance(prior, dist.Distribution):
                raise TypeError(
                    f"prior of {name!r} must be a numpyro distribution, got {type(prior).__name__}"
                )
            if prior.batch_shape or prior.event_shape:
                raise ValueError(
                    f"prior of {name!r} must be scalar, got batch shape {prior.batch_shape} and "
                    f"event shape {prior.event_shape}"
                )
        object.__setattr__(self, "priors", MappingProxyType(dict(self.priors)))

    @property
    def param_names(self) -> tuple[str, ...]:
        """The law's parameter names, in the order of its priors."""
        return tuple(self.priors)

    def __call__(self, params: Mapping[str, ArrayLike], N: ArrayLike, D: ArrayLike) -> Array:
        """The law at ``(N, D)`` for one set of parameters."""
        return self.fn(params, jnp.asarray(N), jnp.asarray(D))


def _chinchilla(params: Mapping[str, Array], N: Array, D: Array) -> Array:
    return (
        params["E"]
        + jnp.exp(params["log_A"] - params["alpha"] * jnp.log(N))
        + jnp.exp(params["log_B"] - params["beta"] * jnp.log(D))
    )


def default_chinchilla_priors() -> dict[str, dist.Distribution]:
    """The default, weakly informative priors of the Chinchilla law.

    - ``E ~ HalfNormal(2)``: an irreducible loss of order 1 nat per token;
    - ``log_A, log_B ~ Normal(5, 5)``: ``A`` and ``B`` anywhere from ``e^-5`` to ``e^15``
      (95%), i.e. over eight orders of magnitude;
    - ``alpha, beta ~ HalfNormal(1)``: exponents of order 0.1 to 1.

    Returns:
        A fresh dict ``{name: distribution}``.
    """
    return {
        "E": dist.HalfNormal(2.0),
        "log_A": dist.Normal(5.0, 5.0),
        "log_B": dist.Normal(5.0, 5.0),
        "alpha": dist.HalfNormal(1.0),
        "beta": dist.HalfNormal(1.0),
    }


def chinchilla_law(priors: Mapping[str, dist.Distribution] | None = None) -> JointLaw:
    """Hoffmann et al.'s law ``L(N, D) = E + A / N^alpha + B / D^beta`` (in ``log A``, ``log B``).

    Its compute-optimal allocation is in closed form
    ([`chinchilla_allocation`][scalebayes.compute.chinchilla_allocation]).

    Args:
        priors: priors to replace among the defaults
            ([`default_chinchilla_priors`][scalebayes.compute.default_chinchilla_priors]),
            keyed by ``E``, ``log_A``, ``log_B``, ``alpha``, ``beta``.

    Returns:
        The [`JointLaw`][scalebayes.compute.JointLaw].
    """
    merged = default_chinchilla_priors()
    unknown = sorted(set(priors or {}) - set(merged))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; the law has {list(merged)}")
    merged.update(priors or {})
    return JointLaw(
        _chinchilla,
        merged,
        name="chinchilla",
        formula="L(N, D) = E + exp(log_A) / N^alpha + exp(log_B) / D^beta",
        allocation=_closed_form,
    )


def check_likelihood(likelihood: str, delta: float = DELTA, df: float = 4.0) -> str:
    """Validate a likelihood name and its hyper-parameters; return the name."""
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be finite and > 0, got {delta!r}")
    if not (math.isfinite(df) and df > 0):
        raise ValueError(f"df must be finite and > 0, got {df!r}")
    return likelihood


def residual_distribution(
    likelihood: str, log_pred: Array, sigma: Array, *, delta: float = DELTA, df: float = 4.0
) -> dist.Distribution:
    """The density of the observed log loss around ``log_pred`` (see the module docstring).

    Args:
        likelihood: ``"huber"``, ``"student_t"`` or ``"normal"``.
        log_pred: the law's log loss at each run.
        sigma: residual scale (> 0), in units of log loss.
        delta: the Huber threshold (``"huber"`` only).
        df: degrees of freedom (``"student_t"`` only).

    Returns:
        A NumPyro distribution with the batch shape of ``log_pred``.
    """
    if likelihood == "huber":
        return Huber(log_pred, delta * sigma, delta)
    if likelihood == "student_t":
        return dist.StudentT(df, log_pred, sigma)
    if likelihood == "normal":
        return dist.Normal(log_pred, sigma)
    raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")


def joint_law_model(
    N: ArrayLike,
    D: ArrayLike,
    log_loss: ArrayLike | None = None,
    *,
    law: JointLaw,
    likelihood: str = "huber",
    delta: float = DELTA,
    df: float = 4.0,
    sigma_prior: dist.Distribution | None = None,
) -> None:
    """NumPyro model: priors on the law's parameters and ``sigma``, robust likelihood on log loss.

    Sites: one per law parameter, ``sigma`` (residual scale, default prior
    ``HalfNormal(0.5)``) and the observed ``log_loss`` inside ``plate("runs", n_runs)``.

    Args:
        N: parameter counts, shape ``(n_runs,)``.
        D: training tokens, shape ``(n_runs,)``.
        log_loss: observed ``log`` losses, shape ``(n_runs,)``; ``None`` to sample them.
        law: the [`JointLaw`][scalebayes.compute.JointLaw].
        likelihood: ``"huber"``, ``"student_t"`` or ``"normal"``.
        delta: the Huber threshold.
        df: Student-t degrees of freedom.
        sigma_prior: prior of the residual scale ``sigma``.
    """
    N, D = jnp.asarray(N), jnp.asarray(D)
    params = {name: numpyro.sample(name, prior) for name, prior in law.priors.items()}
    log_pred = jnp.log(law.fn(params, N, D))
    sigma = numpyro.sample(
        "sigma", sigma_prior if sigma_prior is not None else dist.HalfNormal(0.5)
    )
    with numpyro.plate("runs", N.shape[0]):
        numpyro.sample(
            "log_loss",
            residual_distribution(likelihood, log_pred, sigma, delta=delta, df=df),
            obs=log_loss,
        )
