"""``benchmarks/span_switch.py``: the benchmark's window is the one the default PFN reads."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import span_switch

from scalebayes.pfn import DEFAULT_MODEL, PFN, SPAN_GUARD, SpanWarning


def test_the_benchmark_window_is_what_the_guard_reads():
    x = 1e3 * 8.0 ** np.arange(7)  # 5.4 decades
    row = {"xc": x, "yc": 2.0 + 30 * x**-0.2, "xt": np.array([3 * x[-1]]), "yt": np.array([2.5])}
    assert span_switch.span(row) > SPAN_GUARD and span_switch.reach(row) == pytest.approx(3.0)
    small = span_switch.window(row)
    assert small["xc"].min() >= 3 * x[-1] / 100 and small["xc"].size == 2
    pfn = PFN.load(DEFAULT_MODEL)
    with pytest.warns(SpanWarning, match="2 of 7 runs"):
        guarded = pfn.predict(row["xc"], row["yc"], row["xt"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the window alone spans 150x: read whole, silently
        alone = pfn.predict(small["xc"], small["yc"], row["xt"])
    np.testing.assert_allclose(
        guarded.quantile([0.05, 0.5, 0.95]), alone.quantile([0.05, 0.5, 0.95])
    )


def test_synthetic_rows_span_more_than_four_decades():
    sets = span_switch._synthetic(200, 0)
    assert set(sets) == {"2x", "5x"} and len(sets["2x"]) == len(sets["5x"]) > 0
    for label, factor in (("2x", 2.0), ("5x", 5.0)):
        for row in sets[label]:
            assert row["xc"][-1] / row["xc"][0] > 1e4
            assert row["xt"][0] == pytest.approx(factor * row["xc"][-1])


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        span_switch.main(["--span", "0.5"])
    assert stop.value.code == 2 and "--span" in capsys.readouterr().err


def test_the_benchmark_y_window_is_what_the_far_model_reads():
    from scalebayes.pfn import FAR_MODEL, Y_SPAN_GUARD

    x = np.geomspace(1.0, 1e5, 12)
    row = {"xc": x, "yc": 0.5 + 200.0 * x**-0.5, "xt": np.array([3e5]), "yt": np.array([0.9])}
    assert span_switch.y_span(row) > Y_SPAN_GUARD
    small = span_switch.y_window(row)
    assert span_switch.y_span(small) <= Y_SPAN_GUARD and small["xc"][-1] == x[-1]
    far = PFN.load(FAR_MODEL)
    with pytest.warns(SpanWarning, match="y spans"):
        guarded = far.predict(row["xc"], row["yc"], row["xt"])
    alone = far.predict(small["xc"], small["yc"], row["xt"])
    np.testing.assert_allclose(
        guarded.quantile([0.05, 0.5, 0.95]), alone.quantile([0.05, 0.5, 0.95])
    )
