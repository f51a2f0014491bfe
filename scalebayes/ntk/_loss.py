"""Exact mean and spread of the test loss over initialisations (Gaussian quadratic forms).

The trained ensemble's test outputs are Gaussian: for each of ``k`` channels the residual
``r_c = f_c(x_test) - y_c ~ N(m_c, Sigma)``, channels independent with one shared ``Sigma``.
For the mean squared error ``L = s * sum_c r_c^T r_c`` with ``s = 1 / (M k)``, Isserlis'
theorem gives

    mu_L      = s * ( ||M_res||_F^2 + k tr Sigma )
    sigma_L^2 = s^2 * ( 2 k tr(Sigma^2) + 4 tr(M_res^T Sigma M_res) )
    eps_L     = sigma_L / mu_L        (independent of s)

``tr(Sigma^2)`` needs the full test-by-test covariance: network outputs are strongly
correlated across inputs, and the diagonal alone badly underestimates ``sigma_L``.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._predict import EnsemblePrediction

__all__ = ["LossStats", "loss_statistics", "sample_losses"]


class LossStats(eqx.Module):
    """Mean, standard deviation and coefficient of variation of the test loss.

    Attributes:
        mu: ``mu_L``, the mean test loss over initialisations.
        sigma: ``sigma_L``, its standard deviation.
        eps: ``eps_L = sigma_L / mu_L``.
    """

    mu: Float[Array, ""]
    sigma: Float[Array, ""]
    eps: Float[Array, ""]


def _check(prediction: EnsemblePrediction, y_test) -> Array:
    y_test = jnp.asarray(y_test, dtype=prediction.mean.dtype)
    if y_test.shape != prediction.mean.shape:
        raise ValueError(
            f"y_test must have the shape of the predictive mean {prediction.mean.shape}, "
            f"got {y_test.shape}"
        )
    return y_test


@jax.jit
def _stats(mean, cov, y_test):
    m, k = mean.shape
    s = 1.0 / (m * k)
    res = mean - y_test
    mu = s * (jnp.sum(res**2) + k * jnp.trace(cov))
    var = s**2 * (2 * k * jnp.sum(cov * cov) + 4 * jnp.sum(res * (cov @ res)))
    sigma = jnp.sqrt(jnp.maximum(var, 0.0))
    return mu, sigma, sigma / mu


def loss_statistics(prediction: EnsemblePrediction, y_test: Float[ArrayLike, "M k"]) -> LossStats:
    """Exact ``mu_L``, ``sigma_L`` and ``eps_L`` of the test MSE over initialisations.

    Args:
        prediction: the ensemble's predictive mean ``(M, k)`` and covariance ``(M, M)``.
        y_test: test targets, ``(M, k)``.

    Returns:
        The [`LossStats`][scalebayes.ntk.LossStats] of ``L = ||f(x_test) - y_test||_F^2 / (M k)``
        (formulas in the module docstring).
    """
    y_test = _check(prediction, y_test)
    mu, sigma, eps = _stats(prediction.mean, prediction.cov, y_test)
    return LossStats(mu=mu, sigma=sigma, eps=eps)


def sample_losses(
    key: PRNGKeyArray,
    prediction: EnsemblePrediction,
    y_test: Float[ArrayLike, "M k"],
    n: int,
    *,
    jitter: float = 1e-9,
) -> Float[Array, " n"]:
    """Test losses of ``n`` networks drawn from the trained ensemble's Gaussian (Monte Carlo).

    Args:
        key: PRNG key.
        prediction: the ensemble's predictive mean and covariance.
        y_test: test targets, ``(M, k)``.
        n: number of draws.
        jitter: ``jitter * mean(diag cov)`` is added to the diagonal before the Cholesky
            factorisation (the covariance is often numerically singular).

    Returns:
        ``L`` for each draw, shape ``(n,)``; their mean and standard deviation estimate
        ``mu_L`` and ``sigma_L``.
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    y_test = _check(prediction, y_test)
    mean, cov = prediction.mean, prediction.cov
    m, k = mean.shape
    chol = jnp.linalg.cholesky(cov + jitter * jnp.mean(jnp.diag(cov)) * jnp.eye(m, dtype=cov.dtype))
    z = jax.random.normal(key, (n, m, k), dtype=mean.dtype)
    outputs = mean + jnp.einsum("ij,njk->nik", chol, z)
    return jnp.mean((outputs - y_test) ** 2, axis=(1, 2))
