"""The predictor API: validation, normalisation, batching, and the predictive contract."""

import jax
import numpy as np
import pytest

from scalebayes.evaluate import PredictiveDistribution
from scalebayes.pfn import CONFIGS, PFN, BarDistribution, PFNModel


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


X = np.array([1e6, 2e6, 4e6, 8e6, 1.6e7, 3.2e7])
Y = np.array([0.9, 0.7, 0.58, 0.5, 0.45, 0.42])


def test_prediction_satisfies_the_contract(pfn):
    pred = pfn.predict(X, Y, [6.4e7, 1.28e8])
    assert isinstance(pred, PredictiveDistribution)
    med = pred.median()
    lo, hi = pred.interval(0.9)
    assert med.shape == lo.shape == hi.shape == (2,)
    assert np.all(lo < med) and np.all(med < hi)
    qs = pred.quantile([0.05, 0.25, 0.5, 0.75, 0.95])
    assert qs.shape == (5, 2) and np.all(np.diff(qs, axis=0) > 0)
    np.testing.assert_allclose(qs[2], med, rtol=1e-6)
    assert np.all(np.isfinite(pred.log_prob([0.4, 0.38])))
    draws = pred.sample(jax.random.PRNGKey(0), 4000)
    assert draws.shape == (4000, 2)
    assert pred.sample(jax.random.PRNGKey(0), (3, 5)).shape == (3, 5, 2)
    assert pred.sample(jax.random.PRNGKey(0)).shape == (2,)
    # the sample median agrees with the median within the Monte Carlo error
    np.testing.assert_allclose(np.median(draws, axis=0), med, atol=0.05 * (hi - lo).max())


def test_x_normalisation_makes_units_irrelevant(pfn):
    a = pfn.predict(X, Y, [6.4e7]).quantile([0.1, 0.5, 0.9])
    b = pfn.predict(X / 1e6, Y, [64.0]).quantile([0.1, 0.5, 0.9])
    np.testing.assert_allclose(a, b, rtol=1e-5)


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
    assert pred1.y_scale == 1.0


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


def test_interpolation_model_accepts_queries_inside_the_context(pfn):
    interp = PFN(pfn.model, pfn.bar, {"interpolation": True})
    assert interp.predict(X, Y, [3e6]).median().shape == (1,)


def test_study_method_pfn_scores_the_shipped_model(tmp_path):
    """``scalebayes study --methods pfn`` runs the shipped PFN; its scores match a direct call."""
    from scalebayes.evaluate import METHODS, rmsle, run_study

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

    pfn = PFN.load()
    for curve in read_curves_csv(csv):
        curve = curve.with_default_split()
        scale = curve.y_context.max()
        pred = pfn.predict(curve.x_context, curve.y_context / scale, curve.x_target, y_scale=1.0)
        expected = rmsle(pred.median(), curve.y_target / scale)
        assert scores[curve.name].rmsle == pytest.approx(expected, rel=1e-5)
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
