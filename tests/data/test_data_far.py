"""Tests for the far-extrapolation split and the derived Chinchilla curves.

References are built independently: exact log-spaced grids, hand-worked selections, the
rule `x <= x_max / F` counted directly, and the digitised Chinchilla runs parsed with `csv`.
"""

import csv
import functools
import math
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalebayes.data import (
    BENCHMARKS,
    FAR_SPLITS,
    Curve,
    far_split,
    load_benchmark,
    load_far_benchmark,
    parse_split,
)

# Curves per benchmark that survive far10 / far100 (the table in docs/far-split.md).
SURVIVORS = {
    "ic": (68, 43),
    "nmt": (5, 5),
    "lm": (5, 0),
    "bb": (10, 0),
    "nano": (24, 0),
    "dd": (14, 0),
    "bnsl_addition": (0, 0),
    "chinchilla": (6, 1),
}
# Chinchilla's isoFLOP budgets (Hoffmann et al. 2022, Figure 3), in FLOPs.
CHINCHILLA_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)


def _curve(log_x, y=None, **kw):
    x = 10.0 ** np.asarray(log_x, dtype=np.float64)
    y = np.linspace(3.0, 1.0, x.size) if y is None else y
    return Curve(x, y, "c", **kw)


@pytest.mark.parametrize("k", [3, 4, 7, 8, 11, 16])
def test_thinning_matches_a_geomspace_grid_exactly(k):
    # 41 points at 0.1-decade steps over 4 decades; far10 context: the 31 points up to 1e3.
    x = np.geomspace(1.0, 1e4, 41)
    c = far_split(Curve(x, np.linspace(3.0, 1.0, 41), "g"), 10, max_context=k)
    expected = np.round(np.linspace(0.0, 30.0, k)).astype(int)  # nearest 0.1-decade node
    assert np.unique(expected).size == k
    np.testing.assert_allclose(c.x_context, x[expected], rtol=1e-12)
    np.testing.assert_allclose(c.x_target, x[x >= 1e4 / math.sqrt(10) * (1 - 1e-12)], rtol=0)
    assert c.metadata["far_n_thinned"] == 31 - k
    assert c.metadata["far_n_dropped"] == 41 - c.n


def test_thinning_never_repeats_a_point():
    # Both interior nodes (1 and 2 decades) are nearest to 1.5; the tie goes to node 1,
    # node 2 then takes the next nearest unused point, 2.8.
    c = far_split(_curve([0.0, 0.2, 1.5, 2.8, 3.0, 4.0]), 10, max_context=4)
    np.testing.assert_allclose(np.log10(c.x_context), [0.0, 1.5, 2.8, 3.0], atol=1e-12)
    np.testing.assert_allclose(np.log10(c.x_target), [4.0], atol=1e-12)


def test_point_at_exactly_x_max_over_factor_is_context():
    c = far_split(Curve([1.0, 10.0, 100.0, 300.0, 1000.0], [5, 4, 3, 2, 1], "c"), 10)
    np.testing.assert_array_equal(c.x_context, [1.0, 10.0, 100.0])
    np.testing.assert_array_equal(c.x_target, [1000.0])  # 300 < 1000 / sqrt(10) is dropped
    assert c.metadata["far_n_dropped"] == 1 and c.metadata["far_n_thinned"] == 0


@pytest.mark.parametrize(
    ("log_x", "factor", "survives"),
    [
        (np.linspace(0.0, 2.0, 10), 100, False),  # one point at or below x_max / 100
        (np.linspace(0.0, 2.0, 10), 10, True),  # five points up to 10**0.89
        ([0.0, 0.5, 2.0, 2.5], 10, False),  # two context candidates
        ([0.0, 0.5, 1.4, 2.5], 10, True),  # exactly three
        ([0.0, 0.1, 0.2], 10, False),  # a curve spanning less than the factor
    ],
)
def test_curves_that_do_not_span_enough_return_none(log_x, factor, survives):
    c = _curve(log_x)
    n_ctx = int(np.sum(c.x <= c.x[-1] / factor))  # the documented rule, counted directly
    assert (n_ctx >= 3) == survives
    assert (far_split(c, factor) is not None) == survives


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.floats(0.01, 0.8), min_size=3, max_size=60),
    factor=st.sampled_from([4.0, 10.0, 31.6, 100.0]),
    max_context=st.integers(3, 10),
    existing_split=st.booleans(),
)
def test_far_split_properties(steps, factor, max_context, existing_split):
    log_x = np.concatenate([[0.0], np.cumsum(steps)])
    y = 2.0 + np.cos(log_x)
    mask = np.arange(log_x.size) < 2 if existing_split else None
    c = Curve(10.0**log_x, y, "c", dataset="d", is_context=mask, y_scale=3.0)
    far = far_split(c, factor, max_context=max_context)
    candidates = c.x[c.x <= c.x[-1] / factor * (1 + 1e-9)]
    if candidates.size < 3:
        assert far is None
        return
    assert (far.name, far.dataset) == ("c", "d")
    assert 3 <= far.n_context <= max_context
    assert far.x_context[0] == candidates[0] and far.x_context[-1] == candidates[-1]
    assert np.isin(far.x_context, candidates).all()
    # Every point in the top half-decade is a target, and nothing else.
    np.testing.assert_array_equal(far.x_target, c.x[c.x >= c.x[-1] / 10**0.5 * (1 - 1e-9)])
    assert far.x_target.min() / far.x_context.max() >= factor / math.sqrt(10) * (1 - 1e-9)
    assert far.x_target.max() / far.x_context.max() >= factor * (1 - 1e-9)
    # y / max(y_context) of the new context, multiplied into the old y_scale.
    raw = dict(zip(c.x, c.y * c.y_scale, strict=True))
    np.testing.assert_allclose(far.y * far.y_scale, [raw[v] for v in far.x], rtol=1e-14)
    assert far.y_context.max() == 1.0
    assert far.y_scale == pytest.approx(max(raw[v] for v in far.x_context), rel=1e-15)
    assert far.metadata["far_factor"] == factor
    assert far.metadata["far_n_dropped"] == c.n - far.n
    assert far.metadata["far_n_thinned"] == candidates.size - far.n_context


@pytest.mark.parametrize("factor", [1, 1.0, 0.5, -10, 0, np.nan, np.inf, 3.0])
def test_bad_factor_raises_value_error(factor):
    c = _curve(np.linspace(0.0, 4.0, 20))
    with pytest.raises(ValueError, match="factor must"):
        far_split(c, factor)
    with pytest.raises(ValueError, match="factor must"):
        load_far_benchmark("nano", factor)


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        ({"factor": "10"}, TypeError, "factor must be a real number"),
        ({"factor": True}, TypeError, "factor must be a real number"),
        ({"max_context": 2}, ValueError, "max_context must be >= 3; got 2"),
        ({"max_context": 4.0}, TypeError, "max_context must be an integer"),
        ({"target_decades": 0.0}, ValueError, "target_decades must be finite and > 0"),
        ({"target_decades": np.nan}, ValueError, "target_decades must be finite and > 0"),
        (
            {"target_decades": 1.0},
            ValueError,
            r"factor must exceed 10\*\*target_decades \(target_decades = 1\)",
        ),
    ],
)
def test_bad_arguments_raise(kw, error, message):
    c = _curve(np.linspace(0.0, 4.0, 20))
    with pytest.raises(error, match=message):
        far_split(c, **({"factor": 10} | kw))
    with pytest.raises(TypeError, match="curve must be a Curve"):
        far_split(c.x, 10)  # type: ignore[arg-type]


def test_non_positive_context_loss_raises():
    c = _curve(np.linspace(0.0, 3.0, 10), y=np.linspace(-2.0, -1.0, 10))
    with pytest.raises(ValueError, match=r"max\(y_context\) and needs it > 0"):
        far_split(c, 10)


def test_parse_split():
    assert FAR_SPLITS == {"far10": 10, "far100": 100}
    assert parse_split("default") is None and parse_split(" Default ") is None
    assert (parse_split("far10"), parse_split("FAR100"), parse_split("far30")) == (10, 100, 30)
    for bad in ("far3", "far", "far1.5", "near10", ""):
        with pytest.raises(ValueError, match="unknown split"):
            parse_split(bad)
    with pytest.raises(TypeError, match="split name must be a string"):
        parse_split(10)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", SURVIVORS)
def test_far_benchmarks_keep_the_curves_that_span_enough(name):
    assert set(SURVIVORS) | {"nlp", "nlp+nano"} == set(BENCHMARKS)
    curves = load_benchmark(name)
    for factor, count in zip((10, 100), SURVIVORS[name], strict=True):
        expected = [c.name for c in curves if np.sum(c.x <= c.x[-1] / factor) >= 3]
        far = load_far_benchmark(name, factor)
        assert [c.name for c in far] == expected and len(far) == count
        by_name = {c.name: c for c in curves}
        for f in far:
            src = by_name[f.name]
            raw = dict(zip(src.x, src.y * src.y_scale, strict=True))  # all points, unscaled
            y_raw = np.array([raw[v] for v in f.x])
            assert f.y_scale == pytest.approx(y_raw[f.is_context].max(), rel=1e-15)
            np.testing.assert_allclose(f.y * f.y_scale, y_raw, rtol=1e-14)
            assert f.n_context <= 8 and f.x_target[-1] == src.x[-1]
            assert f.x_target.min() >= src.x[-1] / math.sqrt(10) * (1 - 1e-12)


def test_far_nlp_is_nmt_lm_bb():
    nlp = [c.name for c in load_far_benchmark("NLP", 10)]
    assert nlp == [c.name for n in ("nmt", "lm", "bb") for c in load_far_benchmark(n, 10)]


@functools.cache
def _chinchilla_runs():
    path = resources.files("scalebayes.data").joinpath("_bundled", "svg_extracted_data.csv")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    n = np.array([float(r["Model Size"]) for r in rows])
    c = np.array([float(r["Training FLOP"]) for r in rows])
    return n, c, np.array([float(r["loss"]) for r in rows])


def _chinchilla(name):
    return next(c for c in load_benchmark("chinchilla") if c.name == name)


def test_chinchilla_frontier_has_the_nine_isoflop_budgets_and_decreases():
    f = _chinchilla("compute_frontier")
    assert f.n == len(CHINCHILLA_BUDGETS)
    np.testing.assert_allclose(np.log10(f.x), np.log10(CHINCHILLA_BUDGETS), atol=0.05)
    loss = f.y * f.y_scale
    assert loss[-1] < loss[0] - 0.5
    assert np.all(np.diff(loss) <= 0)
    # Each point is the loss of a run near its budget, and no run near it did better.
    _, c, runs = _chinchilla_runs()
    for x, y in zip(f.x, loss, strict=True):
        dist = np.abs(np.log10(c / x))
        assert np.any((runs == y) & (dist <= 0.05))
        assert runs[dist <= 0.02].min() >= y


def test_chinchilla_loss_vs_n_in_a_tokens_per_parameter_band():
    curve = _chinchilla("loss_vs_N|D/N=5-50")
    n, c, runs = _chinchilla_runs()
    ratio = c / (6.0 * n * n)
    in_band = (ratio >= 5) & (ratio <= 50)
    assert curve.n >= 6 and np.log10(curve.x[-1] / curve.x[0]) >= 2.0
    ends = np.log10([n[in_band].min(), n[in_band].max()])
    np.testing.assert_allclose(np.log10(curve.x[[0, -1]]), ends, atol=0.01)
    for x, y in zip(curve.x, curve.y * curve.y_scale, strict=True):
        same_size = in_band & (np.abs(np.log10(n / x)) <= 0.01)
        assert same_size.any() and runs[same_size].min() == y
    assert np.mean(np.diff(curve.y) <= 0) > 0.7  # bigger models, lower loss, mostly


def test_chinchilla_benchmark_uses_the_default_protocol():
    curves = load_benchmark("chinchilla")
    assert len(curves) == 11 and {c.dataset for c in curves} == {"Chinchilla"}
    loss_vs_d = [c for c in curves if c.name.startswith("loss_vs_D|N=")]
    assert len(loss_vs_d) == 9
    for c in curves:
        n_target = min(max(1, round(0.3 * c.n)), c.n - 1)
        np.testing.assert_array_equal(c.is_context, np.arange(c.n) < c.n - n_target)
        assert c.y_context.max() == 1.0 and c.y_scale > 2.0
    for c in loss_vs_d:
        assert c.n >= 6 and np.log10(c.x[-1] / c.x[0]) >= 2.0
        assert c.y[-1] < c.y[0]  # more tokens, lower loss
