"""ArviZ conversion of MCMC results and the per-curve convergence warning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.families import m4
from scalebayes.inference import (
    ConvergenceReport,
    ConvergenceWarning,
    CurveCheck,
    check_convergence,
    check_mixing,
    diagnose,
    sample_posterior,
    to_datatree,
)

# one worker runs this file and test_mcmc_sampler.py (one compiled program; see tests/conftest.py)
pytestmark = pytest.mark.xdist_group("m4-sampler")

X_LONG = np.geomspace(1e6, 1e8, 30)
X_SHORT = np.geomspace(1e6, 1e8, 20)
TRUTH = {"eps_inf": 0.15, "eps_0": 0.95, "alpha": 1.0, "beta": 4e5, "c": -0.8}
NAMES = ("long", "short")
# The settings (and padded shape: two curves of 32 points) of
# test_mcmc_sampler.py::test_compiled_once_per_padded_shape, so the test run compiles that
# sampler once for both files (tracing and compilation, not sampling, are the cost here).
SETTINGS = dict(noise="normal", num_warmup=150, num_samples=150, num_chains=4)


def _curves():
    with jax.enable_x64(True):
        ys = [np.asarray(m4(jnp.asarray(x), **TRUTH)) for x in (X_LONG, X_SHORT)]
    rng = np.random.default_rng(0)
    return [X_LONG, X_SHORT], [y * np.exp(0.01 * rng.standard_normal(y.size)) for y in ys]


@pytest.fixture(scope="module")
def result():
    xs, ys = _curves()
    return sample_posterior(jax.random.key(1), "m4", xs, ys, names=NAMES, **SETTINGS)


@pytest.fixture(scope="module")
def tree(result):
    return to_datatree(result, key=jax.random.key(2))


def test_groups_and_dims(result, tree):
    for group in ("posterior", "posterior_predictive", "observed_data", "sample_stats"):
        assert group in tree.children, group
    posterior = tree["posterior"]
    assert dict(posterior.sizes) == {"chain": 4, "draw": 150, "curve": 2}
    assert list(posterior.coords["curve"].values) == list(NAMES)
    latent = posterior.attrs["latent_variables"].split(",")
    assert set(latent) == set(result.samples)
    for name in [*latent, "eps_inf", "eps_0", "alpha", "beta", "c", "sigma"]:
        assert posterior[name].dims == ("chain", "draw", "curve"), name
    # chain/draw order: curve 1, chain 2, draw 7 of the result is [2, 7, 1] of the tree
    np.testing.assert_array_equal(
        posterior["log_slope"].values[2, 7, 1], result.samples["log_slope"][1, 2, 7]
    )
    stats = tree["sample_stats"]
    for name in ("diverging", "n_steps", "tree_depth", "energy", "lp", "step_size"):
        assert stats[name].dims == ("chain", "draw", "curve"), name
    observed = tree["observed_data"]["y"]
    predicted = tree["posterior_predictive"]["y"]
    assert observed.dims == ("curve", "point")
    assert predicted.dims == ("chain", "draw", "curve", "point")
    n_points = observed.sizes["point"]
    assert n_points >= X_LONG.size
    # the short curve is padded with nan in both groups, and only there
    np.testing.assert_allclose(observed.values[1, : X_SHORT.size], result.y[1])
    assert np.all(np.isnan(observed.values[1, X_SHORT.size :]))
    assert np.all(np.isnan(predicted.values[:, :, 1, X_SHORT.size :]))
    assert np.all(np.isfinite(predicted.values[:, :, 0, : X_LONG.size]))
    # replicated data scatter around the observations (noise sd 0.01 on log y)
    ratio = np.log(np.median(predicted.values[:, :, 0, : X_LONG.size], axis=(0, 1)))
    assert np.max(np.abs(ratio - np.log(result.y[0]))) < 0.05


def _iid_tree(names, n_chains=4, n_draws=300, seed=0, shift=None, divergent=None, constant=None):
    """A DataTree of i.i.d. N(0, 1) draws per curve (converged by construction), optionally
    with the first chain of curve ``shift[0]`` moved by ``shift[1]``, ``divergent[1]``
    divergent transitions in curve ``divergent[0]`` and the second break of ``b`` held at 0.7
    in every draw of curve ``constant``."""
    import arviz_base as azb

    rng = np.random.default_rng(seed)
    n = len(names)
    a = rng.standard_normal((n_chains, n_draws, n))
    b = rng.standard_normal((n_chains, n_draws, n, 2))
    if shift is not None:
        i = names.index(shift[0])
        a[0, :, i] += shift[1]
        b[0, :, i] += shift[1]
    if constant is not None:
        b[:, :, names.index(constant), 1] = 0.7
    diverging = np.zeros((n_chains, n_draws, n), bool)
    if divergent is not None:
        diverging[1, : divergent[1], names.index(divergent[0])] = True
    return azb.from_dict(
        {"posterior": {"a": a, "b": b}, "sample_stats": {"diverging": diverging}},
        dims={"a": ["curve"], "b": ["curve", "break"], "diverging": ["curve"]},
        coords={"curve": list(names), "break": [1, 2]},
        attrs={"posterior": {"latent_variables": "a,b"}},
    )


NAMES3 = ["alpha", "beta", "gamma"]


def test_converged_curves_pass_and_a_stuck_chain_is_named():
    """Four i.i.d. chains pass the default thresholds; shifting one chain of ``beta`` by 2 sd
    makes its split R-hat about 1.3 and only ``beta`` is named."""
    report = check_convergence(_iid_tree(NAMES3), warn=False)
    assert report.ok and report.failed == ()
    assert np.all(report.r_hat < 1.01) and np.all(report.ess_bulk > 400)
    with pytest.warns(ConvergenceWarning, match="1 of 3 curves") as caught:
        report = check_convergence(_iid_tree(NAMES3, shift=("beta", 2.0)))
    message = str(caught[0].message)
    assert "'beta'" in message and "'alpha'" not in message and "'gamma'" not in message
    assert isinstance(report, ConvergenceReport)
    assert report.failed == ("beta",)
    assert report.r_hat[1] > 1.1 > 1.01 > report.r_hat[0]
    assert "r_hat" in report.reasons["beta"]


def test_a_constant_element_fails_its_curve_as_diagnose_fails_it():
    """A NaN diagnostic (one element of a site that never moves) fails its curve, as
    `diagnose` says it does, instead of being skipped by the per-curve reduction."""
    tree = _iid_tree(NAMES3, constant="beta")
    report = check_convergence(tree, warn=False)
    assert report.failed == ("beta",)
    assert np.isnan(report.r_hat[1]) and np.isfinite(report.r_hat[[0, 2]]).all()
    b = tree["posterior"]["b"].sel(curve="beta").transpose("chain", "draw", "break").values
    assert diagnose({"b": b}).problems()


def test_r_hat_is_arviz_per_curve_maximum():
    """The per-curve R-hat is the largest of ArviZ's R-hat over the variables and break slots."""
    import arviz_stats as azs

    tree = _iid_tree(NAMES3, n_draws=100, seed=4, shift=("gamma", 0.5))
    report = check_convergence(tree, warn=False, r_hat_max=10.0, ess_bulk_min=0, ess_tail_min=0)
    rhat = azs.rhat(tree, var_names=["a", "b"])
    for i, name in enumerate(NAMES3):
        expected = max(float(rhat["a"].sel(curve=name)), float(rhat["b"].sel(curve=name).max()))
        assert report.r_hat[i] == pytest.approx(expected, rel=1e-12)


def test_divergences_are_counted_and_named():
    tree = _iid_tree(NAMES3, seed=1, divergent=("gamma", 3))
    with pytest.warns(ConvergenceWarning, match="'gamma': 3 divergences > 0"):
        report = check_convergence(tree)
    assert report.divergences.tolist() == [0, 0, 3]
    assert report.failed == ("gamma",)
    assert check_convergence(tree, max_divergences=3, warn=False).ok


def test_mixing_asks_whether_chains_agree_not_whether_summaries_are_precise():
    """One chain of ``beta`` shifted by half an sd (R-hat about 1.03) fails the strict check and
    passes ``check_mixing``; shifted by 2 sd (about 1.3) it fails both. Divergences fail it
    above 1% of the draws (12 of 4 x 300)."""
    half = _iid_tree(NAMES3, shift=("beta", 0.5))
    assert check_convergence(half, warn=False).failed == ("beta",)
    assert check_mixing(half).ok
    with pytest.warns(ConvergenceWarning, match="'beta': r_hat 1.3[0-9]* > 1.05") as said:
        assert check_mixing(_iid_tree(NAMES3, shift=("beta", 2.0))).failed == ("beta",)
    assert said[0].filename == __file__  # the caller's line, not check_mixing's (a review)
    assert check_mixing(_iid_tree(NAMES3, divergent=("gamma", 12)), warn=False).ok
    report = check_mixing(_iid_tree(NAMES3, divergent=("gamma", 13)), warn=False)
    assert report.failed == ("gamma",) and report.reasons["gamma"] == "13 divergences > 12"
    with pytest.raises(TypeError, match="MCMCResult or an ArviZ DataTree"):
        check_mixing({"posterior": 1})


def test_a_report_lists_one_check_per_curve():
    report = check_mixing(
        _iid_tree(NAMES3, shift=("beta", 2.0), divergent=("gamma", 5)), warn=False
    )
    checks = report.curves()
    assert [c.name for c in checks] == NAMES3
    assert [c.passed for c in checks] == [True, False, True]
    assert checks[1].reason == report.reasons["beta"] and checks[0].reason == ""
    assert [c.divergences for c in checks] == [0, 0, 5]
    for i, check in enumerate(checks):
        assert (check.r_hat, check.ess_bulk, check.ess_tail) == (
            report.r_hat[i],
            report.ess_bulk[i],
            report.ess_tail[i],
        )
        assert isinstance(check, CurveCheck) and type(check.divergences) is int


def test_a_predictive_carries_a_check_or_nothing():
    from scalebayes.inference import MCMCPredictive

    check = check_mixing(_iid_tree(NAMES3), warn=False).curves()[0]
    loc, scale = np.zeros((4, 2)), np.ones((4, 2))
    assert MCMCPredictive(loc, scale).mixing is None
    pred = MCMCPredictive(loc, scale, mixing=check)
    assert pred.mixing is check and pred.median() == pytest.approx([1.0, 1.0])
    with pytest.raises(TypeError, match="mixing must be a CurveCheck or None, got dict"):
        MCMCPredictive(loc, scale, mixing={"passed": True})


def test_warning_is_the_one_shared_class():
    import scalebayes.compute as compute

    assert ConvergenceWarning is compute.ConvergenceWarning
    assert issubclass(ConvergenceWarning, UserWarning)


@pytest.mark.slow
def test_too_short_warm_up_is_flagged():
    """Five warm-up steps leave the chains where they started: the warning names the curve."""
    xs, ys = _curves()
    bad = sample_posterior(
        jax.random.key(3),
        "m4",
        xs[:1],
        ys[:1],
        names=["unconverged"],
        noise="normal",
        num_warmup=5,
        num_samples=20,
        init_jitter=3.0,
    )
    with pytest.warns(ConvergenceWarning, match="'unconverged'"):
        report = check_convergence(bad)
    assert report.failed == ("unconverged",)


def test_check_accepts_a_result_and_rejects_other_input(result):
    report = check_convergence(result, warn=False)
    assert report.names == NAMES
    assert report.r_hat.shape == report.ess_bulk.shape == (2,)
    assert np.all(report.ess_bulk > 0)
    assert report.divergences.tolist() == result.divergences().tolist()
    with pytest.raises(TypeError, match="MCMCResult or an ArviZ DataTree"):
        check_convergence({"posterior": 1})


def test_result_method_converts_the_same(result, tree):
    again = result.to_datatree(key=jax.random.key(2))
    np.testing.assert_array_equal(
        again["posterior_predictive"]["y"].values, tree["posterior_predictive"]["y"].values
    )
    np.testing.assert_array_equal(again["posterior"]["c"].values, tree["posterior"]["c"].values)


def test_the_summary_line_shows_a_failed_diagnostic_whatever_the_order():
    rng = np.random.default_rng(0)
    good, stuck = rng.normal(size=(4, 200)), np.ones((4, 200))
    for samples in ({"a": good, "b": stuck}, {"b": stuck, "a": good}):
        assert "max r-hat nan" in diagnose(samples).line


def test_a_failed_check_never_reads_as_passing_after_rounding():
    # a review saw "ess_bulk 100 < 100": 99.6 rounded to the threshold it failed
    from scalebayes.inference._diagnostics import _failed_checks

    found = _failed_checks(
        1.0104, 99.6, 99.95, 0, r_hat_max=1.01, ess_bulk_min=100, ess_tail_min=100
    )
    assert found == ["r_hat 1.011 > 1.01", "ess_bulk 99 < 100", "ess_tail 99 < 100"]
    assert (
        _failed_checks(1.0, 100.0, 250.0, 0, r_hat_max=1.01, ess_bulk_min=100, ess_tail_min=100)
        == []
    )
    # a review: the summary line said "min bulk ESS 4" beside a warning "ess_bulk ... 3 < 200"
    from scalebayes.inference import Diagnostics

    line = Diagnostics({"a": 1.2}, {"a": 3.6}, {"a": 99.95}, 0, 4, 100).line
    assert "min bulk ESS 3, min tail ESS 99," in line


def test_one_chain_is_refused_since_r_hat_needs_two():
    # a review: num_chains=1 was accepted and every check then read "r_hat nan > 1.01"
    from scalebayes.inference import sample_model, sample_posterior

    x, y = np.array([1.0, 2, 3, 4, 5]), np.array([3.0, 2.5, 2.2, 2.0, 1.9])
    with pytest.raises(ValueError, match="num_chains must be an integer >= 2, got 1"):
        sample_posterior(jax.random.key(0), "m4", [x], [y], num_chains=1)
    with pytest.raises(ValueError, match="num_chains must be an integer >= 2"):
        sample_model(jax.random.key(0), lambda: None, num_chains=1)


def test_mcmc_predictive_checks_df_and_normalises_huge_weights():
    """A review: `df=-1` was accepted and failed later inside NumPyro; weights of 1e308 each
    overflowed their sum and gave a log density of -inf."""
    import numpy as np
    import pytest

    from scalebayes.inference import MCMCPredictive

    loc, scale = np.zeros((50, 2)), np.full((50, 2), 0.1)
    for df in (-1.0, 0.0, float("nan"), "five", True):
        with pytest.raises(ValueError, match="df must be a finite number > 0"):
            MCMCPredictive(loc, scale, noise="student_t", df=df)
    huge = MCMCPredictive(loc, scale, weights=np.full(50, 1e308))
    plain = MCMCPredictive(loc, scale)
    y = np.array([1.0, 1.05])
    np.testing.assert_allclose(huge.log_prob(y), plain.log_prob(y), rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"r_hat_max": float("nan")}, "r_hat_max must be a finite number >= 1"),
        ({"r_hat_max": 0.99}, "r_hat_max must be a finite number >= 1"),
        ({"r_hat_max": True}, "r_hat_max must be a finite number >= 1"),
        ({"ess_bulk_min": float("inf")}, "ess_bulk_min must be a finite number >= 0"),
        ({"ess_tail_min": -1}, "ess_tail_min must be a finite number >= 0"),
        ({"max_divergences": -1}, "max_divergences must be an integer >= 0"),
        ({"max_divergences": 1.5}, "max_divergences must be an integer >= 0"),
    ],
)
def test_thresholds_that_would_pass_or_fail_every_curve_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_convergence(_iid_tree(NAMES3), warn=False, **kwargs)
