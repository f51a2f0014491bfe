"""Batches from the scale-free prior: the NumPyro model seeded and vmapped, and its figure.

[`sample_scalefree_curves`][scalebayes.priors.sample_scalefree_curves] runs
[`scalefree_prior`][scalebayes.priors.scalefree_prior] (or one family's model) under
``numpyro.handlers.seed``, one key per curve, ``vmap``-ed and compiled once per
``(n, n_points, config, family)``. The prior is valid by construction (every draw has
``y > 0``, at least 2 context points and 1 target), so there is no rejection loop: the batch
is exactly ``n`` draws of the model, and its cost is one pass of fixed-shape arithmetic.
"""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int
from numpyro import handlers

from .._checks import check_key
from .._io import plain_log_ticks, write_figure
from ._curve_prior import FAMILY_NAMES
from ._scalefree import (
    SCALEFREE_FAMILY_MODELS,
    ScaleFreeCurve,
    ScaleFreePriorConfig,
    scalefree_log_curve,
    scalefree_prior,
    scalefree_slope,
)


class ScaleFreeBatch(NamedTuple):
    """A batch of scale-free prior curves, padded to ``n_points``.

    The fields ``x`` .. ``sigma`` mean what they mean in
    [`PriorBatch`][scalebayes.priors.PriorBatch], except that ``x`` is on the scale-free grid
    (``x = 10^u``, the largest context ``x`` exactly 1) and the last context point is
    ``x[context_size - 1]``.

    Attributes:
        x: grid, shape ``(n, L)``, strictly increasing over the first ``length`` entries, 0 after.
        y: noisy values, shape ``(n, L)``, > 0 over the first ``length`` entries, 0 after.
        y_clean: noise-free values, shape ``(n, L)``, 0 after ``length``.
        mask: valid points, shape ``(n, L)``.
        length: number of valid points per curve, shape ``(n,)``.
        context_size: number of context points per curve (>= 2, < ``length``), shape ``(n,)``.
        family: family id per curve (0 Down, 1 Down-Down, 2 Down-Up-Down), shape ``(n,)``.
        sigma: noise level per curve, shape ``(n,)``.
        curve: the shape parameters, a [`ScaleFreeCurve`][scalebayes.priors.ScaleFreeCurve]
            of arrays with a leading axis ``n``.
    """

    x: Float[Array, "n L"]
    y: Float[Array, "n L"]
    y_clean: Float[Array, "n L"]
    mask: Bool[Array, "n L"]
    length: Int[Array, " n"]
    context_size: Int[Array, " n"]
    family: Int[Array, " n"]
    sigma: Float[Array, " n"]
    curve: ScaleFreeCurve

    @property
    def context_mask(self) -> Bool[Array, "n L"]:
        """Context points: the first ``context_size`` points of each curve."""
        idx = jnp.arange(self.x.shape[-1])
        return idx[None, :] < self.context_size[:, None]

    @property
    def target_mask(self) -> Bool[Array, "n L"]:
        """Target points: valid points from index ``context_size`` on."""
        return self.mask & ~self.context_mask


@functools.partial(jax.jit, static_argnames=("n", "n_points", "config", "family"))
def _sample(key, *, n, n_points, config, family):
    model = scalefree_prior if family is None else SCALEFREE_FAMILY_MODELS[family]

    def one(k):
        return handlers.seed(model, rng_seed=k)(n_points, config=config)

    out = jax.vmap(one)(jax.random.split(key, n))
    return ScaleFreeBatch(
        x=out["x"],
        y=out["y"],
        y_clean=out["y_clean"],
        mask=jnp.arange(n_points)[None, :] < out["length"][:, None],
        length=out["length"],
        context_size=out["context_size"],
        family=jnp.broadcast_to(out["family"], (n,)),
        sigma=out["sigma"],
        curve=out["curve"],
    )


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def sample_scalefree_curves(
    key: Array,
    n: int,
    *,
    n_points: int | None = None,
    config: ScaleFreePriorConfig | None = None,
    family: int | None = None,
) -> ScaleFreeBatch:
    """Draw ``n`` curves of the scale-free prior, padded to ``n_points``, jit-compiled.

    Each curve is one draw of [`scalefree_prior`][scalebayes.priors.scalefree_prior] (or of
    the model of ``family``) under ``numpyro.handlers.seed`` with its own key; the draws are
    ``vmap``-ed, with no rejection. Compiled once per ``(n, n_points, config, family)`` and key
    type; the same key gives the same batch.

    Args:
        key: a JAX PRNG key.
        n: number of curves, >= 1.
        n_points: padded length, >= ``config.length_range[1]``; ``None`` (default) is
            ``config.length_range[1]`` (128 for the default config).
        config: hyperparameters; ``None`` is
            [`ScaleFreePriorConfig()`][scalebayes.priors.ScaleFreePriorConfig].
        family: ``None`` for the mixture, or a family id (0 Down, 1 Down-Down,
            2 Down-Up-Down) to draw from that family's model only.

    Returns:
        A [`ScaleFreeBatch`][scalebayes.priors.ScaleFreeBatch].

    Raises:
        TypeError: if ``n``, ``n_points`` or ``family`` is not an int or ``config`` is not a
            ``ScaleFreePriorConfig``.
        ValueError: if ``n < 1``, ``n_points < config.length_range[1]`` or ``family`` is not
            0, 1 or 2.
    """
    config = ScaleFreePriorConfig() if config is None else config
    if not isinstance(config, ScaleFreePriorConfig):
        raise TypeError(f"config must be a ScaleFreePriorConfig, got {type(config).__name__}")
    key = check_key(key)
    n = _int("n", n, 1)
    longest = config.length_range[1]
    n_points = _int("n_points", longest if n_points is None else n_points, longest)
    if family is not None:
        family = _int("family", family, 0)
        if family >= len(SCALEFREE_FAMILY_MODELS):
            raise ValueError(f"family must be 0, 1 or 2 (or None), got {family}")
    return _sample(key, n=n, n_points=n_points, config=config, family=family)


@jax.jit
def _end_slopes(curve: ScaleFreeCurve, u_last):
    """Local log-log slopes at the last context point and at the last point, per curve."""

    def one(c, last):
        return scalefree_slope(c, jnp.stack([jnp.zeros_like(last), last]))

    slopes = jax.vmap(one)(curve, u_last)
    return slopes[:, 0], slopes[:, 1]


def end_slopes(batch: ScaleFreeBatch) -> tuple[np.ndarray, np.ndarray]:
    """The local log-log slopes ``d log10 y_clean / d log10 x`` at both ends of the targets.

    Args:
        batch: a [`ScaleFreeBatch`][scalebayes.priors.ScaleFreeBatch].

    Returns:
        ``(at_context_end, at_last_point)``, numpy arrays of shape ``(n,)``: the slope at the
        last context point (``x = 1``) and at the last point. Their difference measures how
        much the curve bends beyond the context (a floor or break setting in there).
    """
    n = batch.length.shape[0]
    x_last = batch.x[jnp.arange(n), batch.length - 1]
    first, last = _end_slopes(batch.curve, jnp.log10(x_last))
    return np.asarray(first), np.asarray(last)


_TITLES = ("Down", "Down-Down", "Down-Up-Down")


def plot_scalefree_prior(
    key: Array,
    n_curves: int = 12,
    path: str | os.PathLike | None = None,
    *,
    n_summary: int = 4096,
    config: ScaleFreePriorConfig | None = None,
):
    """Plot scale-free prior curves in log-log, and the reach and slope distributions.

    One batch of ``n_summary`` curves is drawn; the first ``n_curves`` are drawn one per
    panel (noise-free curve as a line, context points filled, targets open, ``x = 1`` the last
    context point dotted); the bottom row shows histograms over the whole batch of the reach
    ``log10(x_last / x_context_end)``, of the local log-log slope at ``x = 1`` and at the last
    point, and of the change of that slope between them.

    Args:
        key: a JAX PRNG key.
        n_curves: curves drawn one per panel, in rows of 4 (at most ``n_summary``).
        path: where to save the figure (PNG, by extension); ``None`` saves nothing.
        n_summary: curves behind the histograms.
        config: prior hyperparameters; ``None`` is the default.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure  # optional at import time, like all plotting

    config = ScaleFreePriorConfig() if config is None else config
    n_curves = _int("n_curves", n_curves, 1)
    n_summary = _int("n_summary", n_summary, n_curves)
    batch = sample_scalefree_curves(key, n_summary, config=config)
    x, y = np.asarray(batch.x), np.asarray(batch.y)
    length, ctx, family = (np.asarray(a) for a in (batch.length, batch.context_size, batch.family))
    s0, s1 = end_slopes(batch)
    reach = np.log10(x[np.arange(n_summary), length - 1])

    rows = -(-n_curves // 4)
    fig = Figure(figsize=(14, 3.0 * rows + 3.4), layout="constrained")
    grid = fig.add_gridspec(rows + 1, 12, height_ratios=[1.0] * rows + [1.1])
    for i in range(n_curves):
        ax = fig.add_subplot(grid[i // 4, 3 * (i % 4) : 3 * (i % 4) + 3])
        n, c = length[i], ctx[i]
        u = np.linspace(np.log10(x[i, 0]), np.log10(x[i, n - 1]), 300)
        curve = jax.tree.map(lambda a, i=i: a[i], batch.curve)
        dense = np.exp(np.asarray(scalefree_log_curve(curve, u)))
        ax.loglog(10**u, dense, color="0.55", lw=1.0)
        ax.loglog(x[i, :c], y[i, :c], "o", ms=4, color=f"C{family[i]}", label="context")
        ax.loglog(x[i, c:n], y[i, c:n], "o", ms=4, mfc="none", color=f"C{family[i]}")
        ax.axvline(1.0, color="0.3", ls=":", lw=0.8)
        ax.set_title(
            f"{_TITLES[family[i]]}: {c} ctx + {n - c} tgt, reach 10^{reach[i]:.1f}",
            fontsize=9,
        )
        plain_log_ticks(ax.xaxis, x[i, n - 1] / x[i, 0])
        plain_log_ticks(ax.yaxis, y[i, :n].max() / y[i, :n].min())
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25, which="major")

    ax = fig.add_subplot(grid[rows, 0:4])
    ax.hist(reach, bins=40, color="C0", alpha=0.8)
    ax.set_xlabel("reach: log10(x at last target / x at context end)")
    ax.set_ylabel("curves")
    ax = fig.add_subplot(grid[rows, 4:8])
    bins = np.linspace(-1.5, 0.5, 60)
    ax.hist(np.clip(s0, -1.5, 0.5), bins=bins, alpha=0.6, label="at x = 1 (context end)")
    ax.hist(np.clip(s1, -1.5, 0.5), bins=bins, alpha=0.6, label="at the last target")
    ax.set_xlabel("local log-log slope d log y / d log x (clipped to the range)")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(grid[rows, 8:12])
    change = s1 - s0
    ax.hist(np.clip(change, -0.8, 0.8), bins=np.linspace(-0.8, 0.8, 65), color="C2", alpha=0.8)
    frac = np.mean(np.abs(change) > 0.1)
    ax.set_xlabel(f"slope change, last target minus x = 1 (|.| > 0.1: {frac:.0%})")
    names = ", ".join(f"{name} {np.mean(family == k):.2f}" for k, name in enumerate(FAMILY_NAMES))
    fig.suptitle(
        f"Scale-free prior predictive ({n_summary} curves: {names}); "
        "filled = context, open = targets, line = noise-free curve"
    )
    if path is not None:
        write_figure(fig, path, dpi=100)
    return fig
