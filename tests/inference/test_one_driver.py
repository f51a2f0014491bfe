"""The one MCMC driver and the one set of convergence checks.

- ``sample_model`` (the chain function ``sample_posterior`` also runs) recovers a posterior
  known in closed form: the mean of Normal data with known scale under a Normal prior;
- ``diagnose`` flags stuck chains, divergences and constant chains, in the same words and
  with the same thresholds as ``check_convergence`` uses per curve.
"""

import math

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

from scalebayes import precision
from scalebayes.inference import (
    ESS_PER_CHAIN,
    R_HAT_MAX,
    Diagnostics,
    ModelPosterior,
    diagnose,
    sample_model,
)

PRIOR_SD, NOISE_SD = 2.0, 0.5


def _model(y):
    mu = numpyro.sample("mu", dist.Normal(0.0, PRIOR_SD))
    tau = numpyro.sample("tau", dist.HalfNormal(1.0))  # a constrained site (log transform)
    numpyro.deterministic("mu_twice", 2.0 * mu)
    with numpyro.plate("n", y.shape[0]):
        numpyro.sample("y", dist.Normal(mu, NOISE_SD), obs=y)
    return tau


@pytest.fixture(scope="module")
def posterior():
    y = np.random.default_rng(0).normal(1.3, NOISE_SD, size=20)
    draws = sample_model(jax.random.key(0), _model, y, num_warmup=300, num_samples=500)
    return y, draws


def test_recovers_a_conjugate_posterior(posterior):
    y, draws = posterior
    assert isinstance(draws, ModelPosterior)
    precision_post = 1 / PRIOR_SD**2 + y.size / NOISE_SD**2
    mean, sd = (y.sum() / NOISE_SD**2) / precision_post, precision_post**-0.5
    mu = draws.samples["mu"]
    assert mu.shape == (4, 500) and mu.dtype == np.float64
    # computed in float64 by default: the draws are not float32 numbers
    assert not np.array_equal(mu, mu.astype(np.float32).astype(np.float64))
    diag = draws.diagnostics()
    assert diag.problems() == [], diag.problems()
    # Monte Carlo error of the mean: sd / sqrt(ESS); 5 standard errors
    se = sd / math.sqrt(diag.ess_bulk["mu"])
    assert abs(mu.mean() - mean) < 5 * se
    assert abs(mu.std() / sd - 1) < 0.1
    # constrained sites are mapped back; deterministic sites are kept
    assert np.all(draws.samples["tau"] > 0)
    np.testing.assert_allclose(draws.samples["mu_twice"], 2 * mu, rtol=1e-12)
    assert draws.latent == ("mu", "tau") and draws.n_divergent == 0
    assert draws.sample_stats["diverging"].shape == (4, 500)


def test_precision_follows_the_argument_then_the_context(posterior):
    # the fixture's call, inside a float32 context: the argument wins (the same float64 draws,
    # from the same compiled program), and without it the context does
    y, default = posterior
    kwargs = dict(num_warmup=300, num_samples=500)
    with precision("float32"):
        low = sample_model(jax.random.key(0), _model, y, **kwargs)
        high = sample_model(jax.random.key(0), _model, y, precision="float64", **kwargs)
    np.testing.assert_array_equal(high.samples["mu"], default.samples["mu"])
    # the draws come back as float64 arrays; their values carry the computing precision
    as_f32 = low.samples["mu"].astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(low.samples["mu"], as_f32)
    assert not np.array_equal(high.samples["mu"], high.samples["mu"].astype(np.float32))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="num_samples"):
        sample_model(jax.random.key(0), _model, np.ones(3), num_samples=0)
    with pytest.raises(ValueError, match="target_accept_prob"):
        sample_model(jax.random.key(0), _model, np.ones(3), target_accept_prob=1.5)
    with pytest.raises(ValueError, match="precision"):
        sample_model(jax.random.key(0), _model, np.ones(3), precision="float16")
    # a review: a NumPy integer was refused as "not an integer", a plain int key got JAX's
    # message about key data (here the check passes on to the next bad setting)
    with pytest.raises(ValueError, match="target_accept_prob"):
        sample_model(
            jax.random.key(0), _model, np.ones(3), num_warmup=np.int64(10), target_accept_prob=2
        )
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        sample_model(0, _model, np.ones(3))


def test_diagnostics_flag_bad_chains():
    rng = np.random.default_rng(0)
    good = {"a": rng.standard_normal((4, 500)), "v": rng.standard_normal((4, 500, 3))}
    d = diagnose(good, 0)
    assert isinstance(d, Diagnostics) and (d.n_chains, d.n_draws) == (4, 500)
    assert abs(d.r_hat["a"] - 1) < 0.01 and d.ess_bulk["a"] > 1000
    assert d.problems() == []
    stuck = {"a": good["a"] + np.array([0.0, 0.0, 0.0, 3.0])[:, None]}
    problems = diagnose(stuck, 2).problems()
    assert any(p.startswith("r_hat of a") and f"> {R_HAT_MAX}" in p for p in problems)
    assert "2 divergences > 0" in problems
    constant = diagnose({"a": np.ones((4, 10))})
    assert math.isnan(constant.r_hat["a"]) and constant.problems()
    # the ESS threshold defaults to ESS_PER_CHAIN per chain, as in check_convergence
    short = diagnose({"a": rng.standard_normal((4, 60))})
    assert any(f"< {ESS_PER_CHAIN * 4}" in p for p in short.problems())
    assert short.problems(min_ess=10) == []
    with pytest.raises(ValueError, match="n_chains, n_draws"):
        diagnose({"a": np.ones(5)})
