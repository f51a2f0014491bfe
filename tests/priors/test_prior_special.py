"""The prior's two special functions against independent references.

- ``m4_logit_fast`` (four Halley steps) against a float64 bisection of the M4 equation written
  here, and against ``scalebayes.families.m4_solve_logit`` (safeguarded Newton); its
  derivatives against the implicit-function theorem evaluated at the reference root.
- ``beta_cdf_symmetric`` (hypergeometric series) against ``scipy.special.betainc`` and
  ``jax.scipy.special.betainc``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp

from scalebayes.families import m4_solve_logit
from scalebayes.priors._special import (
    FAST_ALPHA_RANGE,
    beta_cdf_symmetric,
    beta_series_terms,
    m4_logit_fast,
)

beta_cdf = jax.jit(beta_cdf_symmetric, static_argnums=2)
m4_fast = jax.jit(m4_logit_fast)


def _bisect_logit(rhs, alpha, n_halvings=200):
    """Root t of t + (alpha - 1) softplus(t) = rhs by bisection in float64 (numpy)."""
    rhs, alpha = np.broadcast_arrays(np.asarray(rhs, float), np.asarray(alpha, float))
    lo = np.minimum(rhs, rhs / alpha) - 60.0
    hi = np.maximum(rhs, rhs / alpha) + 60.0
    for _ in range(n_halvings):
        mid = 0.5 * (lo + hi)
        f = mid + (alpha - 1.0) * np.logaddexp(0.0, mid) - rhs
        lo = np.where(f < 0, mid, lo)
        hi = np.where(f >= 0, mid, hi)
    return 0.5 * (lo + hi)


def _grid(n_alpha=160, n_rhs=801):
    lo, hi = FAST_ALPHA_RANGE
    alpha = np.exp(np.linspace(np.log(lo), np.log(hi), n_alpha))[:, None]
    mag = np.logspace(-3, 4, (n_rhs - 1) // 2)
    rhs = np.concatenate([-mag[::-1], [0.0], mag])[None, :]
    return np.broadcast_arrays(alpha, rhs)


def test_m4_fast_matches_bisection_in_float64():
    alpha, rhs = _grid()
    ref = _bisect_logit(rhs, alpha)
    with jax.enable_x64(True):
        t = np.asarray(m4_fast(jnp.asarray(rhs), jnp.asarray(alpha)))
    # The docstring promises 3e-14 relative; allow a little more for platform libm.
    assert np.max(np.abs(t - ref) / (1 + np.abs(ref))) < 1e-13


def test_m4_fast_float32_matches_the_reference_solver():
    rng = np.random.default_rng(0)
    alpha = np.exp(rng.normal(0.0, 0.5, 20000))  # the prior's M4 alpha
    rhs = rng.uniform(-10.0, 30.0, 20000)  # log(beta) + c log(x) over x in [0.01, 1]
    with jax.enable_x64(True):
        ref = np.asarray(m4_solve_logit(jnp.asarray(rhs), jnp.asarray(alpha)))
    t = np.asarray(m4_fast(jnp.asarray(rhs, jnp.float32), jnp.asarray(alpha, jnp.float32)))
    assert t.dtype == np.float32
    # float32 carries ~6e-8 relative; the iteration adds a few ulps at most.
    assert np.max(np.abs(t - ref) / (1 + np.abs(ref))) < 1e-6


def test_m4_fast_derivatives_by_implicit_function_theorem():
    rhs = np.array([-5.0, -0.3, 0.0, 2.0, 17.0])
    alpha = np.array([0.2, 0.9, 1.0, 2.5, 7.0])
    t = _bisect_logit(rhs, alpha)
    s = 1 / (1 + np.exp(-t))
    g_prime = (1 - s) + alpha * s  # dG/dt
    with jax.enable_x64(True):
        grads = jax.jit(jax.vmap(jax.grad(m4_logit_fast, argnums=(0, 1))))
        d_rhs, d_alpha = grads(jnp.asarray(rhs), jnp.asarray(alpha))
    np.testing.assert_allclose(d_rhs, 1 / g_prime, rtol=1e-10)
    np.testing.assert_allclose(d_alpha, -np.logaddexp(0, t) / g_prime, rtol=1e-10)


@pytest.mark.parametrize("b", [0.3, 1.0, 1.6487, 2.0, np.e])
def test_beta_cdf_matches_scipy_in_float32(b):
    x = np.concatenate([np.linspace(0.0, 1.0, 4001)[:-1], [1e-6, 0.5 - 1e-6, 1 - 1e-6]])
    x = x.astype(np.float32)  # the reference at the very same (rounded) points
    n = beta_series_terms(np.e)  # enough for every b <= e
    got = np.asarray(beta_cdf(jnp.asarray(x), b, n))
    ref = sp.betainc(b, b, x.astype(np.float64))
    assert got[0] == 0.0
    # float32 rounding of values up to 1 (eps 1.2e-7) through a few operations.
    assert np.max(np.abs(got - ref)) < 1.5e-6
    # and as close to JAX's own float32 betainc as that is to scipy (its error moves with
    # the JAX version: up to 5e-7 from scipy under jax 0.12.1, 2.7e-6 under 0.11.2)
    jax_ref = np.asarray(jax.scipy.special.betainc(b, b, jnp.asarray(x)))
    assert np.max(np.abs(got - jax_ref)) < 1.5e-6 + np.max(np.abs(jax_ref - ref))


def test_beta_cdf_matches_scipy_in_float64():
    rng = np.random.default_rng(1)
    b = np.exp(rng.uniform(0.5, 1.0, 5000))  # the prior's b
    x = rng.uniform(0.0, 1.0, 5000)
    with jax.enable_x64(True):
        n = beta_series_terms(np.e, jnp.float64)
        got = np.asarray(beta_cdf(jnp.asarray(x), jnp.asarray(b), n))
    np.testing.assert_allclose(got, sp.betainc(b, b, x), rtol=1e-12, atol=1e-14)


def test_series_terms_grow_with_b_and_precision():
    n32 = [beta_series_terms(b) for b in (0.5, 1.0, 2.0, np.e, 5.0)]
    assert n32 == sorted(n32)
    assert beta_series_terms(np.e, jnp.float64) > beta_series_terms(np.e, jnp.float32)
