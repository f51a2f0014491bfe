"""Plain-number tick labels on the log axes of the package's loss plots."""

import numpy as np
import pytest

from scalebayes._io import plain_log_ticks

pytest.importorskip("matplotlib")


def _labels(lo, hi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([1, 2], [lo, hi])
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    fig.canvas.draw()
    return [t.get_text() for t in ax.get_yticklabels() if t.get_visible() and t.get_text()]


def test_under_a_decade_gets_several_plain_labels():
    labels = _labels(1.7, 3.9)
    assert len(labels) >= 3
    values = [float(t.replace("\N{MINUS SIGN}", "-")) for t in labels]  # plain numbers parse
    assert all(1.0 < v < 5.0 for v in values)


def test_many_decades_keep_decade_ticks_in_plain_numbers():
    labels = _labels(1e-3, 1e2)
    values = sorted(float(t) for t in labels)
    assert all(np.isclose(np.log10(v), np.round(np.log10(v))) for v in values)
    assert "0.001" in labels or "0.01" in labels
