"""Robust likelihoods for log-loss residuals: the Huber-shaped density of Besiroglu et al.

Hoffmann et al. (2022) fitted the Chinchilla law by minimising the Huber loss ``rho_delta`` of
the residuals ``log L_hat - log L`` with ``delta = 1e-3``; Besiroglu et al. (2024) read that as
maximum likelihood under the density ``exp(-rho_delta(z)) / Z(delta)`` of the standardised
residual ``z = (r - loc) / scale`` with a free scale. [`Huber`][scalebayes.compute.Huber] is that
density as a normalised NumPyro distribution. Its normalising constant is

    Z(delta) = sqrt(2 pi) (2 Phi(delta) - 1) + 2 exp(-delta^2 / 2) / delta,

the Gaussian core on ``|z| <= delta`` plus two exponential tails. With ``delta = 1e-3`` almost
all mass is in the tails, so the density is, to within 0.1%, a Laplace density of scale
``scale / delta``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import erf, erfinv
from jaxtyping import Array, ArrayLike
from numpyro.distributions import Distribution, constraints
from numpyro.distributions.util import promote_shapes, validate_sample

from .._checks import is_real

DELTA = 1e-3
"""Hoffmann's and Besiroglu's Huber threshold."""


def huber_loss(residual: ArrayLike, delta: float = DELTA) -> Array:
    """The Huber function: ``r^2 / 2`` for ``|r| <= delta``, else ``delta (|r| - delta / 2)``.

    Args:
        residual: the residuals (any shape).
        delta: the threshold (> 0).

    Returns:
        ``rho_delta`` elementwise.
    """
    r = jnp.abs(jnp.asarray(residual))
    return jnp.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))


def huber_log_normaliser(delta: float) -> float:
    """``log Z(delta)`` of the standardised Huber density (see the module docstring).

    Args:
        delta: the threshold (> 0).

    Returns:
        ``log(sqrt(2 pi) erf(delta / sqrt 2) + 2 exp(-delta^2 / 2) / delta)``.
    """
    core = math.sqrt(2.0 * math.pi) * math.erf(delta / math.sqrt(2.0))
    tails = 2.0 * math.exp(-0.5 * delta**2) / delta
    return math.log(core + tails)


class Huber(Distribution):
    """The Huber-shaped density ``exp(-rho_delta((x - loc) / scale)) / (scale Z(delta))``.

    A proper, normalised density on the real line (Besiroglu et al. 2024, used for residuals
    of log loss): Gaussian within ``delta`` scales of ``loc``, exponential (Laplace) tails
    outside. ``delta`` is a fixed hyper-parameter; ``loc`` and ``scale`` broadcast.

    Args:
        loc: location (the predicted log loss).
        scale: scale (> 0) of the standardised residual.
        delta: the Huber threshold in standardised units (a Python float > 0).
        validate_args: NumPyro's argument validation switch.
    """

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    reparametrized_params: ClassVar[list[str]] = ["loc", "scale"]
    pytree_data_fields = ("loc", "scale")
    pytree_aux_fields = ("delta",)

    def __init__(
        self,
        loc: ArrayLike = 0.0,
        scale: ArrayLike = 1.0,
        delta: float = DELTA,
        *,
        validate_args: bool | None = None,
    ):
        if not is_real(delta):
            raise TypeError(f"delta must be a real number, got {type(delta).__name__}")
        if not (math.isfinite(delta) and delta > 0):
            raise ValueError(f"delta must be finite and > 0, got {delta!r}")
        self.delta = float(delta)
        self.loc, self.scale = promote_shapes(loc, scale)
        batch_shape = lax.broadcast_shapes(jnp.shape(loc), jnp.shape(scale))
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @property
    def core_probability(self) -> float:
        """``P(|z| <= delta)``: the mass of the Gaussian core."""
        core = math.sqrt(2.0 * math.pi) * math.erf(self.delta / math.sqrt(2.0))
        return core / math.exp(huber_log_normaliser(self.delta))

    @validate_sample
    def log_prob(self, value: ArrayLike) -> Array:
        """``-rho_delta((x - loc) / scale) - log scale - log Z(delta)``."""
        z = (value - self.loc) / self.scale
        return -huber_loss(z, self.delta) - jnp.log(self.scale) - huber_log_normaliser(self.delta)

    def cdf(self, value: ArrayLike) -> Array:
        """The cumulative distribution function (tails in closed form, core by ``erf``)."""
        d = self.delta
        z = (value - self.loc) / self.scale
        norm = math.exp(huber_log_normaliser(d))
        # integral of exp(-d (|t| - d/2)) over t <= -|z| (for |z| >= d), divided by Z
        tail = jnp.exp(-d * jnp.abs(z) + 0.5 * d * d) / (d * norm)
        lower_tail = math.exp(-0.5 * d * d) / (d * norm)  # the mass below -delta
        core = math.sqrt(0.5 * math.pi) / norm * (erf(z / math.sqrt(2.0)) + math.erf(d / 2**0.5))
        return jnp.where(z <= -d, tail, jnp.where(z >= d, 1.0 - tail, lower_tail + core))

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        """Draw samples: the core (a truncated normal) or a tail (a shifted exponential).

        Args:
            key: a JAX PRNG key.
            sample_shape: leading sample dimensions.

        Returns:
            Samples of shape ``sample_shape + batch_shape``.
        """
        shape = sample_shape + self.batch_shape
        k_part, k_core, k_tail, k_sign = jax.random.split(key, 4)
        d = self.delta
        dtype = jnp.result_type(self.loc, self.scale, float)
        in_core = jax.random.uniform(k_part, shape, dtype) < self.core_probability
        # core: z = sqrt(2) erfinv(u erf(d / sqrt 2)) with u ~ U(-1, 1) is N(0, 1) cut to [-d, d]
        u = jax.random.uniform(k_core, shape, dtype, minval=-1.0, maxval=1.0)
        z_core = math.sqrt(2.0) * erfinv(u * math.erf(d / math.sqrt(2.0)))
        # tails: |z| - d ~ Exponential(rate d), with a random sign
        z_tail = d + jax.random.exponential(k_tail, shape, dtype) / d
        sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, shape), 1.0, -1.0)
        z = jnp.where(in_core, z_core, sign * z_tail)
        return self.loc + self.scale * z

    @property
    def mean(self) -> Array:
        """The location (the density is symmetric about it)."""
        return jnp.broadcast_to(self.loc, self.batch_shape)

    @property
    def variance(self) -> Array:
        """``scale^2 E[z^2]`` with ``E[z^2]`` from the core and tail integrals."""
        d = self.delta
        norm = math.exp(huber_log_normaliser(d))
        # int_{-d}^{d} z^2 phi-kernel = sqrt(2 pi) erf(d/sqrt2) - 2 d exp(-d^2/2)
        core = math.sqrt(2 * math.pi) * math.erf(d / math.sqrt(2)) - 2 * d * math.exp(-d * d / 2)
        # 2 int_d^inf z^2 exp(-d (z - d/2)) dz = 2 exp(-d^2/2) (d + 2/d + 2/d^3)
        tails = 2 * math.exp(-0.5 * d * d) * (d + 2 / d + 2 / d**3)
        second_moment = (core + tails) / norm
        return jnp.broadcast_to(self.scale**2 * second_moment, self.batch_shape)
