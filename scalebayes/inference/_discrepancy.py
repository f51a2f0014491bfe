r"""OU residuals plus a drifting log-log slope: the ``"ou_irw"`` noise model's Gaussian process.

The residual of a curve on log y, in normalised ``v`` (see ``_bayes_base.py``), is the sum of
two independent zero-mean Gaussian processes:

$$\log y(v) = \log f(v; \theta) + e(v) + \delta(v),$$

- ``e``: an Ornstein-Uhlenbeck process, stationary sd ``sigma``, correlation length ``ell``:
  ``Cov(e(v), e(w)) = sigma^2 exp(-|v - w| / ell)`` (the ``"ou"`` noise model);
- ``delta``: a random walk of the log-log slope (an integrated Brownian motion) that starts at
  the first context point ``v_1`` with value and slope 0 (the family's own level and slope
  take those): ``delta'' = tau dW/dv``, so with ``a = min(v, w) - v_1``, ``b = max(v, w) - v_1``
  (both >= 0; ``delta = 0`` before ``v_1``)

  $$\mathrm{Cov}(\delta(v), \delta(w)) = \tau^2\, a^2 (3 b - a) / 6.$$

``delta`` is a misfit of the family's shape that the short-range ``e`` does not describe: the
slope of the true curve drifts away from the family's by ``tau`` per unit ``v^{1/2}``. Its
variance is unbounded, so beyond the last context point ``v_n`` the predictive variance keeps
growing: given the state at ``v_n`` it adds ``tau^2 h^3 / 3`` plus ``h^2`` times the variance
of the slope at ``v_n``, for a distance ``h = v - v_n`` (the OU part saturates at
``sigma^2``). ``tau`` is a latent with its own prior, so the context's curvature misfit
informs it.

The likelihood is exact and O(n): ``(e, delta, delta')`` is a linear-Gaussian Markov process,
and a Kalman filter over the sorted context points gives the density of ``y = e + delta``
(its prediction-error decomposition). The predictive at new points conditions the dense
covariance on every context residual (float64).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

OU_VAR_FLOOR = 1e-6  # a conditional variance is at least this fraction of sigma^2
_JITTER = 1e-10  # relative diagonal jitter of the dense covariance (float64 only)


def irw_covariance(v, w, v1, sigma, ell, tau):
    """Covariance ``Cov(e(v) + delta(v), e(w) + delta(w))`` of the process, broadcasting.

    Args:
        v, w: normalised log x (any broadcastable shapes).
        v1: the first context point, where ``delta`` starts.
        sigma: stationary sd of the OU part.
        ell: correlation length of the OU part.
        tau: diffusion of the log-log slope.

    Returns:
        ``sigma^2 exp(-|v - w| / ell) + tau^2 a^2 (3 b - a) / 6`` (see the module docstring).
    """
    return sigma**2 * jnp.exp(-jnp.abs(v - w) / ell) + walk_covariance(v, w, v1, tau)


def walk_covariance(v, w, v1, tau):
    """Covariance ``Cov(delta(v), delta(w))`` of the slope walk started at ``v1`` with value
    and slope 0: ``tau^2 a^2 (3 b - a) / 6`` for ``a <= b`` the distances beyond ``v1`` (0
    before it), broadcasting."""
    a = jnp.maximum(jnp.minimum(v, w) - v1, 0.0)
    b = jnp.maximum(jnp.maximum(v, w) - v1, 0.0)
    return tau**2 * a**2 * (3.0 * b - a) / 6.0


def irw_log_likelihood(resid, v, mask, sigma, ell, tau):
    """Exact log density of the residuals at the real points: a Kalman filter over ``v``.

    The state ``(e, delta, delta')`` starts at ``v_1`` as ``(N(0, sigma^2), 0, 0)``; over a gap
    ``h`` it moves by ``e -> r e + N(0, sigma^2 (1 - r^2))`` with ``r = exp(-h / ell)`` and
    ``(delta, delta') -> (delta + h delta', delta') + N(0, tau^2 [[h^3/3, h^2/2], [h^2/2, h]])``;
    each point observes ``e + delta`` exactly. The log density is the sum of the one-step
    prediction errors' Normal log densities.

    Args:
        resid: residuals ``log y - log f``, shape ``(n,)``, sorted by ``v``.
        v: normalised log x, ``(n,)`` ascending (padding repeats the last real value).
        mask: 1.0 for a real point, 0.0 for padding (after the real points), ``(n,)``.
        sigma, ell, tau: the process' parameters (scalars).

    Returns:
        The log density (a scalar).
    """
    real = mask > 0
    floor = OU_VAR_FLOOR * sigma**2
    tau2 = tau**2

    def update(mean, cov, y):
        me, md, mg = mean
        pee, ped, peg, pdd, pdg, pgg = cov
        s = jnp.maximum(pee + 2.0 * ped + pdd, floor)
        err = y - me - md
        ke, kd, kg = pee + ped, ped + pdd, peg + pdg
        mean = (me + ke * err / s, md + kd * err / s, mg + kg * err / s)
        cov = (
            pee - ke * ke / s,
            ped - ke * kd / s,
            peg - ke * kg / s,
            pdd - kd * kd / s,
            pdg - kd * kg / s,
            pgg - kg * kg / s,
        )
        return mean, cov, -0.5 * (err * err / s + jnp.log(2.0 * math.pi * s))

    zero = jnp.zeros_like(sigma)
    mean0 = (zero, zero, zero)
    cov0 = (sigma**2, zero, zero, zero, zero, zero)
    mean, cov, first = update(mean0, cov0, resid[0])

    def step(carry, inputs):
        mean, cov = carry
        h, y, on = inputs
        me, md, mg = mean
        pee, ped, peg, pdd, pdg, pgg = cov
        r = jnp.exp(-h / ell)
        pred_mean = (r * me, md + h * mg, mg)
        pred_cov = (
            r * r * pee + sigma**2 * jnp.maximum(-jnp.expm1(-2.0 * h / ell), OU_VAR_FLOOR),
            r * (ped + h * peg),
            r * peg,
            pdd + 2.0 * h * pdg + h * h * pgg + tau2 * h**3 / 3.0,
            pdg + h * pgg + tau2 * h * h / 2.0,
            pgg + tau2 * h,
        )
        new_mean, new_cov, ll = update(pred_mean, pred_cov, y)
        keep = lambda new, old: jnp.where(on, new, old)  # noqa: E731
        carry = (
            jax.tree.map(keep, new_mean, mean),
            jax.tree.map(keep, new_cov, cov),
        )
        return carry, jnp.where(on, ll, 0.0)

    _, lls = jax.lax.scan(step, (mean, cov), (jnp.diff(v), resid[1:], real[1:]))
    return first + jnp.sum(lls)


def _masked_cov(v, mask, sigma, ell, tau):
    """Dense covariance of the real points; padding rows/columns are the identity."""
    real = mask > 0
    k = irw_covariance(v[:, None], v[None, :], v[0], sigma, ell, tau)
    both = real[:, None] & real[None, :]
    eye = jnp.eye(v.size, dtype=k.dtype)
    k = jnp.where(both, k, eye)
    return k + _JITTER * sigma**2 * eye


def _whitened(resid, v, mask, v_new, sigma, ell, tau):
    """``(L^{-1} r, L^{-1} K_cn)`` for ``L`` the Cholesky factor of the context covariance."""
    real = mask > 0
    chol = jnp.linalg.cholesky(_masked_cov(v, mask, sigma, ell, tau))
    k_nc = irw_covariance(v_new[:, None], v[None, :], v[0], sigma, ell, tau)
    k_nc = jnp.where(real[None, :], k_nc, 0.0)
    white_r = jax.scipy.linalg.solve_triangular(chol, jnp.where(real, resid, 0.0), lower=True)
    return white_r, jax.scipy.linalg.solve_triangular(chol, k_nc.T, lower=True)


def irw_conditional(resid, v, mask, v_new, sigma, ell, tau):
    """Mean and sd of ``e + delta`` at ``v_new`` given the residuals at the real points.

    Gaussian conditioning on the dense covariance: ``m = K_nc K_cc^{-1} r``,
    ``s^2 = k(v_new, v_new) - K_nc K_cc^{-1} K_cn`` (use float64).

    Args:
        resid: context residuals, ``(n,)``.
        v: context v, ``(n,)`` (padding after the real points).
        mask: 1.0 for a real point, ``(n,)``.
        v_new: where to predict, 1-D.
        sigma, ell, tau: the process' parameters.

    Returns:
        ``(mean, sd)``, each shaped like ``v_new``.
    """
    white_r, white_k = _whitened(resid, v, mask, v_new, sigma, ell, tau)
    mean = white_k.T @ white_r
    prior_var = irw_covariance(v_new, v_new, v[0], sigma, ell, tau)
    var = prior_var - jnp.sum(white_k**2, axis=0)
    return mean, jnp.sqrt(jnp.maximum(var, OU_VAR_FLOOR * sigma**2))


def irw_joint_conditional(resid, v, mask, v_new, sigma, ell, tau):
    """Mean and covariance of ``e + delta`` at all of ``v_new`` jointly, given the residuals.

    The joint form of ``irw_conditional``: ``m = K_nc K_cc^{-1} r`` and
    ``C = K_nn - K_nc K_cc^{-1} K_cn`` (use float64). With ``tau = 0`` it is the OU
    process' conditional law.

    Args:
        resid, v, mask: as for ``irw_conditional``.
        v_new: where to predict, 1-D ``(m,)``.
        sigma, ell, tau: the process' parameters.

    Returns:
        ``(mean, cov)``: ``(m,)`` and ``(m, m)``.
    """
    white_r, white_k = _whitened(resid, v, mask, v_new, sigma, ell, tau)
    k_nn = irw_covariance(v_new[:, None], v_new[None, :], v[0], sigma, ell, tau)
    return white_k.T @ white_r, k_nn - white_k.T @ white_k


def psd_sample(key, mean, cov):
    """A draw of ``N(mean, cov)`` for a covariance that rounding may leave slightly indefinite.

    Uses the symmetric eigendecomposition with negative eigenvalues (rounding) set to 0, so
    near-duplicate points, whose conditional covariance is nearly singular, do not break it.
    """
    vals, vecs = jnp.linalg.eigh(0.5 * (cov + cov.T))
    root = vecs * jnp.sqrt(jnp.maximum(vals, 0.0))
    return mean + root @ jax.random.normal(key, mean.shape, mean.dtype)


def irw_sample(key, v, mask, sigma, ell, tau):
    """A draw of ``e + delta`` at ``v`` (padding points get independent unit noise)."""
    chol = jnp.linalg.cholesky(_masked_cov(v, mask, sigma, ell, tau))
    return chol @ jax.random.normal(key, v.shape, chol.dtype)
