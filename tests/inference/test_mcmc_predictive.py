"""The posterior-predictive mixture: quantiles, density and draws against scipy references."""

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from scalebayes.evaluate import PredictiveDistribution, score_curve
from scalebayes.inference import MCMCPredictive

N_DRAWS, N_TARGETS = 240, 3


def _mixture(noise: str, per_target_scale: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    loc = np.log([0.3, 0.5, 0.9]) + 0.05 * rng.standard_normal((N_DRAWS, N_TARGETS))
    loc[: N_DRAWS // 3] += 0.1  # a lopsided, bimodal-ish mixture
    scale = np.exp(-4.0 + 0.3 * rng.standard_normal(N_DRAWS))
    if per_target_scale:
        scale = scale[:, None] * np.array([1.0, 2.0, 4.0])
    return MCMCPredictive(loc=loc, scale=scale, noise=noise, df=4.0)


def _component(noise: str):
    return stats.norm if noise == "normal" else stats.t(4.0)


def _scale(pred):
    return pred.scale  # (n_draws, n_targets)


def _cdf_log(pred, j: int, t: float) -> float:
    """Reference mixture CDF of log y at t for target j (scipy)."""
    z = (t - pred.loc[:, j]) / _scale(pred)[:, j]
    return float(np.mean(_component(pred.noise).cdf(z)))


CASES = [("normal", False), ("normal", True), ("student_t", False)]


@pytest.mark.parametrize(("noise", "per_target"), CASES)
def test_quantiles_solve_the_reference_mixture_cdf(noise, per_target):
    pred = _mixture(noise, per_target)
    qs = np.array([0.005, 0.025, 0.25, 0.5, 0.8, 0.995])
    values = pred.quantile(qs)
    assert values.shape == (qs.size, N_TARGETS)
    for j in range(N_TARGETS):
        for q, value in zip(qs, values[:, j], strict=True):
            assert _cdf_log(pred, j, np.log(value)) == pytest.approx(q, abs=1e-8)


@pytest.mark.parametrize(("noise", "per_target"), CASES)
def test_log_prob_matches_scipy_and_integrates_to_one(noise, per_target):
    pred = _mixture(noise, per_target)
    y = np.exp(pred.loc.mean(0) + 0.01)
    comp = _component(noise)
    sc = _scale(pred)
    reference = np.log(np.mean(comp.pdf((np.log(y) - pred.loc) / sc) / sc, axis=0) / y)
    np.testing.assert_allclose(pred.log_prob(y), reference, rtol=1e-10)

    j = 1
    lo, hi = pred.quantile([1e-6, 1 - 1e-6])[:, j]

    def density(value):
        full = np.array(y)
        full[j] = value
        return np.exp(pred.log_prob(full)[j])

    inner, _ = integrate.quad(density, lo, hi, limit=400, points=[pred.median()[j]])
    assert inner == pytest.approx(1.0 - 2e-6, abs=1e-6)
    # and the mass between two quantiles is their difference
    a, b = pred.interval(0.8)
    mass, _ = integrate.quad(density, a[j], b[j], limit=400)
    assert mass == pytest.approx(0.8, abs=1e-6)


def test_median_and_intervals_are_consistent():
    pred = _mixture("normal", True)
    median = pred.median()
    for small, large in [(0.5, 0.9), (0.9, 0.99)]:
        a_lo, a_hi = pred.interval(small)
        b_lo, b_hi = pred.interval(large)
        assert np.all((b_lo < a_lo) & (a_lo < median) & (median < a_hi) & (a_hi < b_hi))
    np.testing.assert_array_equal(pred.median(), median)  # pure: same call, same arrays
    np.testing.assert_array_equal(pred.quantile(0.5), median)
    # the median also solves the reference CDF exactly, not just approximately
    t = optimize.brentq(lambda s: _cdf_log(pred, 0, s) - 0.5, -5, 5, xtol=1e-14)
    assert np.log(median[0]) == pytest.approx(t, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_draws_follow_the_quantiles(seed):
    import jax

    pred = _mixture("normal", False, seed)
    draws = pred.sample(jax.random.key(seed), (20000,))
    assert draws.shape == (20000, N_TARGETS)
    lo, hi = pred.interval(0.8)
    inside = np.mean((draws >= lo) & (draws <= hi), axis=0)
    # binomial standard error sqrt(0.8 * 0.2 / 20000) = 0.0028; allow 5 of them
    np.testing.assert_allclose(inside, 0.8, atol=0.014)


def test_student_t_draws_have_the_t_noise_tails():
    """An audit: the draws took Normal noise whatever ``noise`` said, and no test saw it; the
    tail levels are what tell a t(4) from a Normal."""
    import jax

    pred = MCMCPredictive(loc=np.zeros((1, 1)), scale=np.full(1, 0.1), noise="student_t", df=4.0)
    n = 20000
    z = np.log(pred.sample(jax.random.key(0), (n,))[:, 0]) / 0.1
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        share = np.mean(z < stats.t(4.0).ppf(q))
        assert abs(share - q) < 5 * np.sqrt(q * (1 - q) / n), (q, share)


def test_weighted_draws_follow_their_weights_per_target():
    """An audit: draws picked uniformly, ignoring the importance weights, went unseen."""
    import jax

    loc = np.log(np.array([[1.0, 1.0], [10.0, 10.0]]))
    weights = np.array([[0.2, 0.9], [0.8, 0.1]])
    pred = MCMCPredictive(loc=loc, scale=np.full(2, 0.01), weights=weights)
    n = 20000
    share = np.mean(pred.sample(jax.random.key(1), (n,)) < 3.0, axis=0)
    p = weights[0]
    np.testing.assert_array_less(np.abs(share - p), 5 * np.sqrt(p * (1 - p) / n))


def test_satisfies_the_protocol_and_scores():
    pred = _mixture("normal", False)
    assert isinstance(pred, PredictiveDistribution)
    y = pred.median() * np.array([1.0, 1.01, 0.99])
    scores = score_curve(pred, y)
    assert scores["rmsle"] == pytest.approx(np.sqrt(np.mean(np.log([1.0, 1.01, 0.99]) ** 2)))
    assert np.isfinite(scores["ll"]) and 0.0 <= scores["msce"] < 1.0
    assert pred.log_prob(np.array([0.3, -1.0, 0.9]))[1] == -np.inf


def test_bad_input_raises():
    pred = _mixture("normal", False)
    with pytest.raises(ValueError, match="level"):
        pred.interval(1.0)
    with pytest.raises(ValueError, match="shape"):
        pred.log_prob(np.ones(5))
    with pytest.raises(ValueError, match="`q` must"):
        pred.quantile([0.0, 0.5])
    with pytest.raises(ValueError, match="scale"):
        MCMCPredictive(loc=np.zeros((4, 2)), scale=np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        MCMCPredictive(loc=np.zeros((4, 2)), scale=np.zeros(4))


@pytest.mark.parametrize("noise", ["normal", "student_t"])
def test_tail_quantiles_are_exact_in_both_tails(noise):
    # one component: the quantile is loc + scale * the noise's own quantile, to 1e-10 relative,
    # however far out (the old absolute tolerance clamped q = 1e-11 at the bracket's edge)
    pred = MCMCPredictive(loc=np.zeros((1, 1)), scale=np.ones(1), noise=noise, df=4.0)
    component = _component(noise)
    # (Student-t's far tail lies beyond float64's exp: y = exp(-1e3) is 0, so it stops sooner)
    # (a review: q = 1e-100 and 1e-300 stopped unconverged near 1e-45, a Newton step on F
    # advancing ~1/|z| in the far tail; the step is now on log F)
    levels = (
        (1e-300, 1e-100, 1e-20, 1e-11, 0.3, 1 - 1e-11)
        if noise == "normal"
        else (1e-9, 0.3, 1 - 1e-9)
    )
    for q in levels:
        assert np.log(pred.icdf(q))[0] == pytest.approx(component.ppf(q), rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("noise", ["normal", "student_t"])
def test_cdf_is_the_weighted_mixture_cdf(noise):
    pred = _mixture(noise, per_target_scale=True)
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.0, 1.0, (N_DRAWS, N_TARGETS))
    pred = MCMCPredictive(loc=pred.loc, scale=pred.scale, noise=noise, df=4.0, weights=weights)
    y = np.exp(np.log([0.3, 0.5, 0.9]) + np.array([[-0.05], [0.0], [0.08]]))  # (3, targets)
    w = pred.weights
    expected = np.stack(
        [np.sum(w * _component(noise).cdf((np.log(row) - pred.loc) / pred.scale), 0) for row in y]
    )
    np.testing.assert_allclose(pred.cdf(y), expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(pred.cdf(y[1]), expected[1], rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(pred.cdf(np.array([0.0, -1.0, 0.5]))[:2], [0.0, 0.0])


def test_repr_says_when_the_chains_did_not_mix():
    from scalebayes.inference import CurveCheck

    loc = np.log(np.array([[1.0, 2.0], [1.1, 2.1], [0.9, 1.9]]))
    mixed = MCMCPredictive(loc, np.full(3, 0.1))
    stuck = MCMCPredictive(
        loc, np.full(3, 0.1), mixing=CurveCheck("c", 1.4, 20.0, 15.0, 0, False, "R-hat 1.40")
    )
    assert "did not mix" not in repr(mixed)
    assert repr(stuck).endswith("; chains did not mix: R-hat 1.40)")
    assert repr(stuck).startswith(repr(mixed)[:-1])


@pytest.mark.parametrize("per_target_scale", [False, True])
def test_mean_is_the_mixture_of_log_normal_means(per_target_scale):
    pred = _mixture("normal", per_target_scale)
    scale = np.broadcast_to(pred.scale, pred.loc.shape)
    # the independent reference: each draw's mean of y = exp(t), t ~ N(m, s^2), by 40-node
    # Gauss-Hermite quadrature over log y (exact to rounding for exp over these s), averaged
    nodes, node_weights = np.polynomial.hermite_e.hermegauss(40)
    terms = np.exp(pred.loc[..., None] + scale[..., None] * nodes) @ node_weights
    terms /= np.sqrt(2 * np.pi)
    np.testing.assert_allclose(pred.mean(), terms.mean(axis=0), rtol=1e-8)
    weights = np.random.default_rng(3).uniform(0.1, 1.0, N_DRAWS)
    weighted = MCMCPredictive(pred.loc, pred.scale, weights=weights)
    w = weights / weights.sum()
    want = (w[:, None] * np.exp(pred.loc + 0.5 * scale**2)).sum(axis=0)
    np.testing.assert_allclose(weighted.mean(), want, rtol=1e-12)


def test_a_log_t_predictive_has_no_mean():
    with pytest.raises(TypeError, match="no finite mean under student_t noise"):
        _mixture("student_t", False).mean()
