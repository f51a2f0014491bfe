"""The study's calibration picture: reliability diagrams and PIT histograms per dataset.

Both come from the ``pit`` counts of ``per_curve.csv``
([`pit_histogram`][scalebayes.evaluate.pit_histogram]: the targets binned at the
predictive's quantiles ``k / 20``), summed over the curves of a dataset. They are drawn with
matplotlib directly: ArviZ's ``plot_ppc_pit`` needs predictive draws and an ArviZ
``DataTree``, and the study keeps only what every method can give, its quantiles.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._io import write_figure
from ..evaluate import coverage_from_pit

if TYPE_CHECKING:
    from ._rows import CurveScore


def pooled_pit(
    scores: Sequence[CurveScore],
) -> dict[tuple[str, str], tuple[np.ndarray, int]]:
    """``{(dataset, method): (summed PIT counts, curves)}`` over the rows that have counts."""
    pooled: dict[tuple[str, str], tuple[np.ndarray, int]] = {}
    for score in scores:
        if score.pit is None:
            continue
        key = (score.dataset, score.method)
        counts = np.asarray(score.pit, dtype=np.int64)
        total, n = pooled.get(key, (np.zeros_like(counts), 0))
        if total.shape == counts.shape:  # rows binned otherwise are left out
            pooled[key] = (total + counts, n + 1)
    return pooled


def _looks(methods: list[str]) -> tuple[dict[str, object], dict[str, str]]:
    """A colour and a line style per method, every method told apart: a recalibrated twin
    ("M+cal") wears its base's colour dashed, and beyond the 10 default colours (matplotlib's
    C10 is C0 again) the 20 of ``tab20``, then dotted and dash-dotted lines."""
    from matplotlib import colormaps

    bases = list(dict.fromkeys(m.removesuffix("+cal") for m in methods))
    palette = [f"C{i}" for i in range(10)] if len(bases) <= 10 else list(colormaps["tab20"].colors)
    colours, styles = {}, {}
    for method in methods:
        k = bases.index(method.removesuffix("+cal"))
        colours[method] = palette[k % len(palette)]
        base_style = ("-", ":", "-.")[(k // len(palette)) % 3]
        styles[method] = "--" if method.endswith("+cal") else base_style
    return colours, styles


def write_calibration_figure(
    scores: Sequence[CurveScore], datasets: Sequence[str], path: str | Path
) -> Path | None:
    """Write the reliability diagrams (top row) and PIT histograms (bottom row), one column
    per dataset and one line per probabilistic method; ``None`` (nothing written) when no row
    has PIT counts.

    Args:
        scores: the study's rows.
        datasets: the datasets, in column order (those without counts are left out).
        path: a ``.png``, ``.pdf`` or ``.svg`` file, written atomically.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pooled = pooled_pit(scores)
    columns = [d for d in datasets if any(key[0] == d for key in pooled)]
    if not columns:
        return None
    methods = list(dict.fromkeys(method for _, method in pooled))
    width = 3.4 * len(columns) + 0.6
    fig = Figure(figsize=(width, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, len(columns), squeeze=False)
    colours, styles = _looks(methods)
    for j, dataset in enumerate(columns):
        top, bottom = axes[0, j], axes[1, j]
        top.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        for method in methods:
            if (dataset, method) not in pooled:
                continue
            counts, n_curves = pooled[(dataset, method)]
            nominal, empirical = coverage_from_pit(counts)
            label = f"{method} ({n_curves} curves, {int(counts.sum())} targets)"
            look = dict(color=colours[method], ls=styles[method])
            top.plot(nominal, empirical, marker="o", ms=3, label=label, **look)
            density = counts / counts.sum() * counts.size
            edges = np.linspace(0, 1, counts.size + 1)
            bottom.stairs(density, edges, lw=1.5, label=method, **look)
        bottom.axhline(1.0, color="0.6", lw=1, ls="--")
        top.set(
            title=dataset,
            xlabel="nominal central interval",
            ylabel="share of targets inside",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        # where it hides the fewest points; handles long enough to show a twin's dashes (a
        # new user's audit read "pfn" and "pfn+cal" as two identical solid lines)
        top.legend(fontsize=7, loc="best", handlelength=3.5)
        bottom.legend(fontsize=7, loc="best", handlelength=3.5)
        bottom.set(xlabel="PIT, F(y) at the target", ylabel="density (1 = calibrated)")
    title = (
        "Calibration: reliability (top) and PIT histogram (bottom), every target of a "
        "dataset pooled"
    )
    # wrapped to the figure's width (about 11 characters an inch at this size): one dataset's
    # figure is 4 inches wide, and an unwrapped title was cut off at both edges
    fig.suptitle("\n".join(textwrap.wrap(title, width=max(28, int(11 * width)))), fontsize=10)
    return write_figure(fig, path, dpi=100)
