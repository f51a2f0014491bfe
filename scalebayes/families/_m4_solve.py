"""Exact solve of the M4 implicit equation, differentiable by the implicit-function theorem."""

from __future__ import annotations

import jax
import jax.numpy as jnp

_ALPHA_MIN = 1e-3
_N_ITER = 12


def _g(t, alpha):
    # G(t) = log w - alpha * log(1 - w) with w = sigmoid(t); strictly increasing in t.
    return t + (alpha - 1.0) * jax.nn.softplus(t)


def _g_prime(t, alpha):
    return jax.nn.sigmoid(-t) + alpha * jax.nn.sigmoid(t)


@jax.custom_jvp
def solve_logit(rhs, alpha):
    """Solve ``w / (1 - w)**alpha = exp(rhs)`` for ``t = logit(w)``.

    Safeguarded Newton inside a bracket that provably contains the root
    (``G(t) = t + (alpha - 1) softplus(t)`` is strictly increasing with ``G(-B) < rhs < G(B)``
    for ``B = 10 + 4 |rhs| / min(alpha, 1)``); a Newton step that leaves the bracket is replaced
    by bisection, so it converges for every ``alpha >= 1e-3``. Broadcasts over its arguments.

    Args:
        rhs: right-hand side ``log(beta) + c log(x) - (1 - alpha) log(eps_0 - eps_inf)``.
        alpha: exponent, clipped to at least 1e-3.

    Returns:
        ``t`` with ``sigmoid(t) = w``, the root, to machine precision.
    """
    rhs, alpha = jnp.broadcast_arrays(
        jnp.asarray(rhs), jnp.asarray(alpha, dtype=jnp.result_type(rhs))
    )
    alpha = jnp.maximum(alpha, _ALPHA_MIN)
    bound = 10.0 + 4.0 * jnp.abs(rhs) / jnp.minimum(alpha, 1.0)
    lo, hi = -bound, bound
    # A good first guess: G(t) ~ t for t << 0 and ~ alpha t for t >> 0.
    t0 = jnp.where(rhs < 0, rhs, rhs / alpha)

    def body(_, state):
        t, lo, hi = state
        f = _g(t, alpha) - rhs
        lo = jnp.where(f < 0, t, lo)
        hi = jnp.where(f >= 0, t, hi)
        t_newton = t - f / _g_prime(t, alpha)
        inside = (t_newton >= lo) & (t_newton <= hi)
        t = jnp.where(inside, t_newton, 0.5 * (lo + hi))
        return jnp.stack([t, lo, hi])

    # One stacked carry, not three: with (t, lo, hi) carried as three arrays, jaxlib 0.11.2's
    # CPU compiler returned wrong roots for about 0.3% of the elements of some shapes (2 of an
    # 8-vector, 10 of the 31 x 13 grid of tests/families/test_fam_m4.py; G off by up to 0.03),
    # while the same steps taken one by one, or under jaxlib 0.12.1, were right.
    return jax.lax.fori_loop(0, _N_ITER, body, jnp.stack([t0, lo, hi]))[0]


@solve_logit.defjvp
def _solve_logit_jvp(primals, tangents):
    rhs, alpha = primals
    d_rhs, d_alpha = tangents
    t = solve_logit(rhs, alpha)
    alpha_c = jnp.maximum(alpha, _ALPHA_MIN)
    gp = _g_prime(t, alpha_c)
    # G(t, alpha) = rhs  =>  G' dt + softplus(t) dalpha = drhs  (alpha below the clip is constant)
    d_alpha_eff = jnp.where(alpha > _ALPHA_MIN, d_alpha, 0.0)
    dt = (d_rhs - jax.nn.softplus(t) * d_alpha_eff) / gp
    return t, dt
