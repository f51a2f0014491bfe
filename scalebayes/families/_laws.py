"""Scaling-law families as pure, differentiable, broadcasting ``jnp`` functions.

Every function takes ``x`` (the scaled quantity, > 0) first and the family's parameters as
further arguments; all arguments broadcast against each other, so a batch of curves is a
batch of parameter arrays (or use ``jax.vmap``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._m4_solve import _ALPHA_MIN, solve_logit


def m1(x: ArrayLike, beta: ArrayLike, c: ArrayLike) -> Float[Array, "..."]:
    """M1, a pure power law (Kaplan et al.): ``y = beta * x**c`` (``c < 0`` for a falling loss)."""
    x = jnp.asarray(x)
    return beta * jnp.exp(c * jnp.log(x))


def power_law(x: ArrayLike, a: ArrayLike, alpha: ArrayLike) -> Float[Array, "..."]:
    """A plain power law with a positive exponent: ``y = a * x**(-alpha)``.

    The same curve as [`m1`][scalebayes.families.m1] with ``beta = a`` and ``c = -alpha``; the
    convention used for ``L(N)`` laws in the NTK and compute-optimal modules.
    """
    return m1(x, a, -jnp.asarray(alpha))


def m2(x: ArrayLike, eps_inf: ArrayLike, beta: ArrayLike, c: ArrayLike) -> Float[Array, "..."]:
    """M2, a power law with an irreducible floor: ``y = eps_inf + beta * x**c``."""
    return eps_inf + m1(x, beta, c)


def m3(x: ArrayLike, beta: ArrayLike, gamma: ArrayLike, c: ArrayLike) -> Float[Array, "..."]:
    """M3, a power law that saturates: ``y = beta * (1/x + gamma)**c`` (``c > 0``, ``gamma >= 0``).

    ``beta x**(-c)`` while ``1/x >> gamma``, flattening to ``beta gamma**c`` once ``x >> 1/gamma``.
    ``gamma = 0`` is the pure power law, with finite derivatives there.
    """
    x = jnp.asarray(x)
    return beta * jnp.exp(c * jnp.log(1.0 / x + gamma))


def m4(
    x: ArrayLike,
    eps_inf: ArrayLike,
    eps_0: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    c: ArrayLike,
) -> Float[Array, "..."]:
    """M4 (Alabdulmohsin et al. 2022): y solves ``(y - eps_inf) / (eps_0 - y)**alpha = beta x**c``.

    A sigmoid in ``log x`` from the plateau ``eps_0`` (small x, when ``c < 0``) to the floor
    ``eps_inf``. With ``w = (y - eps_inf) / (eps_0 - eps_inf)`` the equation reads
    ``w / (1 - w)**alpha = beta * x**c * (eps_0 - eps_inf)**(alpha - 1)``; its left side is
    strictly increasing on ``(0, 1)``, so the root is unique. It is found exactly (safeguarded
    Newton in ``logit(w)``, not a grid) and differentiated by the implicit-function theorem.

    Args:
        x: scaled quantity, > 0.
        eps_inf: floor, ``eps_inf < eps_0``.
        eps_0: plateau for small x.
        alpha: exponent, > 0 (values below 1e-3 are treated as 1e-3).
        beta: scale, > 0.
        c: exponent of x (< 0 for a falling curve).

    Returns:
        y, strictly between ``eps_inf`` and ``eps_0``.
    """
    x = jnp.asarray(x)
    alpha = jnp.maximum(alpha, _ALPHA_MIN)
    span = eps_0 - eps_inf
    rhs = jnp.log(beta) + c * jnp.log(x) - (1.0 - alpha) * jnp.log(span)
    t = solve_logit(rhs, alpha)
    return eps_inf + span * jax.nn.sigmoid(t)


def bnsl(
    x: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    c0: ArrayLike,
    c: ArrayLike,
    d: ArrayLike,
    f: ArrayLike,
) -> Float[Array, "..."]:
    """Broken neural scaling law (Caballero et al. 2023) with ``n`` breaks.

    ``y = a + b x**(-c0) * prod_i (1 + (x / d_i)**(1 / f_i))**(-c_i f_i)``.

    ``a`` is the limit, ``(b, c0)`` the first power-law segment, and for each break ``d_i`` is
    where it happens, ``c_i`` the change of log-log slope (negative values give non-monotone,
    double-descent shapes) and ``f_i`` its sharpness (small = sharp). Computed in log space with
    ``softplus`` so extreme x neither overflows nor underflows.

    Args:
        x: scaled quantity, > 0, shape ``(...)``.
        a: the limit as x -> infinity (scalar, or an array broadcasting against ``x``).
        b: scale of the first segment (likewise).
        c0: slope of the first segment, sign flipped (likewise).
        c: change of slope at each break, shape ``(n,)`` (``n = 0`` is a plain M2-type power
            law); for batched parameters the break axis is the last one.
        d: location of each break, shape ``(n,)``, > 0.
        f: sharpness of each break, shape ``(n,)``, > 0 (small = sharp).

    Returns:
        y with the broadcast shape of ``x`` and the scalar parameters.
    """
    x = jnp.asarray(x)
    c, d, f = jnp.asarray(c), jnp.asarray(d), jnp.asarray(f)
    counts = {name: v.shape[-1] for name, v in (("c", c), ("d", d), ("f", f)) if v.ndim}
    if len(set(counts.values())) > 1:  # shapes are static: checked under jit too
        shown = ", ".join(f"{name} {n}" for name, n in counts.items())
        raise ValueError(
            f"bnsl: c, d and f hold one value per break (the last axis), so their last axes "
            f"must agree; got {shown}"
        )
    log_x = jnp.log(x)[..., None]
    breaks = -c * f * jax.nn.softplus((log_x - jnp.log(d)) / f)
    log_body = jnp.log(b) - c0 * jnp.log(x) + jnp.sum(breaks, axis=-1)
    return a + jnp.exp(log_body)
