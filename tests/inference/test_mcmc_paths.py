"""Joint predictive paths: ``BayesModel.predictive_joint`` against the per-target moments, and
``MCMCResult.sample_paths`` against the joint law (Monte Carlo) and the per-target predictive
(its marginals), on hand-made posterior draws (no sampler run)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.inference import MCMCResult, bayes_model, curve_data
from scalebayes.inference._bayes_base import CurveData

X = np.geomspace(1e3, 1e7, 12)
Y = 0.2 + 0.8 / (1.0 + (X / 1e5) ** 0.5)
X_NEW = np.array([3e3, 2e5, 1.2e7, 5e7, 3e8])  # before, inside and beyond the context
GAUSSIAN = ["normal", "ou", "ou_irw", "ou_walk"]


def _draws(model, data, n_draws: int, seed: int, spread: float = 0.3):
    """A centre drawn around the priors' locations, and ``n_draws`` draws spread around it."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, prior in model.all_priors(data).items():
        centre = float(prior.loc) + 0.5 * prior.scale * rng.standard_normal()
        jitter = spread * prior.scale * rng.standard_normal(n_draws)
        out[name] = centre + (jitter if n_draws > 1 else 0.0)
    return out


def _result(noise: str, n_draws: int, seed: int = 0):
    model = bayes_model("m4", noise=noise)
    data = curve_data(X, Y, 16)
    z = _draws(model, data, n_draws, seed)
    return MCMCResult(
        family="m4",
        model=model,
        names=("curve",),
        x=(X,),
        y=(Y,),
        data=CurveData(*(np.asarray(a, np.float64)[None] for a in data)),
        samples={k: np.asarray(v, np.float64).reshape(1, 1, n_draws) for k, v in z.items()},
        sample_stats={"diverging": np.zeros((1, 1, n_draws), bool)},
        step_size=np.ones((1, 1)),
        n_breaks=None,
        init={},
    )


def _v(data, x):
    return jnp.asarray((np.log(x) - float(data.u0)) / float(data.s))


def _one_draw(result, d: int = 0):
    return {k: jnp.asarray(v[0, 0, d]) for k, v in result.samples.items()}


@pytest.mark.parametrize("noise", GAUSSIAN)
def test_joint_law_has_the_per_target_moments_on_its_diagonal(noise):
    result = _result(noise, 1, seed=1)
    data = result.curve_data(0)
    with jax.enable_x64(True):
        z = _one_draw(result)
        loc, scale = result.model.predictive_moments(z, _v(data, X_NEW), data)
        mean, cov = result.model.predictive_joint(z, _v(data, X_NEW), data)
        sigma2 = float(result.model.noise_scale(z)) ** 2
    np.testing.assert_allclose(np.asarray(mean), np.asarray(loc), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(np.asarray(cov))), np.asarray(scale), rtol=1e-5)
    cov = np.asarray(cov)
    np.testing.assert_allclose(cov, cov.T, rtol=1e-9, atol=1e-15)
    assert np.linalg.eigvalsh(cov).min() > -1e-9 * np.trace(cov)
    if noise == "normal":
        np.testing.assert_array_equal(cov, np.diag(np.diag(cov)))
    if noise == "ou":  # beyond the last point: sigma^2 (exp(-|h - k| / ell) - exp(-(h + k) / ell))
        ell = math.exp(float(z["log_corr_length"]))
        h = (np.log(X_NEW[2:]) - float(data.u0)) / float(data.s) - np.max(data.v[data.mask > 0])
        expected = sigma2 * (
            np.exp(-np.abs(np.subtract.outer(h, h)) / ell) - np.exp(-np.add.outer(h, h) / ell)
        )
        np.testing.assert_allclose(cov[2:, 2:], expected, rtol=1e-6, atol=1e-12 * sigma2)


def test_walk_beyond_the_context_adds_the_slope_walk_s_covariance():
    walk, ou = _result("ou_walk", 1, seed=2), _result("ou", 1, seed=2)
    data = walk.curve_data(0)
    with jax.enable_x64(True):
        z = _one_draw(walk)
        _, cov_walk = walk.model.predictive_joint(z, _v(data, X_NEW), data)
        z_ou = {k: v for k, v in z.items() if k != "log_drift"}
        _, cov_ou = ou.model.predictive_joint(z_ou, _v(data, X_NEW), data)
    tau2 = math.exp(2 * float(z["log_drift"]))
    v = (np.log(X_NEW) - float(data.u0)) / float(data.s)
    h = np.clip(v - np.max(data.v[data.mask > 0]), 0, None)
    a, b = np.minimum.outer(h, h), np.maximum.outer(h, h)
    np.testing.assert_allclose(
        np.asarray(cov_walk) - np.asarray(cov_ou), tau2 * a**2 * (3 * b - a) / 6, atol=1e-12
    )


def test_student_t_has_no_gaussian_joint_law():
    result = _result("student_t", 1)
    data = result.curve_data(0)
    with pytest.raises(ValueError, match="Student-t"):
        result.model.predictive_joint(_one_draw(result), _v(data, X_NEW), data)


# sample_posterior's default noise (ou) in the default run; the other kernels in the slow run
_SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    "noise", ["ou", pytest.param("ou_irw", marks=_SLOW), pytest.param("ou_walk", marks=_SLOW)]
)
def test_paths_of_one_draw_have_its_joint_law(noise):
    """Mean and covariance of 4000 paths within 5 Monte Carlo standard errors of the law's."""
    result = _result(noise, 1, seed=3)
    data = result.curve_data(0)
    with jax.enable_x64(True):
        mean, cov = result.model.predictive_joint(_one_draw(result), _v(data, X_NEW), data)
    mean, cov = np.asarray(mean), np.asarray(cov)
    n = 4000
    (paths,) = result.sample_paths(jax.random.key(0), [X_NEW], n_paths=n)
    assert paths.shape == (n, X_NEW.size) and np.all(paths > 0)
    log_y = np.log(paths)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(log_y.mean(0) - mean) < 5 * sd / math.sqrt(n))
    se = np.sqrt((np.outer(sd**2, sd**2) + cov**2) / n)
    assert np.all(np.abs(np.cov(log_y.T) - cov) < 5 * se)


@pytest.mark.parametrize(
    "noise",
    [n if n != "ou_walk" else pytest.param(n, marks=_SLOW) for n in GAUSSIAN]
    + [pytest.param("student_t", marks=_SLOW)],
)
def test_each_target_of_the_paths_follows_the_per_target_predictive(noise):
    """Over 50 distinct draws: the share of paths below the predictive's 10/50/90% quantiles
    is within 5 binomial standard errors of 10/50/90%."""
    result = _result(noise, 50, seed=4)
    n = 4000
    (paths,) = result.sample_paths(jax.random.key(1), [X_NEW], n_paths=n)
    (pred,) = result.predictive([X_NEW])
    for q in (0.1, 0.5, 0.9):
        share = np.mean(paths < pred.quantile(q)[None, :], axis=0)
        assert np.all(np.abs(share - q) < 5 * math.sqrt(q * (1 - q) / n)), (q, share)


def test_paths_are_reproducible_and_follow_the_key():
    result = _result("ou_irw", 20, seed=5)
    a = result.sample_paths(jax.random.key(2), [X_NEW], n_paths=7)[0]
    b = result.sample_paths(jax.random.key(2), [X_NEW], n_paths=7)[0]
    c = result.sample_paths(jax.random.key(3), [X_NEW], n_paths=7)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_one_key_per_curve_is_that_curve_s_key():
    """``fold_in(key, i)`` for curve i, or the curve's own key from a ``(n_curves,)`` array."""
    result = _result("ou_irw", 20, seed=6)
    key = jax.random.key(4)
    by_index = result.sample_paths(key, [X_NEW], n_paths=5)[0]
    own = result.sample_paths(jax.random.fold_in(key, 0)[None], [X_NEW], n_paths=5)[0]
    np.testing.assert_array_equal(by_index, own)
    with pytest.raises(ValueError, match=r"one key or one per curve \(1,\)"):
        result.sample_paths(jax.random.split(key, 3), [X_NEW], n_paths=5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_paths": 0}, ValueError, "n_paths must be an int >= 1"),
        ({"n_paths": 2.5}, ValueError, "n_paths must be an int >= 1"),
        ({"n_paths": True}, ValueError, "n_paths must be an int >= 1"),
        ({"x_targets": X_NEW}, TypeError, "sample_paths: x_targets must be a list"),
        ({"x_targets": [X_NEW, X_NEW]}, ValueError, "got 2 target arrays for 1 curves"),
        ({"x_targets": [np.array([1.0, -2.0])]}, ValueError, "finite, > 0"),
        # a review: a number gave "object of type 'float' has no len()", a flat list of two
        # numbers for one curve "got 2 target arrays for 1 curves"
        ({"x_targets": 1e21}, TypeError, "x_targets must be a list of arrays, one per curve"),
        ({"x_targets": [1e21, 1e22]}, TypeError, "got one flat list \\(for the same x"),
    ],
)
def test_bad_arguments_get_one_line_errors(kwargs, error, match):
    result = _result("ou", 2)
    args = {"x_targets": [X_NEW], "n_paths": 3, **kwargs}
    with pytest.raises(error, match=match):
        result.sample_paths(jax.random.key(0), args["x_targets"], n_paths=args["n_paths"])


def test_a_numpy_integer_count_of_paths_is_taken():
    """A review: `n_paths=np.int64(5)` was refused although other counts take NumPy ints."""
    result = _result("ou", 2)
    paths = result.sample_paths(jax.random.key(0), [X_NEW], n_paths=np.int64(5))
    assert paths[0].shape[0] == 5
