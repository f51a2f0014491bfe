"""Fan charts of any predictive: observed points, median, 50% and 90% bands (matplotlib,
imported only when drawing)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import figure_format, plain_log_ticks, write_figure
from ._predictive import Predictive

__all__ = ["MAX_PANELS", "fan_grid", "per_curve_x", "plot_fans"]

_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
_BANDS = ((0, 4, 0.18), (1, 3, 0.35))  # (lower, upper) indices into _LEVELS, alpha
MAX_PANELS = 12
"""At most this many curves are drawn in one fan chart."""


def per_curve_x(
    x: float | Sequence[float] | Sequence[Sequence[float]], n_curves: int, name: str = "x_to"
) -> list[np.ndarray]:
    """The x asked of each of ``n_curves`` curves: one number or one sequence of x asks the
    same of every curve; a sequence of ``n_curves`` sequences asks each curve its own (as
    ``scalebayes extrapolate --to 10x`` does of curves that end at different x).

    Returns:
        ``n_curves`` float64 arrays, 1-D.

    Raises:
        ValueError: for a sequence of sequences of another length than ``n_curves``, or one
            that mixes numbers and sequences.
    """
    if hasattr(x, "shape"):  # an array: 0-D or 1-D asks every curve, 2-D one row per curve
        array = np.asarray(x, dtype=np.float64)
        items = list(np.atleast_1d(array)) if array.ndim <= 1 else list(array)
    else:  # a number, or a sequence (of numbers, or of one sequence per curve: ragged)
        items = list(x) if isinstance(x, Sequence) else [x]
    nested = [np.ndim(v) != 0 for v in items]
    if not any(nested):
        return [np.asarray(items, dtype=np.float64)] * n_curves
    if not all(nested) or len(items) != n_curves:
        raise ValueError(
            f"{name}: give one sequence of x for every curve, or one sequence per curve "
            f"({n_curves} curves); got {len(items)} items"
            + (", some of them numbers and some sequences" if not all(nested) else "")
        )
    return [np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in items]


def fan_grid(
    x_observed: np.ndarray, x_to: float | Sequence[float], n: int = 60, *, inside: bool = False
) -> np.ndarray:
    """Log-spaced query points from just beyond the last observation to the furthest target.

    Args:
        x_observed: the observed x of one curve (> 0).
        x_to: the x value(s) asked about; the grid ends at the largest (or 1% beyond the
            last observation, if that is further).
        n: number of points.
        inside: for a model that also answers inside (or below) the runs, such as NUTS: the
            grid starts at the smallest x asked where that lies before the last observation,
            so that a fan is drawn there too.

    Returns:
        ``(n,)`` increasing x.

    Raises:
        ValueError: if an x is not finite and > 0, or ``n`` is below 2.
    """
    observed = np.asarray(x_observed, dtype=np.float64)
    asked = np.atleast_1d(np.asarray(x_to, dtype=np.float64))
    for name, values in (("x_observed", observed), ("x_to", asked)):
        if values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"fan_grid: {name} must be finite numbers > 0")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"fan_grid: n must be an integer >= 2 (the grid's two ends), got {n!r}")
    lo = float(np.max(observed))
    hi = max(float(np.max(asked)), lo * 1.01)
    first = float(np.min(asked))
    return np.geomspace(first if inside and first < lo else lo * 1.0001, hi, n)


def plot_fans(
    predictions: Sequence[Predictive],
    grids: Sequence[np.ndarray],
    observed: Sequence[tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    *,
    names: Sequence[str],
    label: str = "median",
    x_to: Sequence[float] | Sequence[Sequence[float]] = (),
    held_out: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    axis_labels: tuple[str, str] | Sequence[tuple[str, str]] = ("x", "y"),
    marks: Sequence[tuple[float, str]] = (),
    panel_marks: Sequence[Sequence[tuple[float, str]]] | None = None,
) -> Path:
    """Write a fan chart per curve (log-log): its points, the median, 50% and 90% bands.

    Args:
        predictions: one [`Predictive`][scalebayes.evaluate.Predictive] per curve, over
            that curve's grid (e.g. [`fan_grid`][scalebayes.evaluate.fan_grid]); at most
            `MAX_PANELS` are drawn.
        grids: the x of each prediction.
        observed: ``(x, y)`` of each curve's observed points.
        path: file to write: ``.png``, ``.pdf`` or ``.svg`` (the format follows the
            extension); its directory is created if missing.
        names: a title per curve.
        label: the median's legend entry, e.g. ``"PFN median"``.
        x_to: x values marked with dotted vertical lines, the same on every panel or one
            sequence per prediction (`per_curve_x`); where an x lies on a curve's grid
            (as [`fan_grid`][scalebayes.evaluate.fan_grid] puts it), the prediction there is
            drawn as a marker with its 90% interval, the answer as a table prints it.
        held_out: optional ``(x, y)`` of held-out points per curve, drawn as crosses.
        axis_labels: the x and y axes' labels (e.g. a curve's ``Curve.axis_labels``), one
            pair for every panel or one pair per prediction.
        marks: ``(x, label)`` pairs drawn on every panel as dashed vertical lines with a
            legend entry (e.g. the candidate runs of ``scalebayes suggest``).
        panel_marks: ``(x, label)`` pairs per curve, drawn on that curve's panel only, as
            dashed lines after ``marks`` (e.g. where another model takes over, which
            depends on the curve's largest run).

    Returns:
        The written path.

    Raises:
        ValueError: for no predictions, inputs of different lengths, or an extension that is
            not supported.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure_format(path)
    if isinstance(predictions, Predictive) or not isinstance(predictions, Sequence):
        raise TypeError(
            "plot_fans: predictions is a list of predictives, one per curve (for one curve, "
            f"[prediction]); got {type(predictions).__name__}"
        )
    n = min(len(predictions), MAX_PANELS)
    if n == 0:
        raise ValueError("no curves to plot")
    lengths = {len(predictions), len(grids), len(observed), len(names)}
    if held_out is not None:
        lengths.add(len(held_out))
    if panel_marks is not None:
        panel_marks = [list(panel) for panel in panel_marks]
        lengths.add(len(panel_marks))
        for panel in panel_marks:
            for mark in panel:
                if not (isinstance(mark, tuple | list) and len(mark) == 2):
                    raise ValueError(
                        "plot_fans: panel_marks holds one list of (x, label) pairs per "
                        f"prediction; got {mark!r} in place of a pair"
                    )
    if len(axis_labels) == 2 and all(isinstance(text, str) for text in axis_labels):
        axis_labels = [tuple(axis_labels)] * len(predictions)  # one pair for every panel
    else:
        axis_labels = [tuple(pair) for pair in axis_labels]
        lengths.add(len(axis_labels))
        if any(len(pair) != 2 for pair in axis_labels):
            raise ValueError("plot_fans: axis_labels is one (x, y) pair or one per prediction")
    x_to = per_curve_x(x_to, len(predictions), "plot_fans: x_to") if len(x_to) else None
    if len(lengths) != 1:
        raise ValueError(
            "plot_fans: give one grid, observed pair and name per prediction (and one "
            "panel_marks entry and axis_labels pair, if any)"
        )
    for i, (pred, grid) in enumerate(zip(predictions, grids, strict=True)):
        if np.ndim(grid) != 1 or np.size(grid) != getattr(pred, "n_targets", np.size(grid)):
            raise ValueError(
                f"plot_fans: grid {i} holds {np.size(grid)} x but its prediction "
                f"{getattr(pred, 'n_targets', '?')} targets; predict at the grid's x"
            )
    cols = min(3, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(4.6 * cols, 3.6 * rows), constrained_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i in range(n):
        ax, grid, (x, y) = axes[i], np.asarray(grids[i]), observed[i]
        qs = np.asarray(predictions[i].quantile(list(_LEVELS)))  # (5, n_x)
        for lo, hi, alpha in _BANDS:
            band = f"{round((_LEVELS[hi] - _LEVELS[lo]) * 100)}% interval"
            ax.fill_between(grid, qs[lo], qs[hi], color="C0", alpha=alpha, lw=0, label=band)
        ax.plot(grid, qs[2], color="C0", lw=1.5, label=label)
        ax.plot(x, y, "o", color="k", ms=3, label="observed")
        if held_out is not None:
            ax.plot(*held_out[i], "x", color="C3", ms=4, label="held out")
        for xv in () if x_to is None else x_to[i]:
            ax.axvline(xv, color="0.6", lw=0.6, ls=":")
            at = np.flatnonzero(np.isclose(grid, xv, rtol=1e-9, atol=0.0))
            if at.size:  # the answer printed for an x asked: its median and 90% interval
                j = at[0]
                ax.errorbar(
                    grid[j],
                    qs[2, j],
                    yerr=[[qs[2, j] - qs[0, j]], [qs[4, j] - qs[2, j]]],
                    fmt="D",
                    color="0.15",
                    ms=4,
                    capsize=3,
                    lw=1,
                    zorder=5,
                    label="asked: median and 90% interval",
                )
        own = [] if panel_marks is None else list(panel_marks[i])
        for k, (xv, text) in enumerate([*marks, *own]):
            ax.axvline(xv, color=f"C{k + 1}", lw=0.9, ls="--", label=text)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
        ax.set_title(str(names[i])[:48], fontsize=9)
        ax.set_xlabel(axis_labels[i][0])
        ax.set_ylabel(axis_labels[i][1])
    # one legend, on the first panel, for every labelled element of any panel (a mark drawn
    # on another panel only, such as its own 5x switch, is explained there too)
    handles: dict[str, object] = {}
    for ax in axes[:n]:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(text, handle)
    # below the panels, where it hides no band (on the first panel it covered the lower one)
    fig.legend(
        list(handles.values()),
        list(handles),
        fontsize=7,
        loc="outside lower center",
        ncol=min(2 * cols, len(handles)),
        frameon=False,
    )
    for ax in axes[n:]:
        ax.set_visible(False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_figure(fig, path, dpi=110)
