"""One predictive contract: every predictive the package ships answers the same questions,
with the same shapes and the same argument checks (``scalebayes.evaluate.Predictive``)."""

import jax
import numpy as np
import pytest
import scipy.stats as st

from scalebayes.evaluate import (
    GaussianPredictive,
    Predictive,
    PredictiveDistribution,
    SamplePredictive,
    check_level,
    check_probabilities,
)

N_TARGETS = 3


def _gaussian():
    return GaussianPredictive(mean=np.array([0.3, 0.5, 0.9]), std=np.array([0.01, 0.02, 0.05]))


def _samples():
    rng = np.random.default_rng(0)
    return SamplePredictive(samples=0.5 + 0.05 * rng.standard_normal((400, N_TARGETS)))


def _mcmc():
    from scalebayes.inference import MCMCPredictive

    rng = np.random.default_rng(1)
    loc = np.log([0.3, 0.5, 0.9]) + 0.05 * rng.standard_normal((50, N_TARGETS))
    return MCMCPredictive(loc=loc, scale=np.full(50, 0.02))


def _pfn():
    from scalebayes.pfn import PFN

    x = np.geomspace(1e6, 1e8, 12)
    y = 2.0 * x**-0.1
    return PFN.load().predict(x, y, np.geomspace(2e8, 8e8, N_TARGETS))


def _scaled():
    from scalebayes.evaluate import ScaledPredictive

    return ScaledPredictive(_mcmc(), 1.3)


def _mixture():
    from scalebayes.evaluate import MixturePredictive

    return MixturePredictive([_mcmc(), _gaussian(), _pfn()], [0.5, 0.2, 0.3])


MAKERS = {
    "gaussian": _gaussian,
    "samples": _samples,
    "mcmc": _mcmc,
    "pfn": _pfn,
    "scaled": _scaled,
    "mixture": _mixture,
}

# How closely cdf inverts icdf: the PFN computes in float32; the sample predictive's cdf is
# the exact inverse of its piecewise-linear quantile function.
CDF_ATOL = {"pfn": 2e-5, "mixture": 1e-6}


@pytest.fixture(scope="module", params=sorted(MAKERS))
def pred(request):
    return MAKERS[request.param]()


def test_every_predictive_is_one_kind(pred):
    assert isinstance(pred, Predictive)
    assert isinstance(pred, PredictiveDistribution)
    assert pred.n_targets == N_TARGETS


def test_quantiles_medians_and_intervals_agree(pred):
    qs = [0.05, 0.25, 0.5, 0.75, 0.95]
    table = pred.icdf(qs)
    assert table.shape == (len(qs), N_TARGETS)
    np.testing.assert_array_equal(pred.quantile(qs), table)
    assert np.all(np.diff(table, axis=0) >= 0)  # monotone in the level
    np.testing.assert_allclose(pred.icdf(0.25), table[1], rtol=1e-6)
    np.testing.assert_allclose(pred.median(), table[2], rtol=1e-6)
    lower, upper = pred.interval(0.9)
    np.testing.assert_allclose(lower, table[0], rtol=1e-6)
    np.testing.assert_allclose(upper, table[4], rtol=1e-6)


def test_samples_follow_the_quantiles(pred):
    # 1000 draws in every call (one compiled sampler where it is compiled), and one
    assert pred.sample(jax.random.key(0), (10, 100)).shape == (10, 100, N_TARGETS)
    assert pred.sample(jax.random.key(0)).shape == (N_TARGETS,)
    draws = pred.sample(jax.random.key(1), 1000)
    assert draws.shape == (1000, N_TARGETS)
    np.testing.assert_array_equal(draws, pred.sample(jax.random.key(1), 1000))
    # the share of draws below each predictive median: binomial sd 0.016 at n = 1000, so
    # 0.07 is 4.4 sd (a false failure in about 1e-5 per target)
    below = np.mean(draws <= pred.median(), axis=0)
    assert np.all(np.abs(below - 0.5) < 0.07), below


def test_cdf_inverts_the_quantiles(pred, request):
    qs = np.array([0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.98])
    table = pred.icdf(qs)
    atol = CDF_ATOL.get(request.node.callspec.params["pred"], 1e-8)
    np.testing.assert_allclose(
        pred.cdf(table), np.broadcast_to(qs[:, None], table.shape), atol=atol
    )
    np.testing.assert_allclose(pred.cdf(table[3]), qs[3], atol=atol)  # one row: (n_targets,)
    assert pred.cdf(table[3]).shape == (N_TARGETS,)
    low, high = pred.cdf(np.full((2, N_TARGETS), [[-1.0], [1e6]]))
    np.testing.assert_allclose(low, 0.0, atol=1e-12)
    np.testing.assert_allclose(high, 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="y must be"):
        pred.cdf(np.zeros(N_TARGETS + 1))


def test_repr_is_one_line_with_the_answer(pred):
    text = repr(pred)
    lo, mid, hi = pred.icdf([0.05, 0.5, 0.95])
    assert "\n" not in text and text.startswith(type(pred).__name__ + "(")
    assert f"{mid[0]:.4g} [{lo[0]:.4g}, {hi[0]:.4g}]" in text
    assert len(text) < 400  # a summary, not the arrays behind it


def test_the_head_is_the_first_targets_alone(pred):
    """What the repr summarises: the predictive sliced to its first targets."""
    qs = [0.05, 0.5, 0.95]
    head = pred._head(2)
    assert head.n_targets == 2
    np.testing.assert_allclose(head.icdf(qs), pred.icdf(qs)[:, :2], rtol=1e-6)


def test_log_prob_is_finite_at_the_median(pred):
    lp = pred.log_prob(pred.median())
    assert lp.shape == (N_TARGETS,) and np.all(np.isfinite(lp))


def test_log_prob_far_out_is_minus_inf_or_finite_never_nan(pred):
    far = np.full(N_TARGETS, 1e30)  # within float32, which the PFN computes in
    lp = np.asarray(pred.log_prob(far))
    assert lp.shape == (N_TARGETS,) and not np.any(np.isnan(lp))
    assert np.all(lp < pred.log_prob(pred.median()))


def test_no_draws_is_an_empty_array(pred):
    assert pred.sample(jax.random.key(0), 0).shape == (0, N_TARGETS)
    assert pred.sample(jax.random.key(0), (2, 0)).shape == (2, 0, N_TARGETS)


@pytest.mark.parametrize("shape", [-1, (3, -2), 2.5, (True,), "ab"])
def test_one_sample_shape_check(pred, shape):
    with pytest.raises(ValueError, match="sample_shape must be an integer >= 0 or a tuple"):
        pred.sample(jax.random.key(0), shape)


def test_one_key_check(pred):
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key such as jax.random.key\(0\)"):
        pred.sample(0, 3)
    old_style = pred.sample(jax.random.PRNGKey(0), 3)  # the older raw keys are keys too
    assert old_style.shape == (3, N_TARGETS)


@pytest.mark.parametrize("y", [[np.nan, 0.5, 0.5], [0.5, np.inf, 0.5], [0.5, 0.5]])
def test_one_target_check(pred, y):
    with pytest.raises(ValueError, match="`y` must"):
        pred.log_prob(y)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5])
def test_one_level_check(pred, level):
    with pytest.raises(ValueError, match="`level` must lie strictly between 0 and 1"):
        pred.interval(level)


@pytest.mark.parametrize("q", [0.0, 1.0, [0.5, 1.2], [[0.5]], []])
def test_one_probability_check(pred, q):
    with pytest.raises(ValueError, match="`q` must be a scalar or 1-D array of probabilities"):
        pred.icdf(q)


def test_the_checks_themselves():
    assert check_level(0.9) == 0.9 and isinstance(check_level(np.float32(0.5)), float)
    for bad in (True, "0.9", [0.9]):
        with pytest.raises(TypeError, match="`level` must be a real number"):
            check_level(bad)
    np.testing.assert_array_equal(check_probabilities([0.1, 0.9]), [0.1, 0.9])
    assert check_probabilities(0.5).ndim == 0


def test_gaussian_quantiles_match_scipy():
    pred = _gaussian()
    q = np.array([0.01, 0.3, 0.99])
    expected = st.norm.ppf(q[:, None], loc=pred.loc, scale=pred.std)
    np.testing.assert_allclose(pred.icdf(q), expected, rtol=1e-9)


@pytest.mark.parametrize("y", [1e160, -1e160])
def test_float64_predictives_give_minus_inf_where_every_kernel_underflows(y):
    draws = 0.5 + 0.05 * np.random.default_rng(0).standard_normal((300, 1))
    for pred in (SamplePredictive(draws), GaussianPredictive([0.5], [0.05])):
        assert pred.log_prob([y])[0] == -np.inf


def test_sample_predictive_mean_and_a_nan_named_by_its_place():
    from scalebayes.evaluate import SamplePredictive

    draws = np.random.default_rng(0).lognormal(0.0, 0.3, (500, 2))
    pred = SamplePredictive(draws)
    np.testing.assert_allclose(pred.mean(), draws.mean(axis=0), rtol=1e-15)
    with pytest.raises(ValueError, match=r"y holds NaN \(first at index 1\)"):
        pred.cdf([1.0, np.nan])
    with pytest.raises(ValueError, match=r"y holds NaN \(first at index \(1, 0\)\)"):
        pred.cdf([[1.0, 1.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match=r"y must be a scalar, \(n_targets,\), \(m, n_targets\)"):
        pred.cdf([1.0, 1.0, 1.0])


def test_values_at_float64s_ends_are_read_without_warnings():
    import warnings

    from scalebayes.evaluate import GaussianPredictive, ScaledPredictive

    pred = ScaledPredictive(GaussianPredictive([0.5, 0.4], 0.1), 0.7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(pred.cdf([np.inf, 1e300]), [1.0, 1.0])
        assert pred.log_prob([1e300, 0.4])[0] == -np.inf


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda p: p.cdf(["0.5"]), "y must be an array of real numbers"),
        (lambda p: p.cdf([True]), "y must be an array of real numbers"),
        (lambda p: p.icdf("0.5"), "`q` must be a probability"),
        (lambda p: p.quantile([True]), "`q` must be a probability"),
        (lambda p: p.log_prob(["0.5"]), "`y` must be an array of real numbers"),
    ],
)
def test_strings_and_booleans_are_not_numbers(call, error):
    """A review: ``cdf`` parsed strings and read True as 1, ``icdf`` parsed "0.5"."""
    pred = GaussianPredictive([0.5], [0.1])
    with pytest.raises(TypeError, match=error):
        call(pred)


def test_a_scalar_is_the_same_value_at_every_target(pred):
    """ "How likely is a loss below 2.5 at each x I asked?" takes one number, as in numpyro."""
    value = float(pred.median()[1])
    everywhere = np.full(N_TARGETS, value)
    np.testing.assert_array_equal(pred.cdf(value), pred.cdf(everywhere))
    np.testing.assert_array_equal(pred.log_prob(value), pred.log_prob(everywhere))
    assert pred.cdf(np.float32(value)).shape == pred.log_prob(int(value > 0)).shape == (N_TARGETS,)
    for bad in ("2.5", None, True):
        with pytest.raises(TypeError, match="real numbers"):
            pred.cdf(bad)
    # a column asks each of its values at every target, as numpy broadcasts
    column = pred.median()[:, None]
    np.testing.assert_array_equal(pred.cdf(column), pred.cdf(np.repeat(column, N_TARGETS, axis=1)))
    np.testing.assert_array_equal(np.diag(pred.cdf(column)), pred.cdf(pred.median()))
    with pytest.raises(ValueError, match=r"y must be a scalar, \(n_targets,\)"):
        pred.cdf(np.ones((2, 1, 1)))


def test_an_interval_is_90_percent_unless_asked():
    pred = _gaussian()
    np.testing.assert_array_equal(pred.interval(), pred.interval(0.9))
