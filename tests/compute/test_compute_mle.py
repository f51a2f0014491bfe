"""The multi-start Huber fit recovers known joint-law parameters.

Synthetic runs at the Chinchilla (N, D) design with Laplace noise of scale b on log loss.
With delta = 1e-3 the Huber estimate is, to first order, least absolute deviations, whose
asymptotic covariance under Laplace noise is b^2 (J^T J)^-1 (J the Jacobian of log L with
respect to (log A, log B, log E, alpha, beta) at the truth); each estimate must lie within
5 of those standard deviations (Gaussian tail 6e-7 per check) for three noise seeds.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes import precision
from scalebayes.compute import (
    chinchilla_runs,
    fit_joint_law_mle,
    huber_objective,
    validate_runs,
)

TRUTH = np.array([np.log(480.0), np.log(2000.0), np.log(1.8), 0.35, 0.37])
NOISE = 0.005
DESIGN = chinchilla_runs()


def log_law(theta, log_n, log_d):
    a, b, e, alpha, beta = theta
    return jnp.log(jnp.exp(a - alpha * log_n) + jnp.exp(b - beta * log_d) + jnp.exp(e))


def synthetic(seed):
    rng = np.random.default_rng(seed)
    with precision("float64"):
        clean = np.asarray(log_law(jnp.asarray(TRUTH), np.log(DESIGN.N), np.log(DESIGN.D)))
    loss = np.exp(clean + rng.laplace(0.0, NOISE, clean.shape))
    return validate_runs(DESIGN.N, DESIGN.D, loss, source=f"synthetic seed {seed}")


def asymptotic_sd():
    with precision("float64"):
        jac = jax.jacfwd(log_law)(jnp.asarray(TRUTH), np.log(DESIGN.N), np.log(DESIGN.D))
        cov = NOISE**2 * np.linalg.inv(np.asarray(jac.T @ jac))
    return np.sqrt(np.diag(cov))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_known_parameters(seed):
    fit = fit_joint_law_mle(synthetic(seed), starts="small", refine=16)
    got = np.array([fit.params[k] for k in ("log_A", "log_B", "log_E", "alpha", "beta")])
    sd = asymptotic_sd()
    assert np.all(np.abs(got - TRUTH) < 5 * sd), (got - TRUTH) / sd
    assert fit.n_converged >= 2
    assert fit.params["E"] == pytest.approx(np.exp(fit.params["log_E"]))


def test_objective_is_the_sum_of_huber_terms():
    runs = synthetic(3)
    theta = TRUTH + np.array([0.1, -0.2, 0.01, 0.02, -0.01])
    pred = np.log(
        np.exp(theta[0] - theta[3] * np.log(runs.N))
        + np.exp(theta[1] - theta[4] * np.log(runs.D))
        + np.exp(theta[2])
    )
    r = np.abs(pred - np.log(runs.loss))
    want = np.sum(np.where(r <= 1e-3, 0.5 * r**2, 1e-3 * (r - 0.5e-3)))
    with precision("float64"):
        got = huber_objective(
            jnp.asarray(theta), *(jnp.log(jnp.asarray(v)) for v in (runs.N, runs.D, runs.loss))
        )
    assert float(got) == pytest.approx(want, rel=1e-12)
    # summed, not averaged: doubling every run doubles the objective
    with precision("float64"):
        doubled = huber_objective(
            jnp.asarray(theta),
            *(jnp.log(jnp.asarray(np.tile(v, 2))) for v in (runs.N, runs.D, runs.loss)),
        )
    assert float(doubled) == pytest.approx(2 * want, rel=1e-12)


@pytest.mark.slow
def test_bootstrap_standard_errors_are_plausible():
    runs = synthetic(4)
    fit = fit_joint_law_mle(runs, starts="small", refine=16, n_bootstrap=64, key=jax.random.key(0))
    se = fit.standard_errors()
    sd = asymptotic_sd()
    # 64 resamples estimate a standard deviation to about +-9% (1 / sqrt(2 * 63)); allow a
    # factor of 2 either way for the finite-sample gap between LAD and its asymptotics
    for name, ref in (("alpha", sd[3]), ("beta", sd[4])):
        assert ref / 2 < se[name] < 2 * ref, (name, se[name], ref)
    alloc = fit.bootstrap_allocation(np.array([1e21, 5.76e23]))
    assert alloc.n_params.shape == (64, 2)
    point = fit.allocation(5.76e23)
    assert (
        np.percentile(alloc.n_params[:, 1], 1)
        < point.n_params
        < np.percentile(alloc.n_params[:, 1], 99)
    )


def test_bad_arguments():
    runs = synthetic(0)
    with pytest.raises(ValueError, match="starts"):
        fit_joint_law_mle(runs, starts="huge")
    with pytest.raises(ValueError, match="key"):
        fit_joint_law_mle(runs, starts="small", refine=2, n_bootstrap=3)
    with pytest.raises(ValueError, match=r"\(n_starts, 5\)"):
        fit_joint_law_mle(runs, starts=np.zeros((3, 4)))
    with pytest.raises(TypeError, match="Runs"):
        fit_joint_law_mle((runs.N, runs.D, runs.loss))
    with pytest.raises(ValueError, match="n_starts >= 1"):
        fit_joint_law_mle(runs, starts=np.zeros((0, 5)))
    with pytest.raises(ValueError, match=r"n_bootstrap must be 0 .* or an integer >= 2"):
        fit_joint_law_mle(runs, starts="small", n_bootstrap=1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="refine"):
        fit_joint_law_mle(runs, starts="small", refine=2.5)


def test_the_point_allocation_uses_the_runs_own_flops_per_param_token():
    """A re-read: JointLawMLE.allocation defaulted to k = 6 for runs read with k = 2."""
    import dataclasses

    fit = fit_joint_law_mle(synthetic(0), starts="small", refine=16)
    fit2 = dataclasses.replace(fit, runs=dataclasses.replace(fit.runs, flops_per_param_token=2.0))
    mine, said = fit2.allocation(1e21), fit.allocation(1e21, flops_per_param_token=2.0)
    assert float(mine.n_params) == float(said.n_params)
    assert 2.0 * float(mine.n_params) * float(mine.n_tokens) == pytest.approx(1e21, rel=1e-9)
