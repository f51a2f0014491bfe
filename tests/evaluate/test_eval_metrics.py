"""Tests for scalebayes.evaluate: predictive distributions and the NSL-PFN metrics.

References are independent of the code under test: hand arithmetic written out below,
scipy.stats (norm, gaussian_kde) and Monte Carlo bounds derived from binomial standard errors.
"""

import dataclasses
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from scalebayes.evaluate import (
    INTERVAL_SCORES,
    MSCE_LEVELS,
    GaussianPredictive,
    PredictiveDistribution,
    SamplePredictive,
    coverage_from_pit,
    crps,
    interval_coverage,
    log_likelihood,
    msce,
    pit_histogram,
    rmsle,
    score_curve,
    summarise,
)

LOG_2PI = math.log(2.0 * math.pi)


class FixedIntervals:
    """A minimal PredictiveDistribution with hand-set intervals (same for every level)."""

    def __init__(self, lower, upper, log_p=None):
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.log_p = log_p

    def median(self):
        return 0.5 * (self.lower + self.upper)

    def log_prob(self, y):
        return np.asarray(self.log_p, dtype=float)

    def interval(self, level):
        return self.lower, self.upper


# ---------------------------------------------------------------------------------------------
# RMSLE


def test_rmsle_two_targets_by_hand():
    # log(2/1) = log 2, log(4/4) = 0  ->  sqrt((log(2)^2 + 0) / 2) = log(2) / sqrt(2)
    assert rmsle([2.0, 4.0], [1.0, 4.0]) == pytest.approx(math.log(2.0) / math.sqrt(2.0), 1e-14)


def test_rmsle_three_targets_by_hand():
    # median / y = e, 1/e, 1  ->  log ratios 1, -1, 0  ->  sqrt((1 + 1 + 0) / 3)
    e = math.e
    assert rmsle([e, 1.0, 3.0], [1.0, e, 3.0]) == pytest.approx(math.sqrt(2.0 / 3.0), 1e-14)


def test_rmsle_is_zero_for_a_perfect_prediction_and_accepts_jax_arrays():
    y = jnp.asarray([0.3, 0.2, 0.1])
    assert rmsle(y, y) == 0.0
    # log(0.5 / 0.25) = log 2 on each of two targets -> log 2
    assert rmsle(jnp.asarray([0.5, 0.5]), np.asarray([0.25, 0.25])) == pytest.approx(
        math.log(2.0), 1e-6
    )


@pytest.mark.parametrize(
    ("median", "y", "match"),
    [
        ([1.0, 0.0], [1.0, 1.0], r"`median` must be strictly positive.*index 1"),
        ([1.0, 1.0], [1.0, -0.5], r"`y` must be strictly positive.*-0.5 at index 1"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], r"same shape"),
        ([1.0, np.nan], [1.0, 1.0], r"`median` must be finite"),
        ([1.0, 1.0], [np.inf, 1.0], r"`y` must be finite"),
        ([[1.0, 1.0]], [[1.0, 1.0]], r"1-D array"),
        ([], [], r"must not be empty"),
    ],
)
def test_rmsle_rejects_bad_input(median, y, match):
    with pytest.raises(ValueError, match=match):
        rmsle(median, y)


# ---------------------------------------------------------------------------------------------
# GaussianPredictive


def test_gaussian_log_prob_and_intervals_match_scipy():
    mean = np.array([0.2, 1.5, -3.0])
    std = np.array([0.1, 2.0, 0.7])
    y = np.array([0.25, -1.0, -1.0])
    pred = GaussianPredictive(mean, std)
    np.testing.assert_allclose(pred.log_prob(y), stats.norm.logpdf(y, mean, std), rtol=1e-13)
    np.testing.assert_array_equal(pred.median(), mean)
    for level in (*MSCE_LEVELS, 0.01, 0.999):
        lower, upper = pred.interval(level)
        ref_lower, ref_upper = stats.norm.interval(level, mean, std)
        np.testing.assert_allclose(lower, ref_lower, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(upper, ref_upper, rtol=1e-12, atol=1e-14)


def test_gaussian_scalar_std_broadcasts_and_is_a_protocol_instance():
    pred = GaussianPredictive(jnp.asarray([1.0, 2.0]), 0.5)
    assert isinstance(pred, PredictiveDistribution)
    np.testing.assert_array_equal(pred.std, [0.5, 0.5])
    # N(1, 0.5^2) at y = 1: -log(0.5) - log(2 pi) / 2
    assert pred.log_prob([1.0, 2.0])[0] == pytest.approx(math.log(2.0) - 0.5 * LOG_2PI, 1e-14)


def test_gaussian_is_immutable_and_copies_its_input():
    mean = np.array([1.0, 2.0])
    pred = GaussianPredictive(mean, [1.0, 1.0])
    mean[0] = 100.0
    assert pred.loc[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        pred.loc[0] = 5.0
    # a review: `mean` was the array, where every other predictive's mean() is a method
    pred.mean()[0] = 7.0
    np.testing.assert_array_equal(pred.mean(), [1.0, 2.0])
    wider = dataclasses.replace(pred, std=[2.0, 2.0])  # the frozen dataclass's own way
    np.testing.assert_array_equal(wider.mean(), [1.0, 2.0])
    assert np.all(wider.std == 2.0)


@pytest.mark.parametrize(
    ("mean", "std", "match"),
    [
        ([0.0, 1.0], [1.0, 0.0], r"`std` must be strictly positive; got 0.0 at index 1"),
        ([0.0, 1.0], [1.0, -2.0], r"`std` must be strictly positive"),
        ([0.0, 1.0], [1.0, 1.0, 1.0], r"shape of `mean`"),
        ([0.0, np.nan], [1.0, 1.0], r"`mean` must be finite"),
        ([0.0, 1.0], np.inf, r"`std` must be finite"),
        ([[0.0, 1.0]], [1.0, 1.0], r"`mean` must be a 1-D array"),
    ],
)
def test_gaussian_rejects_bad_parameters(mean, std, match):
    with pytest.raises(ValueError, match=match):
        GaussianPredictive(mean, std)


def test_gaussian_rejects_bad_targets_and_levels():
    pred = GaussianPredictive([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"`y` must have shape \(2,\)"):
        pred.log_prob([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"`y` must be finite"):
        pred.log_prob([0.0, np.nan])
    for level in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            pred.interval(level)
    with pytest.raises(TypeError, match="real number"):
        pred.interval("0.5")


# ---------------------------------------------------------------------------------------------
# SamplePredictive


def test_sample_median_and_interval_by_hand():
    # one target with draws 0, 1, ..., 100: median 50; numpy's linear quantiles of 0..100 at
    # q are exactly 100 q, so the 0.9 central interval is [5, 95] and the 0.5 one [25, 75].
    # A second target with draws 1, 2, 10 (in shuffled order): median 2.
    draws = np.stack([np.arange(101.0), np.resize([10.0, 1.0, 2.0], 101)], axis=1)
    pred = SamplePredictive(draws[:3])
    assert pred.median()[1] == 2.0
    pred = SamplePredictive(draws[:, :1])
    assert pred.median()[0] == 50.0
    np.testing.assert_allclose(pred.interval(0.9), [[5.0], [95.0]], rtol=1e-12)
    np.testing.assert_allclose(pred.interval(0.5), [[25.0], [75.0]], rtol=1e-12)


def test_sample_resamples_every_stored_draw_alike():
    """An audit: drawing row indices from 0 to n - 2 (the last stored draw never redrawn)
    passed every test; with two stored draws it returns only the first."""
    import jax

    pred = SamplePredictive(np.array([[0.0], [1.0]]))
    n = 4000
    share = float(np.mean(pred.sample(jax.random.key(0), (n,))))
    assert abs(share - 0.5) < 5 * 0.5 / math.sqrt(n)
    three = SamplePredictive(np.array([[0.0], [1.0], [2.0]])).sample(jax.random.key(1), (300,))
    assert set(np.unique(three).tolist()) == {0.0, 1.0, 2.0}


def test_sample_kde_two_draws_by_hand():
    # draws 0 and 1: s = sqrt(((0 - .5)^2 + (1 - .5)^2) / 1) = sqrt(0.5); h = s * 2^(-1/5)
    # p(0) = (phi(0) + phi(1 / h)) / (2 h), with phi the standard normal density
    h = math.sqrt(0.5) * 2.0 ** (-0.2)

    def phi(z):
        return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)

    expected = math.log((phi(0.0) + phi(1.0 / h)) / (2.0 * h))
    pred = SamplePredictive(np.array([[0.0], [1.0]]))
    assert pred.bandwidth[0] == pytest.approx(h, rel=1e-14)
    assert pred.log_prob([0.0])[0] == pytest.approx(expected, rel=1e-13)


def test_sample_kde_matches_scipy_gaussian_kde():
    rng = np.random.default_rng(3)
    draws = np.column_stack(
        [rng.normal(1.0, 0.3, 400), rng.gamma(2.0, 0.5, 400), rng.uniform(-1.0, 4.0, 400)]
    )
    pred = SamplePredictive(draws)
    y = np.array([1.2, 0.05, 3.9])
    reference = [stats.gaussian_kde(draws[:, j]).logpdf(y[j])[0] for j in range(3)]
    np.testing.assert_allclose(pred.log_prob(y), reference, rtol=1e-10)
    np.testing.assert_allclose(
        pred.bandwidth,
        [stats.gaussian_kde(draws[:, j]).factor * draws[:, j].std(ddof=1) for j in range(3)],
        rtol=1e-12,
    )


def test_sample_kde_is_finite_far_in_the_tail():
    # draws 0, 1 and y = 100: exp(-0.5 (99/h)^2) underflows to 0 in a naive sum, but the
    # log density is log(1 / (2 h sqrt(2 pi))) + logaddexp(-0.5 (100/h)^2, -0.5 (99/h)^2).
    h = math.sqrt(0.5) * 2.0 ** (-0.2)
    expected = (
        -math.log(2.0 * h)
        - 0.5 * LOG_2PI
        + np.logaddexp(-0.5 * (100.0 / h) ** 2, -0.5 * (99.0 / h) ** 2)
    )
    log_p = SamplePredictive(np.array([[0.0], [1.0]])).log_prob([100.0])
    assert np.isfinite(log_p[0])
    assert log_p[0] == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(
    ("samples", "match"),
    [
        (np.ones((5,)), r"2-D array of shape \(n_samples, n_targets\)"),
        (np.ones((1, 3)), r"at least 2 draws"),
        (np.array([[1.0, 0.0], [1.0, 1.0]]), r"target 0 are all equal"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), r"`samples` must be finite.*\(0, 1\)"),
        (np.zeros((0, 2)), r"must not be empty"),
    ],
)
def test_sample_rejects_bad_samples(samples, match):
    with pytest.raises(ValueError, match=match):
        SamplePredictive(samples)


def test_sample_rejects_mismatched_targets():
    pred = SamplePredictive(np.array([[0.0, 1.0], [1.0, 3.0]]))
    with pytest.raises(ValueError, match=r"`y` must have shape \(2,\)"):
        pred.log_prob([0.5])


# ---------------------------------------------------------------------------------------------
# Log-likelihood


def test_log_likelihood_by_hand():
    # N(0, 1) at 0 and at 1: -log(2 pi)/2 and -log(2 pi)/2 - 1/2 -> mean -log(2 pi)/2 - 1/4
    pred = GaussianPredictive([0.0, 0.0], [1.0, 1.0])
    assert log_likelihood(pred, [0.0, 1.0]) == pytest.approx(-0.5 * LOG_2PI - 0.25, 1e-14)


def test_log_likelihood_errors():
    pred = GaussianPredictive([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(TypeError, match="must implement PredictiveDistribution"):
        log_likelihood(np.array([1.0, 1.0]), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"`y` must be finite"):
        log_likelihood(pred, [0.0, np.inf])
    with pytest.raises(ValueError, match=r"`y` has shape \(2,\) but `pred.log_prob` returned"):
        log_likelihood(FixedIntervals([0.0], [1.0], log_p=[0.0]), [0.0, 1.0])
    with pytest.raises(ValueError, match="nan or \\+inf"):
        log_likelihood(FixedIntervals([0.0, 0.0], [1.0, 1.0], log_p=[0.0, np.nan]), [0.0, 1.0])
    # -inf (a target outside the support) is allowed and propagates
    stub = FixedIntervals([0.0, 0.0], [1.0, 1.0], log_p=[0.0, -np.inf])
    assert log_likelihood(stub, [0.0, 1.0]) == -np.inf


# ---------------------------------------------------------------------------------------------
# MSCE


def test_msce_gaussian_by_hand():
    # N(0, 1), targets 0, 0.6, 1.0, 3.0. Half-widths z = Phi^-1((1 + l) / 2):
    #   l:    0.5    0.6    0.7    0.8    0.9    0.95   0.99
    #   z:    0.674  0.842  1.036  1.282  1.645  1.960  2.576
    # 0 and 0.6 are always inside, 3.0 never, 1.0 from l = 0.7 on, so coverage is
    #   0.5    0.5    0.75   0.75   0.75   0.75   0.75
    # squared errors:
    #   0      0.01   0.0025 0.0025 0.0225 0.04   0.0576   -> sum 0.1351, mean 0.1351 / 7
    pred = GaussianPredictive(np.zeros(4), np.ones(4))
    assert msce(pred, [0.0, 0.6, 1.0, 3.0]) == pytest.approx(0.1351 / 7.0, rel=1e-12)


def test_msce_interval_bounds_are_inclusive_and_levels_can_be_chosen():
    # targets on the bounds are covered: coverage 1 at every level
    # -> ((1 - 0.5)^2 + (1 - 0.9)^2) / 2 = (0.25 + 0.01) / 2 = 0.13
    stub = FixedIntervals([1.0, 2.0], [3.0, 4.0])
    assert isinstance(stub, PredictiveDistribution)
    assert msce(stub, [1.0, 4.0], levels=(0.5, 0.9)) == pytest.approx(0.13, rel=1e-14)
    # one of two targets just outside: coverage 0.5 -> ((0)^2 + (0.4)^2) / 2 = 0.08
    assert msce(stub, [1.0, 4.0 + 1e-12], levels=(0.5, 0.9)) == pytest.approx(0.08, rel=1e-14)


def test_msce_errors():
    pred = GaussianPredictive([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="at least one level"):
        msce(pred, [0.0, 1.0], levels=())
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        msce(pred, [0.0, 1.0], levels=(0.5, 1.0))
    # a review: the message blamed the predictive where `y` was the wrong length
    with pytest.raises(ValueError, match=r"`y` has shape \(3,\) but `pred.interval` returned"):
        msce(pred, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"`y` must be finite"):
        msce(pred, [0.0, np.nan])
    with pytest.raises(ValueError, match=r"is `y` the targets this predictive was made for"):
        msce(FixedIntervals([0.0, 0.0], [1.0, 1.0]), [0.0, 1.0, 2.0])
    with pytest.raises(TypeError, match="must implement PredictiveDistribution"):
        msce([0.5, 0.5], [0.0, 1.0])


@pytest.mark.parametrize("seed", range(5))
def test_msce_of_a_calibrated_gaussian_is_near_zero(seed):
    # Targets drawn from the predictive itself: the coverage c_l at level l is Binomial(n, l)/n,
    # with standard error se_l = sqrt(l (1 - l) / n). Allowing each |c_l - l| up to 4 se_l
    # bounds MSCE by mean_l 16 se_l^2; a level exceeds 4 se with probability ~6e-5, so across
    # 7 levels and 5 seeds the failure rate is below 3e-3 (normal approximation).
    n = 4000
    rng = np.random.default_rng(seed)
    mean = rng.uniform(0.1, 2.0, n)
    std = rng.uniform(0.01, 0.5, n)
    pred = GaussianPredictive(mean, std)
    y = rng.normal(mean, std)
    levels = np.asarray(MSCE_LEVELS)
    bound = np.mean(16.0 * levels * (1.0 - levels) / n)
    value = msce(pred, y)
    assert 0.0 <= value <= bound
    # and the test can fail: halving the spread makes the intervals far too narrow
    assert msce(GaussianPredictive(mean, std / 2.0), y) > 100.0 * bound


def test_msce_of_calibrated_samples_is_near_zero():
    # SamplePredictive built from 2000 draws of N(mean_j, std_j) per target; fresh targets from
    # the same Normals. Its quantiles carry extra error of order 1/sqrt(2000) in coverage on
    # top of the binomial error, so the bound uses 4 standard errors of both combined.
    n_targets, n_draws = 500, 2000
    rng = np.random.default_rng(11)
    mean = rng.uniform(0.1, 2.0, n_targets)
    std = rng.uniform(0.01, 0.5, n_targets)
    pred = SamplePredictive(rng.normal(mean, std, size=(n_draws, n_targets)))
    y = rng.normal(mean, std)
    levels = np.asarray(MSCE_LEVELS)
    variance = levels * (1.0 - levels) * (1.0 / n_targets + 1.0 / n_draws)
    bound = np.mean(16.0 * variance)
    assert msce(pred, y) <= bound
    # and the test can fail: draws with twice the spread give intervals far too wide, with
    # coverage 2 Phi(2 z_l) - 1 and an expected MSCE of 0.045, about 7.8 times the bound
    wide = SamplePredictive(rng.normal(mean, 2.0 * std, size=(n_draws, n_targets)))
    assert msce(wide, y) > 4.0 * bound


# ---------------------------------------------------------------------------------------------
# interval coverage and width, CRPS


def test_interval_coverage_by_hand_bounds_included():
    pred = FixedIntervals([0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 3.0])
    coverage, width = interval_coverage(pred, [0.5, 1.0, 2.0, 0.5], 0.9)
    assert coverage == 0.5  # 0.5 and the bound 1.0 in, 2.0 and 0.5 (below 1) out
    assert width == pytest.approx((1 + 1 + 1 + 2) / 4, 1e-15)


def _gaussian_crps(mu, sigma, y):
    """Closed form (Gneiting & Raftery 2007): sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]."""
    z = (y - mu) / sigma
    return sigma * (
        z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi)
    )


@pytest.mark.parametrize("y", [1.0, 1.3, 3.0])
def test_crps_of_a_gaussian_matches_the_closed_form(y):
    pred = GaussianPredictive([1.0], [0.5])
    # The midpoint rule on 2000 levels is exact to ~1e-5 relative (the tails it leaves out
    # hold 1/4000 of the mass); the default 20 levels to about 1%.
    assert crps(pred, [y], n_quantiles=2000) == pytest.approx(_gaussian_crps(1.0, 0.5, y), 1e-4)
    assert crps(pred, [y]) == pytest.approx(_gaussian_crps(1.0, 0.5, y), 1e-2)


def test_crps_of_a_point_mass_is_the_absolute_error():
    point = FixedIntervals([2.0, 2.0], [2.0, 2.0])
    assert crps(point, [3.5, 1.0]) == pytest.approx((1.5 + 1.0) / 2, 1e-14)


def test_pit_histogram_bins_at_the_quantiles():
    pred = GaussianPredictive([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0])
    # N(0, 1) quantiles at 0.05 and 0.95 are -+1.645, at 0.5 it is 0
    y = [-2.0, -0.01, 0.01, 2.0]
    counts = pit_histogram(pred, y)
    assert counts.tolist() == [1] + [0] * 8 + [1, 1] + [0] * 8 + [1]
    assert pit_histogram(pred, y, n_bins=2).tolist() == [2, 2]
    with pytest.raises(ValueError, match="even integer"):
        pit_histogram(pred, y, n_bins=3)


@pytest.mark.parametrize("seed", range(5))
def test_targets_drawn_from_the_predictive_give_a_flat_histogram(seed):
    rng = np.random.default_rng(seed)
    n = 4000
    mu, sd = rng.normal(0, 1, n), rng.uniform(0.5, 2, n)
    counts = pit_histogram(GaussianPredictive(mu, sd), rng.normal(mu, sd))
    # chi-square with 19 degrees of freedom: P(> 43.8) = 0.1%
    chi2 = float(np.sum((counts - n / 20) ** 2 / (n / 20)))
    assert chi2 < 43.8, counts
    nominal, empirical = coverage_from_pit(counts)
    assert nominal.tolist() == pytest.approx([0.1 * k for k in range(1, 11)])
    assert np.all(np.abs(empirical - nominal) < 0.03) and empirical[-1] == 1.0


def test_crps_rewards_sharp_and_right_over_broad():
    y = [1.0]
    assert crps(GaussianPredictive([1.0], [0.1]), y) < crps(GaussianPredictive([1.0], [1.0]), y)
    assert crps(GaussianPredictive([1.0], [0.1]), y) < crps(GaussianPredictive([2.0], [0.1]), y)


def test_interval_metrics_reject_bad_input():
    pred = GaussianPredictive([1.0], [0.5])
    with pytest.raises(ValueError, match="even"):
        crps(pred, [1.0], n_quantiles=5)
    with pytest.raises(ValueError, match=">= 2"):
        crps(pred, [1.0], n_quantiles=0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        interval_coverage(pred, [1.0], 1.0)
    with pytest.raises(TypeError, match="PredictiveDistribution"):
        crps(object(), [1.0])


# ---------------------------------------------------------------------------------------------
# score_curve and summarise


def test_score_curve_point_prediction():
    scores = score_curve(jnp.asarray([2.0, 4.0]), [1.0, 4.0])
    assert tuple(scores) == INTERVAL_SCORES
    assert scores["rmsle"] == pytest.approx(math.log(2.0) / math.sqrt(2.0), 1e-7)
    assert all(scores[name] is None for name in INTERVAL_SCORES[1:])


def test_score_curve_distribution_by_hand():
    # N(1, 1) and N(2, 1) with targets 1 and 2: median == y, so rmsle 0;
    # log density -log(2 pi)/2 at both; both targets lie in every central interval, so
    # coverage is 1 and MSCE = mean_l (1 - l)^2 =
    # (0.25 + 0.16 + 0.09 + 0.04 + 0.01 + 0.0025 + 0.0001) / 7 = 0.5526 / 7
    pred = GaussianPredictive([1.0, 2.0], [1.0, 1.0])
    scores = score_curve(pred, np.array([1.0, 2.0]))
    assert scores["rmsle"] == 0.0
    assert scores["ll"] == pytest.approx(-0.5 * LOG_2PI, 1e-14)
    assert scores["msce"] == pytest.approx(0.5526 / 7.0, 1e-12)
    assert scores["cov50"] == scores["cov90"] == 1.0
    assert scores["width50"] == pytest.approx(2 * stats.norm.ppf(0.75), 1e-12)
    assert scores["width90"] == pytest.approx(2 * stats.norm.ppf(0.95), 1e-12)
    # wiring: score_curve reports crps(), checked against the closed form above
    assert scores["crps"] == pytest.approx(crps(pred, [1.0, 2.0]), 1e-15)


def test_score_curve_errors():
    with pytest.raises(ValueError, match="strictly positive"):
        score_curve([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="strictly positive"):
        score_curve(GaussianPredictive([1.0, -2.0], [1.0, 1.0]), [1.0, 2.0])
    with pytest.raises(ValueError, match="same shape"):
        score_curve(GaussianPredictive([1.0, 2.0], [1.0, 1.0]), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="prediction must be an array of numbers"):
        score_curve(object(), [1.0, 2.0])


def test_summarise_by_hand():
    # [1, None, 3]: mean 2, population std sqrt(((1 - 2)^2 + (3 - 2)^2) / 2) = 1
    assert summarise([1.0, None, 3.0]) == pytest.approx((2.0, 1.0), rel=1e-14)
    # [1, 2, 3, 4]: mean 2.5, std sqrt((2.25 + 0.25 + 0.25 + 2.25) / 4) = sqrt(1.25) (ddof=0)
    mean, std = summarise(iter([1, 2, 3, 4]))
    assert mean == pytest.approx(2.5, rel=1e-14)
    assert std == pytest.approx(math.sqrt(1.25), rel=1e-14)
    assert summarise([jnp.asarray(0.5)]) == (0.5, 0.0)
    assert summarise([None, None]) == (None, None)
    assert summarise([]) == (None, None)


def test_summarise_propagates_infinities_and_rejects_non_scalars():
    mean, _ = summarise([-np.inf, 1.0])
    assert mean == -np.inf
    with pytest.raises(TypeError, match="real scalars or None"):
        summarise([1.0, [2.0, 3.0]])
    with pytest.raises(TypeError, match="real scalars or None"):
        summarise([1.0, "2"])


def test_score_curve_asks_each_interval_level_once():
    """MSCE and the 50% / 90% coverages share levels: each is computed once per curve."""
    asked = []

    class Counting(GaussianPredictive):
        def interval(self, level):
            asked.append(level)
            return super().interval(level)

    pred = Counting([1.0, 2.0], [1.0, 1.0])
    assert score_curve(pred, np.array([1.0, 2.5])) == score_curve(
        GaussianPredictive([1.0, 2.0], [1.0, 1.0]), np.array([1.0, 2.5])
    )
    assert len(asked) == len(set(asked))
    assert set(asked) >= {*MSCE_LEVELS, 0.5, 0.9}  # and every level was asked


def test_score_curve_reads_every_interval_in_one_icdf_call():
    """A predictive whose intervals come from its icdf is asked once for all the levels the
    metrics need (one batched evaluation), with the same scores as level by level."""
    calls = []

    class CountingIcdf(GaussianPredictive):
        def icdf(self, q):
            calls.append(np.size(q))
            return super().icdf(q)

    class LevelByLevel(GaussianPredictive):
        def interval(self, level):  # an override: no prefetch
            return super().interval(level)

    mean, std, y = [1.0, 2.0, 3.0], [0.5, 1.0, 0.2], np.array([1.2, 2.9, 3.0])
    batched = score_curve(CountingIcdf(mean, std), y)
    assert len([n for n in calls if n > 2]) == 1 and max(calls) > 20
    assert len([n for n in calls if n == 2]) == 0  # no interval asked on its own
    single = score_curve(LevelByLevel(mean, std), y)
    assert batched.keys() == single.keys()
    for name, value in single.items():
        np.testing.assert_allclose(batched[name], value, rtol=1e-12, err_msg=name)


def test_score_curve_names_a_prediction_that_is_neither_array_nor_predictive():
    # a review: None and text raised a ValueError about a `median` the caller never passed
    from scalebayes.evaluate import score_curve

    for bad in (None, "abc", object()):
        with pytest.raises(TypeError, match="prediction must be an array of numbers"):
            score_curve(bad, np.array([1.0, 2.0]))


def test_coverage_from_pit_refuses_a_negative_count():
    with pytest.raises(ValueError, match=">= 0 and summing to > 0"):
        coverage_from_pit([5, -2, 3, 4])


def test_booleans_are_not_losses():
    """A review: `rmsle([True], [True])` returned 0.0."""
    with pytest.raises(TypeError, match="must be an array of real numbers"):
        rmsle([True], [True])


def test_pit_bins_count_both_interval_bounds_inside_as_coverage_does():
    """A review: a target on a lower bound was binned outside its interval and one on an upper
    bound inside, while interval_coverage counts both inside."""
    from scalebayes.evaluate import SamplePredictive, interval_coverage

    draws = np.tile(np.linspace(1.0, 3.0, 21)[:, None], (1, 2))  # k/20 quantiles: draw k
    pred = SamplePredictive(draws)
    lower, upper = pred.interval(0.9)
    y = np.array([lower[0], upper[1]])  # one target on each bound
    assert interval_coverage(pred, y, 0.9)[0] == 1.0
    nominal, empirical = coverage_from_pit(pit_histogram(pred, y))
    assert empirical[np.isclose(nominal, 0.9)][0] == 1.0
