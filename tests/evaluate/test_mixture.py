"""MixturePredictive against closed forms (SciPy), its limits and its refusals; the generic
cdf fallback of Predictive against the exact one."""

import jax
import numpy as np
import pytest
import scipy.stats as st

from scalebayes.evaluate import (
    GaussianPredictive,
    MixturePredictive,
    Predictive,
    SamplePredictive,
    score_curve,
)


def _pair():
    a = GaussianPredictive(np.array([1.0, 2.0, 3.0, 0.5]), np.array([0.5, 1.0, 0.1, 0.3]))
    b = GaussianPredictive(np.array([1.5, 0.0, 3.0, 4.0]), np.array([0.2, 2.0, 0.1, 0.01]))
    return a, b


def _reference_cdf(y, a, b, w):
    return w[0] * st.norm.cdf(y, a.loc, a.std) + w[1] * st.norm.cdf(y, b.loc, b.std)


@pytest.mark.parametrize("w", [(0.5, 0.5), (0.3, 0.7), (0.999, 0.001)])
def test_quantiles_are_roots_of_the_mixture_cdf(w):
    a, b = _pair()
    mix = MixturePredictive([a, b], w)
    qs = np.array([0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999])
    table = mix.icdf(qs)
    # the solver stops at |F - q| <= 1e-9 or at a bracket 1e-8 of its magnitude wide, where
    # F can be off by up to the density times that width
    pdf = w[0] * st.norm.pdf(table, a.loc, a.std) + w[1] * st.norm.pdf(table, b.loc, b.std)
    error = np.abs(_reference_cdf(table, a, b, w) - qs[:, None])
    assert np.all(error <= 2e-9 + 1.01e-8 * np.abs(table) * pdf), error.max()
    assert np.median(error) <= 2e-9
    np.testing.assert_allclose(mix.cdf(table), _reference_cdf(table, a, b, w), atol=1e-14)
    # the bimodal target (index 3: modes at 0.5 and 4.0) has its median between the modes
    # only when the weights are near equal; with 0.999 on the first it is the first's
    assert (table[4, 3] < 1.0) == (w[0] > 0.5)


def test_log_prob_matches_the_mixture_density():
    a, b = _pair()
    mix = MixturePredictive([a, b], [1.0, 3.0])  # normalised to 0.25 / 0.75
    y = np.array([1.2, -1.0, 3.05, 2.0])
    expected = np.log(0.25 * st.norm.pdf(y, a.loc, a.std) + 0.75 * st.norm.pdf(y, b.loc, b.std))
    np.testing.assert_allclose(mix.log_prob(y), expected, rtol=1e-12)
    np.testing.assert_allclose(mix.weights, [0.25, 0.75])


def test_mean_is_the_weighted_mean_of_the_members_means():
    a, b = _pair()
    mix = MixturePredictive([a, b], [1.0, 3.0])
    np.testing.assert_allclose(mix.mean(), 0.25 * a.loc + 0.75 * b.loc, rtol=1e-12)
    draws = np.random.default_rng(0).normal(size=(50, 4))
    with_draws = MixturePredictive([a, SamplePredictive(draws)]).mean()
    np.testing.assert_allclose(with_draws, 0.5 * a.loc + 0.5 * draws.mean(axis=0), rtol=1e-12)

    class NoMean(SamplePredictive):
        mean = None

    with pytest.raises(TypeError, match="NoMean member has no mean"):
        MixturePredictive([a, NoMean(draws)]).mean()


def test_limits():
    a, b = _pair()
    qs = np.array([0.05, 0.5, 0.95])
    same = MixturePredictive([a, a])  # a mixture of a model with itself is the model
    np.testing.assert_allclose(same.icdf(qs), a.icdf(qs), rtol=1e-12)
    np.testing.assert_allclose(same.log_prob(a.loc), a.log_prob(a.loc), rtol=1e-12)
    only_a = MixturePredictive([a, b], [1.0, 0.0])  # a weight of 0 removes a member
    # (the solver's tolerance is on the CDF: within 1e-9 of the level)
    np.testing.assert_allclose(a.cdf(only_a.icdf(qs)), qs[:, None] + 0 * a.loc, atol=2e-9)
    np.testing.assert_allclose(only_a.log_prob(b.loc), a.log_prob(b.loc), rtol=1e-12)
    # LL of the mixture is at least the weighted mean of the members' (Jensen)
    y = np.array([1.1, 0.5, 3.2, 2.0])
    for w in ((0.5, 0.5), (0.2, 0.8)):
        mix = MixturePredictive([a, b], w)
        assert np.all(mix.log_prob(y) >= w[0] * a.log_prob(y) + w[1] * b.log_prob(y) - 1e-12)


def test_scored_like_any_predictive_and_solves_each_level_once():
    a, b = _pair()
    mix = MixturePredictive([a, b])
    y = np.array([1.1, 0.5, 3.2, 2.0])
    scores = score_curve(mix, np.abs(y) + 0.1)
    assert np.isfinite(scores["ll"]) and 0 <= scores["cov90"] <= 1
    first = mix.icdf([0.3, 0.7])
    assert first is not mix.icdf([0.3, 0.7]) and set(mix._cache) >= {0.3, 0.7}
    np.testing.assert_array_equal(mix.icdf(0.3), first[0])


def test_sampling_picks_a_member_per_row():
    a, b = _pair()
    mix = MixturePredictive([a, b], [0.3, 0.7])
    draws = mix.sample(jax.random.key(0), 20_000)
    assert draws.shape == (20_000, 4)
    np.testing.assert_array_equal(draws, mix.sample(jax.random.key(0), 20_000))
    # target 3: member a's draws lie near 0.5, b's near 4.0, so the share below 2 is a's
    # weight (binomial sd 0.0032 at n = 20,000; 0.02 is over 6 sd)
    share = np.mean(draws[:, 3] < 2.0)
    assert abs(share - 0.3) < 0.02, share
    # a row is one member's: both targets of a row come from the same member
    low = GaussianPredictive(np.zeros(2), 0.01)
    high = GaussianPredictive(np.full(2, 10.0), 0.01)
    rows = MixturePredictive([low, high]).sample(jax.random.key(1), 1000)
    assert np.all((rows[:, 0] < 5) == (rows[:, 1] < 5))
    assert 0.4 < np.mean(rows[:, 0] < 5) < 0.6  # 6 sd of a binomial share at n = 1000


@pytest.mark.parametrize(
    ("members", "weights", "error", "match"),
    [
        (1, None, ValueError, "at least two members"),
        (2, [1.0], ValueError, "one per member"),
        (2, [1.0, -1.0], ValueError, "one per member"),
        (2, [0.0, 0.0], ValueError, "not all be 0"),
        (2, [1.0, np.nan], ValueError, "one per member"),
    ],
)
def test_refusals(members, weights, error, match):
    a, _ = _pair()
    with pytest.raises(error, match=match):
        MixturePredictive([a] * members, weights)


def test_members_must_agree_and_be_predictives():
    a, _ = _pair()
    short = GaussianPredictive(np.array([1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="different numbers of targets"):
        MixturePredictive([a, short])
    with pytest.raises(TypeError, match="Predictive objects"):
        MixturePredictive([a, np.ones(4)])


def test_the_generic_cdf_inverts_icdf():
    a, _ = _pair()
    y = np.array([[0.7, 2.5, 3.0, 0.6], [1.0, -3.0, 2.95, 0.0]])
    np.testing.assert_allclose(Predictive.cdf(a, y), a.cdf(y), atol=1e-12)
    np.testing.assert_allclose(Predictive.cdf(a, y[0]), a.cdf(y[0]), atol=1e-12)


def test_weights_and_levels_that_are_not_numbers_are_named():
    from scalebayes.evaluate import msce

    a, b = _pair()
    for weights in ("ab", [1.0, "x"], [1.0]):
        with pytest.raises(ValueError, match="weights must be 2 finite numbers >= 0"):
            MixturePredictive([a, b], weights)
    with pytest.raises(TypeError, match=r"`levels` must be a sequence of levels, got 0\.5"):
        msce(a, [1.0, 2.0, 3.0, 0.5], levels=0.5)


def test_weights_near_the_largest_float_are_normalised_not_zeroed():
    """A review: weights of 1e308 each overflowed their sum, and the mixture's weights became
    0 (log density -inf, CDF 0)."""
    import numpy as np

    from scalebayes.evaluate import GaussianPredictive, MixturePredictive

    a, b = GaussianPredictive([1.0], [0.1]), GaussianPredictive([2.0], [0.1])
    huge = MixturePredictive([a, b], [1e308, 1e308])
    plain = MixturePredictive([a, b], [1.0, 1.0])
    np.testing.assert_array_equal(huge.weights, [0.5, 0.5])
    np.testing.assert_allclose(huge.log_prob([1.5]), plain.log_prob([1.5]), rtol=1e-12)


def test_tail_quantiles_are_solved_to_the_levels_own_size():
    """A review: with an absolute CDF tolerance of 1e-9, the 1e-9 quantile was any y whose
    CDF lay below 2e-9 (0.0002 where scipy's root is 0.0116)."""
    mix = MixturePredictive([GaussianPredictive([0.5], [0.05]), GaussianPredictive([0.6], [0.1])])

    def cdf(y):
        return 0.5 * st.norm.cdf(y, 0.5, 0.05) + 0.5 * st.norm.cdf(y, 0.6, 0.1)

    from scipy.optimize import brentq

    for q in (1e-12, 1e-9, 1e-6, 0.5, 1 - 1e-6):
        want = brentq(lambda y, q=q: cdf(y) - q, -1.0, 2.0, xtol=1e-14)
        assert mix.icdf(q)[0] == pytest.approx(want, rel=1e-7), q
