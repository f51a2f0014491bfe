"""Finite-width Equinox networks: their kernels converge to the analytic ones, GD trains them."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.ntk import (
    FiniteMLP,
    MLPConfig,
    ensemble_losses,
    infinite_ensemble,
    init_ensemble,
    loss_statistics,
    mlp_kernels,
    train_ensemble,
)


def _empirical_ntk(model, x):
    params, static = eqx.partition(model, eqx.is_array)
    jac = jax.jacobian(lambda p: eqx.combine(p, static)(x)[:, 0])(params)
    flat = jnp.concatenate([j.reshape(x.shape[0], -1) for j in jax.tree_util.tree_leaves(jac)], 1)
    return flat @ flat.T


# erf by default; relu (the same Monte Carlo check, another kernel) with the slow tests
@pytest.mark.parametrize("activation", [pytest.param("relu", marks=pytest.mark.slow), "erf"])
def test_monte_carlo_empirical_ntk_of_a_wide_net_matches_the_analytic_ntk(activation):
    config = MLPConfig(depth=2, W_std=1.4, b_std=0.2, activation=activation)
    x = jax.random.normal(jax.random.key(0), (4, 6))
    width, seeds = 1024, 8
    draws = np.stack(
        [
            np.asarray(_empirical_ntk(FiniteMLP(config, 6, width, 1, key=k), x))
            for k in jax.random.split(jax.random.key(1), seeds)
        ]
    )
    analytic = np.asarray(mlp_kernels(config, x).ntk)
    se = draws.std(axis=0, ddof=1) / np.sqrt(seeds)
    # 5 standard errors of the Monte Carlo mean, plus the O(1/width) finite-width bias
    tol = 5 * se + 2.0 / width * np.abs(analytic)
    assert np.all(np.abs(draws.mean(axis=0) - analytic) < tol), (draws.mean(0), analytic, se)
    assert np.all(se < 0.05 * np.abs(analytic).max())  # the check has power


def test_outputs_at_initialisation_have_the_nngp_covariance():
    config = MLPConfig(depth=2)
    x = jax.random.normal(jax.random.key(2), (3, 5))
    n = 2000
    ensemble = init_ensemble(jax.random.key(3), config, 5, 64, 1, n)
    outputs = np.asarray(eqx.filter_vmap(lambda m: m(x)[:, 0])(ensemble), dtype=np.float64)
    sample_cov = outputs.T @ outputs / n  # mean zero by symmetry of the weights
    analytic = np.asarray(mlp_kernels(config, x).nngp)
    # se of a second moment ~ sqrt((K_ii K_jj + K_ij^2) / n), plus O(1/width) bias
    se = np.sqrt((np.outer(np.diag(analytic), np.diag(analytic)) + analytic**2) / n)
    assert np.all(np.abs(sample_cov - analytic) < 5 * se + 0.05 * np.abs(analytic))


def test_training_reduces_the_training_loss_and_is_deterministic():
    config = MLPConfig(depth=1)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 2))
    ensemble = init_ensemble(jax.random.key(0), config, 4, 64, 2, 4)
    _, before = train_ensemble(ensemble, x, y, learning_rate=1.0, steps=1)
    trained, after = train_ensemble(ensemble, x, y, learning_rate=1.0, steps=300)
    assert np.all(np.asarray(after) < 0.2 * np.asarray(before))
    _, again = train_ensemble(ensemble, x, y, learning_rate=1.0, steps=300)
    np.testing.assert_array_equal(after, again)  # same key, same result
    losses = ensemble_losses(trained, x, y)
    np.testing.assert_allclose(losses, after, rtol=1e-5)


def test_training_compiles_once_per_shape():
    from scalebayes.ntk import _finite

    config = MLPConfig(depth=1)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    ensemble = init_ensemble(jax.random.key(0), config, 3, 16, 1, 2)
    train_ensemble(ensemble, x, y, learning_rate=0.5, steps=5)
    before = _finite._train._cached._cache_size()
    for lr in (0.1, 0.2, 0.3):  # a new learning rate is a traced value, not a recompile
        train_ensemble(ensemble, x + lr, y, learning_rate=lr, steps=5)
    assert _finite._train._cached._cache_size() == before


@pytest.mark.slow
def test_wide_ensemble_loss_statistics_approach_the_infinite_width_values(float64):
    config = MLPConfig(depth=1, W_std=1.5, b_std=0.1)
    rng = np.random.default_rng(2)
    x_train, x_test = rng.standard_normal((32, 5)), rng.standard_normal((64, 5))
    w = rng.standard_normal((5, 1))
    y_train, y_test = np.sin(x_train @ w), np.sin(x_test @ w)
    steps, lr = 400, 2.0
    infinite = loss_statistics(
        infinite_ensemble(config, x_train, y_train, x_test, t=float(steps), learning_rate=lr),
        y_test,
    )
    ensemble = init_ensemble(jax.random.key(0), config, 5, 4096, 1, 64)
    trained, _ = train_ensemble(ensemble, x_train, y_train, learning_rate=lr, steps=steps)
    losses = np.asarray(ensemble_losses(trained, x_test, y_test), dtype=np.float64)
    se = losses.std(ddof=1) / np.sqrt(losses.size)
    assert abs(losses.mean() - float(infinite.mu)) < 5 * se + 0.05 * float(infinite.mu)
    assert losses.std(ddof=1) == pytest.approx(float(infinite.sigma), rel=0.35)


def test_inputs_that_used_to_answer_nan_are_refused():
    """A review's cases: each returned NaN (or a meaningless number) before."""
    from scalebayes.ntk import fit_power_law, max_stable_learning_rate

    config = MLPConfig(depth=1)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
    ensemble = init_ensemble(jax.random.key(0), config, 2, 16, 2, 4)
    with pytest.raises(ValueError, match="learning_rate must be finite and > 0, got inf"):
        train_ensemble(ensemble, x, y, learning_rate=float("inf"), steps=2)
    with pytest.raises(ValueError, match=r"x_train must be \(N, d\) with N >= 1"):
        train_ensemble(ensemble, x[:0], y[:0], learning_rate=1.0, steps=2)
    with pytest.raises(ValueError, match=r"x_test must be \(M, d\) with M >= 1"):
        ensemble_losses(ensemble, x[:0], y[:0])
    for diag_reg in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="diag_reg must be a finite number >= 0"):
            infinite_ensemble(config, x, y, x[:2], diag_reg=diag_reg)
    with pytest.raises(ValueError, match=r"largest eigenvalue is 0\.0"):
        max_stable_learning_rate(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match=r"k .* must be a positive integer, got 0"):
        max_stable_learning_rate(np.eye(3), 0)
    with pytest.raises(ValueError, match="n_boot must be an integer >= 2"):
        fit_power_law([1, 2, 4], [1.0, 0.5, 0.25], n_boot=1)
    # NumPy integers are integers
    assert max_stable_learning_rate(np.eye(3), np.int64(1)) == pytest.approx(6.0)
    assert fit_power_law([1, 2, 4], [1.0, 0.5, 0.25], n_boot=np.int64(8)).alpha == pytest.approx(1)
    with pytest.raises(ValueError, match=r"b_std \(--b-std\) must be >= 0 and < 1e100"):
        MLPConfig(b_std=1e300)


def test_numpy_and_jax_scalars_build_the_same_ensemble():
    """A review's cases: NumPy scalars in the config and a JAX integer size failed inside the
    compiled initialisation (traced where the architecture must be static)."""
    key = jax.random.key(0)
    plain = init_ensemble(key, MLPConfig(depth=2, W_std=1.5, b_std=0.1), 3, 8, 1, 4)
    config = MLPConfig(depth=np.int64(2), W_std=np.float64(1.5), b_std=np.float32(0.1))
    assert config == MLPConfig(depth=2, W_std=1.5, b_std=float(np.float32(0.1)))
    assert type(config.depth) is int and type(config.W_std) is float
    other = init_ensemble(key, MLPConfig(depth=np.int64(2), W_std=np.float64(1.5)), 3, 8, 1, 4)
    sized = init_ensemble(key, MLPConfig(depth=2, W_std=1.5), 3, np.int64(8), 1, jnp.int32(4))
    for tree in (other, sized):
        for got, want in zip(jax.tree.leaves(tree), jax.tree.leaves(plain), strict=True):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        init_ensemble(0, MLPConfig(), 3, 8, 1, 4)
