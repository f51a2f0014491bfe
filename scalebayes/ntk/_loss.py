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
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._checks import check_key, is_integer
from .._precision import float64
from .._random import draw_normal
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


def _check(prediction: EnsemblePrediction, y_test) -> tuple[Array, Array, Array]:
    """The prediction's mean and covariance and ``y_test``, in float64, checked."""
    mean = jnp.asarray(prediction.mean, jnp.float64)
    cov = jnp.asarray(prediction.cov, jnp.float64)
    y_test = jnp.asarray(y_test, jnp.float64)
    if mean.ndim != 2 or 0 in mean.shape or cov.shape != (mean.shape[0],) * 2:
        raise ValueError(
            f"the prediction must hold a mean of shape (M, k) with M, k >= 1 and a covariance "
            f"of shape (M, M); got {mean.shape} and {cov.shape}"
        )
    if y_test.shape != mean.shape:
        raise ValueError(
            f"y_test must have the shape of the predictive mean {mean.shape}, got {y_test.shape}"
        )
    if not bool(jnp.all(jnp.isfinite(y_test))):
        raise ValueError("y_test has NaN or infinite entries; every target must be finite")
    if not bool(jnp.all(jnp.isfinite(mean)) & jnp.all(jnp.isfinite(cov))):
        raise ValueError("the prediction's mean or covariance is not finite")
    return mean, cov, y_test


_ROUNDING = 1e-12  # of the targets' and predictions' mean square: loss_statistics


@jax.jit
def _stats(mean, cov, y_test):
    m, k = mean.shape
    s = 1.0 / (m * k)
    res = mean - y_test
    mu = s * (jnp.sum(res**2) + k * jnp.trace(cov))
    var = s**2 * (2 * k * jnp.sum(cov * cov) + 4 * jnp.sum(res * (cov @ res)))
    sigma = jnp.sqrt(jnp.maximum(var, 0.0))
    return mu, sigma, sigma / mu


@float64
def loss_statistics(prediction: EnsemblePrediction, y_test: Float[ArrayLike, "M k"]) -> LossStats:
    """Exact ``mu_L``, ``sigma_L`` and ``eps_L`` of the test MSE over initialisations.

    Args:
        prediction: the ensemble's predictive mean ``(M, k)`` and covariance ``(M, M)``.
        y_test: test targets, ``(M, k)``.

    Returns:
        The [`LossStats`][scalebayes.ntk.LossStats] of ``L = ||f(x_test) - y_test||_F^2 / (M k)``
        (formulas in the module docstring), computed in float64 (NumPy 0-d arrays).

    Raises:
        ValueError: if ``y_test`` or the prediction is not finite or of the wrong shape, or
            if ``mu_L`` is not above float64 rounding (1e-12 of the mean square of the
            targets and predictions: a test set the ensemble interpolates exactly, where
            ``eps_L`` is undefined).
    """
    mean, cov, y_test = _check(prediction, y_test)
    mu, sigma, eps = (np.asarray(a) for a in _stats(mean, cov, y_test))
    # the loss's own scale: a mean test loss below _ROUNDING of it is float64 rounding in the
    # kernel solve (copies of training points score ~1e-28 against targets of order 1), and
    # eps_L would be rounding noise over rounding noise (it read 9e11 before)
    scale = float(np.mean(np.square(y_test)) + np.mean(np.square(mean)))
    if not mu > _ROUNDING * scale:
        raise ValueError(
            f"the mean test loss is {float(mu):.3g}, "
            f"{'not > 0' if not mu > 0 else 'at float64 rounding level'} (test points the "
            "ensemble interpolates exactly, e.g. copies of training points): eps_L = sigma_L "
            "/ mu_L is undefined; score the ensemble on held-out points"
        )
    return LossStats(mu=mu, sigma=sigma, eps=eps)


@float64
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
        jitter: ``jitter * mean(diag cov)`` is added to the diagonal before the covariance's
            square root is taken (through its eigendecomposition, so a singular covariance
            is fine).

    Returns:
        ``L`` for each draw, shape ``(n,)`` (NumPy float64); their mean and standard deviation
        estimate ``mu_L`` and ``sigma_L``.
    """
    key = check_key(key)
    if not (is_integer(n) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    mean, cov, y_test = _check(prediction, y_test)
    m, k = mean.shape
    # a square root through the eigendecomposition, negative rounding-level eigenvalues
    # clipped to 0: a singular covariance (a repeated test input) has no Cholesky factor
    lam, vec = jnp.linalg.eigh(cov + jitter * jnp.mean(jnp.diag(cov)) * jnp.eye(m))
    root = vec * jnp.sqrt(jnp.maximum(lam, 0.0))
    z = jnp.asarray(draw_normal(key, (int(n), m, k), jnp.float64))
    outputs = mean + jnp.einsum("ij,njk->nik", root, z)
    return np.asarray(jnp.mean((outputs - y_test) ** 2, axis=(1, 2)))
