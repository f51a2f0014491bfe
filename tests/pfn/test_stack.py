"""Back-test stacking of PFNs: weights, the mixture it answers with, the study method and the
command line."""

import re

import numpy as np
import pytest
import scipy.stats as st
from scipy.special import logsumexp

from scalebayes.cli import main
from scalebayes.evaluate import MixturePredictive, Predictive
from scalebayes.pfn import (
    NEAR_SCALE,
    PFN,
    StackedPrediction,
    backtest_weights,
    pfn_method,
    predict_each,
    predict_stacked,
)

pytestmark = pytest.mark.filterwarnings("ignore::scalebayes.pfn.ReachWarning")

X = 1e6 * 2.0 ** np.arange(10)
Y = 1.5 + 3.0 * X**-0.2


@pytest.fixture(scope="module")
def models():
    return [PFN.load("nslpfn-small"), PFN.load("mixture-tiny")]


def test_weights_are_the_softmax_of_the_back_tests_summed_log_densities(models):
    """Independent reference: each model predicts the runs beyond half the largest x from
    those below, alone; the weights are the softmax of the summed log densities."""
    short_x, short_y = X[:4], Y[:4]  # 3 runs at or below half its largest x, 1 beyond
    weights = backtest_weights(models, [X, short_x, X[:3]], [Y, short_y, Y[:3]])
    assert weights.shape == (3, 2)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    j = int(np.sum(X <= X[-1] / 2))
    scores = [np.sum(m.predict(X[:j], Y[:j], X[j:]).log_prob(Y[j:])) for m in models]
    # float32 networks, batched (the weights) against one curve alone (the reference): summed
    # log densities of order 10 agree to ~1e-6 absolute, so the weights to a few 1e-6 (a fresh
    # clone's CI measured 1.3e-6 once)
    np.testing.assert_allclose(weights[0], np.exp(scores - logsumexp(scores)), rtol=1e-5)
    short = [
        np.sum(m.predict(short_x[:3], short_y[:3], short_x[3:]).log_prob(short_y[3:]))
        for m in models
    ]
    np.testing.assert_allclose(weights[1], np.exp(short - logsumexp(short)), rtol=1e-5)
    np.testing.assert_array_equal(weights[2], [0.5, 0.5])  # 2 runs below half: no back-test


def test_one_model_twice_weighs_half_each_and_the_answer_is_the_mixture(models):
    same = backtest_weights([models[0], models[0]], [X], [Y])
    np.testing.assert_allclose(same, [[0.5, 0.5]])
    query = np.array([2 * X[-1], 4 * X[-1]])
    (pred,) = predict_stacked(models, [X], [Y], [query])
    assert isinstance(pred, MixturePredictive)
    w = backtest_weights(models, [X], [Y])[0]
    members = [m.predict(X, Y, query) for m in models]
    y = np.full(2, Y[-1])
    density = sum(wk * np.exp(p.log_prob(y)) for wk, p in zip(w, members, strict=True))
    np.testing.assert_allclose(pred.log_prob(y), np.log(density), rtol=1e-6)


def test_bad_input(models):
    with pytest.raises(ValueError, match="at least two PFNs"):
        backtest_weights(models[:1], [X], [Y])
    # a name where a PFN belongs: the entry named, and how to load it
    for call in (backtest_weights, predict_stacked):
        args = ([X], [Y]) if call is backtest_weights else ([X], [Y], [[2 * X[-1]]])
        with pytest.raises(TypeError, match=r"models\[1\] must be a PFN, got str \(load it"):
            call([models[0], "mixture-tiny"], *args)
    # one curve's flat arrays: the advice to wrap them, as the other functions give it
    with pytest.raises(TypeError, match="x_context must be a list of arrays, one per curve"):
        backtest_weights(models, X, Y)
    with pytest.raises(ValueError, match="ratio must be a finite number > 1"):
        backtest_weights(models, [X], [Y], ratio=1.0)
    with pytest.raises(ValueError, match="list 1 and 2 curves"):
        backtest_weights(models, [X], [Y, Y])
    with pytest.raises(ValueError, match="name no model"):
        pfn_method("nslpfn-base", stack=True)
    with pytest.raises(ValueError, match="ratio must be a finite number > 1, got 'abc'"):
        backtest_weights(models, [X], [Y], ratio="abc")
    # a curve's x and y of other lengths, or 2-D: named, not cut to fit or flattened
    with pytest.raises(ValueError, match=r"curve 0: x_context \(10,\) and y_context \(12,\)"):
        backtest_weights(models, [X], [np.r_[Y, 0.3, 0.2]])
    with pytest.raises(ValueError, match=r"curve 0: x_context \(10,\) and y_context \(3,\)"):
        backtest_weights(models, [X], [Y[:3]])
    with pytest.raises(ValueError, match="'c1': y_context must be 1-D"):
        backtest_weights(models, [X, X], [Y, Y[None]], names=["c0", "c1"])
    with pytest.raises(ValueError, match="names must give one name per curve"):
        backtest_weights(models, [X, X], [Y, Y], names=["c0"])
    # predict_each: one PFN per curve, every list as long
    with pytest.raises(ValueError, match="same number of curves, got 1, 2, 2 and 2"):
        predict_each(models[:1], [X, X], [Y, Y], [[2 * X[-1]]] * 2)
    with pytest.raises(ValueError, match="same number of curves, got 2, 1, 1 and 1"):
        predict_each(models, [X], [Y], [[2 * X[-1]]])
    with pytest.raises(ValueError, match="names must give one name per curve"):
        predict_each(models, [X, X], [Y, Y], [[2 * X[-1]]] * 2, names=["a"])
    with pytest.raises(TypeError, match=r"pfns must be PFN objects.*got str"):
        predict_each(["mixture-tiny"], [X], [Y], [[2 * X[-1]]])


def test_study_method_stacks_near_curves_and_leaves_far_ones_to_the_far_model():
    from scalebayes.data import Curve

    near = Curve(
        np.append(X, 2 * X[-1]), np.append(Y, Y[-1] * 0.98), "near", "t", np.arange(11) < 10
    )
    far = Curve(np.append(X, 50 * X[-1]), np.append(Y, Y[-1] * 0.9), "far", "t", np.arange(11) < 10)
    method = pfn_method()  # with no model named, the study method stacks
    a, b = method([near, far])
    assert isinstance(a, StackedPrediction) and not isinstance(b, MixturePredictive)
    assert a.scale == NEAR_SCALE and isinstance(a.base, MixturePredictive)
    assert "back-test at 2.0x" in method.settings()
    assert method.settings() == pfn_method(stack=True).settings()
    # float32 networks: the same curve in batches of other shapes may round differently
    np.testing.assert_allclose(
        b.median(), pfn_method(stack=False)([far])[0].median(), rtol=1e-6
    )  # beyond FAR_SWITCH: the far model, as without stacking
    switch = pfn_method(stack=False)([near])[0]  # within it: the default model alone
    np.testing.assert_allclose(
        switch.median(), pfn_method("nslpfn-base")([near])[0].median(), rtol=1e-6
    )


def test_command_line_answers_near_questions_with_the_stack(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(X, Y, strict=True)))
    to = f"{2 * X[-1]:g}"
    assert main(["extrapolate", str(path), "--to", to]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    w = backtest_weights([PFN.load("nslpfn-base"), PFN.load("mixture-tiny")], [X], [Y])[0]
    assert 0 < w[0] < 1
    assert float(row[4]) == pytest.approx(
        predict_stacked(
            [PFN.load("nslpfn-base"), PFN.load("mixture-tiny")], [X], [Y], [[2 * X[-1]]]
        )[0].median()[0],
        rel=1e-3,  # the table prints 4 digits
    )
    # a named model answers alone
    assert main(["extrapolate", str(path), "--to", to, "--model", "nslpfn-base"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    alone = PFN.load("nslpfn-base").predict(X, Y, [2 * X[-1]]).median()[0]
    assert float(row[4]) == pytest.approx(alone, rel=1e-3)


def test_edge_curves_weigh_equally_and_errors_name_the_curve(models):
    """One run below half the largest x: no back-test, equal weights (the plain prediction
    accepts the curve, so the stack must too); runs repeated at one x are averaged, with a
    warning that names the curve; an invalid curve is named by the members' own checks;
    models may come as any iterable."""
    x, y = np.array([1e6, 6e6, 8e6, 1e7]), np.array([3.0, 2.4, 2.2, 2.0])
    np.testing.assert_array_equal(backtest_weights(models, [x], [y]), [[0.5, 0.5]])
    (pred,) = predict_stacked(iter(models), [x], [y], [[2e7]])
    assert np.isfinite(pred.median()).all()
    seeds_x, seeds_y = x[[0, 0, 1, 2, 3]], np.array([2.9, 3.1, 2.4, 2.2, 2.0])
    with pytest.warns(UserWarning, match=r"curve 'seeds': x = 1e\+06: runs repeat an x"):
        (seeds,) = predict_stacked(models, [seeds_x], [seeds_y], [[2e7]], names=["seeds"])
    np.testing.assert_allclose(seeds.median(), pred.median(), rtol=1e-6)  # y averaged
    bad = Y.copy()
    bad[2] = -1.0
    with pytest.raises(ValueError, match="'bad'"):
        predict_stacked(
            models,
            [X[:3], X, X],
            [Y[:3], Y, bad],
            [[2 * X[-1]]] * 3,
            names=["short", "good", "bad"],
        )
    scales = backtest_weights(models, [X, X], [Y, 10 * Y], y_scale=[1.0, 10.0])
    np.testing.assert_allclose(scales[0], scales[1], rtol=1e-5)  # y and its scale together


def test_study_fingerprint_names_both_members_and_the_ratio():
    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL, STACK_RATIO
    from scalebayes.pfn._method import _describe, _load

    settings = pfn_method(stack=True).settings()
    assert _describe(_load(DEFAULT_MODEL)) in settings
    assert _describe(_load(FAR_MODEL)) in settings
    assert f"back-test at {STACK_RATIO!r}x" in settings
    assert f"stretched by {NEAR_SCALE!r} in log y" in settings
    assert settings != pfn_method(stack=False).settings()


def test_command_line_stacked_fan_chart(tmp_path, capsys, monkeypatch):
    """The fan chart draws the shipped answer as the table does, each x by its distance: a fan
    to 2x is the stacked answer; a fan to 50x is the stack up to 5x and the far model beyond,
    with a line where the far model takes over."""
    import scalebayes.pfn._plot as plot_module
    from scalebayes.evaluate import JoinedPredictive

    drawn = []
    real = plot_module.plot_fans

    def spy(predictions, grids, observed, path, **kwargs):
        drawn.append((predictions, kwargs["label"], kwargs["panel_marks"]))
        return real(predictions, grids, observed, path, **kwargs)

    monkeypatch.setattr(plot_module, "plot_fans", spy)
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(X, Y, strict=True)))
    fan = tmp_path / "fan.png"
    for ratio in (2, 50):
        to = f"{ratio * X[-1]:g}"
        assert main(["extrapolate", str(path), "--to", to, "--plot", str(fan)]) == 0
        assert fan.stat().st_size > 0 and f"wrote {fan}" in capsys.readouterr().out
    (near, near_label, near_marks), (far, far_label, far_marks) = drawn
    assert near_label == far_label == "PFN (shipped answer) median"
    assert isinstance(near[0], StackedPrediction) and near_marks == [[]]
    assert isinstance(far[0], JoinedPredictive)
    grid = plot_module.shipped_fans([X], [Y], [[50 * X[-1]]])[0][0]
    for part, where in zip(far[0].parts, far[0].index, strict=True):  # near: stacked
        assert isinstance(part, StackedPrediction) == (grid[where].max() <= 5 * X[-1])
    assert far_marks == [[(pytest.approx(5 * X[-1]), "far model beyond (5x)")]]
    # two curves: each panel marks its own 5x (a review: a multi-curve chart had no line)
    drawn.clear()
    two = tmp_path / "two.csv"
    rows = [(a, b, "small") for a, b in zip(X, Y, strict=True)]
    rows += [(10 * a, b, "big") for a, b in zip(X, Y, strict=True)]
    two.write_text("x,y,curve\n" + "".join(f"{a:.17g},{b:.17g},{c}\n" for a, b, c in rows))
    to = f"{100 * X[-1]:g}"
    assert main(["extrapolate", str(two), "--to", to, "--plot", str(fan)]) == 0
    capsys.readouterr()
    ((_, _, marks),) = drawn
    switches = sorted(x for panel in marks for x, _ in panel)
    assert switches == [pytest.approx(5 * X[-1]), pytest.approx(50 * X[-1])]


def test_command_line_says_when_the_far_median_climbs_on_a_falling_curve(tmp_path, capsys):
    # a review's five runs 4x apart: the far model's median at 2e23 lies above its 5e22 one
    path = tmp_path / "base.csv"
    path.write_text("x,y\n1e18,4.2178\n4e18,3.9728\n1.6e19,3.7540\n6.4e19,3.5589\n2.56e20,3.3850\n")
    assert main(["extrapolate", str(path), "--to", "5e22,2e23"]) == 0
    err = capsys.readouterr().err
    assert "note: curve 'base': the far model's median climbs from" in err
    assert "(x = 5e+22) to" in err and "(x = 2e+23) although the runs fall" in err
    # one far x: the climb on the way out to it is said (a new-user audit); medians that
    # fall all the way out: nothing to say
    assert main(["extrapolate", str(path), "--to", "2e23"]) == 0
    assert re.search(
        r"climbs from [0-9.]+ \(x = [0-9.e+]+, not asked\) to [0-9.]+ \(x = 2e\+23\)",
        capsys.readouterr().err,
    )
    assert main(["extrapolate", str(path), "--to", "1e22,2e22"]) == 0
    assert "climbs" not in capsys.readouterr().err


def test_command_line_says_when_the_far_interval_narrows_further_out(tmp_path, capsys):
    # a review's three runs of a power law with a floor, asked 10x and 30x out: the far
    # model's 90% interval at 30x ([1.446, 2.646]) is 16% narrower in log y than at 10x
    path = tmp_path / "c3.csv"
    path.write_text("x,y\n1e18,3.23255\n3.16e18,2.87609\n9.9856e18,2.69866\n")
    assert main(["extrapolate", str(path), "--to", "9.99e19,3e20"]) == 0
    err = capsys.readouterr().err
    assert "note: curve 'c3': the far model's 90% interval narrows from [" in err
    assert "at x = 9.99e+19 to [" in err and "at x = 3e+20, further out" in err
    assert "more accurate there than nslpfn-base); its median tends to lie low" in err
    for one in ("3e20", "9.99e20,3e21"):  # one far x, or an interval that does not narrow
        assert main(["extrapolate", str(path), "--to", one]) == 0
        assert "narrows" not in capsys.readouterr().err


def test_a_fans_errors_name_its_curve():
    from scalebayes.pfn import shipped_fans

    bad = Y.copy()
    bad[2] = -1.0
    with pytest.raises(ValueError, match=r"curve '1': y_context must be >= 0"):
        shipped_fans([X, X], [Y, bad], [[50 * X[-1]], [2 * X[-1]]])


@pytest.mark.parametrize("ratios", [(1.2, 3.0), (1.5, 40.0), (4.0,), (2.0, 3.0, 300.0)])
def test_a_fan_passes_through_the_tables_answers(ratios):
    """The default model maps x over every near x asked together, so a fan asked as one call
    (60 x up to 5x) missed the table's near answers by up to 1.3% in the median when the
    table stopped short of 5x; the fan now takes in the table's x and answers them as the
    table does."""
    import warnings

    from scalebayes.pfn import extrapolate, shipped_fans

    asked = [r * X[-1] for r in ratios]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the far model's reach, as extrapolate says
        (grid,), (fan,) = shipped_fans([X], [Y], [asked])
        table = extrapolate(X, Y, asked)
    at = np.searchsorted(grid, asked)
    np.testing.assert_array_equal(grid[at], asked)
    assert np.all(np.diff(grid) > 0) and grid.size >= 60
    for q in (0.05, 0.5, 0.95):
        np.testing.assert_allclose(fan.quantile(q)[at], table.quantile(q), rtol=1e-6)


def test_any_load_of_the_default_model_stacks():
    """``predict_each(stack=True)`` stacks a curve given the shipped default model whether it
    is the per-process copy or another ``PFN.load()``; another model is left alone."""
    from scalebayes.pfn import predict_each

    query = [[2 * X[-1]]]
    (mine,) = predict_each([PFN.load()], [X], [Y], query, stack=True)
    (shared,) = predict_each([PFN.load_for(1.0)], [X], [Y], query, stack=True)
    assert isinstance(mine, StackedPrediction)
    np.testing.assert_allclose(mine.weights, shared.weights)
    np.testing.assert_allclose(mine.median(), shared.median(), rtol=1e-6)
    (small,) = predict_each([PFN.load("nslpfn-small")], [X], [Y], query, stack=True)
    assert not isinstance(small, StackedPrediction)


class _LogNormal(Predictive):
    """A log-normal predictive per target (SciPy), for closed-form checks."""

    def __init__(self, mu, sigma):
        self.mu, self.sigma = np.asarray(mu, float), np.asarray(sigma, float)

    @property
    def n_targets(self):
        return self.mu.size

    def _dist(self):
        return st.lognorm(self.sigma, scale=np.exp(self.mu))

    def icdf(self, q):
        q = np.asarray(q, float)
        return self._dist().ppf(q[..., None]) if q.ndim else self._dist().ppf(q)

    def cdf(self, y):
        return self._dist().cdf(np.asarray(y, float))

    def log_prob(self, y):
        return self._dist().logpdf(np.asarray(y, float))


def test_the_near_answer_is_the_mixture_stretched_in_log_y():
    """Independent reference: a mixture of one log-normal twice is that log-normal; stretched
    by ``s`` in log y it is log-normal with ``s sigma``: quantiles, density and mean."""
    from scalebayes.pfn._stack import _shipped_near

    mu, sigma = np.array([0.1, -0.5]), np.array([0.05, 0.2])
    base = _LogNormal(mu, sigma)
    (pred,) = _shipped_near([MixturePredictive([base, base], [0.3, 0.7])])
    assert isinstance(pred, StackedPrediction) and pred.scale == NEAR_SCALE
    np.testing.assert_allclose(pred.weights, [0.3, 0.7])
    want = st.lognorm(NEAR_SCALE * sigma, scale=np.exp(mu))
    levels = np.array([0.05, 0.5, 0.95])
    np.testing.assert_allclose(pred.quantile(levels), want.ppf(levels[:, None]), rtol=1e-6)
    y = np.exp(mu) * np.array([1.02, 0.9])
    np.testing.assert_allclose(pred.log_prob(y), want.logpdf(y), rtol=1e-6)
    # Gauss-Legendre panels in z (ScaledPredictive.mean): exact for a log-normal base
    np.testing.assert_allclose(pred.mean(), want.mean(), rtol=1e-9)


def test_a_median_at_zero_leaves_that_query_unstretched_and_no_other():
    """Per query: where the median is not > 0 the mixture's answer stands (quantiles, CDF,
    density), the other queries are stretched as alone."""
    from scalebayes.pfn._stack import _shipped_near

    mu, sigma = np.array([0.1, 0.3]), np.array([0.05, 0.2])
    logn = _LogNormal(mu, sigma)
    (alone,) = _shipped_near([MixturePredictive([logn, logn])])

    class _ZeroMedian(_LogNormal):  # query 0: half its mass a point at 0
        def icdf(self, q):
            out = np.array(super().icdf(q), float)
            out[..., 0] = np.where(np.asarray(q) <= 0.5, 0.0, out[..., 0])
            return out

        def cdf(self, y):
            out = np.array(super().cdf(y), float)
            out[..., 0] = np.where(np.asarray(y)[..., 0] >= 0, 0.5 + 0.5 * out[..., 0], 0.0)
            return out

    zero = _ZeroMedian(mu, sigma)
    (pred,) = _shipped_near([MixturePredictive([zero, zero])])
    assert pred.scale == NEAR_SCALE and pred.median()[0] == 0.0
    levels = np.array([0.05, 0.5, 0.8, 0.95])
    base = MixturePredictive([zero, zero])
    np.testing.assert_allclose(pred.quantile(levels)[:, 0], base.quantile(levels)[:, 0])
    np.testing.assert_allclose(pred.quantile(levels)[:, 1], alone.quantile(levels)[:, 1])
    y = np.array([1.3, 1.4])
    np.testing.assert_allclose(pred.cdf(y), [base.cdf(y)[0], alone.cdf(y)[1]])
    np.testing.assert_allclose(pred.log_prob(y), [base.log_prob(y)[0], alone.log_prob(y)[1]])


def test_scale_one_hands_every_call_to_the_base():
    from scalebayes.evaluate import GaussianPredictive, ScaledPredictive

    gauss = GaussianPredictive(np.array([-0.5, 2.0]), np.array([0.5, 0.5]))
    same = ScaledPredictive(gauss, 1.0)
    y = np.array([-0.6, 1.9])
    np.testing.assert_allclose(same.median(), gauss.median())
    np.testing.assert_allclose(same.cdf(y), gauss.cdf(y))
    np.testing.assert_allclose(same.log_prob(y), gauss.log_prob(y))
    np.testing.assert_allclose(same.interval(0.9), gauss.interval(0.9))
    with pytest.raises(ValueError, match="medians > 0"):
        ScaledPredictive(gauss, 0.7)


@pytest.mark.slow
def test_near_scale_is_the_conformal_scale_of_the_bundled_benchmarks():
    """``NEAR_SCALE`` is what ``tools/fit_near_scale.py`` fits, to its 3 printed digits."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "fit_near_scale.py"
    spec = importlib.util.spec_from_file_location("fit_near_scale", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scale, rows = module.fit()
    assert sum(len(ys) for _, ys in rows.values()) == 132
    assert round(scale, 3) == NEAR_SCALE


def test_the_shipped_answer_at_one_x_does_not_depend_on_the_others(capsys, tmp_path):
    """Each query is answered by the model for its own distance, so a far query's answer
    never depends on the other queries (the far model reads the context alone) and adding
    far queries never changes the near answers (the default model maps x over the context
    and the near queries only: near answers still depend on each other), in Python and on
    the command line."""
    from scalebayes.evaluate import JoinedPredictive
    from scalebayes.pfn import FAR_MODEL, PFNPrediction, extrapolate, predict_shipped

    near_r, far_r = np.array([1.5, 4.99]), np.array([5.01, 8.0, 300.0])
    levels = [0.05, 0.5, 0.95]
    alone = np.concatenate(
        [
            extrapolate(X, Y, near_r * X[-1]).quantile(levels),
            *(extrapolate(X, Y, [r * X[-1]]).quantile(levels) for r in far_r),
        ],
        axis=1,
    )
    ratios = np.r_[near_r, far_r]
    for order in (np.arange(5), np.array([4, 0, 3, 1, 2])):
        together = extrapolate(X, Y, ratios[order] * X[-1]).quantile(levels)
        # float32 forward passes batched differently: the same to rounding
        np.testing.assert_allclose(together, alone[:, order], rtol=1e-5)
    near, far, both = predict_shipped(
        [X] * 3, [Y] * 3, [[2 * X[-1]], [8 * X[-1]], [2 * X[-1], 8 * X[-1]]]
    )
    assert isinstance(near, StackedPrediction)
    assert isinstance(far, PFNPrediction) and far.bar.n_buckets == PFN.load(FAR_MODEL).bar.n_buckets
    assert isinstance(both, JoinedPredictive)
    np.testing.assert_allclose(both.median(), np.r_[near.median(), far.median()], rtol=1e-5)
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(X, Y, strict=True)))
    rows = {}
    for to in ([2], [2, 50], [50], [2, 50, 300]):
        assert main(["extrapolate", str(path), "--to", ",".join(f"{r * X[-1]:g}" for r in to)]) == 0
        for line in capsys.readouterr().out.splitlines()[1:]:
            rows.setdefault(line.split()[1], set()).add(line)
    assert all(len(lines) == 1 for lines in rows.values()), rows  # one answer per x


def test_predict_shipped_passes_each_curves_scale_and_names_its_curves():
    """Per-curve y_scale and names reach the right curve when the batch splits by model; an
    error names the curve by its place in the caller's lists; an empty query is refused by
    the near model's own check; real parts join with a readable repr."""
    from scalebayes.evaluate import JoinedPredictive
    from scalebayes.pfn import predict_shipped

    queries = [[2 * X[-1], 50 * X[-1]], [50 * X[-1]], [2 * X[-1]]]
    scaled = predict_shipped([X] * 3, [Y, 10 * Y, 3 * Y], queries, y_scale=[1.5, 15.0, 4.5])
    plain = predict_shipped([X] * 3, [Y] * 3, queries, y_scale=1.5)
    for got, want, k in zip(scaled, plain, (1.0, 10.0, 3.0), strict=True):
        np.testing.assert_allclose(got.median(), k * want.median(), rtol=1e-5)
    assert isinstance(scaled[0], JoinedPredictive) and "JoinedPredictive(median" in repr(scaled[0])
    bad = Y.copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match="curve '2': y_context must be finite"):
        predict_shipped([X, X, X], [Y, Y, bad], queries)
    with pytest.raises(ValueError, match="curve 'c': y_context must be finite"):
        predict_shipped([X, X, X], [Y, Y, bad], queries, names=["a", "b", "c"])
    with pytest.raises(ValueError, match="curve '1': x_query needs at least 1 point"):
        predict_shipped([X, X], [Y, Y], [[50 * X[-1]], []])


def test_the_study_method_reads_a_curve_above_one_in_its_own_units():
    """The 4-digit addition benchmark keeps its units (largest context y 2.14, above the
    NSL-PFN input's outputs): the study method divides such a curve by its largest context y
    and names that rule in its fingerprint; a normalised curve is read as it is."""
    from scalebayes.data import load_benchmark
    from scalebayes.pfn import protocol_scale

    (curve,) = load_benchmark("bnsl_addition")
    assert curve.y_context.max() > 2
    (pred,) = pfn_method()([curve])
    (want,) = predict_stacked(
        [PFN.load(), PFN.load("mixture-tiny")],
        [curve.x_context],
        [curve.y_context],
        [curve.x_target],
        y_scale=float(curve.y_context.max()),
    )
    np.testing.assert_allclose(pred.median(), want.median(), rtol=1e-5)
    assert protocol_scale([0.3, 0.9]) == 1.0 and protocol_scale([3.0, 2.0]) == "auto"
    assert protocol_scale([0.3, 1.0]) == "auto"  # a normalised curve: 1 unless windowed
    assert "y_scale 1 below 1 else auto" in pfn_method().settings()


def test_the_study_method_answers_a_long_span_as_extrapolate_does():
    """A review: on a curve spanning more than SPAN_GUARD, where the default model reads a
    window of the runs, the study scored y_scale=1 while `extrapolate` divides by the largest
    y of the runs it reads; now the study passes "auto" for a normalised curve too."""
    from scalebayes.data import Curve
    from scalebayes.pfn import SPAN_GUARD, SpanWarning, extrapolate

    x = np.geomspace(1e6, 1e11, 16)
    y = 1.5 + 30.0 * x**-0.2
    y = y / y[:12].max()  # normalised by the context's largest y, as a study's CSV curve
    curve = Curve(x=x, y=y, name="long", is_context=np.arange(16) < 12)
    assert curve.x.max() / curve.x.min() > SPAN_GUARD  # runs and queries
    (pred,) = pfn_method()([curve])
    with pytest.warns(SpanWarning):
        want = extrapolate(curve.x_context, curve.y_context, curve.x_target)
    np.testing.assert_allclose(pred.median(), want.median(), rtol=1e-6)


def test_the_demo_says_who_answered_a_curve_across_5x():
    from scalebayes.pfn import predict_shipped
    from scalebayes.studies._demo import _who_answered

    near, far, both = predict_shipped(
        [X] * 3, [Y] * 3, [[2 * X[-1]], [50 * X[-1]], [2 * X[-1], 50 * X[-1]]]
    )
    assert _who_answered(far) == "mixture-tiny"
    assert _who_answered(near).startswith("nslpfn-base ") and "back-test weights" in _who_answered(
        near
    )
    assert _who_answered(both).endswith(", up to 5x; mixture-tiny beyond")


@pytest.mark.filterwarnings("always::UserWarning")  # the command line prints them
def test_a_fan_chart_names_each_curve_once_and_the_command_line_says_it_with_the_table(
    tmp_path, capsys
):
    # a review: ten runs 3x apart (4.3 decades) asked 5-15x out; `--plot` added a span
    # warning the table had not given, naming the curve five times (one per near fan x)
    import warnings

    from scalebayes.pfn import SpanWarning, shipped_fans

    x = 1e18 * 3.0 ** np.arange(10)
    y = 1.7 + 925 * x**-0.155
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shipped_fans([x, x], [y, y], [[15 * x[-1]], [15 * x[-1]]], names=["a", "b"])
    span = [str(w.message) for w in caught if issubclass(w.category, SpanWarning)]
    assert len(span) == 1
    assert span[0].count("curve 'a'") == 1 and span[0].count("curve 'b'") == 1
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(x, y, strict=True)))
    to = f"{15 * x[-1]:g}"  # the far model answers: the table warns of nothing
    assert main(["extrapolate", str(path), "--to", to, "--plot", str(tmp_path / "f.png")]) == 0
    assert "warning:" not in capsys.readouterr().err  # nor does the chart's near part


def test_extrapolate_says_repeated_runs_once_at_the_callers_line():
    """A review: `extrapolate` with a repeated x warned three times (one per model and
    back-test call), each pointing at scalebayes' own lines."""
    import warnings

    from scalebayes.pfn import extrapolate

    x, y = np.array([1.0, 2.0, 2.0, 4.0, 8.0]), np.array([3.0, 2.5, 2.6, 2.2, 2.0])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        pred = extrapolate(x, y, [12.0, 100.0])  # near and far: three models' calls
    repeats = [w for w in said if "runs repeat an x" in str(w.message)]
    assert len(repeats) == 1 and repeats[0].filename == __file__
    merged = extrapolate([1.0, 2.0, 4.0, 8.0], [3.0, 2.55, 2.2, 2.0], [12.0, 100.0])
    np.testing.assert_allclose(pred.median(), merged.median(), rtol=1e-6)


def test_runs_at_one_x_are_named_as_such():
    """A review: two runs at one x were merged first, then refused as "at least 2 point(s),
    got 1", though the user gave two."""
    from scalebayes.pfn import extrapolate, predict_shipped

    for call in (
        lambda: extrapolate([1e8, 1e8], [2.0, 2.1], [2e8]),
        lambda: predict_shipped([[1e8, 1e8]], [[2.0, 2.1]], [[2e8]]),
    ):
        with pytest.raises(ValueError, match="at least two distinct x values"):
            call()


def test_the_shipped_answer_refuses_a_zero_loss_wherever_it_is_asked():
    """A review: `extrapolate` refused a run whose loss is 0, but `predict_shipped` (and so
    the study method `pfn`) answered a curve near 2.15 with medians 1.745 and 0.522."""
    from scalebayes.data import Curve
    from scalebayes.pfn import DEFAULT_MODEL, pfn_method, predict_shipped

    x, y = np.array([1.0, 2.0, 4.0, 8.0]), np.array([2.4, 2.3, 2.2, 0.0])
    with pytest.raises(ValueError, match=r"curve 'c': y_context is 0 at run 3"):
        predict_shipped([x], [y], [[12.0, 24.0]], names=["c"])
    curve = Curve(np.r_[x, 12.0], np.r_[y, 2.1], "c", is_context=np.arange(5) < 4)
    with pytest.raises(ValueError, match="y_context is 0 at run 3"):
        pfn_method().validate(curve)
    pfn_method(DEFAULT_MODEL).validate(curve)  # one model named answers anyway


def test_the_shipped_answers_span_warning_does_not_advise_the_model_it_already_weights():
    """A review: within 5x the shipped answer weights the default model with the far model,
    yet its SpanWarning told the user to switch to the far model."""
    import warnings

    from scalebayes.pfn import SpanWarning, extrapolate

    x = np.geomspace(1e14, 1e18, 9)  # 4 decades: the default model reads a window
    y = 10 * (x / 1e14) ** -0.2
    for model, advice in (
        (None, "this answer weights it with the far model"),
        ("nslpfn-base", "--model mixture-tiny"),
    ):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            extrapolate(x, y, [2e18], model=model)
        (span,) = [w for w in said if w.category is SpanWarning]
        assert advice in str(span.message) and span.filename == __file__


def test_every_shipped_answer_knows_its_x():
    """A review: the near (stacked) and mixed near-and-far answers of `extrapolate` had no
    ``.x``, while the far model's answer had one: every kind now answers with the x asked,
    in the order asked."""
    from scalebayes.evaluate import GaussianPredictive, JoinedPredictive
    from scalebayes.pfn import PFNPrediction, StackedPrediction, extrapolate

    x = np.array([1e18, 4e18, 1.6e19, 6.4e19])
    y = np.array([2.21, 2.07, 1.99, 1.91])
    for asked, kind in [
        ([2 * x[-1], 3 * x[-1]], StackedPrediction),
        ([10 * x[-1]], PFNPrediction),
        ([100 * x[-1], 2 * x[-1], 10 * x[-1]], JoinedPredictive),
    ]:
        pred = extrapolate(x, y, asked)
        assert isinstance(pred, kind)
        np.testing.assert_array_equal(pred.x, asked)
    gauss = GaussianPredictive(np.ones(2), np.ones(2))
    with pytest.raises(AttributeError, match=r"MixturePredictive\.x: its part, a Gaussian"):
        _ = MixturePredictive([gauss, gauss]).x
    assert not hasattr(JoinedPredictive([gauss], [np.arange(2)]), "x")
