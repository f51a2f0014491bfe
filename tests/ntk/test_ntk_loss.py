"""Exact test-loss statistics against Monte Carlo, and the ensemble's limits in t."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.ntk import (
    EnsemblePrediction,
    MLPConfig,
    infinite_ensemble,
    loss_statistics,
    mlp_kernels,
    sample_losses,
)


def _random_prediction(seed, m=7, k=3):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, m))
    cov = a @ a.T / m + 0.5 * np.ones((m, m))  # correlated across test points
    return EnsemblePrediction(mean=jnp.asarray(rng.standard_normal((m, k))), cov=jnp.asarray(cov))


def _check_against_sampling(pred, y, key, n):
    stats = loss_statistics(pred, y)
    losses = np.asarray(sample_losses(key, pred, y, n, jitter=0.0), dtype=np.float64)
    mean, var = losses.mean(), losses.var(ddof=1)
    se_mean = np.sqrt(var / n)
    m4 = np.mean((losses - mean) ** 4)
    se_var = np.sqrt((m4 - var**2) / n)
    assert abs(mean - float(stats.mu)) < 5 * se_mean, (mean, float(stats.mu), se_mean)
    assert abs(var - float(stats.sigma) ** 2) < 5 * se_var, (var, float(stats.sigma) ** 2)
    return stats


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_moments_match_sampling(float64, seed):
    pred = _random_prediction(seed)
    y = jnp.asarray(np.random.default_rng(100 + seed).standard_normal(pred.mean.shape))
    _check_against_sampling(pred, y, jax.random.key(seed), 200_000)


@pytest.mark.slow  # test_exact_moments_match_sampling checks the same moments on three seeds
def test_exact_moments_match_sampling_of_a_trained_ntk_ensemble(float64):
    rng = np.random.default_rng(3)
    x_train, x_test = rng.standard_normal((20, 4)), rng.standard_normal((9, 4))
    y_train = np.eye(3)[rng.integers(0, 3, 20)]
    y_test = np.eye(3)[rng.integers(0, 3, 9)]
    for t in (None, 5.0):
        pred = infinite_ensemble(MLPConfig(), x_train, y_train, x_test, t=t)
        stats = _check_against_sampling(pred, y_test, jax.random.key(7), 100_000)
        assert 0 < float(stats.eps) < 1


def test_diagonal_covariance_alone_underestimates_sigma(float64):
    m, k = 7, 3
    cov = 0.2 * jnp.eye(m) + 0.8 * jnp.ones((m, m))  # outputs correlated across inputs
    pred = EnsemblePrediction(mean=jnp.zeros((m, k)), cov=cov)
    y = jnp.zeros((m, k))
    full = loss_statistics(pred, y)
    diag = loss_statistics(EnsemblePrediction(pred.mean, jnp.diag(jnp.diag(cov))), y)
    assert float(diag.mu) == pytest.approx(float(full.mu), rel=1e-12)  # mu needs only the trace
    # sigma_L^2 = 2 k tr(Sigma^2) / (M k)^2: 7 for the diagonal against 33.88 in full
    assert float(full.sigma) == pytest.approx(np.sqrt(2 * k * 33.88) / (m * k), rel=1e-12)
    assert float(diag.sigma) == pytest.approx(np.sqrt(2 * k * 7.0) / (m * k), rel=1e-12)


def test_limits_in_time(float64):
    rng = np.random.default_rng(5)
    x_train, x_test = rng.standard_normal((10, 3)), rng.standard_normal((4, 3))
    y_train = rng.standard_normal((10, 2))
    config = MLPConfig(depth=1)
    at_zero = infinite_ensemble(config, x_train, y_train, x_test, t=0.0)
    np.testing.assert_allclose(at_zero.mean, 0.0, atol=1e-12)  # untrained: mean 0, cov K_xx
    np.testing.assert_allclose(at_zero.cov, mlp_kernels(config, x_test).nngp, atol=1e-12)
    at_inf = infinite_ensemble(config, x_train, y_train, x_test)
    late = infinite_ensemble(config, x_train, y_train, x_test, t=1e9)
    np.testing.assert_allclose(late.mean, at_inf.mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(late.cov, at_inf.cov, rtol=1e-6, atol=1e-8)
    # at t = inf the ensemble interpolates the training set: zero mean residual, no variance
    on_train = infinite_ensemble(config, x_train, y_train, x_train)
    np.testing.assert_allclose(on_train.mean, y_train, atol=1e-6)
    np.testing.assert_allclose(on_train.cov, 0.0, atol=1e-6)


@pytest.mark.parametrize("t", [None, 50.0])
def test_a_duplicated_training_input_is_a_pseudo_inverse_not_an_explosion(float64, t):
    """A repeated input makes Theta_XX singular (an eigenvalue at rounding level, possibly
    negative). Without ``diag_reg``, the trained ensemble (t = infinity) must equal the one
    trained on the distinct inputs (the repeat adds no information), and at finite t the one
    with a slightly regularised kernel, instead of dividing by the eigenvalue."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
    x[5], y[5] = x[2], y[2]
    x_test = rng.standard_normal((4, 3))
    config = MLPConfig()
    assert np.linalg.eigvalsh(np.asarray(mlp_kernels(config, x).ntk))[0] < 1e-12
    dup = infinite_ensemble(config, x, y, x_test, t=t)
    if t is None:
        keep = [i for i in range(10) if i != 5]
        reference = infinite_ensemble(config, x[keep], y[keep], x_test)
    else:
        reference = infinite_ensemble(config, x, y, x_test, t=t, diag_reg=1e-12)
    np.testing.assert_allclose(dup.mean, reference.mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dup.cov, reference.cov, rtol=1e-6, atol=1e-8)


def test_bad_shapes_are_named(float64):
    pred = _random_prediction(0)
    with pytest.raises(ValueError, match="y_test must have the shape"):
        loss_statistics(pred, jnp.zeros((7, 2)))
    with pytest.raises(ValueError, match="t must be None"):
        infinite_ensemble(MLPConfig(), np.ones((3, 2)), np.ones((3, 1)), np.ones((2, 2)), t=-1.0)
    # a review: no rows raised NumPy's "zero-size array"; a NaN came back as mu = nan
    with pytest.raises(ValueError, match="x_train has no rows"):
        infinite_ensemble(MLPConfig(), np.ones((0, 2)), np.ones((0, 1)), np.ones((2, 2)))
    nan = np.ones((3, 2))
    nan[1, 0] = np.nan
    with pytest.raises(ValueError, match="x_train has NaN or infinite entries"):
        infinite_ensemble(MLPConfig(), nan, np.ones((3, 1)), np.ones((2, 2)))
    # a review: the kernels' own check blamed "x2" and x_train's shape
    with pytest.raises(ValueError, match=r"same number of features d; got x_train \(3, 2\)"):
        infinite_ensemble(MLPConfig(), np.ones((3, 2)), np.ones((3, 1)), np.ones((2, 5)))


def test_the_moments_are_float64_whatever_jax_is_set_to(arccos_relu):
    """A review: outside a float64 block the ensemble ran in float32, whose pseudo-inverse
    cut-off (N eps lambda_max) dropped real modes of Theta_XX: mu_L 23% high at N = 1024, and
    a test set equal to the training set gave mu_L < 0. The precision policy says float64."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((256, 8)) * np.geomspace(1e-2, 1, 8)  # an ill-conditioned kernel
    y = np.tanh(x @ rng.standard_normal((8, 2)))
    x_test = rng.standard_normal((64, 8)) * np.geomspace(1e-2, 1, 8)
    y_test = np.tanh(x_test @ rng.standard_normal((8, 2)))
    config = MLPConfig(depth=2)
    assert not jax.config.jax_enable_x64  # the default the users meet
    pred = infinite_ensemble(config, x, y, x_test)
    stats = loss_statistics(pred, y_test)
    assert pred.mean.dtype == np.float64 and np.asarray(stats.mu).dtype == np.float64
    # the reference: the kernels in float64 and the ensemble's formulas in NumPy
    k = {}
    for name, (a, c) in {"xx": (x, x), "tx": (x_test, x), "tt": (x_test, x_test)}.items():
        k["nngp_" + name], k["ntk_" + name] = arccos_relu(
            a, c, config.depth, config.W_std, config.b_std
        )
    theta_inv = np.linalg.pinv(k["ntk_xx"], rcond=256 * np.finfo(float).eps, hermitian=True)
    b = k["ntk_tx"] @ theta_inv
    cov = k["nngp_tt"] + b @ k["nngp_xx"] @ b.T - b @ k["nngp_tx"].T - k["nngp_tx"] @ b.T
    res = b @ y - y_test
    mu = (np.sum(res**2) + 2 * np.trace(cov)) / res.size
    np.testing.assert_allclose(pred.mean, b @ y, rtol=1e-6, atol=1e-9)
    assert float(stats.mu) == pytest.approx(mu, rel=1e-6)


def test_singular_and_degenerate_inputs_are_answered_or_refused():
    """A review: a repeated test input made every sampled loss NaN (no Cholesky factor in
    float32); NaN targets gave mu = nan; an empty test set a ZeroDivisionError; a test set
    the ensemble interpolates exactly an eps_L of rounding noise over rounding noise."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    x_test = np.concatenate([rng.standard_normal((5, 3)), x[:1], x[:1]])
    pred = infinite_ensemble(MLPConfig(), x, y, x_test)
    y_test = rng.standard_normal((7, 1))
    losses = sample_losses(jax.random.key(0), pred, y_test, np.int64(2000))
    assert losses.shape == (2000,) and np.all(np.isfinite(losses))
    with pytest.raises(ValueError, match="y_test has NaN"):
        loss_statistics(pred, np.full((7, 1), np.nan))
    with pytest.raises(ValueError, match=r"x_test must have shape \(M, d\) with M >= 1"):
        infinite_ensemble(MLPConfig(), x, y, x_test[:0])
    with pytest.raises(ValueError, match=r"y_train must have shape \(20, k\) with k >= 1"):
        infinite_ensemble(MLPConfig(), x, y[:, :0], x_test)
    with pytest.raises(ValueError, match="eps_L = sigma_L / mu_L is undefined"):
        loss_statistics(
            EnsemblePrediction(mean=np.ones((3, 1)), cov=np.zeros((3, 3))), np.ones((3, 1))
        )
    # copies of training points: a loss of float64 rounding (~1e-28), not an eps_L of ~1e12
    y_train = 3.0 * np.sin(x[:, :1])
    copies = infinite_ensemble(MLPConfig(), x, y_train, x[:5])
    with pytest.raises(ValueError, match=r"at float64 rounding level .* eps_L = sigma_L / mu_L"):
        loss_statistics(copies, y_train[:5])
    # one held-out point among the copies makes the loss real again
    mixed = infinite_ensemble(MLPConfig(), x, y_train, np.concatenate([x[:5], x_test[:1]]))
    stats = loss_statistics(mixed, np.concatenate([y_train[:5], y_test[:1]]))
    assert float(stats.mu) > 1e-6 and 0 < float(stats.eps) < 10


def test_kernels_in_blocks_cover_every_row():
    """A review: a batch_size that did not divide the rows was ignored without a word."""
    rng = np.random.default_rng(1)
    x, x2 = rng.standard_normal((50, 4)), rng.standard_normal((23, 4))
    whole = mlp_kernels(MLPConfig(), x, x2)
    blocks = mlp_kernels(MLPConfig(), x, x2, batch_size=16)
    assert blocks.ntk.shape == (50, 23)
    np.testing.assert_allclose(blocks.ntk, whole.ntk, rtol=1e-5)
    np.testing.assert_allclose(blocks.nngp, whole.nngp, rtol=1e-5)


def test_the_kernels_compile_once_per_architecture_and_shape():
    """The kernel function is jitted once per architecture (it ran one compiled program per
    operation eagerly): a second call of one shape compiles nothing."""
    from scalebayes.ntk._kernels import _compiled_kernel_fn

    config = MLPConfig(depth=3, activation="erf")  # an architecture no other test asks
    x = np.random.default_rng(2).standard_normal((7, 3))
    first = mlp_kernels(config, x)
    compiled = _compiled_kernel_fn(config.depth, config.W_std, config.b_std, config.activation)
    assert compiled._cache_size() == 1
    again = mlp_kernels(config, x)
    assert compiled._cache_size() == 1
    np.testing.assert_array_equal(again.ntk, first.ntk)


def test_a_key_that_is_not_a_key_is_named():
    pred = _random_prediction(0, m=3, k=1)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        sample_losses(0, pred, np.ones((3, 1)), 4)
