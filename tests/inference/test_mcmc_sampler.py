"""The vectorised NUTS sampler: recovery of known curves, batch invariance, argument checks.

Synthetic M4 curves (two truths typical of the IC benchmark: 30 log-spaced points over two
decades, i.i.d. Normal noise of sd 0.01 on log y, three noise seeds each) are sampled in one
call with the correctly specified noise model. For each curve three quantities are checked
against their 90 % central posterior interval: the exponent ``c``, the noise sd and log f at
an extrapolation point (4x the largest x). With 18 intervals that each cover with probability
0.9, at least 12 covering fails with probability 0.4 % (binomial) under a calibrated
posterior; the intervals of one curve are correlated, so this is a loose, not a tuned, bound.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.families import bnsl, m4
from scalebayes.inference import MCMCResult, fit_curves, sample_posterior
from scalebayes.inference._mcmc_predictive import _mixture_quantiles
from scalebayes.inference._mcmc_result import moments_at
from scalebayes.inference._nuts import _sample_chunk

# one worker runs this file and test_diagnostics.py (one compiled program; see tests/conftest.py)
pytestmark = pytest.mark.xdist_group("m4-sampler")

X = np.geomspace(1e6, 1e8, 30)
X_EXTRAP = np.array([2e8, 4e8])
SIGMA = 0.01
TRUTHS = (
    {"eps_inf": 0.15, "eps_0": 0.95, "alpha": 1.0, "beta": 4e5, "c": -0.8},
    {"eps_inf": 0.3, "eps_0": 1.0, "alpha": 2.0, "beta": 1670.0, "c": -0.5},
)
SEEDS = (0, 1, 2)
# Shared with tests/inference/test_diagnostics.py: one compiled sampler serves both files.
SETTINGS = dict(noise="normal", num_warmup=150, num_samples=150, num_chains=4)


def _m4(x, truth):
    with jax.enable_x64(True):
        return np.asarray(m4(jnp.asarray(x), **truth))


@pytest.fixture(scope="module")
def synthetic():
    xs, ys, truths = [], [], []
    for t_index, truth in enumerate(TRUTHS):
        clean = _m4(X, truth)
        for seed in SEEDS:
            rng = np.random.default_rng(100 * t_index + seed)
            xs.append(X)
            ys.append(clean * np.exp(SIGMA * rng.standard_normal(X.size)))
            truths.append(truth)
    result = sample_posterior(jax.random.key(0), "m4", xs, ys, **SETTINGS)
    return result, truths


def test_result_shapes_and_stats(synthetic):
    result, truths = synthetic
    assert isinstance(result, MCMCResult)
    n = len(truths)
    assert result.samples["log_slope"].shape == (n, 4, 150)
    assert result.step_size.shape == (n, 4)
    for name in ("diverging", "n_steps", "tree_depth", "acceptance_rate", "energy", "lp"):
        assert result.sample_stats[name].shape == (n, 4, 150), name
    assert np.all(result.sample_stats["n_steps"] >= 1)
    assert np.all(np.isfinite(result.sample_stats["lp"]))
    # chains move: every chain of every curve accepted moves after warm-up
    assert np.all(np.ptp(result.samples["log_slope"], axis=2) > 0)


def test_posterior_covers_the_truth(synthetic):
    result, truths = synthetic
    params = result.params()
    sigma = result.noise_scale()
    covered = []
    for i, truth in enumerate(truths):
        z = {k: v[i].reshape(-1, *v.shape[3:]) for k, v in result.samples.items()}
        loc, _ = moments_at(result.model, z, result.curve_data(i), X_EXTRAP)
        checks = {
            "c": (params["c"][i].ravel(), truth["c"]),
            "sigma": (sigma[i].ravel(), SIGMA),
            "log f(4 x_max)": (loc[:, 1], np.log(_m4(X_EXTRAP, truth))[1]),
        }
        for draws, true in checks.values():
            lo, hi = np.quantile(draws, [0.05, 0.95])
            covered.append(lo <= true <= hi)
    assert sum(covered) >= 12, f"only {sum(covered)} of {len(covered)} intervals cover"


def test_compiled_once_per_padded_shape(synthetic):
    """New curves of the same padded length reuse the compiled sampler and predictive."""
    result, _ = synthetic
    sampler_before = _sample_chunk._cache_size()
    quantiles_before = _mixture_quantiles._cache_size()
    result.predictive([X_EXTRAP] * result.n_curves)[0].median()
    xs = [X[:25], X[3:]]  # 25 and 27 points: both padded to 32, like the fixture's 30
    ys = [_m4(x, TRUTHS[1]) * np.exp(0.01 * np.sin(np.arange(x.size))) for x in xs]
    again = sample_posterior(jax.random.key(7), "m4", xs, ys, **SETTINGS)
    for pred in again.predictive([X_EXTRAP, X_EXTRAP[:1]]):
        pred.interval(0.9)
    assert _sample_chunk._cache_size() == sampler_before
    assert _mixture_quantiles._cache_size() <= quantiles_before + 1  # at most the first use


def test_draws_depend_only_on_the_curve_and_its_key(synthetic):
    """Same key, same data: a curve's draws do not depend on the other curves of the call.

    The curves are asked again in another order, all six, so each lands beside other curves
    in a chunk of the same width (draws may depend on the chunk's width: an accelerator
    vectorises a call's curves together, see ``sample_posterior``)."""
    result, _ = synthetic
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0), i))(jnp.arange(6))
    order = [4, 1, 5, 0, 3, 2]
    ys = [result.y[i] for i in order]
    again = sample_posterior(keys[jnp.array(order)], "m4", [X] * 6, ys, **SETTINGS)
    for site, draws in result.samples.items():
        for j, i in enumerate(order):
            np.testing.assert_allclose(again.samples[site][j], draws[i], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_lanes_of_a_vectorised_chunk_are_independent():
    """With two curves per ``vmap`` chunk (the accelerator layout) a curve's draws do not
    depend on its lane or on the curve beside it (for a fixed chunk width; a different width
    compiles a different program, whose float32 rounding sends the chains elsewhere)."""
    a = (X, _m4(X, TRUTHS[0]) * np.exp(0.01 * np.sin(np.arange(30))))
    b = (X, _m4(X, TRUTHS[1]) * np.exp(0.01 * np.cos(np.arange(30))))
    c = (X, _m4(X, TRUTHS[1]) * np.exp(0.02 * np.sin(np.arange(30))))
    ka, kb, kc = jax.random.split(jax.random.key(3), 3)
    kwargs = dict(SETTINGS, chunk_size=2)
    first = sample_posterior(jnp.stack([ka, kc]), "m4", [a[0], c[0]], [a[1], c[1]], **kwargs)
    second = sample_posterior(jnp.stack([kb, ka]), "m4", [b[0], a[0]], [b[1], a[1]], **kwargs)
    for site, draws in first.samples.items():
        np.testing.assert_allclose(second.samples[site][1], draws[0], rtol=1e-5, atol=1e-6)


BNSL_TRUTH = {"a": 0.05, "b": 40.0, "c0": 0.3, "c": [0.6], "d": [3e6], "f": [0.3]}


@pytest.mark.slow
def test_bnsl_posterior_covers_the_truth():
    """One-break BNSL, six noise draws in one call: the 90 % intervals of the first slope,
    the final slope ``c0 + c1`` and log f at 4 x_max. As for M4, at least 12 of the 18
    intervals must cover (a calibrated posterior fails this with probability about 0.4 %,
    more since the three quantities of one curve are correlated)."""
    with jax.enable_x64(True):
        truth = {k: jnp.asarray(v) for k, v in BNSL_TRUTH.items()}
        clean = np.asarray(bnsl(jnp.asarray(X), **truth))
        far = float(np.log(bnsl(jnp.asarray(X_EXTRAP[1:]), **truth))[0])
    rng = np.random.default_rng(11)
    ys = [clean * np.exp(SIGMA * rng.standard_normal(X.size)) for _ in range(6)]
    result = sample_posterior(jax.random.key(5), "bnsl", [X] * 6, ys, n_breaks=1, **SETTINGS)
    params = result.params()
    covered = []
    for i in range(6):
        z = {k: v[i].reshape(-1, *v.shape[3:]) for k, v in result.samples.items()}
        loc, _ = moments_at(result.model, z, result.curve_data(i), X_EXTRAP)
        c0, c1 = params["c0"][i].ravel(), params["c1"][i].ravel()
        final = BNSL_TRUTH["c0"] + BNSL_TRUTH["c"][0]
        for draws, true in ((c0, BNSL_TRUTH["c0"]), (c0 + c1, final), (loc[:, 1], far)):
            lo, hi = np.quantile(draws, [0.05, 0.95])
            covered.append(lo <= true <= hi)
    assert sum(covered) >= 12, f"only {sum(covered)} of {len(covered)} intervals cover"


def test_mcmc_method_scores_a_study(tmp_path, monkeypatch, synthetic):
    """An MCMC method runs through ``run_study``: every curve scored, with LL and MSCE."""
    import csv

    from scalebayes.inference import mcmc_method
    from scalebayes.studies import METHODS, Method, run_study

    result, _ = synthetic
    path = tmp_path / "synthetic.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "curve"])
        for i in (0, 3):  # one curve of each truth; the last 30 % of points are targets
            for xj, yj in zip(X, result.y[i], strict=True):
                writer.writerow([repr(float(xj)), repr(float(yj)), f"c{i}"])
    fn = mcmc_method("m4", seed=0, **SETTINGS)
    seen, asked = [], []

    def spy(curves):
        asked.extend(curves)
        seen.extend(fn(curves))
        return seen[-len(curves) :]

    monkeypatch.setitem(METHODS, "mcmc-test", Method("mcmc-test", spy, probabilistic=True))
    study = run_study("mcmc-test", [], tmp_path / "out", csv_paths=[path], progress=False)
    rows = study.scores
    assert [r.curve for r in rows] == ["c0", "c3"]
    for r in rows:
        # 9 targets over the last 0.6 decade; M4's floor is barely pinned down by 21 points
        assert 0.0 < r.rmsle < 0.2 and np.isfinite(r.ll)
        assert 0.0 <= r.msce <= r.msce_null95  # within what its own law calls plausible
    # the chains' verdict rides on each predictive into the study's chain columns
    for pred, row in zip(seen, rows, strict=True):
        assert pred.mixing.name == row.curve
        assert (row.r_hat, row.ess_bulk, row.ess_tail) == pytest.approx(pred.mixing[1:4])
        assert (row.divergences, row.mixed) == (pred.mixing.divergences, pred.mixing.passed)
        assert row.r_hat >= 1.0 - 0.05 and row.ess_bulk > 0
        # and the MSCE against its own 200 joint paths into the null columns
        assert pred.msce_null.shape == (200,)
        assert row.msce_null == pytest.approx(float(np.mean(pred.msce_null)), rel=1e-12)
        assert row.msce_null95 == pytest.approx(float(np.quantile(pred.msce_null, 0.95)))

    # without ArviZ the same predictions come back, unchecked
    import scalebayes.inference._diagnostics as diagnostics

    def missing(name):
        raise ImportError(f"{name} is missing")

    monkeypatch.setattr(diagnostics, "_import", missing)
    bare = fn(asked)
    assert [p.mixing for p in bare] == [None, None]
    for pred, again in zip(seen, bare, strict=True):
        np.testing.assert_array_equal(pred.loc, again.loc)
        np.testing.assert_array_equal(pred.msce_null, again.msce_null)  # per-curve keys


def test_a_curve_without_a_point_fit_starts_at_the_prior_and_loses_no_other():
    """A review: one curve whose point fit failed (runs spanning 0.05% of x) raised for the
    whole batch, so a study of `mcmc-m4` stopped and the good curves beside it were lost."""
    narrow_x = np.linspace(1000.0, 1000.5, X.size)
    narrow_y = np.linspace(0.9, 0.86, X.size)
    with pytest.raises(ValueError, match="no finite representation"):
        fit_curves("m4", [narrow_x], [narrow_y])
    good_y = _m4(X, TRUTHS[0])
    with pytest.warns(UserWarning, match=r"no m4 point fit for curve\(s\) 'narrow' \(the m4"):
        result = sample_posterior(
            jax.random.key(4),
            "m4",
            [X, narrow_x],
            [good_y, narrow_y],
            names=["good", "narrow"],
            **SETTINGS,
        )
    good, narrow = result.predictive([X[-3:], np.array([1001.0])])
    np.testing.assert_allclose(good.median(), good_y[-3:], rtol=0.02)
    assert np.all(np.isfinite(narrow.interval(0.9)))


def test_bad_arguments_name_the_problem():
    x, y = [X], [_m4(X, TRUTHS[0])]
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="unknown family"):
        sample_posterior(key, "m2", x, y)
    with pytest.raises(ValueError, match="num_samples"):
        sample_posterior(key, "m4", x, y, num_samples=0)
    with pytest.raises(ValueError, match="n_breaks"):
        sample_posterior(key, "m4", x, y, n_breaks=1)
    with pytest.raises(ValueError, match="precision"):
        sample_posterior(key, "m4", x, y, precision="float16")
    with pytest.raises(ValueError, match="key"):
        sample_posterior(jax.random.split(key, 3), "m4", x, y)
    with pytest.raises(ValueError, match="must be > 0"):
        sample_posterior(key, "m4", [X], [-y[0]])
    with pytest.raises(ValueError, match="noise must be one of"):
        sample_posterior(key, "m4", x, y, noise="cauchy")
    with pytest.raises(ValueError, match=r"target_accept_prob must be a number in \(0, 1\)"):
        sample_posterior(key, "m4", x, y, target_accept_prob="0.9")
    for df in ("5", float("inf"), 1.5):  # inf: every draw diverged on a NaN density (a review)
        with pytest.raises(ValueError, match="df must be a finite number >= 2"):
            sample_posterior(key, "m4", x, y, noise="student_t", df=df)
    for chunk in (0, True, 2.0):
        with pytest.raises(ValueError, match="chunk_size"):
            sample_posterior(key, "m4", x, y, chunk_size=chunk)
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key such as jax.random.key\(0\)"):
        sample_posterior(0, "m4", x, y)
    for breaks in (0, 5, 1.5, [1, 3]):  # refused before any fit runs
        with pytest.raises(ValueError, match="n_breaks must be None, 1 or 2"):
            sample_posterior(key, "bnsl", x, y, n_breaks=breaks)
    with pytest.raises(ValueError, match="n_breaks gives 2 values for 1 curves"):
        sample_posterior(key, "bnsl", x, y, n_breaks=[1, 2])
    with pytest.raises(ValueError, match="names must be unique"):
        sample_posterior(key, "m4", x * 2, y * 2, names=["a", "a"])
    with pytest.raises(ValueError, match="init_jitter"):
        sample_posterior(key, "m4", x, y, init_jitter="a")
    repeated_x = np.concatenate([X, X[3:4]])
    repeated_y = np.concatenate([y[0], y[0][3:4]])
    for noise in ("ou", "ou_irw", "ou_walk"):  # a repeat would be an exact observation
        with pytest.raises(ValueError, match=r"curve 'c': x = .* appears more than once"):
            sample_posterior(key, "m4", [repeated_x], [repeated_y], names=["c"], noise=noise)


def test_bad_prediction_targets_name_the_curve(synthetic):
    result, _ = synthetic
    with pytest.raises(ValueError, match="6 curves"):
        result.predictive([X_EXTRAP])
    with pytest.raises(TypeError, match="one per curve; got one flat array"):
        result.predictive(np.geomspace(1e8, 1e9, result.n_curves))
    with pytest.raises(TypeError, match="PRNG key"):
        result.posterior_predictive(0)
    targets = [X_EXTRAP] * result.n_curves
    targets[2] = np.array([1e8, -1.0])
    with pytest.raises(ValueError, match="curve 2"):
        result.predictive(targets)


def test_a_result_prints_on_one_line(synthetic):
    result, _ = synthetic
    text = repr(result)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("MCMCResult(m4, 6 curve(s): ") and "4 chains x 150 draws" in text


def test_null_paths_draw_keys_the_sampler_never_uses():
    """The paths behind a study's ``msce_null`` must not replay a chain's randomness: with
    partitionable threefry ``fold_in(k, 1)`` is ``split(k)[1]``, the sampler's chain key."""
    from scalebayes.inference._mcmc_methods import curve_keys, paths_keys

    keys = curve_keys(0, ["a", "b", "c"])
    sampler_keys = []
    for k in keys:  # what _sample_chunk derives from a curve's key, and what sample_paths does
        key_init, key_chains = jax.random.split(k)
        sampler_keys += [key_init, key_chains, *jax.random.split(key_chains, 4)]
    used = {tuple(np.asarray(jax.random.key_data(k)).tolist()) for k in sampler_keys}
    for k in paths_keys(keys):
        mine = [k, *jax.random.split(k)]  # sample_paths splits its key in two
        assert not used & {tuple(np.asarray(jax.random.key_data(m)).tolist()) for m in mine}


def test_a_predictive_knows_its_targets_x(synthetic):
    """As every shipped PFN answer does: `MCMCResult.predictive` sets each predictive's x, a
    head keeps its x, and an x of another length than the targets is refused."""
    from scalebayes.inference import MCMCPredictive

    result, _ = synthetic
    xs = [X_EXTRAP[: 1 + i % 3] for i in range(result.n_curves)]
    for pred, x in zip(result.predictive(xs), xs, strict=True):
        np.testing.assert_array_equal(pred.x, x)
    pred = result.predictive([X_EXTRAP] * result.n_curves)[0]
    np.testing.assert_array_equal(pred._head(2).x, X_EXTRAP[:2])
    with pytest.raises(ValueError, match=r"x must be one value per target, \(2,\); got \(3,\)"):
        MCMCPredictive(loc=np.zeros((4, 2)), scale=np.ones((4, 2)), x=[1.0, 2.0, 3.0])
    assert MCMCPredictive(loc=np.zeros((4, 2)), scale=np.ones((4, 2))).x is None
