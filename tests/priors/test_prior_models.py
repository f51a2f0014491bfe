"""The NumPyro prior models against independent references.

- ``y_clean`` of every family against the release's construction written out literally in
  numpy float64 (segment concatenation, M3 by its formula, M4 by bisection,
  ``scipy.special.betainc``), from the sites recorded in the trace;
- the sites' distributions against their stated laws (KS tests, alpha = 1e-4 each, 3 seeds x
  13 laws: a false failure in at most 0.4% of runs) and discrete sites against binomial
  bounds (4.5 standard errors: at most ~1e-5 each);
- the generator against the mixture model ``nslpfn_prior`` under an independent rejection
  loop written here (two-sample KS at alpha = 1e-4 on 7 statistics);
- ``ContextSize`` against the rule enumerated; the log density against scipy.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
from numpyro import handlers
from numpyro.infer.util import log_density

from scalebayes.priors import (
    DOWN,
    DOWN_DOWN,
    DOWN_UP_DOWN,
    ContextSize,
    PriorConfig,
    down_prior,
    nslpfn_prior,
    sample_curves,
)

# one worker runs this file and test_prior_generator.py (one compiled program; conftest.py)
pytestmark = pytest.mark.xdist_group("nsl-generator")

L = 100
N = 4000
ALPHA_KS = 1e-4
N_GENERATOR = 20000  # the same batch shape as test_prior_generator.py: compiled once


def _frames(seed, n=N, length=L):
    """Grids, context sizes and families drawn with numpy by the release's rules."""
    rng = np.random.default_rng(seed)
    x = np.sort(
        np.concatenate(
            [rng.uniform(0.01, 1.0, (n, length - 2)), np.tile([0.01, 1.0], (n, 1))], axis=1
        ),
        axis=1,
    ).astype(np.float32)
    context = np.maximum(2, rng.integers(int(length * 0.1), int(length * 0.9) + 1, n))
    family = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    return x, context.astype(np.int32), family.astype(np.int32)


@jax.jit
def _run_mixture(keys, x, context, family):
    """The mixture model, conditioned on the family, for a batch: returns and sites."""

    def one(key, x, context, family):
        model = handlers.condition(nslpfn_prior, {"family": family})
        with handlers.trace() as tr:
            out = handlers.seed(model, key)(x, context_size=context)
        sites = {
            name: site["value"]
            for name, site in tr.items()
            if site["type"] in ("sample", "deterministic")
        }
        return out, sites

    return jax.vmap(one)(keys, x, context, family)


@functools.cache
def _draws(seed):
    x, context, family = _frames(seed)
    keys = jax.random.split(jax.random.key(seed), N)
    out, sites = _run_mixture(keys, jnp.asarray(x), jnp.asarray(context), jnp.asarray(family))
    return x, context, family, jax.tree.map(np.asarray, out), jax.tree.map(np.asarray, sites)


@pytest.fixture(scope="module", params=[0, 1, 2])
def draws(request):
    return _draws(request.param)


# -- the curve construction ------------------------------------------------------------------


def _m4_root(f, alpha, n_halvings=200):
    """w in (0, 1) with w / (1 - w)^alpha = f, by bisection in t = logit(w) (float64)."""
    rhs = np.log(f)
    lo = np.minimum(rhs, rhs / alpha) - 50.0
    hi = np.maximum(rhs, rhs / alpha) + 50.0
    for _ in range(n_halvings):
        t = 0.5 * (lo + hi)
        above = t + (alpha - 1) * np.logaddexp(0.0, t) >= rhs
        lo, hi = np.where(above, lo, t), np.where(above, t, hi)
    return 1 / (1 + np.exp(-0.5 * (lo + hi)))


def _release_curve(grid, context, family, s):
    """The release's sample_downward / sample_upward construction, from the drawn sites."""
    n = len(grid)
    cutoff = grid[context]

    def segment(k):
        if s["kind"][k] == 0:
            y = s["m3_beta"][k] * (1 / grid + s["m3_gamma"][k]) ** s["m3_c"][k]
        else:
            y = _m4_root(s["m4_beta"][k] * grid ** s["m4_c"][k], s["m4_alpha"][k])
        y = (y - y[-1]) / (y[0] - y[-1])
        return y * (s["y0"][k] - s["y1"][k]) + s["y1"][k]

    if family == DOWN:
        return segment(0), []
    n_brk = int(s["n_breaks"]) if family == DOWN_DOWN else 2
    pieces = s["piece_length"].astype(float)
    brks = np.sort([np.prod(pieces[: i + 1]) for i in range(n_brk)])
    ref = brks[-1] if family == DOWN_DOWN else brks[0]
    with np.errstate(divide="ignore"):
        brks = np.append(brks / (ref / min(ref, cutoff - 0.05)), 1.0)
    idx = np.searchsorted(grid, brks)
    idx[-1] = n
    idx[idx == 0] = 1
    y_all = segment(0)[: idx[0]]
    joins = []
    for i in range(1, n_brk + 1):
        start, end = idx[i - 1], idx[i]
        if family == DOWN_UP_DOWN and i == 1:
            xs = grid[start - 1 : end]
            up = sp.betainc(s["up_b"], s["up_b"], (xs - xs[0]) / xs[-1]) ** s["up_g"]
            y = up * s["up_slope"] * (xs[-1] - xs[0])
        else:
            y = segment(i)[start - 1 : end]
        if len(y) > 1:  # the new segment's own first step, to check continuity at the join
            joins.append((start, y[1] - y[0]))
        y_all = np.concatenate([y_all, (y - y[0] + y_all[-1])[1:]])
    return y_all, joins


def test_y_clean_follows_the_release_construction():
    x, context, family, out, sites = _draws(0)
    checked = {DOWN: 0, DOWN_DOWN: 0, DOWN_UP_DOWN: 0}
    for i in range(N):
        f = int(family[i])
        if checked[f] >= 60:
            continue
        checked[f] += 1
        site = {name: value[i] for name, value in sites.items()}
        ref, joins = _release_curve(x[i].astype(float), int(context[i]), f, site)
        np.testing.assert_allclose(out["y_clean"][i], ref, atol=2e-5)
        for start, step in joins:  # continuous at the break: only the new segment's own step
            got = out["y_clean"][i, start] - out["y_clean"][i, start - 1]
            assert abs(got - step) < 2e-5
    assert min(checked.values()) == 60


def test_cutoff_lies_in_the_right_segment(draws):
    _, context, family, _, sites = draws
    starts = sites["segment_starts"]  # (N, 2): first index of segments 1 and 2
    dd = family == DOWN_DOWN
    last_break = np.where(sites["n_breaks"] == 2, starts[:, 1], starts[:, 0])
    assert np.all(last_break[dd] <= context[dd])  # the cutoff point is in the final segment
    dud = family == DOWN_UP_DOWN
    assert np.all(starts[dud, 0] <= context[dud])  # after the first break: Up or last
    assert np.any(starts[dud, 1] > context[dud]) and np.any(starts[dud, 1] <= context[dud])
    assert np.all(starts[family == DOWN] == L)  # one segment


# -- the sites' laws -------------------------------------------------------------------------

LAWS = {
    "m3_beta": st.lognorm(0.5, scale=math.exp(-1)),
    "m3_c": st.lognorm(1.0, scale=math.exp(-2)),
    "m3_gamma": st.lognorm(1.0, scale=1.0),
    "m4_alpha": st.lognorm(0.5, scale=1.0),
    "m4_beta": st.lognorm(0.5, scale=math.exp(-1)),
    "up_g": st.lognorm(0.1, scale=1.0),
    "up_slope": st.uniform(0.01, 0.69),
    "y0": st.uniform(0.2, 1.0),
    "noise_log_sigma": st.norm(-4.0, 1.0),
}


@pytest.mark.parametrize("name", list(LAWS))
def test_sites_follow_their_laws(draws, name):
    sites = draws[4]
    assert st.kstest(sites[name].ravel(), LAWS[name].cdf).pvalue > ALPHA_KS


def test_transformed_and_conditional_sites(draws):
    x, context, _, _, sites = draws
    unit = st.uniform(0.0, 1.0).cdf
    minus_c = st.lognorm(0.5, scale=1.0).cdf
    assert st.kstest(-sites["m4_c"].ravel(), minus_c).pvalue > ALPHA_KS
    assert st.kstest(np.log(sites["up_b"]), st.uniform(0.5, 0.5).cdf).pvalue > ALPHA_KS
    np.testing.assert_allclose(sites["m4_c"], -sites["m4_minus_c"])
    assert st.kstest((sites["y1"] / sites["y0"]).ravel(), unit).pvalue > ALPHA_KS
    # segment lengths: U(low, 0.4) with low = min(max(cutoff - 0.05, 0), 0.2)
    cutoff = x[np.arange(N), context]
    low = np.minimum(np.maximum(cutoff - 0.05, 0.0), 0.2)[:, None]
    u = (sites["piece_length"] - low) / (0.4 - low)
    assert st.kstest(u.ravel(), unit).pvalue > ALPHA_KS


def _within_binomial(count, n, p, z=4.5):
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p))


def test_discrete_sites(draws):
    sites = draws[4]
    kind = sites["kind"].ravel()
    assert _within_binomial(kind.sum(), kind.size, 0.5)
    n_breaks = sites["n_breaks"]
    assert set(np.unique(n_breaks)) == {1, 2}
    assert _within_binomial((n_breaks == 2).sum(), N, 0.5)


# -- the model and the generator agree ------------------------------------------------------


@pytest.fixture(scope="module")
def reference_batch():
    """Curves from nslpfn_prior with the release's loop: redraw each until valid."""
    x, context, family = _frames(11)
    args = (jnp.asarray(x), jnp.asarray(context), jnp.asarray(family))
    y = np.zeros((N, L), np.float32)
    sigma = np.zeros(N, np.float32)
    pending = np.ones(N, bool)
    for attempt in range(400):
        out, _ = _run_mixture(jax.random.split(jax.random.key(1000 + attempt), N), *args)
        take = pending & np.asarray(out["valid"])
        y[take] = np.asarray(out["y"])[take]
        sigma[take] = np.asarray(out["sigma"])[take]
        pending &= ~take
        if not pending.any():
            break
    assert not pending.any()
    return y, sigma, family


@pytest.mark.slow
def test_generator_agrees_with_the_mixture_model(reference_batch):
    y_ref, sigma_ref, family_ref = reference_batch
    batch = sample_curves(jax.random.key(123), N_GENERATOR, length=L)
    y, sigma = np.asarray(batch.y), np.asarray(batch.sigma)
    family = np.asarray(batch.family)
    assert st.ks_2samp(sigma, sigma_ref).pvalue > ALPHA_KS
    for j in (0, 10, 50, 99):  # y at fixed ranks of the (identically distributed) grid
        assert st.ks_2samp(y[:, j], y_ref[:, j]).pvalue > ALPHA_KS
    for f in (DOWN_DOWN, DOWN_UP_DOWN):  # the rarer families on their own
        a, b = y[family == f, 60], y_ref[family_ref == f, 60]
        assert st.ks_2samp(a, b).pvalue > ALPHA_KS


# -- ContextSize, the density, eager use -----------------------------------------------------


@pytest.mark.parametrize("length", [3, 5, 10, 11, 50, 100, 501])
def test_context_size_pmf_is_the_rule(length):
    draws = np.arange(int(length * 0.1), int(length * 0.9) + 1)
    values, counts = np.unique(np.maximum(2, draws), return_counts=True)
    d = ContextSize(int(length * 0.1), int(length * 0.9), 2)
    support = np.arange(0, length)
    pmf = np.exp(np.asarray(d.log_prob(jnp.asarray(support))))
    expected = np.zeros(length)
    expected[values] = counts / draws.size
    np.testing.assert_allclose(pmf, expected, atol=1e-6)
    sample = np.asarray(d.sample(jax.random.key(length), (20000,)))
    freq = np.bincount(sample, minlength=length) / 20000
    assert np.all(np.abs(freq - expected) <= 4.5 * np.sqrt(expected * (1 - expected) / 20000))


def _one_curve(i=0, seed=0):
    """Curve i of _draws(seed): its model, key, frame and the vmapped (jitted) outputs."""
    x, context, family, out, sites = _draws(seed)
    key = jax.random.split(jax.random.key(seed), N)[i]
    model = handlers.condition(nslpfn_prior, {"family": family[i]})
    one = {k: v[i] for k, v in out.items()}, {k: v[i] for k, v in sites.items()}
    return model, key, jnp.asarray(x[i]), int(context[i]), one


@pytest.mark.slow  # eager tracing of the whole generator; the jitted path is tested by default
def test_jit_and_eager_agree():
    # The jitted, vmapped batch of _draws(0) against one eager (op-by-op) run of a curve.
    i = int(np.flatnonzero(_draws(0)[2] == DOWN_UP_DOWN)[0])  # the family with every piece
    model, key, x, context, (jitted, _) = _one_curve(i)
    eager = handlers.seed(model, key)(x, context_size=context)
    for name in ("y", "y_clean", "sigma"):
        np.testing.assert_allclose(eager[name], jitted[name], rtol=1e-5, atol=1e-6)
    assert bool(eager["valid"]) == bool(jitted["valid"])


@pytest.mark.slow
def test_log_density_counts_only_the_active_sites():
    # Eager NumPyro log density of the masked mixture (a few seconds of op-by-op compiles).
    i = int(np.flatnonzero(_draws(0)[2] == DOWN)[0])
    model, _, x, context, (out, sites) = _one_curve(i)
    deterministic = ("family", "y_clean", "segment_starts", "m4_c", "up_b")
    params = {k: jnp.asarray(v) for k, v in sites.items() if k not in deterministic}
    params["context_size"] = jnp.asarray(context)  # an argument of the batch run: a site here
    got, _ = log_density(model, (x,), {}, params)
    p = {k: np.asarray(v, float) for k, v in params.items()}
    logn = st.lognorm.logpdf
    # the (observed) family and the context size, uniform on 10..90
    expected = math.log(0.7) - math.log(81)
    # Down uses segment 0 only, and only the parameters of its kind
    expected += math.log(0.5)
    if p["kind"][0] == 0:
        expected += logn(p["m3_beta"][0], 0.5, scale=math.exp(-1))
        expected += logn(p["m3_c"][0], 1.0, scale=math.exp(-2))
        expected += logn(p["m3_gamma"][0], 1.0)
    else:
        expected += logn(p["m4_alpha"][0], 0.5) + logn(p["m4_minus_c"][0], 0.5)
        expected += logn(p["m4_beta"][0], 0.5, scale=math.exp(-1))
    expected += -math.log(p["y0"][0])  # y0 ~ U(0.2, 1.2) has density 1; y1 ~ U(0, y0)
    expected += st.norm.logpdf(p["noise_log_sigma"], -4.0, 1.0)
    sigma = math.exp(p["noise_log_sigma"])
    expected += st.norm.logpdf(p["y"], np.asarray(out["y_clean"], float), sigma).sum()
    assert float(got) == pytest.approx(expected, rel=1e-4, abs=1e-2)


def test_model_draws_its_grid_when_x_is_none():
    index = int(np.flatnonzero(PriorConfig().length_values() == L)[0])
    model = handlers.condition(nslpfn_prior, {"length_index": index})
    with handlers.trace() as tr:
        out = handlers.seed(model, jax.random.key(0))()
    x = np.asarray(out["x"])
    assert int(out["length"]) == L and x.shape == (L,)
    assert tr["x_inner"]["value"].shape == (L - 2,)
    assert x[0] == np.float32(0.01) and x[-1] == 1.0
    assert np.all(np.diff(x) >= 0)
    np.testing.assert_array_equal(x, np.asarray(tr["x"]["value"]))
    with pytest.raises(TypeError, match="pass a grid x"):
        jax.jit(lambda k: handlers.seed(nslpfn_prior, k)()["y"])(jax.random.key(0))


def test_observed_y_is_conditioned_on():
    model, key, x, context, _ = _one_curve(1)  # eager, with the shapes of the runs above
    y_obs = jnp.linspace(0.8, 0.3, L)
    with handlers.trace() as tr:
        out = handlers.seed(model, key)(x, context_size=context, y=y_obs)
    assert tr["y"]["is_observed"]
    np.testing.assert_array_equal(out["y"], y_obs)


def test_models_reject_batched_grids():
    with pytest.raises(ValueError, match="one curve's grid"):
        handlers.seed(down_prior, jax.random.key(0))(jnp.ones((2, 10)))


def test_config_is_validated_and_hashable():
    assert PriorConfig() == PriorConfig(family_probs=[0.7, 0.2, 0.1])
    assert hash(PriorConfig()) == hash(PriorConfig())
    with pytest.raises(ValueError, match="family_probs"):
        PriorConfig(family_probs=(0.5, 0.2, 0.1))
    with pytest.raises(ValueError, match="m3_c"):
        PriorConfig(m3_c=(-2.0, 0.0))
    with pytest.raises(ValueError, match="x_range"):
        PriorConfig(x_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="dd_breaks"):
        PriorConfig(dd_breaks=(2, 1))
    with pytest.raises(ValueError, match="up_slope"):
        PriorConfig(up_slope=(0.7, 0.01))
    with pytest.raises(TypeError, match="noise_log_sigma must be 2 numbers"):
        PriorConfig(noise_log_sigma=1.0)
    with pytest.raises(ValueError, match="dd_breaks must be integers"):
        PriorConfig(dd_breaks=(1.5, 2))
    assert PriorConfig().max_length == 501
    assert PriorConfig().length_values().min() == 50


def test_custom_config_changes_the_draws():
    model, key, x, context, _ = _one_curve(2)
    config = PriorConfig(noise_log_sigma=(-1.0, 0.01), y0_range=(2.0, 3.0))
    out = handlers.seed(model, key)(x, context_size=context, config=config)
    assert float(out["sigma"]) == pytest.approx(math.exp(-1.0), rel=0.05)
    assert 2.0 <= float(out["y_clean"][0]) <= 3.0


def test_review_messages_of_the_prior_config():
    """A review: `PriorConfig(m4_prob=nan)` said "must be 1 finite numbers", and
    `nslpfn_prior(..., config={})` raised an AttributeError."""
    with pytest.raises(ValueError, match="m4_prob must be a finite number, got"):
        PriorConfig(m4_prob=float("nan"))
    with pytest.raises(TypeError, match="config must be a PriorConfig or None, got dict"):
        handlers.seed(nslpfn_prior, jax.random.key(0))(jnp.linspace(0.01, 1, 10), config={})


def test_a_given_context_size_must_leave_context_and_targets():
    """A review: `context_size=0`, or one beyond the grid, was accepted silently."""
    x = jnp.linspace(0.01, 1, 30)
    model = handlers.seed(nslpfn_prior, jax.random.key(0))
    for bad in (0, 30, 40):
        with pytest.raises(ValueError, match="context_size must be one integer from 1 to"):
            model(x, context_size=bad)
    model(x, context_size=10)  # accepted


def test_the_mixture_given_a_family_is_that_familys_model_with_more_breaks():
    """A review: with dd_breaks allowing 3 breaks the mixture's Down-Up-Down curves counted
    the Down-Down curves' fourth segment in their log density (off by 0.6-1.8)."""
    from scalebayes.priors import FAMILY_MODELS

    x = jnp.asarray(np.sort(np.r_[0.01, np.random.default_rng(0).uniform(0.01, 1, 38), 1.0]))
    config = PriorConfig(dd_breaks=(1, 3))
    kwargs = dict(context_size=15, config=config)
    family = DOWN_UP_DOWN
    model = handlers.condition(nslpfn_prior, data={"family": jnp.asarray(family)})
    sub = FAMILY_MODELS[family]
    shapes = handlers.trace(handlers.seed(sub, 0)).get_trace(x, **kwargs)
    for seed in range(2):
        tr = handlers.trace(handlers.seed(model, seed)).get_trace(x, **kwargs)
        values = {k: v["value"] for k, v in tr.items() if v["type"] == "sample"}
        mixture, _ = log_density(nslpfn_prior, (x,), kwargs, values)
        own = {}  # the family's own sites: the leading segments and pieces of the mixture's
        for name, site in shapes.items():
            if site["type"] == "sample":
                n = np.shape(site["value"])
                own[name] = values[name][: n[0]] if len(n) else values[name]
        alone, _ = log_density(sub, (x,), kwargs, own)
        assert float(mixture - alone) == pytest.approx(
            math.log(config.family_probs[family]), abs=1e-4
        )


def test_prior_settings_that_hung_or_misled_are_refused_in_one_line():
    """A review: up_log_b ending at 10 hung for good (the BetaCDF series' bound overflowed),
    piece_max = 2 blamed piece_min_cap, a ScaleFreePriorConfig reached an AttributeError, and
    min_context beyond the grid drew a context longer than the curve."""
    from scalebayes.priors import ScaleFreePriorConfig, down_prior

    with pytest.raises(ValueError, match=r"up_log_b must end at most 5 .* got \(0\.5, 10\.0\)"):
        PriorConfig(up_log_b=(0.5, 10))
    PriorConfig(up_log_b=(0.5, 5.0))  # accepted: 124 series terms
    with pytest.raises(ValueError, match=r"PriorConfig\.piece_max must lie in \(0, 1\], got 2"):
        PriorConfig(piece_max=2.0)
    x = jnp.linspace(0.01, 1, 10)
    with pytest.raises(TypeError, match="config must be a PriorConfig or None, got ScaleFree"):
        handlers.seed(down_prior, 0)(x, config=ScaleFreePriorConfig())
    with pytest.raises(ValueError, match=r"min_context = 20 needs curves of at least .* = 21"):
        handlers.seed(down_prior, 0)(x, config=PriorConfig(min_context=20))
