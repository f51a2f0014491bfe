"""The teacher-student experiment: a tiny grid end to end, and its building blocks.

- a masked wide student trains exactly like the narrow network it stands for (Adam updates
  of masked units are zero), compared with an unmasked network of the true width;
- the excess loss is KL(teacher || student), checked against the cross-entropy difference
  written out in numpy;
- a tiny grid runs, gives non-negative excess losses that fall with T, and converts to runs.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from scalebayes.compute import (
    JointLawPosterior,
    TeacherConfig,
    chinchilla_law,
    compare_exponents,
    run_teacher_experiment,
)
from scalebayes.compute._teacher import _excess, _student_init, _student_logits
from scalebayes.inference import diagnose

TINY = TeacherConfig(
    input_dim=4,
    teacher_width=256,
    widths=(1, 2, 4),
    sample_sizes=(32, 128, 512),
    n_seeds=2,
    n_val=256,
    n_test=512,
    steps=100,
    eval_every=10,
)


def test_masked_student_trains_like_the_narrow_network():
    cfg = TINY
    width, n_max = 3, 8
    z = jax.random.normal(jax.random.key(0), (n_max, cfg.input_dim + cfg.n_classes))
    params = _student_init(z, jnp.float32(width), cfg)
    mask = (jnp.arange(n_max) < width).astype(jnp.float32)
    narrow = {
        "W1": params["W1"][:width],
        "b1": params["b1"][:width],
        "W2": params["W2"][:width],
        "b2": params["b2"],
    }
    kx, ky = jax.random.split(jax.random.key(1))
    x = jax.random.normal(kx, (64, cfg.input_dim))
    y = jax.random.randint(ky, (64,), 0, cfg.n_classes)

    def loss(p, m):
        return optax.softmax_cross_entropy_with_integer_labels(_student_logits(p, m, x), y).mean()

    opt = optax.adam(1e-2)

    @jax.jit
    def step(p, state, m):
        u, state = opt.update(jax.grad(loss)(p, m), state, p)
        return optax.apply_updates(p, u), state

    wide_state, narrow_state = opt.init(params), opt.init(narrow)
    for _ in range(20):
        params, wide_state = step(params, wide_state, mask)
        narrow, narrow_state = step(narrow, narrow_state, jnp.ones(width))
    for name in ("W1", "b1", "W2"):
        np.testing.assert_allclose(params[name][:width], narrow[name], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(params["b2"], narrow["b2"], rtol=1e-5, atol=1e-6)
    # masked units never move
    start = _student_init(z, jnp.float32(width), cfg)
    for name in ("W1", "b1", "W2"):
        np.testing.assert_array_equal(params[name][width:], start[name][width:])


def test_excess_is_cross_entropy_minus_entropy():
    rng = np.random.default_rng(0)
    teacher = rng.normal(size=(100, 3))
    student = rng.normal(size=(100, 3))
    p = np.exp(teacher) / np.exp(teacher).sum(1, keepdims=True)
    q = np.exp(student) / np.exp(student).sum(1, keepdims=True)
    want = np.mean(-(p * np.log(q)).sum(1)) - np.mean(-(p * np.log(p)).sum(1))
    got = _excess(jnp.asarray(student), jax.nn.log_softmax(jnp.asarray(teacher)))
    assert float(got) == pytest.approx(want, rel=1e-5)


def test_tiny_grid_end_to_end():
    result = run_teacher_experiment(jax.random.key(0), TINY)
    assert result.excess.shape == (3, 3, 2)
    assert np.all(result.excess >= 0) and np.all(np.isfinite(result.excess))
    assert np.all((result.bayes_loss > 0) & (result.bayes_loss < math.log(2)))
    assert np.all((result.best_step >= 10) & (result.best_step <= 100))
    # more data helps: averaged over widths and seeds, T = 512 beats T = 32
    mean = result.excess.mean(axis=(1, 2))
    assert mean[-1] < mean[0]
    runs = result.runs()
    assert len(runs) == 18
    assert set(runs.N) == {TINY.n_params(n) for n in TINY.widths} == {9.0, 16.0, 30.0}
    assert "512" in result.table()
    # same key, same result
    again = run_teacher_experiment(jax.random.key(0), TINY)
    np.testing.assert_array_equal(again.excess, result.excess)

    # the comparison with the bound and the paper (fake posterior draws: beta/(alpha+beta))
    rng = np.random.default_rng(0)
    samples = {
        "E": np.abs(rng.normal(0.01, 0.001, (2, 50))),
        "log_A": rng.normal(0.0, 0.1, (2, 50)),
        "log_B": rng.normal(0.0, 0.1, (2, 50)),
        "alpha": rng.normal(0.8, 0.05, (2, 50)),
        "beta": rng.normal(0.5, 0.05, (2, 50)),
    }
    post = JointLawPosterior(chinchilla_law(), runs, "huber", samples, diagnose(samples))
    comparison = compare_exponents(post, result)
    a = samples["beta"] / (samples["alpha"] + samples["beta"])
    assert comparison.empirical_mean == pytest.approx(a.mean(), rel=1e-10)
    lo, hi = comparison.empirical_interval
    assert lo < a.mean() < hi
    assert comparison.bound == pytest.approx(1 / 3, abs=1e-6)
    assert comparison.paper == 0.5
    assert "Jeon & Van Roy" in comparison.table()


def test_config_validation():
    with pytest.raises(ValueError, match="widths"):
        TeacherConfig(widths=(2, 4))
    with pytest.raises(ValueError, match="multiple of eval_every"):
        TeacherConfig(steps=100, eval_every=7)
    with pytest.raises(ValueError, match="n_classes"):
        TeacherConfig(n_classes=1)
    with pytest.raises(ValueError, match="learning_rate"):
        TeacherConfig(learning_rate=-1.0)
