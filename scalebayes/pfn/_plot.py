"""Fan charts of PFN extrapolations (matplotlib, imported only here)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import figure_format, write_figure

_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
_BANDS = ((0, 4, 0.18), (1, 3, 0.35))  # (lower, upper) indices into _LEVELS, alpha
_MAX_PANELS = 12


def fan_grid(x_observed: np.ndarray, x_to: Sequence[float], n: int = 60) -> np.ndarray:
    """Log-spaced query points from just beyond the last observation to the furthest target."""
    lo = float(np.max(x_observed))
    hi = max(float(np.max(x_to)), lo * 1.01)
    return np.geomspace(lo * 1.0001, hi, n)


def plot_fan(
    pfn,
    curves,
    x_to: Sequence[float],
    path: str | os.PathLike,
    *,
    x_target: Sequence[np.ndarray] | None = None,
    y_target: Sequence[np.ndarray] | None = None,
) -> Path:
    """Write a fan chart per curve: observed points, median, 50% and 90% bands.

    Args:
        pfn: a [`PFN`][scalebayes.pfn.PFN].
        curves: curves whose ``x_context``/``y_context`` (or all points, if they have no
            split) condition the PFN; at most 12 are drawn.
        x_to: the furthest x to extrapolate to (a sequence; its maximum is used) and the x
            values marked on the chart.
        path: file to write: ``.png``, ``.pdf`` or ``.svg`` (the format follows the
            extension); its directory is created if missing.
        x_target: optional held-out x to overlay, one array per curve.
        y_target: the held-out y at ``x_target``.

    Returns:
        The written path.

    Raises:
        ValueError: If there are no curves or the extension of ``path`` is not supported
            (checked before any prediction).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure_format(path)  # an unsupported extension fails before the predictions
    curves = list(curves)[:_MAX_PANELS]
    if not curves:
        raise ValueError("no curves to plot")
    xs = [c.x_context if c.is_context is not None else c.x for c in curves]
    ys = [c.y_context if c.is_context is not None else c.y for c in curves]
    grids = [fan_grid(x, x_to) for x in xs]
    preds = pfn.predict_many(xs, ys, grids)
    cols = min(3, len(curves))
    rows = -(-len(curves) // cols)
    fig = Figure(figsize=(4.6 * cols, 3.6 * rows), constrained_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, (curve, x, y, grid, pred) in enumerate(zip(curves, xs, ys, grids, preds, strict=True)):
        ax = axes[i]
        qs = pred.quantile(_LEVELS)  # (5, n_x)
        for lo, hi, alpha in _BANDS:
            label = f"{round((_LEVELS[hi] - _LEVELS[lo]) * 100)}% interval"
            ax.fill_between(grid, qs[lo], qs[hi], color="C0", alpha=alpha, lw=0, label=label)
        ax.plot(grid, qs[2], color="C0", lw=1.5, label="PFN median")
        ax.plot(x, y, "o", color="k", ms=3, label="observed")
        if x_target is not None and y_target is not None:
            ax.plot(x_target[i], y_target[i], "x", color="C3", ms=4, label="held out")
        for xv in x_to:
            ax.axvline(xv, color="0.6", lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(curve.name[:48], fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        if i == 0:
            ax.legend(fontsize=7)
    for ax in axes[len(curves) :]:
        ax.set_visible(False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_figure(fig, path, dpi=110)
