"""A prior-predictive figure: curves of each NSL-PFN family with their cutoffs."""

from __future__ import annotations

import os

import jax
import numpy as np

from .._checks import check_key
from .._io import write_figure
from ._config import PriorConfig
from ._curve_prior import FAMILY_MODELS
from ._generator import sample_curves

_TITLES = ("Down", "Down-Down", "Down-Up-Down")


def plot_prior_predictive(
    key: jax.Array,
    n_per_family: int = 30,
    path: str | os.PathLike | None = None,
    *,
    length: int | None = None,
    config: PriorConfig | None = None,
):
    """Plot ``n_per_family`` prior curves of each family, one panel per family.

    Each curve is drawn with [`sample_curves`][scalebayes.priors.sample_curves] from its
    family's model (so with the release's rejection): its noisy values as faint dots, its
    noise-free curve as a line, solid over the context and dashed over the targets, and a
    dot at the cutoff ``x[context_size]``, the first target.

    Args:
        key: a JAX PRNG key.
        n_per_family: curves per panel.
        path: where to save the figure (PNG, by extension); ``None`` saves nothing.
        length: points per curve; ``None`` draws it as NSL-PFN does (50..501).
        config: prior hyperparameters; ``None`` is the NSL-PFN default.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    from matplotlib.figure import Figure  # optional at import time, like all plotting

    fig = Figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    keys = jax.random.split(check_key(key), len(FAMILY_MODELS))
    for ax, k, model, title in zip(axes, keys, FAMILY_MODELS, _TITLES, strict=True):
        batch = sample_curves(k, n_per_family, length=length, config=config, prior=model)
        x, y, yc = (np.asarray(a) for a in (batch.x, batch.y, batch.y_clean))
        lengths, ctx = np.asarray(batch.length), np.asarray(batch.context_size)
        for i in range(n_per_family):
            n, c, color = lengths[i], ctx[i], f"C{i % 10}"
            ax.plot(x[i, :n], y[i, :n], ".", ms=1.5, color=color, alpha=0.3)
            ax.plot(x[i, : c + 1], yc[i, : c + 1], color=color, lw=1.2)
            ax.plot(x[i, c:n], yc[i, c:n], color=color, lw=1.2, ls="--", alpha=0.6)
            ax.plot(x[i, c], yc[i, c], "o", ms=4.5, mfc=color, mec="black", mew=0.7)
        ax.set_title(f"{title} ({n_per_family} curves)")
        ax.set_xlabel("normalised x")
        ax.set_xlim(0.0, (config or PriorConfig()).x_range[1])  # the grid's own upper end
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("y")
    axes[0].set_ylim(bottom=0.0)
    fig.suptitle(
        "NSL-PFN prior predictive: dots = noisy y, line = noise-free curve "
        "(solid = context, dashed = targets), circle = cutoff"
    )
    if path is not None:
        write_figure(fig, path, dpi=110)  # atomically, in the format the extension names
    return fig
