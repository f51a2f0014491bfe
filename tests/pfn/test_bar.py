"""The bar distribution against independent references: quadrature and scipy densities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from scalebayes.pfn import BarDistribution, make_borders


def _random_case(seed, k=12):
    rng = np.random.default_rng(seed)
    borders = np.cumsum(rng.uniform(0.05, 0.5, k + 1))
    logits = rng.normal(0.0, 1.5, k)
    return BarDistribution(borders), jnp.asarray(logits, jnp.float32), borders


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_density_integrates_to_one_and_cdf_is_its_integral(seed):
    bar, logits, b = _random_case(seed)
    density = jax.jit(lambda y: jnp.exp(bar.log_prob(logits, y)))
    pdf = lambda y: float(density(y))  # noqa: E731
    pieces = [(-np.inf, b[1])] + [(b[i], b[i + 1]) for i in range(1, len(b) - 2)]
    pieces.append((b[-2], np.inf))
    total = sum(integrate.quad(pdf, lo, hi)[0] for lo, hi in pieces)
    assert total == pytest.approx(1.0, abs=2e-5)
    for y in np.linspace(b[0] - 0.5, b[-1] + 0.5, 5):
        below = sum(integrate.quad(pdf, lo, min(hi, y))[0] for lo, hi in pieces if lo < y)
        assert float(bar.cdf(logits, y)) == pytest.approx(below, abs=3e-5)


@pytest.mark.parametrize("seed", [3, 4])
def test_icdf_inverts_cdf_and_median_mean(seed):
    bar, logits, b = _random_case(seed)
    qs = jnp.asarray([0.001, 0.01, 0.1, 0.3, 0.5, 0.77, 0.9, 0.99, 0.999])
    ys = bar.icdf(logits, qs)
    assert np.all(np.diff(np.asarray(ys)) > 0)
    np.testing.assert_allclose(bar.cdf(logits, ys), qs, atol=2e-5)
    assert float(bar.median(logits)) == pytest.approx(float(bar.icdf(logits, 0.5)))
    density = jax.jit(lambda y: y * jnp.exp(bar.log_prob(logits, y)))
    pdf = lambda y: float(density(y))  # noqa: E731
    lo, hi = b[1] - 60 * (b[1] - b[0]), b[-2] + 60 * (b[-1] - b[-2])  # 40 tail scales
    mean = integrate.quad(pdf, lo, b[1])[0] + integrate.quad(pdf, b[-2], hi)[0]
    mean += sum(integrate.quad(pdf, b[i], b[i + 1])[0] for i in range(1, len(b) - 2))
    assert float(bar.mean(logits)) == pytest.approx(mean, rel=1e-4, abs=1e-5)


def test_histogram_of_a_known_density():
    """Borders and masses from a Gamma distribution reproduce its quantiles and density."""
    dist = stats.gamma(a=3.0, scale=0.2)
    borders = make_borders(dist.rvs(size=400_000, random_state=1), 200)
    masses = np.diff(dist.cdf(borders))
    masses[0] += dist.cdf(borders[0])
    masses[-1] += dist.sf(borders[-1])
    bar = BarDistribution(borders)
    logits = jnp.asarray(np.log(masses), jnp.float32)
    qs = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    widths = np.diff(borders)
    got = np.asarray(bar.quantiles(logits, qs))
    np.testing.assert_allclose(got, dist.ppf(qs), atol=float(widths[1:-1].max()))
    ys = np.linspace(dist.ppf(0.05), dist.ppf(0.95), 25)
    dens = np.exp(np.asarray(bar.log_prob(logits, jnp.asarray(ys, jnp.float32))))
    np.testing.assert_allclose(dens, dist.pdf(ys), rtol=0.05)
    # the half-normal tails stand in for the far tail of the Gamma: a few % on the mean
    assert float(bar.mean(logits)) == pytest.approx(dist.mean(), rel=0.04)


def test_sampling_matches_the_cdf():
    bar, logits, b = _random_case(5)
    draws = np.asarray(bar.sample(jax.random.PRNGKey(0), logits, 20_000))
    assert draws.shape == (20_000,)
    grid = np.linspace(b[0], b[-1], 15)
    empirical = (draws[:, None] <= grid[None]).mean(0)
    expected = np.asarray(bar.cdf(logits, grid))
    # binomial standard error at p(1-p) <= 1/4 and n = 20,000 is 0.0035; allow 5 sigma
    np.testing.assert_allclose(empirical, expected, atol=0.018)


def test_tails_have_full_support_and_finite_log_density():
    bar, logits, b = _random_case(6)
    far = jnp.asarray([b[0] - 50.0, b[-1] + 50.0, -1e3, 1e3])
    lp = np.asarray(bar.log_prob(logits, far))
    assert np.all(np.isfinite(lp)) and np.all(lp < -10)


def test_cdf_reaches_exactly_zero_and_one_and_stays_monotone_at_the_tails():
    # float32 softmax masses sum to 1 only within a few ulp; the CDF must still be a CDF
    rng = np.random.default_rng(11)
    bar = BarDistribution(np.cumsum(rng.uniform(0.05, 0.5, 101)))
    logits = jnp.asarray(rng.normal(0.0, 8.0, (300, 100)), jnp.float32)
    b = np.asarray(bar.borders)
    ends = np.asarray(bar.cdf(logits[:, None], jnp.asarray([-1e6, 1e6])))
    assert np.all(ends[:, 0] == 0.0) and np.all(ends[:, 1] == 1.0)
    grid = np.concatenate([np.linspace(b[0] - 1, b[-1] + 1, 600), b[-2] + [-1e-4, 0, 1e-4]])
    values = np.asarray(bar.cdf(logits[:, None], jnp.asarray(np.sort(grid), jnp.float32)))
    assert values.min() >= 0.0 and values.max() <= 1.0
    # monotone to float32 rounding (a few ulp of 1: XLA's cumsum is not a sequential sum),
    # where the last inner bucket meets the tail too
    assert np.all(np.diff(values, axis=1) >= -2.5e-7)


def test_host_cdf_from_the_table_is_the_cdf():
    # PFNPrediction.cdf reads the masses once and every quantile-solve step on the host; it
    # must be the bars' cdf (to float32 rounding), tails, borders and both ends included
    rng = np.random.default_rng(5)
    bar = BarDistribution(np.cumsum(rng.uniform(0.05, 0.5, 101)), tail_scales=[0.3, 0.7])
    logits = jnp.asarray(rng.normal(0.0, 4.0, (40, 100)), jnp.float32)
    b = np.asarray(bar.borders)
    y = np.concatenate(
        [
            rng.uniform(b[0] - 2, b[-1] + 2, (6, 40)),
            np.broadcast_to(np.r_[b[:3], b[-3:], -1e6, 1e6][:, None], (8, 40)),
        ]
    ).astype(np.float32)
    want = np.asarray(bar.cdf(logits, jnp.asarray(y)))
    got = bar.cdf_from_table(bar.cdf_table(logits), y)
    assert got.shape == want.shape == (14, 40) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert np.all(got[-2] == 0.0) and np.all(got[-1] == 1.0)
    # one row of y per row of logits broadcasts as cdf does
    one = bar.cdf_from_table(bar.cdf_table(logits[0]), y[:, 0])
    np.testing.assert_allclose(one, np.asarray(bar.cdf(logits[0], jnp.asarray(y[:, 0]))), atol=1e-6)


def test_batched_logits_broadcast():
    bar, logits, _ = _random_case(7)
    batch = jnp.stack([logits, logits * 0.5, -logits])
    ys = jnp.asarray([1.0, 1.5, 2.0])
    lp = bar.log_prob(batch, ys)
    one = [float(bar.log_prob(batch[i], ys[i])) for i in range(3)]
    np.testing.assert_allclose(lp, one, rtol=1e-6)
    assert bar.quantiles(batch, [0.1, 0.9]).shape == (3, 2)


def test_make_borders_equal_mass_and_errors():
    values = np.random.default_rng(0).exponential(size=10_000)
    borders = make_borders(values, 10)
    counts = np.histogram(values, borders)[0]
    assert counts.min() >= 990 and counts.max() <= 1010
    with pytest.raises(ValueError, match="n_buckets"):
        make_borders(values, 2)
    with pytest.raises(ValueError, match="finite samples"):
        make_borders(values[:10], 10)
    with pytest.raises(ValueError, match="ties"):
        make_borders(np.repeat([1.0, 2.0], 500), 10)
    with pytest.raises(ValueError, match="strictly increasing"):
        BarDistribution([0.0, 1.0, 1.0, 2.0])


def test_fitted_tails_recover_a_half_normal_and_keep_the_density_whole():
    """fit_tail_scales against samples whose tails are known half-normals; a tail with too
    few samples keeps the width rule; the density with fitted tails integrates to 1."""
    from scalebayes.pfn import fit_tail_scales

    rng = np.random.default_rng(0)
    b = np.linspace(0.0, 1.2, 13)
    inner = rng.uniform(b[1], b[-2], 100_000)
    right = b[-2] + np.abs(rng.normal(0.0, 0.2, 20_000))
    left = b[1] - np.abs(rng.normal(0.0, 0.03, 20_000))
    s_left, s_right = fit_tail_scales(np.concatenate([inner, right, left]), b)
    assert s_left == pytest.approx(0.03, rel=0.03) and s_right == pytest.approx(0.2, rel=0.03)
    width_rule = BarDistribution(b).scales
    few = fit_tail_scales(np.concatenate([inner, right[:5]]), b)
    np.testing.assert_allclose(few, np.asarray(width_rule), rtol=1e-6)
    bar = BarDistribution(b, tail_scales=(s_left, s_right))
    logits = jnp.asarray(np.random.default_rng(1).normal(0.0, 1.5, 12), jnp.float32)
    pdf = jax.jit(lambda y: jnp.exp(bar.log_prob(logits, y)))
    pieces = [(-np.inf, b[1]), (b[1], b[-2]), (b[-2], np.inf)]
    total = sum(integrate.quad(lambda y: float(pdf(y)), lo, hi, limit=200)[0] for lo, hi in pieces)
    assert total == pytest.approx(1.0, abs=1e-4)
    q = bar.icdf(logits, jnp.asarray([0.001, 0.999]))
    np.testing.assert_allclose(bar.cdf(logits, q), [0.001, 0.999], atol=2e-5)
    with pytest.raises(ValueError, match="tail_scales must be two finite numbers > 0"):
        BarDistribution(b, tail_scales=(0.1, 0.0))


def test_shipped_models_carry_their_fitted_tails():
    from scalebayes.pfn import PFN

    for name in ("nslpfn-base", "mixture-tiny"):
        pfn = PFN.load(name)
        np.testing.assert_allclose(np.asarray(pfn.bar.scales), pfn.meta["tail_scales"], rtol=1e-6)
        assert float(pfn.bar.scales[1]) < float(BarDistribution(pfn.meta["borders"]).scales[1])
