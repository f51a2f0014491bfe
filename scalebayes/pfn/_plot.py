"""Fan charts of PFN extrapolations (drawn by ``scalebayes.evaluate.plot_fans``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import figure_format
from ..evaluate import MAX_PANELS, fan_grid, plot_fans
from ._predict import FAR_SWITCH
from ._stack import predict_each, predict_shipped


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
        pfn: a [`PFN`][scalebayes.pfn.PFN], one per curve, or ``None`` for the shipped
            answer as ``scalebayes extrapolate`` gives it, each x by its own distance
            ([`predict_shipped`][scalebayes.pfn.predict_shipped]; on a one-curve chart a
            dashed line marks where the far model takes over, ``FAR_SWITCH`` times the
            largest run). Within ``FAR_SWITCH`` the default model maps x over the fan's own
            x, which reach 5x, so where a fan goes beyond 5x its near part can differ a
            little from ``scalebayes extrapolate``'s table at the same x when the table's
            near x stop short of 5x (0.5% in the median at 2x on one curve measured).
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
    figure_format(path)  # an unsupported extension fails before the predictions
    curves = list(curves)
    shipped = pfn is None
    pfns = list(pfn) if isinstance(pfn, Sequence) else [pfn] * len(curves)
    if len(pfns) != len(curves):
        raise ValueError(f"give one PFN or one per curve: {len(pfns)} PFNs, {len(curves)} curves")
    curves, pfns = curves[:MAX_PANELS], pfns[:MAX_PANELS]
    if not curves:
        raise ValueError("no curves to plot")
    xs = [c.x_context if c.is_context is not None else c.x for c in curves]
    ys = [c.y_context if c.is_context is not None else c.y for c in curves]
    grids = [fan_grid(x, x_to) for x in xs]
    held_out = None
    if x_target is not None and y_target is not None:
        held_out = list(zip(x_target, y_target, strict=False))[: len(curves)]
    names = [c.name for c in curves]
    marks = []
    if shipped:
        fans = predict_shipped(xs, ys, grids, names=names)
        label = "PFN (shipped answer) median"
        switch = FAR_SWITCH * float(np.max(xs[0]))
        if len(curves) == 1 and switch < float(np.max(x_to)):
            marks.append((switch, f"far model beyond ({FAR_SWITCH:g}x)"))
    else:
        fans = predict_each(pfns, xs, ys, grids, names=names)
        label = "PFN median"
    return plot_fans(
        fans,
        grids,
        list(zip(xs, ys, strict=True)),
        path,
        names=names,
        label=label,
        x_to=x_to,
        held_out=held_out,
        axis_labels=curves[0].axis_labels,
        marks=marks,
    )
