"""The ``"ou_walk"`` noise model: the OU model inside the context (same potential up to the
drift's prior, same predictive and replicates there), and beyond the last context point the
OU predictive variance plus ``tau^2 h^3 / 3``, written out here independently."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import potential_energy
from scipy import stats

from scalebayes.inference import NOISE_SUFFIXES, bayes_model, curve_data, mcmc_method

X = np.geomspace(1e3, 1e7, 12)
Y = 0.2 + 0.8 / (1.0 + (X / 1e5) ** 0.5)


def _setup(seed, n_points=16):
    walk, ou = bayes_model("m4", noise="ou_walk"), bayes_model("m4", noise="ou")
    data = curve_data(X, Y, n_points)  # 12 real points, padding after them
    rng = np.random.default_rng(seed)
    z = {
        name: jnp.asarray(float(p.loc) + 0.5 * p.scale * rng.standard_normal())
        for name, p in walk.all_priors(data).items()
    }
    return walk, ou, data, z


def _without_drift(z):
    return {k: v for k, v in z.items() if k != "log_drift"}


def test_the_drift_site_is_the_last_and_has_ou_irw_s_prior():
    walk, _, data, _ = _setup(0)
    priors = walk.all_priors(data)
    assert list(priors)[-3:] == ["log_diffusion", "log_corr_length", "log_drift"]
    assert priors["log_drift"] == bayes_model("m4", noise="ou_irw").all_priors(data)["log_drift"]
    assert set(walk.init_latents(None, 0.01, data)) == set(priors)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_data_do_not_inform_the_drift(seed):
    """potential(ou_walk) = potential(ou) - log prior(log_drift), whatever log_drift is."""
    walk, ou, data, z = _setup(seed)
    with jax.enable_x64(True):
        base = float(potential_energy(ou, (data,), {}, _without_drift(z)))
        prior = walk.all_priors(data)["log_drift"]
        for log_drift in (-8.0, -3.5, 1.0):
            pe = float(potential_energy(walk, (data,), {}, {**z, "log_drift": log_drift}))
            log_prior = stats.norm(float(prior.loc), prior.scale).logpdf(log_drift)
            assert pe == pytest.approx(base - log_prior, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("seed", [3, 4])
def test_predictive_is_the_ou_one_inside_and_grows_by_the_walk_beyond(seed):
    walk, ou, data, z = _setup(seed)
    v_ctx = data.v[data.mask > 0]
    h = np.array([0.05, 0.3, 1.0, 3.0])
    v_new = np.concatenate([v_ctx[0] - [0.5], 0.5 * (v_ctx[3:6] + v_ctx[4:7]), v_ctx[-1] + h])
    with jax.enable_x64(True):
        loc, scale = walk.predictive_moments(z, jnp.asarray(v_new), data)
        loc_ou, scale_ou = ou.predictive_moments(_without_drift(z), jnp.asarray(v_new), data)
    loc, scale, loc_ou, scale_ou = map(np.asarray, (loc, scale, loc_ou, scale_ou))
    np.testing.assert_array_equal(loc, loc_ou)  # the walk has mean 0
    np.testing.assert_array_equal(scale[:4], scale_ou[:4])  # at or before the last point
    tau = math.exp(float(z["log_drift"]))
    expected = np.sqrt(scale_ou[4:] ** 2 + tau**2 * h**3 / 3.0)
    np.testing.assert_allclose(scale[4:], expected, rtol=1e-12)
    assert np.all(np.diff(scale[4:] / scale_ou[4:]) > 0)


def test_padding_does_not_move_the_start_of_the_walk():
    walk, _, short, z = _setup(5, n_points=12)
    long = curve_data(X, Y, 40)
    v_new = jnp.asarray(short.v[-1] + np.array([0.2, 2.0]))
    with jax.enable_x64(True):
        a = walk.predictive_moments(z, v_new, short)
        b = walk.predictive_moments(z, v_new, long)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


def test_replicates_are_the_ou_model_s():
    walk, ou, data, z = _setup(6)
    key = jax.random.key(0)
    with jax.enable_x64(True):
        a = walk.replicate(key, z, data)
        b = ou.replicate(key, _without_drift(z), data)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_study_and_command_line_methods_offer_it_for_every_family():
    from scalebayes.cli._pfn import EXTRAPOLATE_METHODS
    from scalebayes.studies import METHODS

    assert NOISE_SUFFIXES["ou_walk"] == "-walk"
    for family in ("m3", "m4", "bnsl"):
        method = METHODS[f"mcmc-{family}-walk"]
        assert method.probabilistic and f"mcmc-{family}-walk" in EXTRAPOLATE_METHODS
        assert method.settings() == mcmc_method(family, noise="ou_walk").settings()
        assert "noise='ou_walk'" in method.settings()
