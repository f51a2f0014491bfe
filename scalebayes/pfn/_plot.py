"""Fan charts of PFN extrapolations (drawn by ``scalebayes.evaluate.plot_fans``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import figure_format
from ..evaluate import (
    MAX_PANELS,
    JoinedPredictive,
    Predictive,
    fan_grid,
    per_curve_x,
    plot_fans,
)
from ._predict import FAR_SWITCH, _at_most
from ._stack import predict_each, predict_shipped


def shipped_fans(
    x_context: Sequence[np.ndarray],
    y_context: Sequence[np.ndarray],
    x_to: Sequence[Sequence[float]],
    *,
    names: Sequence[str] | None = None,
    n: int = 60,
) -> tuple[list[np.ndarray], list[Predictive]]:
    """Fan grids and the shipped answer over them, drawn through the answers at ``x_to``.

    The default model maps x over the context and the near x asked together, so a near
    answer depends on the other near x asked (see
    [`predict_shipped`][scalebayes.pfn.predict_shipped]). A fan asks 60 x at once; asked
    as one call its near part would be mapped up to the fan's furthest near x, not the
    table's, and miss the table's answers (by 1.3% in the median on a curve a review
    measured). Here each curve's grid ([`fan_grid`][scalebayes.evaluate.fan_grid]) takes in
    the x of ``x_to``; its x up to the furthest near x of ``x_to`` are answered in one call
    with those of ``x_to`` (so at every x of ``x_to`` the fan is what ``scalebayes
    extrapolate --to`` prints), the near x beyond it each alone (as if asked alone), and the
    far x by the far model, which reads the context alone.

    Args:
        x_context: the curves' run sizes, one array per curve.
        y_context: their losses, one array per curve.
        x_to: the x asked of each curve (its table), one sequence per curve.
        names: one per curve, to name a curve in an error or a warning.
        n: grid points per curve before the x of ``x_to`` are merged in.

    Returns:
        ``(grids, predictives)``: per curve the increasing grid and its predictive.
    """
    grids, jobs = [], []  # jobs: (curve, positions in its grid), each one predicted curve
    for i, (xc, asked) in enumerate(zip(x_context, x_to, strict=True)):
        asked = np.asarray(asked, np.float64)
        top = float(np.max(xc))
        grid = np.union1d(fan_grid(xc, asked, n), asked[asked > top])
        grids.append(grid)
        near_asked = asked[(asked > top) & _at_most(asked / top, FAR_SWITCH)]
        cut = float(near_asked.max()) if near_asked.size else top
        alone = (grid > cut) & _at_most(grid / top, FAR_SWITCH)  # as predict_shipped splits
        together = np.flatnonzero(~alone)
        jobs += [(i, together)] if together.size else []
        jobs += [(i, np.array([j])) for j in np.flatnonzero(alone)]
    labels = [str(i) for i in range(len(grids))] if names is None else list(names)
    answers = predict_shipped(
        [x_context[i] for i, _ in jobs],
        [y_context[i] for i, _ in jobs],
        [grids[i][where] for i, where in jobs],
        names=[labels[i] for i, _ in jobs],  # the curve's name, not the job's
    )
    parts: list[list] = [[] for _ in grids]
    for (i, where), answer in zip(jobs, answers, strict=True):
        parts[i].append((where, answer))
    fans = [
        mine[0][1]
        if len(mine) == 1
        else JoinedPredictive([p for _, p in mine], [w for w, _ in mine])
        for mine in parts
    ]
    return grids, fans


def _held_out(x_target, y_target, n_curves: int):
    """``[(x, y)]`` per curve from ``plot_fan``'s ``x_target`` and ``y_target``: one array per
    curve, or, for one curve, its array itself."""
    if x_target is None and y_target is None:
        return None
    if x_target is None or y_target is None:
        raise ValueError("give x_target and y_target together (the held-out points' x and y)")
    pairs = []
    for what, value in (("x_target", x_target), ("y_target", y_target)):
        try:  # one curve's flat array of numbers
            flat = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            flat = None
        if flat is not None and flat.ndim <= 1 and n_curves == 1:
            pairs.append([np.atleast_1d(flat)])
        else:
            pairs.append([np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in value])
        if len(pairs[-1]) != n_curves:
            raise ValueError(
                f"{what} must hold one array per curve ({n_curves}); got {len(pairs[-1])}"
            )
    for i, (x, y) in enumerate(zip(*pairs, strict=True)):
        if x.shape != y.shape:
            raise ValueError(
                f"x_target and y_target differ in length for curve {i}: {x.size} and {y.size}"
            )
    return list(zip(*pairs, strict=True))


def plot_fan(
    pfn,
    curves,
    x_to: float | Sequence[float] | Sequence[Sequence[float]],
    path: str | os.PathLike,
    *,
    x_target: Sequence[np.ndarray] | None = None,
    y_target: Sequence[np.ndarray] | None = None,
    marks: Sequence[tuple[float, str]] = (),
) -> Path:
    """Write a fan chart per curve: observed points, median, 50% and 90% bands.

    Args:
        pfn: a [`PFN`][scalebayes.pfn.PFN], one per curve, or ``None`` for the shipped
            answer as ``scalebayes extrapolate`` gives it, each x by its own distance
            ([`predict_shipped`][scalebayes.pfn.predict_shipped]; on each panel a dashed
            line marks where the far model takes over, ``FAR_SWITCH`` times that curve's
            largest run), drawn through the answers at ``x_to`` as ``scalebayes
            extrapolate`` prints them ([`shipped_fans`][scalebayes.pfn.shipped_fans]).
        curves: [`Curve`][scalebayes.data.Curve] objects (or one) whose
            ``x_context``/``y_context`` (or all points, if they have no split) condition the
            PFN; at most 12 are drawn.
        x_to: the furthest x to extrapolate to (one number, or a sequence whose maximum is
            used) and the x values marked on the chart, beyond every curve's runs: the same
            for every curve, or one sequence per curve (as ``scalebayes extrapolate --to
            10x`` asks of curves that end at different x).
        path: file to write: ``.png``, ``.pdf`` or ``.svg`` (the format follows the
            extension); its directory is created if missing.
        x_target: optional held-out x to overlay, one array per curve (for one curve, its
            array alone will do).
        y_target: the held-out y at ``x_target``, in the same shape.
        marks: more ``(x, label)`` pairs drawn as labelled dashed lines (e.g. the candidate
            runs and the target of ``scalebayes suggest``).

    Returns:
        The written path.

    Raises:
        ValueError: If there are no curves, ``x_to`` does not lie beyond a curve's runs or
            is not one sequence per curve where it is several,
            the held-out points are not one ``x_target`` and ``y_target`` array per curve of
            equal lengths, or the extension of ``path`` is not supported (checked before any
            prediction).
        TypeError: If a curve is not a ``Curve``.
    """
    figure_format(path)  # an unsupported extension fails before the predictions
    from ..data import Curve

    curves = [curves] if isinstance(curves, Curve) else list(curves)
    n_given = len(curves)
    bad = next((c for c in curves if not isinstance(c, Curve)), None)
    if bad is not None:
        raise TypeError(
            f"curves must be Curve objects (scalebayes.data.Curve(x, y, name)); got "
            f"{type(bad).__name__}"
        )
    asked = [[float(v) for v in xs] for xs in per_curve_x(x_to, len(curves), "plot_fan: x_to")]
    shipped = pfn is None
    pfns = list(pfn) if isinstance(pfn, Sequence) else [pfn] * len(curves)
    if len(pfns) != len(curves):
        raise ValueError(f"give one PFN or one per curve: {len(pfns)} PFNs, {len(curves)} curves")
    curves, pfns, asked = curves[:MAX_PANELS], pfns[:MAX_PANELS], asked[:MAX_PANELS]
    if not curves:
        raise ValueError("no curves to plot")
    bare = [c.name for c, to in zip(curves, asked, strict=True) if not to]
    if bare:
        raise ValueError(f"plot_fan: x_to gives curve {bare[0]!r} no x; ask at least one of each")
    xs = [c.x_context if c.is_context is not None else c.x for c in curves]
    ys = [c.y_context if c.is_context is not None else c.y for c in curves]
    inside = [
        (c.name, max(to))
        for c, x, model, to in zip(curves, xs, pfns, asked, strict=True)
        if max(to) <= np.max(x) and not getattr(model, "interpolation", False)
    ]
    if inside:  # a model trained to interpolate may be asked inside the runs
        raise ValueError(
            f"x_to (up to {inside[0][1]:g}) does not lie beyond the runs of "
            f"{', '.join(name for name, _ in inside[:3])}: a fan chart extrapolates; ask about "
            "a larger x"
        )
    held_out = _held_out(x_target, y_target, n_given)
    held_out = None if held_out is None else held_out[: len(curves)]
    names = [c.name for c in curves]
    panel_marks = None
    if shipped:
        grids, fans = shipped_fans(xs, ys, asked, names=names)
        label = "PFN (shipped answer) median"
        switches = [FAR_SWITCH * float(np.max(x)) for x in xs]  # each curve's own 5x
        panel_marks = [
            [(switch, f"far model beyond ({FAR_SWITCH:g}x)")] if switch < max(to) else []
            for switch, to in zip(switches, asked, strict=True)
        ]
    else:
        grids = [fan_grid(x, to) for x, to in zip(xs, asked, strict=True)]
        fans = predict_each(pfns, xs, ys, grids, names=names)
        label = "PFN median"
    return plot_fans(
        fans,
        grids,
        list(zip(xs, ys, strict=True)),
        path,
        names=names,
        label=label,
        x_to=asked,
        held_out=held_out,
        axis_labels=[c.axis_labels for c in curves],
        marks=marks,
        panel_marks=panel_marks,
    )
