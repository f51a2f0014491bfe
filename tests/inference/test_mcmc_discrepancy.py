"""The ``"ou_irw"`` noise model (OU residuals plus a random walk of the log-log slope): its
Kalman likelihood against a dense Gaussian density from scipy, its predictive against dense
conditioning in numpy and against the OU model, its replicates against the covariance by
Monte Carlo (and the other noise models' replicates against theirs), and a short sampler
run."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import potential_energy
from scipy import stats

from scalebayes.inference import bayes_model, curve_data, mcmc_method, sample_posterior

X = np.geomspace(1e3, 1e7, 12)
Y = 0.2 + 0.8 / (1.0 + (X / 1e5) ** 0.5)


def _cov(v, w, v1, sigma, ell, tau):
    """The process covariance, written out independently of the package (numpy)."""
    v, w = np.asarray(v, float)[:, None], np.asarray(w, float)[None, :]
    a = np.clip(np.minimum(v, w) - v1, 0.0, None)
    b = np.clip(np.maximum(v, w) - v1, 0.0, None)
    return sigma**2 * np.exp(-np.abs(v - w) / ell) + tau**2 * a**2 * (3 * b - a) / 6


def _setup(seed, log_drift=None, family="m4", n_points=16):
    model = bayes_model(family, noise="ou_irw")
    data = curve_data(X, Y, n_points)
    rng = np.random.default_rng(seed)
    z = {}
    for name, prior in model.all_priors(data).items():
        z[name] = float(prior.loc) + 0.5 * prior.scale * rng.standard_normal()
    if log_drift is not None:
        z["log_drift"] = log_drift
    return model, data, z


def _params(z):
    """``(sigma, ell, tau)``: the OU's stationary sd is ``kappa sqrt(ell / 2)``."""
    ell = math.exp(z["log_corr_length"])
    return math.exp(z["log_diffusion"]) * math.sqrt(ell / 2), ell, math.exp(z["log_drift"])


def test_priors_add_a_scalar_drift_site_after_the_ou_sites():
    model, data, _ = _setup(0)
    sites = list(model.all_priors(data))
    assert sites[-3:] == ["log_diffusion", "log_corr_length", "log_drift"]
    assert model.all_priors(data)["log_drift"].shape == ()
    assert "log_drift" not in bayes_model("m4", noise="ou").all_priors(data)
    init = model.init_latents(None, 0.01, data)
    assert set(init) == set(sites) and init["log_drift"].shape == ()


@pytest.mark.parametrize(("seed", "log_drift"), [(0, None), (1, -6.0), (2, 0.5), (3, -2.0)])
def test_potential_is_minus_log_prior_minus_dense_gaussian_log_density(seed, log_drift):
    """The Kalman-filter likelihood equals scipy's dense multivariate normal (padding too)."""
    model, data, z = _setup(seed, log_drift)  # 12 real points, 4 masked padding points
    with jax.enable_x64(True):
        zj = {k: jnp.asarray(v) for k, v in z.items()}
        pe = float(potential_energy(model, (data,), {}, zj))
        mu = np.asarray(model.log_mean(zj, data.v, data))
    sigma, ell, tau = _params(z)
    real = data.mask > 0
    v = data.v[real]
    cov = _cov(v, v, v[0], sigma, ell, tau)
    log_lik = stats.multivariate_normal(np.zeros(v.size), cov).logpdf((data.log_y - mu)[real])
    log_prior = sum(
        stats.norm(float(p.loc), p.scale).logpdf(z[name])
        for name, p in model.all_priors(data).items()
    )
    assert pe == pytest.approx(-(log_prior + log_lik), rel=1e-9, abs=1e-7)


def test_masked_padding_does_not_change_the_potential():
    model, short, z = _setup(4, n_points=12)
    long = curve_data(X, Y, 32)
    with jax.enable_x64(True):
        zj = {k: jnp.asarray(v) for k, v in z.items()}
        pe_short = float(potential_energy(model, (short,), {}, zj))
        pe_long = float(potential_energy(model, (long,), {}, zj))
    assert pe_short == pytest.approx(pe_long, rel=1e-12)


def _dense_reference(model, data, z, v_new):
    """Mean and covariance of log y at ``v_new`` by dense Gaussian conditioning in numpy."""
    real = data.mask > 0
    v_ctx = data.v[real]
    with jax.enable_x64(True):
        zj = {k: jnp.asarray(v) for k, v in z.items()}
        mu_ctx = np.asarray(model.log_mean(zj, data.v, data))[real]
        mu_new = np.asarray(model.log_mean(zj, jnp.asarray(v_new), data))
    sigma, ell, tau = _params(z)
    k_cc = _cov(v_ctx, v_ctx, v_ctx[0], sigma, ell, tau)
    k_nc = _cov(v_new, v_ctx, v_ctx[0], sigma, ell, tau)
    k_nn = _cov(v_new, v_new, v_ctx[0], sigma, ell, tau)
    mean = mu_new + k_nc @ np.linalg.solve(k_cc, data.log_y[real] - mu_ctx)
    return mean, k_nn - k_nc @ np.linalg.solve(k_cc, k_nc.T)


@pytest.mark.parametrize("where", ["beyond", "inside", "before"])
def test_predictive_equals_dense_conditioning(where):
    model, data, z = _setup(5, log_drift=-1.5)
    v_ctx = data.v[data.mask > 0]
    v_new = {
        "beyond": v_ctx[-1] + np.array([0.05, 0.3, 2.0]),
        "inside": 0.5 * (v_ctx[3:6] + v_ctx[4:7]),
        "before": v_ctx[0] - np.array([0.1, 1.0]),
    }[where]
    with jax.enable_x64(True):
        zj = {k: jnp.asarray(v) for k, v in z.items()}
        loc, scale = model.predictive_moments(zj, jnp.asarray(v_new), data)
    mean, cov = _dense_reference(model, data, z, v_new)
    np.testing.assert_allclose(np.asarray(loc), mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(scale), np.sqrt(np.diag(cov)), rtol=1e-5)


@pytest.mark.parametrize("where", ["beyond", "straddling"])
def test_joint_predictive_equals_dense_conditioning(where):
    """predictive_joint's mean and whole covariance (not only its diagonal) against numpy."""
    model, data, z = _setup(9, log_drift=-1.0)
    v_ctx = data.v[data.mask > 0]
    v_new = {
        "beyond": v_ctx[-1] + np.array([0.05, 0.3, 1.0, 2.0]),
        "straddling": np.array([v_ctx[0] - 0.2, 0.5 * (v_ctx[5] + v_ctx[6]), v_ctx[-1] + 0.7]),
    }[where]
    with jax.enable_x64(True):
        zj = {k: jnp.asarray(v) for k, v in z.items()}
        loc, cov = model.predictive_joint(zj, jnp.asarray(v_new), data)
    mean, expected = _dense_reference(model, data, z, v_new)
    np.testing.assert_allclose(np.asarray(loc), mean, rtol=1e-6, atol=1e-8)
    sigma2 = _params(z)[0] ** 2
    np.testing.assert_allclose(np.asarray(cov), expected, rtol=1e-5, atol=1e-9 * sigma2)


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_predictive_sd_grows_without_bound_beyond_the_context(seed):
    """Beyond the last point the sd increases with the distance and passes the OU model's
    (which saturates at sigma); with a negligible drift both models agree."""
    model, data, z = _setup(seed, log_drift=-2.0)
    ou = bayes_model("m4", noise="ou")
    v_last = data.v[data.mask > 0][-1]
    h = np.array([0.1, 0.3, 1.0, 3.0, 10.0])
    with jax.enable_x64(True):
        zj = {k: jnp.asarray(v) for k, v in z.items()}
        v_new = jnp.asarray(v_last + h)
        _, scale = model.predictive_moments(zj, v_new, data)
        z_ou = {k: v for k, v in zj.items() if k != "log_drift"}
        loc_ou, scale_ou = ou.predictive_moments(z_ou, v_new, data)
        no_drift = {**zj, "log_drift": jnp.asarray(-30.0)}
        loc_0, scale_0 = model.predictive_moments(no_drift, v_new, data)
    scale = np.asarray(scale)
    assert np.all(np.diff(scale) > 0)
    assert scale[-1] > 3.0 * _params(z)[0]
    assert np.all(scale >= np.asarray(scale_ou) * (1 - 1e-9))
    np.testing.assert_allclose(np.asarray(loc_0), np.asarray(loc_ou), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.asarray(scale_0), np.asarray(scale_ou), rtol=1e-5)


def test_replicates_have_the_process_covariance():
    """Monte Carlo: the replicates' covariance matches the model's within 5 standard errors."""
    model, data, z = _setup(9, log_drift=-1.0, n_points=16)
    n = 4000
    with jax.enable_x64(True):
        zj = {k: jnp.asarray(v) for k, v in z.items()}
        mu = np.asarray(model.log_mean(zj, data.v, data))
        keys = jax.random.split(jax.random.key(0), n)
        reps = np.asarray(jax.vmap(lambda k: model.replicate(k, zj, data))(keys))
    real = data.mask > 0
    sigma, ell, tau = _params(z)
    v = data.v[real]
    cov = _cov(v, v, v[0], sigma, ell, tau)
    resid = reps[:, real] - mu[real]
    emp = resid.T @ resid / n  # known zero mean
    se = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n)
    assert np.all(np.abs(emp - cov) < 5 * se)


def _replicates(noise: str, n: int):
    """``n`` replicates of one draw of an M4 model with ``noise``: (residuals at the real
    points, their v, sigma, the draw)."""
    model = bayes_model("m4", noise=noise, df=4.0)
    data = curve_data(X, Y, 16)
    rng = np.random.default_rng(11)
    z = {
        k: float(p.loc) + 0.5 * p.scale * rng.standard_normal()
        for k, p in model.all_priors(data).items()
    }
    with jax.enable_x64(True):
        zj = {k: jnp.asarray(v) for k, v in z.items()}
        mu = np.asarray(model.log_mean(zj, data.v, data))
        keys = jax.random.split(jax.random.key(3), n)
        reps = np.asarray(jax.vmap(lambda k: model.replicate(k, zj, data))(keys))
        sigma = float(model.noise_scale(zj))
    real = data.mask > 0
    return reps[:, real] - mu[real], np.asarray(data.v)[real], sigma, z


@pytest.mark.parametrize("noise", ["normal", "ou"])
def test_replicates_of_the_other_gaussian_models_have_their_covariance(noise):
    """An audit: only ``ou_irw``'s replicates (the posterior predictive checks' data) had
    their spread checked; twice the noise sd, or a wrong OU step variance, went unseen."""
    n = 4000
    resid, v, sigma, z = _replicates(noise, n)
    gap = np.abs(v[:, None] - v[None, :])
    ell = math.exp(z["log_corr_length"]) if noise == "ou" else 0.0
    cov = sigma**2 * (np.exp(-gap / ell) if noise == "ou" else np.eye(v.size))
    emp = resid.T @ resid / n  # known zero mean
    se = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n)
    assert np.all(np.abs(emp - cov) < 5 * se)


def test_student_t_replicates_have_t_noise():
    n = 4000
    resid, _, sigma, _ = _replicates("student_t", n)
    z = resid.ravel() / sigma  # independent t(4) draws, n per point
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        share = np.mean(z < stats.t(4.0).ppf(q))
        assert abs(share - q) < 5 * np.sqrt(q * (1 - q) / z.size), (q, share)


# End to end through NUTS: about a minute of compilation on a 2-core CPU, so with the slow
# tests; the potential and the predictive it samples are checked exactly above.
@pytest.mark.slow
def test_sampler_runs_and_reports_the_setting():
    x = np.geomspace(1e3, 1e6, 10)
    rng = np.random.default_rng(0)
    y = (0.1 + 2.0 * x**-0.3) * np.exp(0.01 * rng.standard_normal(x.size))
    result = sample_posterior(
        jax.random.key(0),
        "m4",
        [x],
        [y],
        noise="ou_irw",
        num_warmup=60,
        num_samples=40,
        num_chains=2,
    )
    assert result.samples["log_drift"].shape == (1, 2, 40)
    assert np.all(np.isfinite(result.samples["log_drift"]))
    assert result.settings["noise"] == "ou_irw"
    pred = result.predictive([np.array([2e6, 1e7, 1e8])])[0]
    lo, hi = pred.interval(0.9)
    assert np.all(np.isfinite(lo)) and np.all(np.diff(np.log(hi / lo)) > 0)


def test_study_methods_offer_the_noise_model_for_every_family():
    from scalebayes.studies import METHODS

    for family in ("m3", "m4", "bnsl"):
        method = METHODS[f"mcmc-{family}-irw"]
        assert method.probabilistic
        assert method.settings() == mcmc_method(family, noise="ou_irw").settings()
        assert "noise='ou_irw'" in method.settings()
        assert METHODS[f"mcmc-{family}"].settings() != method.settings()


def test_a_study_tells_float64_rows_from_float32_ones():
    """A review: `precision=None` was recorded literally, so a study run inside
    `scalebayes.precision("float64")` and resumed outside it mixed float64 and float32 rows
    (medians 2.8% apart on a DD curve) without a word."""
    import scalebayes

    method = mcmc_method("m4")
    plain = method.settings()
    assert "precision=None" in plain  # as recorded before: stored rows still resume
    with scalebayes.precision("float64"):
        wide = method.settings()
    with scalebayes.precision("float32"):
        assert method.settings() == plain
    assert "precision='float64'" in wide and wide != plain
    assert mcmc_method("m4", precision="float64").settings() == wide
