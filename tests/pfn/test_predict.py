"""The predictor API: validation, normalisation, batching, and the predictive contract."""

import itertools
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from scalebayes.pfn import (
    CONFIGS,
    DEFAULT_MODEL,
    FAR_MODEL,
    NEAR_SCALE,
    PFN,
    BarDistribution,
    CheckpointError,
    PFNModel,
    PFNPrediction,
    StackedPrediction,
    predict_stacked,
)
from scalebayes.pfn import _predict as predict_module


def _perturbed(model, seed=1, scale=0.05):
    leaves, tree = jax.tree.flatten(model)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
    leaves = [
        leaf + scale * jax.random.normal(k, leaf.shape)
        for leaf, k in zip(leaves, keys, strict=True)
    ]
    return jax.tree.unflatten(tree, leaves)


@pytest.fixture(scope="module")
def pfn():
    config = CONFIGS["tiny"]
    model = _perturbed(PFNModel(jax.random.PRNGKey(0), config))
    borders = np.concatenate([[0.0], np.geomspace(1e-3, 1.4, config.n_buckets)])
    return PFN(model, BarDistribution(borders), {"interpolation": False})


# Queries here go beyond the test model's reach (10x) to test other things; the reach tests at
# the end check the warning.
pytestmark = pytest.mark.filterwarnings("ignore::scalebayes.pfn.ReachWarning")

X = np.array([1e6, 2e6, 4e6, 8e6, 1.6e7, 3.2e7])
Y = np.array([0.9, 0.7, 0.58, 0.5, 0.45, 0.42])


# The predictive contract (quantiles, intervals, samples) is tested for every predictive,
# the PFN's included, in tests/evaluate/test_predictive_contract.py.


def test_x_normalisation_makes_units_irrelevant(pfn):
    a = pfn.predict(X, Y, [6.4e7]).quantile([0.1, 0.5, 0.9])
    b = pfn.predict(X / 1e6, Y, [64.0]).quantile([0.1, 0.5, 0.9])
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_load_names_what_it_takes():
    with pytest.raises(TypeError, match=r"a str or a path\); got int"):
        PFN.load(3)


def test_a_folder_named_like_a_shipped_model_does_not_replace_it(tmp_path, monkeypatch):
    """A review: an empty ``mixture-tiny/`` in the working directory made every far answer
    of ``extrapolate`` (no model named) fail, and a copy of another model there answered in
    the far model's place."""
    from scalebayes.pfn import extrapolate

    monkeypatch.chdir(tmp_path)
    (tmp_path / FAR_MODEL).mkdir()
    (tmp_path / DEFAULT_MODEL).mkdir()
    assert PFN.load(FAR_MODEL).meta["_path"] == str(predict_module.WEIGHTS_DIR / FAR_MODEL)
    assert PFN.load().meta["_path"] == str(predict_module.WEIGHTS_DIR / DEFAULT_MODEL)
    pred = extrapolate(X, Y, [2 * X[-1], 100 * X[-1]])
    assert np.all(np.isfinite(pred.median()))
    # the folder is still read when written as a path
    with pytest.raises(CheckpointError, match=f"expected .*{FAR_MODEL}"):
        PFN.load(f"./{FAR_MODEL}")
    # and a Path that names no folder here is the shipped model, as before
    assert PFN.load(Path("nslpfn-small")).meta["_path"].endswith("nslpfn-small")


def test_a_0d_array_is_a_y_scale(pfn):
    want = pfn.predict(X, Y, [6.4e7], y_scale=0.9).median()
    for scale in (np.float32(0.9), jnp.asarray(0.9, jnp.float32), np.asarray(0.9)):
        got = pfn.predict(X, Y, [6.4e7], y_scale=scale).median()
        np.testing.assert_allclose(got, want, rtol=1e-6)
    with pytest.raises(ValueError, match="y_scale must be one value or one per curve"):
        pfn.predict(X, Y, [6.4e7], y_scale=np.asarray([0.9, 1.0]))
    with pytest.raises(TypeError, match="y_scale must be"):
        pfn.predict(X, Y, [6.4e7], y_scale=np.asarray(True))


def test_an_explicit_y_scale_must_keep_y_within_the_outputs():
    """The NSL-PFN input reads y as given: y / y_scale beyond the top bar border (about 2)
    was a silent nonsense answer (runs near 1000 with y_scale 1 gave a median of 1.19); the
    scale-free input divides by the context's largest y itself, so any y_scale is fine."""
    raw = Y * 1e3
    with pytest.raises(ValueError, match=r"max\(y_context\) / y_scale at 900, beyond this"):
        PFN.load().predict(X, raw, [6.4e7], y_scale=1.0)
    far = PFN.load(FAR_MODEL)
    want = far.predict(X, raw, [6.4e7]).median()
    np.testing.assert_allclose(far.predict(X, raw, [6.4e7], y_scale=1.0).median(), want, rtol=1e-6)


def test_y_scale_is_undone_with_its_jacobian(pfn):
    pred1 = pfn.predict(X, Y, [6.4e7])
    pred10 = pfn.predict(X, Y * 10, [6.4e7])  # auto: divides by max(y) = 9
    assert pred10.y_scale == pytest.approx(9.0)
    pred9 = pfn.predict(X, Y, [6.4e7], y_scale=0.9)
    np.testing.assert_allclose(pred10.median(), 10 * pred9.median(), rtol=1e-5)
    y = np.array([4.0])
    np.testing.assert_allclose(
        pred10.log_prob(y), pred9.log_prob(y / 10) - np.log(10), rtol=1e-5, atol=1e-5
    )
    assert pred1.y_scale == pytest.approx(0.9)  # auto divides by max(y) at every magnitude


def test_batched_curves_of_different_lengths_match_single_calls(pfn):
    curves = [(X, Y, [6.4e7, 1e8]), (X[:3], Y[:3], [5e6]), (X[1:], Y[1:] * 0.5, [1e8, 2e8, 4e8])]
    many = pfn.predict_many(*zip(*curves, strict=True))
    for (xc, yc, xq), pred in zip(curves, many, strict=True):
        one = pfn.predict(xc, yc, xq)
        np.testing.assert_allclose(
            pred.quantile([0.1, 0.5, 0.9]), one.quantile([0.1, 0.5, 0.9]), rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((X[:1], Y[:1], [1e8]), "at least 2"),
        ((-X, Y, [1e8]), "must be > 0"),
        ((X, np.where(np.arange(6) == 2, np.nan, Y), [1e8]), "finite"),
        ((X, Y, [1e6]), "not beyond the largest context x"),
        ((X, Y[:5], [1e8]), "differ in shape"),
        ((np.full(6, 5.0), Y, [1e8]), "distinct"),
        ((X, -Y, [1e8]), ">= 0"),
        ((X, Y, []), "at least 1"),
    ],
)
def test_bad_input_gets_a_clear_error(pfn, args, match):
    with pytest.raises(ValueError, match=match):
        pfn.predict(*args)


def test_many_names_the_bad_curve(pfn):
    with pytest.raises(ValueError, match="curve 1: x_context"):
        pfn.predict_many([X, X[:1]], [Y, Y[:1]], [[1e8], [1e8]])
    with pytest.raises(ValueError, match="same number of curves"):
        pfn.predict_many([X], [Y, Y], [[1e8]])
    with pytest.raises(ValueError, match="curve 'b': x_context"):  # as the CSV names it
        pfn.predict_many([X, X[:1]], [Y, Y[:1]], [[1e8], [1e8]], names=["a", "b"])
    with pytest.raises(ValueError, match="one name per curve"):
        pfn.predict_many([X], [Y], [[1e8]], names=["a", "b"])


def test_interpolation_model_accepts_queries_inside_the_context(pfn):
    interp = PFN(pfn.model, pfn.bar, {"interpolation": True})
    assert interp.predict(X, Y, [3e6]).median().shape == (1,)


def test_study_method_pfn_scores_the_shipped_model(tmp_path):
    """``scalebayes study --methods pfn`` answers each target by its distance (here 2x and 4x
    beyond the context: both models stacked; 8x: the far model); its scores match direct
    calls of each."""
    from scalebayes.evaluate import rmsle
    from scalebayes.studies import METHODS, run_study

    assert METHODS["pfn"].probabilistic
    csv = tmp_path / "curves.csv"
    rows = ["curve,x,y"]
    for name, a in (("a", 0.3), ("b", 0.5)):
        rows += [f"{name},{x},{0.2 + x**-a}" for x in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)]
    csv.write_text("\n".join(rows) + "\n")
    result = run_study("pfn", [], tmp_path / "out", csv_paths=[csv], progress=False)
    scores = {s.curve: s for s in result.scores}
    assert set(scores) == {"a", "b"}
    from scalebayes.data import read_curves_csv

    for curve in read_curves_csv(csv):
        curve = curve.with_default_split()
        np.testing.assert_array_equal(curve.x_target / curve.x_context.max(), [2.0, 4.0, 8.0])
        scale = curve.y_context.max()
        xc, yc = curve.x_context, curve.y_context / scale
        models = [PFN.load(DEFAULT_MODEL), PFN.load(FAR_MODEL)]
        (near,) = predict_stacked(models, [xc], [yc], [curve.x_target[:2]], y_scale=1.0)
        far = models[1].predict(xc, yc, curve.x_target[2:], y_scale=1.0)
        median = np.r_[StackedPrediction(near, NEAR_SCALE).median(), far.median()]
        expected = rmsle(median, curve.y_target / scale)
        # float32 medians: the study and this call may batch differently, which moves each log
        # median by ~1e-7; an RMSLE this small (0.003) turns that into ~1e-5 relative
        assert scores[curve.name].rmsle == pytest.approx(expected, rel=0, abs=1e-6)
        assert np.isfinite(scores[curve.name].ll) and scores[curve.name].msce is not None


def test_explicit_x_range_decouples_predictions_from_the_query_horizon(pfn):
    near = pfn.predict(X, Y, [6.4e7]).median()
    far = pfn.predict(X, Y, [6.4e7, 3.2e9]).median()[:1]
    assert not np.allclose(near, far)  # the default mapping follows the furthest query
    bounds = (1e6, 3.2e9)
    a = pfn.predict(X, Y, [6.4e7], x_range=bounds).median()
    b = pfn.predict(X, Y, [6.4e7, 3.2e9], x_range=bounds).median()[:1]
    np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(b, far, rtol=1e-6)
    with pytest.raises(ValueError, match="must satisfy"):
        pfn.predict(X, Y, [6.4e7], x_range=(2e6, 1e8))
    # a review: an infinite bound passed, a number or a string was read as a sequence
    with pytest.raises(ValueError, match="must satisfy 0 < x_min < x_max < inf"):
        pfn.predict(X, Y, [6.4e7], x_range=(1e6, np.inf))
    for bad in (5, "ab", np.array(3.0)):
        with pytest.raises(TypeError, match=r"x_range must be \(x_min, x_max\) or one per"):
            pfn.predict(X, Y, [6.4e7], x_range=bad)
    # one range per curve, None for a curve that maps its own x (as before that check)
    mixed = pfn.predict_many([X, X], [Y, Y], [[6.4e7]] * 2, x_range=[None, bounds])
    np.testing.assert_allclose(mixed[0].median(), near, rtol=1e-6)
    np.testing.assert_allclose(mixed[1].median(), a, rtol=1e-6)


LEVELS = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]


@pytest.fixture(scope="module")
def small():
    return PFN.load("nslpfn-small")


@pytest.mark.parametrize("k", [1e-6, 1.0, 1e6])
def test_auto_y_scale_makes_predictions_scale_equivariant(pfn, k):
    """predict(x, k y) = k predict(x, y) at any magnitude, including y far below 1."""
    ref = pfn.predict(X, Y, [6.4e7, 1e8], y_scale=0.9)  # explicit: y / max(y)
    pred = pfn.predict(X, k * Y, [6.4e7, 1e8])
    assert pred.y_scale == pytest.approx(0.9 * k)
    np.testing.assert_allclose(pred.quantile(LEVELS), k * ref.quantile(LEVELS), rtol=1e-6)
    np.testing.assert_allclose(pred.mean(), k * ref.mean(), rtol=1e-6)
    y = np.array([0.4, 0.3])
    np.testing.assert_allclose(
        pred.log_prob(k * y), ref.log_prob(y) - np.log(k), rtol=1e-6, atol=1e-6
    )


def test_tiny_losses_are_predicted_at_their_own_scale(small):
    """A clean power law at y ~ 2e-6 (was: median 0.03, negative 5% quantile)."""
    x = np.geomspace(1e6, 1e8, 15)
    xq = np.array([2e8, 5e8, 1e9])
    k = 2e-6 / 1e8**-0.3  # the last context point is 2e-6
    pred = small.predict(x, k * x**-0.3, xq)
    ratio = pred.median() / (k * xq**-0.3)
    assert np.all((ratio > 1 / 3) & (ratio < 3)), ratio
    unit = small.predict(x, x**-0.3 / 1e6**-0.3, xq)  # the same curve with max(y) = 1
    np.testing.assert_allclose(pred.quantile(LEVELS), unit.quantile(LEVELS) * k * 1e6**-0.3)
    assert np.all(pred.quantile(LEVELS) >= 0)


@pytest.mark.parametrize("model", ["tiny", "shipped"])
def test_all_zero_context_gives_nonnegative_finite_predictions(pfn, small, model):
    net = pfn if model == "tiny" else small
    pred = net.predict(X, np.zeros(6), [6.4e7, 1e9])
    assert pred.y_scale == 1.0
    qs = pred.quantile(LEVELS)
    for value in (qs, pred.median(), pred.mean(), pred.sample(jax.random.PRNGKey(0), 200)):
        assert np.all(np.isfinite(value)) and np.all(value >= 0)
    assert np.all(np.diff(qs, axis=0) >= 0)


def test_mass_below_zero_becomes_a_point_mass_at_zero():
    """Against quadrature of the bars' own (uncensored) density and Monte Carlo."""
    rng = np.random.default_rng(0)
    bar = BarDistribution(np.linspace(-0.35, 1.0, 14))  # 0 lies inside bucket 3
    logits = rng.normal(0.0, 1.0, (3, 13)).astype(np.float32)
    logits[:, :3] += 1.5  # plenty of mass below 0
    scale = 2.5
    pred = PFNPrediction(np.array([1.0, 2.0, 3.0]), logits, bar, scale)
    b = np.asarray(bar.borders, np.float64)
    edges = [-np.inf, *b[1:-1], np.inf]
    pieces = list(itertools.pairwise(edges))
    below, clipped_mean = [], []
    for row in logits:
        pdf = jax.jit(lambda y, row=row: jnp.exp(bar.log_prob(jnp.asarray(row), y)))
        f = lambda y, pdf=pdf: float(pdf(y))  # noqa: E731
        g = lambda y, pdf=pdf: y * float(pdf(y))  # noqa: E731
        below.append(sum(integrate.quad(f, lo, min(hi, 0.0))[0] for lo, hi in pieces if lo < 0))
        clipped_mean.append(
            sum(integrate.quad(g, max(lo, 0.0), hi)[0] for lo, hi in pieces if hi > 0)
        )
    below = np.array(below)
    assert np.all(below > 0.1)
    np.testing.assert_allclose(pred.mean(), scale * np.array(clipped_mean), rtol=2e-5, atol=1e-6)
    # levels under the mass at 0 give 0; above it, the bars' own quantile
    qs = pred.quantile([0.5 * below.min(), 0.5 * (1 + below.max())])
    np.testing.assert_array_equal(qs[0], 0.0)
    np.testing.assert_allclose(
        qs[1], scale * np.asarray(bar.icdf(logits, 0.5 * (1 + below.max()))), rtol=1e-6
    )
    lo, hi = pred.interval(0.99)
    assert np.all(lo == 0.0) and np.all(hi > 0)
    # the point mass: the share of draws at exactly 0 matches P(Y < 0) within 5 standard errors
    n = 40_000
    draws = pred.sample(jax.random.PRNGKey(1), n)
    assert draws.min() == 0.0
    share = np.mean(draws == 0.0, axis=0)
    np.testing.assert_array_less(np.abs(share - below), 5 * np.sqrt(below * (1 - below) / n))
    # log_prob: -inf below 0, the bars' density (with the Jacobian) at and above 0
    y = np.array([-0.1, 0.0, 1.7])
    expected = np.asarray(bar.log_prob(logits, y / scale)) - np.log(scale)
    lp = pred.log_prob(y)
    assert lp[0] == -np.inf
    np.testing.assert_allclose(lp[1:], expected[1:], rtol=1e-6)


@pytest.mark.parametrize("where", ["far below", "left tail", "inner bucket", "right tail"])
def test_clipped_mean_matches_quadrature(where):
    """E[max(Y, low)] against quadrature of the bars' density, for ``low`` in every region."""
    rng = np.random.default_rng(1)
    b = np.cumsum(rng.uniform(0.05, 0.5, 11))
    bar = BarDistribution(b)
    logits = jnp.asarray(rng.normal(0.0, 1.0, 10), jnp.float32)
    low = {
        "far below": b[0] - 100.0,
        "left tail": b[1] - 0.3,
        "inner bucket": 0.5 * (b[4] + b[5]),
        "right tail": b[-2] + 0.2,
    }[where]
    pdf = jax.jit(lambda y: jnp.exp(bar.log_prob(logits, y)))
    edges = sorted({-np.inf, *b[1:-1], np.inf, low})
    expected = sum(
        integrate.quad(lambda y: max(y, low) * float(pdf(y)), lo, hi)[0]
        for lo, hi in itertools.pairwise(edges)
    )
    assert float(bar.clipped_mean(logits, low)) == pytest.approx(expected, rel=2e-5, abs=1e-5)
    if where == "far below":
        assert float(bar.clipped_mean(logits, low)) == pytest.approx(float(bar.mean(logits)), 1e-5)


def test_long_context_is_thinned_evenly_in_log_x_with_a_warning(pfn):
    """100,000 points (was: RESOURCE_EXHAUSTED allocating 551 GB) -> MAX_CONTEXT points."""
    n, m = 100_000, predict_module.MAX_CONTEXT
    x = np.geomspace(1.0, 1e3, n)  # within SPAN_GUARD with the queries: every run is read
    y = 0.2 + 0.8 * x**-0.3
    xq = [2e3, 5e3]
    with pytest.warns(UserWarning, match=f"used {m} of {n} points") as record:
        pred = pfn.predict(x, y, xq)
    assert len(record) == 1 and record[0].filename == __file__
    # independent reference: on an even log grid the nearest of m targets is index round(j h)
    keep = np.round(np.arange(m) * (n - 1) / (m - 1)).astype(int)
    assert keep[0] == 0 and keep[-1] == n - 1
    ref = pfn.predict(x[keep], y[keep], xq)
    np.testing.assert_allclose(pred.quantile(LEVELS), ref.quantile(LEVELS), rtol=1e-5, atol=1e-7)
    assert np.all(np.isfinite(pred.quantile(LEVELS)))
    # the smallest and largest x are kept wherever they sit in the input
    perm = np.random.default_rng(0).permutation(n)
    with pytest.warns(UserWarning, match="spread evenly in log x"):
        shuffled = pfn.predict(x[perm], y[perm], xq)
    np.testing.assert_allclose(
        shuffled.quantile(LEVELS), ref.quantile(LEVELS), rtol=1e-5, atol=1e-7
    )


def test_short_context_is_not_thinned(pfn, recwarn):
    x = np.geomspace(1.0, 1e3, predict_module.MAX_CONTEXT)
    pfn.predict(x, 1 + 0 * x, [2e3])
    assert not recwarn.list


@pytest.mark.parametrize("per_row", [1, 3, 256])
def test_query_chunks_give_the_unchunked_predictions(pfn, monkeypatch, per_row):
    xq = np.geomspace(4e7, 4e9, 700)
    curves = [(X, Y, xq), (X[:4], Y[:4] * 3, xq[::7]), (X, Y, [5e7])]
    monkeypatch.setattr(predict_module, "_MAX_QUERIES_PER_ROW", 10**6)
    whole = pfn.predict_many(*zip(*curves, strict=True))  # one row per curve
    monkeypatch.setattr(predict_module, "_MAX_QUERIES_PER_ROW", per_row)
    chunked = pfn.predict_many(*zip(*curves, strict=True))
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(a.quantile(LEVELS), b.quantile(LEVELS), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(a.logits, b.logits, rtol=1e-5, atol=1e-5)
    # each chunk uses the whole curve's x mapping: the near query still feels the far one
    near = pfn.predict(X, Y, xq[:1]).median()
    assert not np.allclose(near, chunked[0].median()[:1])


# ---------------------------------------------------------------------------------------------
# reach: a query further out than the training prior ever asked is answered with a warning


def test_reach_follows_the_training_prior(pfn):
    from scalebayes.priors import ScaleFreePriorConfig

    assert pfn.reach == predict_module.NSLPFN_REACH  # no train_config: NSL-PFN's prior
    assert PFN.load().reach == predict_module.NSLPFN_REACH  # the shipped model
    decades = ScaleFreePriorConfig().reach[1]
    for prior in ("scalefree", "mixture"):
        other = PFN(pfn.model, pfn.bar, {"train_config": {"prior": prior}})
        assert other.reach == pytest.approx(10.0**decades)
    # a run whose scale-free curves reached at most 2 decades (as its meta.json records it)
    narrow = {"prior": "mixture", "scalefree_overrides": {"reach": [0.05, 2.0]}}
    assert PFN(pfn.model, pfn.bar, {"train_config": narrow}).reach == pytest.approx(100.0)


@pytest.mark.filterwarnings("ignore::scalebayes.pfn.SpanWarning")  # 3000x: five decades
def test_a_query_beyond_the_reach_warns_and_is_still_answered(pfn):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inside the reach: silent
        pfn.predict(X, Y, [X[-1] * 9.0])
    with pytest.warns(
        predict_module.ReachWarning,
        match=r"up to 30x the largest context x: beyond this PFN.s reach \(10x",
    ):
        pred = pfn.predict(X, Y, [X[-1] * 2.0, X[-1] * 30.0])
    assert np.all(np.isfinite(pred.median())) and np.all(pred.median() >= 0)
    with pytest.warns(predict_module.ReachWarning, match=r"curve 1: x_query up to 50x"):
        pfn.predict_many([X, X], [Y, Y], [[X[-1] * 2.0], [X[-1] * 50.0]])
    far_model = PFN(pfn.model, pfn.bar, {"train_config": {"prior": "mixture"}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        far_model.predict(X, Y, [X[-1] * 300.0])
    # the advice names the far model only where it reaches further; beyond it, MCMC alone
    assert far_model.reach == 1000.0
    assert pfn.further_model(30.0) is PFN.load_for(100.0)  # the shipped far model
    assert pfn.further_model(3000.0) is None and far_model.further_model(30.0) is None
    with pytest.warns(predict_module.ReachWarning) as caught:
        far_model.predict(X, Y, [X[-1] * 3000.0])
    message = str(caught[0].message)
    assert "no shipped PFN reaches further" in message and "mcmc-m4-irw" in message
    assert "--model" not in message and "far model" not in message
    assert "same units" not in message  # 3000x: far, but a question studies ask
    with pytest.warns(predict_module.ReachWarning, match=r"5.4e\+06x beyond the runs: are"):
        far_model.predict(X, Y, [X[-1] * 5.4e6])  # millions of parameters against parameters
    with pytest.warns(predict_module.ReachWarning, match=r"use the far model .*--model mixture-"):
        pfn.predict(X, Y, [X[-1] * 30.0])
    with pytest.warns(predict_module.ReachWarning, match="no shipped PFN reaches further"):
        pfn.predict(X, Y, [X[-1] * 3000.0])


def test_the_study_method_measures_beyond_the_reach_without_warning():
    import warnings

    from scalebayes.data import Curve
    from scalebayes.pfn import pfn_method

    # the study's curves come normalised (y / max y_context), so the method passes y_scale 1
    x = np.geomspace(1.0, 1e3, 12)
    y = x**-0.2
    curve = Curve(x, y, "far", dataset="test", is_context=x <= 5.0)
    wide = np.geomspace(1.0, 1e6, 12)  # the far model's y window and the default's x window
    windowed = [
        Curve(
            wide, (0.5 + 200 * wide**-0.5) / 200.5, "y", dataset="test", is_context=wide <= 1.1e4
        ),
        Curve(wide, wide**-0.05, "x", dataset="test", is_context=wide <= 3e5),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (pred,) = pfn_method()([curve])
        preds = pfn_method()(windowed)
    assert np.all(np.isfinite(pred.median()))
    assert all(np.all(np.isfinite(p.median())) for p in preds)


def test_cli_says_it_once_in_one_line(tmp_path, capsys):
    import warnings

    from scalebayes.cli import main

    runs = tmp_path / "runs.csv"
    runs.write_text("x,y\n" + "".join(f"{x:.17g},{y:.17g}\n" for x, y in zip(X, Y, strict=True)))
    with warnings.catch_warnings():
        warnings.simplefilter("always", predict_module.ReachWarning)  # as a user sees it
        status = main(
            [
                "extrapolate",
                str(runs),
                "--to",
                f"{X[-1] * 100:g}",
                "--model",
                "nslpfn-base",  # named: it answers, and says it is out of its reach
                "--plot",
                str(tmp_path / "f.png"),
            ]
        )
    err = capsys.readouterr().err
    assert status == 0
    # in the command line's words (x_query is --to; the Python call's name is left out)
    assert err.startswith("warning: curve 'runs': --to up to 100x the largest run: beyond")
    assert err.count("\n") == 1 and "PFN.load(" not in err, err
    assert "--model mixture-tiny" in err


# ---------------------------------------------------------------------------------------------
# the shipped far model: the scale-free mixture prior, log-relative input, reach 1000x


def test_the_far_model_ships_and_answers_far_without_warning():
    import warnings

    from scalebayes.pfn import FAR_MODEL

    far = PFN.load(FAR_MODEL)  # checksum verified
    assert far.config.input == "log-relative" and far.meta["train_config"]["prior"] == "mixture"
    assert far.reach == pytest.approx(1000.0)
    assert far.within_reach(1000.0) and not far.within_reach(1001.0)
    x = np.geomspace(1e18, 5e19, 5)  # five log-spaced runs, a power law to a floor
    y = 1.7 + 8.0 * (x / 1e16) ** -0.3
    far_x = x[-1] * np.array([10.0, 100.0, 300.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within its reach: silent
        pred = far.predict(x, y, far_x)
    median = pred.median()
    lower, upper = pred.interval(0.9)
    assert np.all(np.isfinite(median)) and np.all((lower > 0) & (lower < median) & (median < upper))
    assert np.all(np.diff(median) < 0) and np.all(median < y[-1])  # still falling, below the runs
    # query-independent: each answer is the same asked alone
    alone = far.predict(x, y, far_x[:1])
    np.testing.assert_allclose(alone.median(), median[:1], rtol=1e-5)
    # the units of x change nothing, even beyond float32's range (x to 1e57, or 1e-32)
    for factor in (1e38, 1e-50):
        scaled = far.predict(x * factor, y, far_x * factor)
        np.testing.assert_allclose(scaled.median(), median, rtol=1e-5)


def test_cli_answers_beyond_the_default_reach_with_the_far_model(tmp_path, capsys):
    import warnings

    from scalebayes.cli import main

    runs = tmp_path / "runs.csv"
    runs.write_text("x,y\n" + "".join(f"{x:.17g},{y:.17g}\n" for x, y in zip(X, Y, strict=True)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", predict_module.ReachWarning)  # no warning: in reach
        assert main(["extrapolate", str(runs), "--to", f"{X[-1] * 100:g}"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"note: x beyond {X[-1] * 5:.4g} (5x the largest run) are answered") and (
        "by the far model (mixture-tiny, reach 1000x, more accurate there" in err
        and err.count("\n") == 1
    ), err
    far_row = out.splitlines()[1].split()
    far = PFN.load("mixture-tiny").predict(X, Y, [X[-1] * 100]).quantile([0.5])
    assert float(far_row[4]) == pytest.approx(float(far[0][0]), rel=1e-3)  # q50 column
    assert main(["extrapolate", str(runs), "--to", f"{X[-1] * 5:g}"]) == 0
    assert capsys.readouterr().err == ""  # up to FAR_SWITCH (5x) the default model: no note
    assert main(["extrapolate", str(runs), "--to", f"{X[-1] * 8:g}"]) == 0
    err = capsys.readouterr().err
    assert "(5x the largest run) are answered" in err and "x within" not in err
    assert main(["extrapolate", str(runs), "--to", f"{X[-1] * 2:g},{X[-1] * 8:g}"]) == 0
    assert "; x up to 5x by both PFNs weighted by a back-test;" in capsys.readouterr().err


def test_extrapolate_answers_with_the_model_the_command_line_chooses():
    import warnings

    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL, FAR_SWITCH, extrapolate

    assert FAR_SWITCH == 5.0
    assert PFN.load_for(1.0) is PFN.load_for(5.0)  # the default up to 5x, loaded once
    assert PFN.load_for(5.01) is PFN.load_for(100.0)  # the far model beyond, loaded once
    assert PFN.load_for(5.01) is not PFN.load_for(5.0)
    assert PFN.load_for(100.0).reach == 1000 and PFN.load_for(1.0).reach == 10
    from scalebayes.pfn import NEAR_SCALE, StackedPrediction, predict_stacked

    both = [PFN.load(DEFAULT_MODEL), PFN.load(FAR_MODEL)]
    for ratio in (2.0, 5.0, 8.0, 100.0):
        with warnings.catch_warnings():
            warnings.simplefilter("error", predict_module.ReachWarning)  # each within reach
            got = extrapolate(X, Y, [X[-1] * ratio])
        if ratio <= FAR_SWITCH:  # both models, weighted by the curve's back-test
            want = StackedPrediction(
                predict_stacked(both, [X], [Y], [[X[-1] * ratio]])[0], NEAR_SCALE
            )
            assert isinstance(got, StackedPrediction) and 0 < got.weights[0] < 1
            np.testing.assert_allclose(got.weights, want.weights, rtol=1e-6)
        else:  # the far model alone
            want = PFN.load(FAR_MODEL).predict(X, Y, [X[-1] * ratio])
        levels = [0.05, 0.5, 0.95]
        np.testing.assert_allclose(got.quantile(levels), want.quantile(levels), rtol=1e-6)
        np.testing.assert_allclose(got.mean(), want.mean(), rtol=1e-6)
    # a named model answers whatever the distance; keyword arguments reach predict
    named = extrapolate(X, Y, [X[-1] * 5], model=FAR_MODEL, y_scale=1.0)
    want = PFN.load(FAR_MODEL).predict(X, Y, [X[-1] * 5], y_scale=1.0)
    np.testing.assert_allclose(named.median(), want.median(), rtol=1e-6)
    # bad input: predict's one-line message, or load_for's
    with pytest.raises(ValueError, match="x_query"):
        extrapolate(X, Y, [-1.0])
    with pytest.raises(ValueError, match=r"name one \(model=.nslpfn-base.\) to use x_range"):
        extrapolate(X, Y, [X[-1] * 2], x_range=(X[0], X[-1] * 2))
    pinned = extrapolate(X, Y, [X[-1] * 2], model=DEFAULT_MODEL, x_range=(X[0], X[-1] * 4))
    want = PFN.load(DEFAULT_MODEL).predict(X, Y, [X[-1] * 2], x_range=(X[0], X[-1] * 4))
    np.testing.assert_allclose(pinned.median(), want.median(), rtol=1e-6)
    for ratio in (0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="must be finite and > 0"):
            PFN.load_for(ratio)
    with pytest.raises(TypeError, match="ratio must be a number"):
        PFN.load_for("10")


def test_extrapolate_warns_when_the_context_rises_at_every_run():
    from scalebayes.data import RisingCurveWarning
    from scalebayes.pfn import extrapolate

    accuracy = np.linspace(0.5, 0.8, X.size)
    with pytest.warns(RisingCurveWarning, match="the context: y rises at every one of its"):
        pred = extrapolate(X, accuracy, [X[-1] * 3])
    assert np.isfinite(pred.median()).all()  # an answer all the same
    with warnings.catch_warnings():
        warnings.simplefilter("error", RisingCurveWarning)
        extrapolate(X, Y, [X[-1] * 3])  # a falling curve: silent


def test_extrapolate_asks_what_the_command_line_asks():
    """The command line refuses 2 runs, repeated x (unless --dedupe mean) and --to inside
    the runs; in Python two runs answer with a warning, repeated x are averaged with one,
    and a query inside the runs is refused, pointing to a fitted family."""
    import warnings

    from scalebayes.data import EarlyRiseWarning
    from scalebayes.pfn import extrapolate

    query = [3 * X[-1]]
    with pytest.warns(UserWarning, match="2 distinct x: two runs fix a slope"):
        assert np.isfinite(extrapolate(X[-2:], Y[-2:], query).median()).all()
    xs, ys = [*X, X[-1]], [*Y[:-1], Y[-1] * 0.99, Y[-1] * 1.01]  # two seeds of the last run
    averaged = [*Y[:-1], (ys[-2] + ys[-1]) / 2]
    with pytest.warns(UserWarning, match=r"runs repeat an x .* averaged"):
        shipped = extrapolate(xs, ys, query)  # the back-test weights read the mean too
    levels = [0.05, 0.5, 0.95]
    np.testing.assert_allclose(
        shipped.quantile(levels), extrapolate(X, averaged, query).quantile(levels), rtol=1e-6
    )
    with warnings.catch_warnings():  # seeds at the first x are not a climb
        warnings.simplefilter("error", EarlyRiseWarning)
        warnings.filterwarnings("ignore", ".*runs repeat an x", UserWarning)
        extrapolate([X[0], *X], [Y[0] * 1.02, *Y], query)
    pfn = PFN.load()
    with pytest.warns(UserWarning, match=r"runs repeat an x .* averaged"):
        seeds = pfn.predict(xs, ys, query)
    mean = pfn.predict(X, [*Y[:-1], (ys[-2] + ys[-1]) / 2], query)
    np.testing.assert_allclose(seeds.logits, mean.logits, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"not beyond the largest run .* fit a family"):
        extrapolate(X, Y, [X[1], 3 * X[-1]])
    zero = np.asarray(Y, np.float64).copy()
    zero[-1] = 0.0  # the command line refuses y = 0; a named model answers it
    with pytest.raises(ValueError, match=r"y_context is 0 at x = .* name a model"):
        extrapolate(X, zero, query)
    assert np.isfinite(extrapolate(X, zero, query, model=pfn).median()).all()


def test_extrapolate_warns_when_the_context_climbs_before_it_falls():
    from scalebayes.data import EarlyRiseWarning
    from scalebayes.pfn import extrapolate

    warm = np.where(np.arange(X.size) == 1, Y[0] * 1.1, Y)  # the second run above the first
    with pytest.warns(EarlyRiseWarning, match="the context: y climbs from"):
        extrapolate(X, warm, [X[-1] * 3])


def test_the_study_method_answers_each_curve_as_extrapolate_does():
    """``pfn`` (no model named) answers each target by its distance, in one call, exactly as
    ``extrapolate`` answers: a near curve's targets with both models stacked, a curve whose
    targets run from 1.8x to 100x with the stack up to 5x and the far model beyond."""
    from scalebayes.data import Curve
    from scalebayes.evaluate import JoinedPredictive
    from scalebayes.pfn import (
        DEFAULT_MODEL,
        FAR_MODEL,
        NEAR_SCALE,
        StackedPrediction,
        extrapolate,
        pfn_method,
        predict_stacked,
    )
    from scalebayes.studies import METHODS

    x = np.geomspace(1.0, 1e3, 13)
    y = (0.3 + 2.0 * x**-0.3) / 2.3  # normalised, as the study protocol gives curves
    near = Curve(x[:11], y[:11], "near", dataset="t", is_context=x[:11] <= 100.0)  # 3.2x
    far = Curve(x, y, "far", dataset="t", is_context=x <= 10.0)  # 1.8x .. 100x
    both = pfn_method()([near, far, near])

    def stacked(xc, yc, xq):
        models = [PFN.load(DEFAULT_MODEL), PFN.load(FAR_MODEL)]
        (answer,) = predict_stacked(models, [xc], [yc], [xq], y_scale=1.0)
        return StackedPrediction(answer, NEAR_SCALE)

    inside = far.x_target <= 5 * far.x_context.max()
    assert 0 < inside.sum() < inside.size
    assert isinstance(both[1], JoinedPredictive) and isinstance(both[0], StackedPrediction)
    alone = [
        stacked(near.x_context, near.y_context, near.x_target),
        np.r_[
            stacked(far.x_context, far.y_context, far.x_target[inside]).quantile([0.05, 0.95]).T,
            PFN.load(FAR_MODEL)
            .predict(far.x_context, far.y_context, far.x_target[~inside], y_scale=1.0)
            .quantile([0.05, 0.95])
            .T,
        ].T,
    ]
    for curve, pred, want in ((near, both[0], alone[0]), (far, both[1], alone[1])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # extrapolate's own choice is within reach
            direct = extrapolate(curve.x_context, curve.y_context, curve.x_target, y_scale=1.0)
        np.testing.assert_allclose(pred.median(), direct.median(), rtol=1e-5)
        want = want if isinstance(want, np.ndarray) else want.quantile([0.05, 0.95])
        # float32 forward passes of batches of 1 and 3 curves: the same to rounding
        np.testing.assert_allclose(pred.quantile([0.05, 0.95]), want, rtol=1e-5)
    np.testing.assert_array_equal(both[2].median(), both[0].median())
    default, far_model = pfn_method(DEFAULT_MODEL)([far])[0], pfn_method(FAR_MODEL)([near])[0]
    assert not np.allclose(default.median(), both[1].median())  # the choice matters
    assert not np.allclose(far_model.median(), both[0].median())
    # the study's four PFN methods, fingerprinted by the models they use
    shipped, switch, only_default, only_far = (
        METHODS[m].settings() for m in ("pfn", "pfn-switch", "pfn-default", "pfn-far")
    )
    assert only_default == pfn_method(DEFAULT_MODEL).settings()
    assert only_far == pfn_method(FAR_MODEL).settings()
    for settings in (shipped, switch):
        assert only_default in settings and only_far in settings and "5x" in settings
    assert "back-test" in shipped and "back-test" not in switch
    # a distance beyond float64 is chosen for as extrapolate chooses, not refused
    x = np.array([1e-200, 2e-200, 4e-200, 1e200])
    huge = Curve(x, np.array([3.0, 2.0, 1.5, 1.0]), "huge", dataset="t", is_context=x < 1.0)
    pfn_method().validate(huge)


WIDE_X = 1e2 * 10.0 ** np.arange(6)  # six runs 10x apart: five decades
WIDE_Y = 0.3 + 0.7 * WIDE_X**-0.1


def test_runs_spanning_many_decades_are_read_through_the_nslpfn_window(pfn):
    """Beyond SPAN_GUARD the NSL-PFN input reads only the runs within NSLPFN_SPAN of the
    furthest x: the answer is the one given for those runs alone."""
    assert pfn.config.input == "nslpfn"
    xq = [2e7, 4e7]  # window: x >= 4e7 / 100 = 4e5, so 1e6 and 1e7
    with pytest.warns(UserWarning, match=r"within 100x of the furthest x .*2 of 6 runs") as rec:
        pred = pfn.predict(WIDE_X, WIDE_Y, xq)
    assert len(rec) == 1 and rec[0].filename == __file__
    ref = pfn.predict(WIDE_X[-2:], WIDE_Y[-2:], xq)  # spans 40x: no window, no warning
    np.testing.assert_allclose(pred.quantile(LEVELS), ref.quantile(LEVELS), rtol=1e-5, atol=1e-7)
    as_is = predict_module.SPAN_GUARD
    try:
        predict_module.SPAN_GUARD = np.inf
        every_run = pfn.predict(WIDE_X, WIDE_Y, xq)
    finally:
        predict_module.SPAN_GUARD = as_is
    assert not np.allclose(every_run.quantile(LEVELS), pred.quantile(LEVELS), rtol=1e-3)


def test_the_window_keeps_the_two_largest_runs_when_fewer_lie_in_it(pfn):
    x, y = np.array([1.0, 1e3, 1e6]), np.array([0.9, 0.6, 0.5])
    with pytest.warns(UserWarning, match="2 of 3 runs"):
        pred = pfn.predict(x, y, [2e8])  # window x >= 2e6 holds no run
    with pytest.warns(UserWarning, match="2 of 2 runs"):  # the two alone still span 2e5
        ref = pfn.predict(x[1:], y[1:], [2e8])
    np.testing.assert_allclose(pred.quantile(LEVELS), ref.quantile(LEVELS), rtol=1e-5, atol=1e-7)


def test_runs_within_the_guard_are_all_read(pfn, recwarn):
    x = np.geomspace(1.0, 1e3, 6)
    pfn.predict(x, 0.3 + 0.7 * x**-0.1, [5e3])  # spans 5e3 < SPAN_GUARD
    assert not recwarn.list


def test_scale_free_models_read_every_run_and_refuse_ratios_float32_cannot_hold():
    far = PFN.load("mixture-tiny")
    assert far.config.input != "nslpfn"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no window warning: the scale-free input reads all
        far.predict(WIDE_X, WIDE_Y, [2e7])
    with pytest.raises(ValueError, match=r"ratios within 1e-30..1e30"):
        far.predict(WIDE_X, WIDE_Y, [1e46])
    with pytest.raises(ValueError, match=r"drop runs that far below"):
        far.predict(np.array([1e-40, 1.0]), np.array([2.0, 1.0]), [2.0])


def test_the_far_model_reads_runs_within_ten_times_the_last_runs_y():
    far = PFN.load("mixture-tiny")
    x = np.geomspace(1.0, 1e5, 12)
    y = 0.5 + 200.0 * x**-0.5  # 200.5 down to 1.13: y spans 177x
    keep = y <= predict_module.Y_SPAN_GUARD * y[-1]
    assert 2 <= keep.sum() < x.size
    with pytest.warns(predict_module.SpanWarning, match=rf"{keep.sum()} of 12 runs \(y spans 177x"):
        pred = far.predict(x, y, [2e5, 1e6])
    ref = far.predict(x[keep], y[keep], [2e5, 1e6])  # spans under 10x: read whole, silently
    np.testing.assert_allclose(pred.quantile(LEVELS), ref.quantile(LEVELS), rtol=1e-5, atol=1e-7)


def test_the_y_window_keeps_the_two_largest_runs_when_fewer_lie_in_it():
    far = PFN.load("mixture-tiny")
    x, y = np.array([1.0, 10.0, 100.0, 1000.0]), np.array([1e4, 1e3, 100.0, 1.0])
    with pytest.warns(predict_module.SpanWarning, match="2 of 4 runs"):
        pred = far.predict(x, y, [3000.0])
    with pytest.warns(predict_module.SpanWarning, match="2 of 2 runs"):  # 100x: still wide
        ref = far.predict(x[-2:], y[-2:], [3000.0])
    np.testing.assert_allclose(pred.quantile(LEVELS), ref.quantile(LEVELS), rtol=1e-5, atol=1e-7)


def test_the_study_fingerprints_name_the_runs_each_model_reads():
    from scalebayes.pfn import pfn_method

    settings = pfn_method().settings()  # both shipped models
    assert "x window 100 beyond a span of 10000" in settings and "y window 10" in settings


def test_cdf_normalises_the_masses_once_per_prediction(monkeypatch):
    # a quantile solve of a mixture asks the CDF dozens of times: the bars' program runs once
    # (the masses), every later call is read on the host, and agrees with the bars' own cdf
    pred = PFN.load().predict(X, Y, [2 * X[-1], 3 * X[-1]])
    calls = []
    real = predict_module._bar_call

    def counting(bar, fn, logits, arg):
        calls.append(fn)
        return real(bar, fn, logits, arg)

    monkeypatch.setattr(predict_module, "_bar_call", counting)
    ys = np.array([[0.3, 0.35], [0.4, 0.41], [0.45, 0.5]])
    first, second = pred.cdf(ys), pred.cdf(ys[::-1])
    assert calls == ["cdf_table"]
    np.testing.assert_array_equal(first, second[::-1])
    want = np.asarray(
        pred.bar.cdf(jnp.asarray(pred.logits), jnp.asarray(ys / pred.y_scale, jnp.float32))
    )
    np.testing.assert_allclose(first, want, atol=1e-6)


def test_values_beyond_float32_are_read_far_in_a_tail_without_warnings():
    pred = PFN.load().predict(X, Y, [2 * X[-1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pred.cdf(np.array([1e39])) == 1.0 and pred.cdf(np.array([-1e39])) == 0.0
        assert pred.log_prob(np.array([1e39]))[0] < -1e3


def test_a_model_prints_its_name_input_and_reach_and_a_scalar_query_is_refused_with_a_hint():
    assert repr(PFN.load()) == "PFN(nslpfn-base, input 'nslpfn', 1000 buckets, reach 10x)"
    with pytest.raises(
        ValueError, match=r"x_query must be 1-D, got shape \(\) \(one value: pass \[6\.4e\+07\]\)"
    ):
        PFN.load().predict(X, Y, 2 * X[-1])


def test_a_checkpoint_replaced_at_its_path_is_read_again(tmp_path):
    """A study method names a checkpoint by its path; retrained in place (a new run written to
    the same directory), the method scores and fingerprints the new weights, not a copy kept
    from before."""
    import shutil

    from scalebayes.data import Curve
    from scalebayes.pfn import pfn_method
    from scalebayes.pfn._predict import WEIGHTS_DIR

    where = tmp_path / "run"
    shutil.copytree(WEIGHTS_DIR / "mixture-tiny", where)
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    curve = Curve(x, 2.0 * x**-0.3, "c", dataset="t", is_context=x < 10.0)
    before = pfn_method(str(where))
    first, settings = before([curve])[0].median(), before.settings()
    shutil.rmtree(where)
    shutil.copytree(WEIGHTS_DIR / "nslpfn-small", where)
    after = pfn_method(str(where))
    assert after.settings() != settings
    assert not np.allclose(after([curve])[0].median(), first)
    assert after.settings() == pfn_method("nslpfn-small").settings()


def test_a_y_scale_far_above_the_runs_is_warned_about():
    """A review: a 1%-error curve with the protocol's y_scale=1.0 (tutorial 02's call) answered
    three times the truth without a word; "auto" answers it."""
    pfn = PFN.load()
    x = np.array([1e3, 3e3, 1e4, 3e4, 1e5])
    y = 0.01 + 0.05 * (x / 1e3) ** -0.4
    truth = 0.01 + 0.05 * (2e5 / 1e3) ** -0.4
    with pytest.warns(UserWarning, match=r"y_scale 1 puts max\(y_context\) / y_scale at 0\.06"):
        low = pfn.predict(x, y, [2e5], y_scale=1.0).median()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = pfn.predict(x, y, [2e5]).median()
        # the protocol's own curves (largest context y 0.58 and more) are not warned about
        pfn.predict(x, y / y.max() * 0.6, [2e5], y_scale=1.0)
    assert abs(np.log(auto / truth)) < 0.1 < abs(np.log(low / truth))


def test_plot_fan_takes_one_number_or_one_curve_and_refuses_a_fan_inside_the_runs(tmp_path):
    """A review: a scalar x_to failed after every prediction ('numpy.float64' object is not
    iterable), an (x, y) tuple failed with an AttributeError, and an x_to inside the runs
    wrote an almost empty chart."""
    from scalebayes.data import Curve
    from scalebayes.pfn import plot_fan

    x = np.array([1.0, 2.0, 4.0, 8.0])
    curve = Curve(x, 2.0 * x**-0.3, "c")
    out = plot_fan(None, curve, 10 * x[-1], tmp_path / "one.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(TypeError, match="Curve objects"):
        plot_fan(None, [(x, 2.0 * x**-0.3)], [80.0], tmp_path / "t.png")
    with pytest.raises(ValueError, match="does not lie beyond the runs of c"):
        plot_fan(None, [curve], [4.0], tmp_path / "in.png")
    assert not (tmp_path / "t.png").exists() and not (tmp_path / "in.png").exists()


def test_huge_y_reads_as_far_in_the_upper_tail_without_an_overflow_warning():
    """A review: ``y / y_scale`` overflowed (a RuntimeWarning) before ``_float32`` clipped it;
    the answers were right (filterwarnings = error makes the warning fail this test)."""
    from scalebayes.data import load_benchmark
    from scalebayes.pfn import extrapolate

    c = load_benchmark("ic")[0]
    near = extrapolate(c.x_context, c.y_context, c.x_context.max() * np.array([2.0]))
    assert near.cdf([np.inf])[0] == pytest.approx(1.0, abs=1e-12)
    assert near.log_prob([1e300])[0] == -np.inf
    pred = PFN.load(DEFAULT_MODEL).predict(c.x_context, c.y_context, [2 * c.x_context.max()])
    assert pred.cdf([1.7e308])[0] == 1.0


def test_plot_fan_draws_every_held_out_point_and_each_curves_own_axis_labels(tmp_path, monkeypatch):
    """A review: for one Curve its 3 held-out points came through as one (the flat array was
    read as one per curve), x_target without y_target drew nothing silently, and every panel
    carried the first curve's axis labels."""
    from scalebayes.data import Curve
    from scalebayes.pfn import _plot

    seen = {}
    monkeypatch.setattr(_plot, "plot_fans", lambda *a, **k: seen.update(k) or tmp_path)
    x = np.array([1.0, 2.0, 4.0, 8.0])
    one = Curve(x, 2.0 * x**-0.3, "a", metadata={"x_column": "compute", "y_column": "loss"})
    other = Curve(x, 3.0 * x**-0.2, "b", metadata={"x_column": "params", "y_column": "error"})
    xt = np.array([16.0, 32.0, 64.0])
    _plot.plot_fan(None, one, 100.0, tmp_path / "f.png", x_target=xt, y_target=2.0 * xt**-0.3)
    (got,) = seen["held_out"]
    np.testing.assert_array_equal(got[0], xt)
    _plot.plot_fan(None, [one, other], 100.0, tmp_path / "f.png")
    assert seen["axis_labels"] == [("compute", "loss"), ("params", "error")]
    with pytest.raises(ValueError, match="give x_target and y_target together"):
        _plot.plot_fan(None, one, 100.0, tmp_path / "f.png", x_target=xt)
    with pytest.raises(ValueError, match="x_target must hold one array per curve \\(2\\)"):
        _plot.plot_fan(None, [one, other], 100.0, tmp_path / "f.png", x_target=[xt], y_target=[xt])


def test_a_0d_array_is_a_number_wherever_a_number_is_asked():
    """A review: x_range=(jnp.asarray(x).min(), 5e20) was refused with a misleading 'one per
    curve' error, and PFN.load_for, Curve(y_scale=), far_split and fit_curves(ridge=) refused
    0-d NumPy or JAX arrays that y_scale and interval(level) accepted."""
    import jax.numpy as jnp

    from scalebayes._checks import is_real
    from scalebayes.data import Curve, far_split
    from scalebayes.inference import fit_curves
    from scalebayes.pfn import PFN

    assert is_real(np.array(2.0)) and is_real(jnp.asarray(3)) and is_real(np.float32(1))
    assert not is_real(np.array(True)) and not is_real(np.array([1.0])) and not is_real("1")
    x = np.geomspace(1e17, 1e20, 5)
    y = 2 + 30 * (x / 1e15) ** -0.3
    pfn = PFN.load()
    want = pfn.predict(x, y, [5e20], x_range=(1e17, 5e20)).median()
    for bounds in ((jnp.asarray(x).min(), 5e20), (np.array(1e17), np.array(5e20))):
        np.testing.assert_array_equal(pfn.predict(x, y, [5e20], x_range=bounds).median(), want)
    assert PFN.load_for(np.array(20.0)) is PFN.load_for(20.0)
    assert Curve(x, y, "c", y_scale=np.array(2.0)).y_scale == 2.0
    long = Curve(np.geomspace(1e17, 1e21, 30), 2 + np.geomspace(3, 1, 30), "c")
    assert far_split(long, np.array(10.0)).n == far_split(long, 10.0).n
    fit = fit_curves("m2", [x], [y], ridge=np.array(1e-6))[0]
    assert fit.params == fit_curves("m2", [x], [y])[0].params


def test_one_curves_flat_arrays_where_lists_are_asked_say_so():
    """A review: predict_many(x, y, q) and predict_shipped(x, y, q) with one curve's arrays
    hinted '(one value: pass [1e+17])' or counted 5 curves against 1."""
    from scalebayes.pfn import PFN, predict_shipped

    x = np.geomspace(1e17, 1e20, 5)
    y = 2 + 30 * (x / 1e15) ** -0.3
    said = r"x_context must be a list of arrays, one per curve; got one flat array"
    with pytest.raises(TypeError, match=said):
        PFN.load().predict_many(x, y, [1e21])
    with pytest.raises(TypeError, match=said):
        predict_shipped(list(x), y, [1e21])
    assert len(predict_shipped([x], [y], [[1e21]])) == 1


def test_python_ints_beyond_float64_get_one_line_value_errors():
    """A review: extrapolate, fit_curve and Curve raised a bare OverflowError for 10**400."""
    from scalebayes.data import Curve
    from scalebayes.inference import fit_curve
    from scalebayes.pfn import extrapolate

    x, y = [10**17, 10**18, 10**19, 10**400], [3.0, 2.5, 2.2, 2.0]
    with pytest.raises(ValueError, match="x_context must be finite; one value is beyond"):
        extrapolate(x, y, [1e21])
    with pytest.raises(ValueError, match="x_query must be finite; one value is beyond"):
        extrapolate(x[:3], y[:3], [10**400])
    with pytest.raises(ValueError, match="x and y must be finite; one is beyond float64"):
        fit_curve("m2", x, y)
    with pytest.raises(ValueError, match=r"Curve\.x must be finite; one value is beyond"):
        Curve(x, y, "c")
    with pytest.raises(ValueError, match="y_scale must be finite and > 0"):
        Curve(x[:3], y[:3], "c", y_scale=10**400)
    with pytest.raises(ValueError, match="ridge must be a finite number >= 0"):
        fit_curve("m2", x[:3], y[:3], ridge=10**400)


def test_the_models_warnings_point_at_the_users_line():
    """A review: through extrapolate the ReachWarning and SpanWarning were attributed to the
    package's own lines (_stack.py, _answer.py); a fixed stacklevel fits one call path."""
    import warnings

    from scalebayes.pfn import PFN, extrapolate

    x = np.geomspace(1e17, 1e20, 5)
    y = 2 + 30 * (x / 1e15) ** -0.3
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        extrapolate(x, y, [3e20, 1e23], model="nslpfn-base")
        PFN.load().predict(x, y, [1e23])
        extrapolate(x, y, [1e23])
    assert said and all(w.filename == __file__ for w in said), [
        (w.category.__name__, w.filename) for w in said
    ]


def test_quantiles_and_draws_of_new_shapes_reuse_one_compiled_program(monkeypatch):
    """A review: each new number of levels (about 0.3 s) and of draws (1.5-4.6 s, eager)
    compiled again; now levels and queries are padded to powers of two and draws made in
    fixed chunks (a later review: padding the draws to a power of two took 30x the
    memory)."""
    from scalebayes.pfn import BarDistribution

    traced = {"quantiles": 0, "sample": 0}
    for name in traced:
        real = getattr(BarDistribution, name)

        def counting(self, *args, _real=real, _name=name):
            traced[_name] += 1  # runs while jit traces, not on a cached call
            return _real(self, *args)

        monkeypatch.setattr(BarDistribution, name, counting)
    pfn = PFN.load("mixture-tiny")
    x, y = np.geomspace(1e6, 1e9, 8), 3.0 * np.geomspace(1e6, 1e9, 8) ** -0.1 + 1.0
    first = pfn.predict(x, y, [1e10, 3e10, 1e11])
    other = pfn.predict(x[1:], y[1:], [2e10, 5e10, 8e10, 9e10, 1e11])
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    q5 = first.quantile(levels)
    seen = dict(traced)  # 1, or 0 where another test compiled these shapes in this process
    q7 = other.quantile(np.linspace(0.1, 0.9, 7))
    assert traced["quantiles"] == seen["quantiles"] <= 1
    assert q5.shape == (5, 3) and q7.shape == (7, 5)
    np.testing.assert_array_equal(q5[2], first.median())
    draws = [first.sample(jax.random.key(0), 1000)]
    seen = dict(traced)  # draws come in fixed chunks: any number reuses the program
    draws.append(first.sample(jax.random.key(0), (3, 1700)))
    assert traced["sample"] == seen["sample"] <= 1
    assert draws[0].shape == (1000, 3) and draws[1].shape == (3, 1700, 3)
    np.testing.assert_array_equal(draws[0], first.sample(jax.random.key(0), 1000))
    assert np.all(np.abs(np.median(draws[0], 0) / first.median() - 1) < 0.05)
    assert other.sample(jax.random.key(0), 1010).shape == (1010, 5)
