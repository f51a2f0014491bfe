"""A small Levenberg-Marquardt least-squares solver: a pure function, vmap- and jit-friendly."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp


class LMState(NamedTuple):
    """State of [`levenberg_marquardt`][scalebayes.inference.levenberg_marquardt]."""

    theta: jax.Array
    loss: jax.Array  # 0.5 * sum(residual**2) at theta
    damping: jax.Array


def levenberg_marquardt(
    residual_fn: Callable[[jax.Array], jax.Array],
    theta0: jax.Array,
    n_iter: int = 80,
    damping0: float = 1e-2,
) -> LMState:
    """Minimise ``0.5 * ||residual_fn(theta)||^2`` by Levenberg-Marquardt.

    Marquardt's scaling (damping times ``diag(J^T J)``, plus a tiny absolute term) and the
    usual accept/reject rule: an accepted step divides the damping by 3, a rejected one (or a
    non-finite loss) multiplies it by 4. A fixed number of iterations keeps the function pure
    and cheap to ``vmap`` over starts and curves.

    Args:
        residual_fn: ``theta (p,) -> residuals (n,)``.
        theta0: starting point, shape ``(p,)`` (a list or integers are read as floats).
        n_iter: number of iterations.
        damping0: initial damping.

    Returns:
        The final [`LMState`][scalebayes.inference.LMState] (best point found).
    """
    theta0 = jnp.asarray(theta0)
    if not jnp.issubdtype(theta0.dtype, jnp.floating):
        theta0 = theta0.astype(jnp.result_type(float))
    if theta0.ndim != 1:
        raise ValueError(f"theta0 must be 1-D, shape (p,); got shape {theta0.shape}")
    p = theta0.shape[0]
    eye = jnp.eye(p, dtype=theta0.dtype)

    def value(theta):
        r = residual_fn(theta)
        out = 0.5 * jnp.sum(r**2)
        return jnp.where(jnp.isfinite(out), out, jnp.inf)

    def with_aux(theta):
        r = residual_fn(theta)
        return r, r

    def step(state: LMState, _) -> tuple[LMState, None]:
        jac, r = jax.jacfwd(with_aux, has_aux=True)(state.theta)
        jac = jnp.where(jnp.isfinite(jac), jac, 0.0)
        r = jnp.where(jnp.isfinite(r), r, 0.0)
        hess = jac.T @ jac
        grad = jac.T @ r
        a = hess + state.damping * (jnp.diag(jnp.diag(hess)) + 1e-9 * eye)
        delta = -jnp.linalg.solve(a, grad)
        candidate = state.theta + jnp.where(jnp.isfinite(delta), delta, 0.0)
        new_loss = value(candidate)
        ok = new_loss < state.loss
        theta = jnp.where(ok, candidate, state.theta)
        loss = jnp.where(ok, new_loss, state.loss)
        damping = jnp.clip(jnp.where(ok, state.damping / 3.0, state.damping * 4.0), 1e-12, 1e12)
        return LMState(theta, loss, damping), None

    init = LMState(theta0, value(theta0), jnp.asarray(damping0, theta0.dtype))
    final, _ = jax.lax.scan(step, init, None, length=n_iter)
    return final
