"""The scale-free prior: its NumPyro model against independent references, and the generator.

- ``y_clean`` against the literal BNSL product form ``E + b x^-a0 prod (1 + (x/d_i)^(1/f_i))
  ^(-c_i f_i)`` times the bump, in numpy float64, from the returned parameters; slopes
  against central differences of that reference;
- the grid's distribution against a numpy sampler written here from the documented
  construction (sorted uniforms, not normalised exponentials), by two-sample KS tests;
- every site against its stated law (one-sample KS) and discrete sites against binomial
  bounds; the noise against scipy's lognormal and truncated normal (KS, log densities);
- the generator against the traced model (the same keys give the same curves).

Statistical checks: KS tests at alpha = 1e-6 each (23 in all: a false failure in at most
~2e-5 of runs; KS p-values are conservative for the discrete statistics); counts within
5.5 binomial standard errors (a false failure in at most 4e-8 per count, 1e-6 over all).
"""

import functools
import math

import jax
import numpy as np
import pytest
import scipy.stats as st
from numpyro import handlers
from numpyro.infer.util import log_density

from scalebayes.priors import (
    DOWN_UP_DOWN,
    SCALEFREE_FAMILY_MODELS,
    ScaleFreeBatch,
    ScaleFreePriorConfig,
    end_slopes,
    sample_scalefree_curves,
    scalefree_down_prior,
    scalefree_prior,
)
from scalebayes.priors._scalefree_generator import _sample

N = 20000
L = 128
ALPHA = 1e-6
Z = 5.5
CFG = ScaleFreePriorConfig()


@pytest.fixture(scope="module")
def batch():
    return sample_scalefree_curves(jax.random.key(0), N)


@pytest.fixture(scope="module")
def arrays(batch):
    out = {k: np.asarray(v) for k, v in batch._asdict().items() if k != "curve"}
    out.update({k: np.asarray(v, np.float64) for k, v in batch.curve._asdict().items()})
    out["n_breaks"] = out["n_breaks"].astype(int)
    return out


@functools.partial(jax.jit, static_argnums=1)
def _traced(key, n):
    def one(k):
        tr = handlers.trace(handlers.seed(scalefree_prior, k)).get_trace()
        return {
            name: site["value"]
            for name, site in tr.items()
            if site["type"] in ("sample", "deterministic")
        }

    return jax.vmap(one)(jax.random.split(key, n))


@pytest.fixture(scope="module")
def sites():
    return {k: np.asarray(v) for k, v in _traced(jax.random.key(0), N).items()}


def _within_binomial(count, n, p, z=Z):
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p))


def _ks_ok(sample, cdf) -> bool:
    return st.kstest(sample, cdf).pvalue > ALPHA


def _valid(arrays):
    return np.arange(L)[None, :] < arrays["length"][:, None]


def _last(a, arrays):
    return a[np.arange(a.shape[0]), arrays["length"] - 1]


# --- layout and the grid -------------------------------------------------------------------


def test_batch_layout_and_dtypes(batch, arrays):
    assert isinstance(batch, ScaleFreeBatch)
    for name in ("x", "y", "y_clean", "mask"):
        assert arrays[name].shape == (N, L)
    for name in ("length", "context_size", "family", "sigma"):
        assert arrays[name].shape == (N,)
    for name in ("x", "y", "y_clean", "sigma"):
        assert arrays[name].dtype == np.float32
    assert arrays["mask"].dtype == bool
    for name in ("length", "context_size", "family"):
        assert arrays[name].dtype == np.int32
    assert batch.curve.exponents.shape == (N, 3) and batch.curve.breaks.shape == (N, 2)
    np.testing.assert_array_equal(arrays["mask"], _valid(arrays))
    ctx = arrays["context_size"][:, None]
    np.testing.assert_array_equal(np.asarray(batch.context_mask), np.arange(L) < ctx)
    np.testing.assert_array_equal(
        np.asarray(batch.target_mask), (np.arange(L) >= ctx) & arrays["mask"]
    )


def test_values_are_finite_and_positive(arrays):
    valid = _valid(arrays)
    for name in ("x", "y", "y_clean"):
        assert np.isfinite(arrays[name]).all()
        assert (arrays[name][valid] > 0).all()
        assert (arrays[name][~valid] == 0).all()
    assert (arrays["sigma"] > 0).all()


def test_grid_rules(arrays):
    x, length, ctx = arrays["x"], arrays["length"], arrays["context_size"]
    valid = _valid(arrays)
    assert length.min() >= 3 and length.max() <= 128
    assert (ctx >= 2).all() and (length - ctx >= 1).all()
    steps = np.diff(x, axis=1)
    assert (steps[valid[:, 1:]] > 0).all()  # strictly increasing
    assert (x[np.arange(N), ctx - 1] == 1.0).all()  # the largest context x, exactly
    reach = np.log10(_last(x, arrays).astype(np.float64))
    span = reach - np.log10(x[:, 0].astype(np.float64))
    tol = 1e-4  # float32 cumulative sums of the gaps
    assert span.min() >= 0.5 - tol and span.max() <= 6.0 + tol
    assert reach.min() >= 0.05 - tol and reach.max() <= 3.0 + tol
    assert (reach <= 0.8 * span + tol).all()
    # the smallest gap, min(min_gap, half the mean gap of its part), less float32 rounding
    gap = np.diff(np.log10(np.where(valid, x, 1.0).astype(np.float64)), axis=1)
    assert gap[valid[:, 1:]].min() >= 0.5 * 0.05 / 126 - 5e-6


def test_grid_matches_the_drawn_span_and_reach(sites):
    length = sites["length"]
    u = sites["u"].astype(np.float64)
    last = u[np.arange(N), length - 1]
    np.testing.assert_allclose(last, sites["reach"], atol=1e-4)
    np.testing.assert_allclose(last - u[:, 0], sites["span"], atol=1e-4)
    np.testing.assert_array_equal(
        length, np.clip(np.floor(np.exp(sites["log_length"])), 3, 128).astype(int)
    )


def test_context_size_rule(sites):
    length, ctx = sites["length"], sites["context_size"]
    regular = sites["regular_grid"].astype(bool)
    free = np.arange(L)[None, :] < (length - 3)[:, None]
    uniform_rule = 2 + np.sum(sites["in_context"] * free, axis=1)
    np.testing.assert_array_equal(ctx[~regular], uniform_rule[~regular])
    span, reach = sites["span"].astype(np.float64), sites["reach"].astype(np.float64)
    regular_rule = 1 + np.clip(np.round((length - 1) * (span - reach) / span), 1, length - 2)
    # float32 against float64 rounding may flip a value within ~1e-6 of a half
    assert np.mean(ctx[regular] != regular_rule[regular]) < 1e-3


def _reference_grids(rng, n):
    """Grids drawn with numpy by the documented construction; returns u and context sizes."""
    length = np.clip(np.floor(np.exp(rng.uniform(np.log(3), np.log(129), n))), 3, 128)
    length = length.astype(int)
    span = rng.uniform(0.5, 6.0, n)
    reach = rng.uniform(0.05, np.minimum(3.0, 0.8 * span))
    regular = rng.uniform(size=n) < 0.5
    grids, contexts = [], []
    for m, s, d, reg in zip(length, span, reach, regular, strict=True):
        if reg:
            c = 1 + int(np.clip(np.round((m - 1) * (s - d) / s), 1, m - 2))
            z = rng.uniform(0, 0.3) * rng.uniform(-0.5, 0.5, m)
            z[[0, c - 1, m - 1]] = 0
            weights = 1 + np.diff(z)
        else:
            c = 2 + rng.binomial(m - 3, (s - d) / s)
            parts = [np.sort(rng.uniform(size=k)) for k in (c - 2, m - c - 1)]
            weights = np.concatenate([np.diff(np.r_[0, p, 1]) for p in parts])
        gaps = []
        for w, total in ((weights[: c - 1], s - d), (weights[c - 1 :], d)):
            g = min(1e-3, 0.5 * total / w.size)
            gaps.append(g + (total - w.size * g) * w / w.sum())
        t = np.r_[0, np.cumsum(np.concatenate(gaps))]
        grids.append(t - t[c - 1])
        contexts.append(c)
    return grids, np.asarray(contexts)


def _grid_stats(grids, contexts):
    def ctx_cv(u, c):
        g = np.diff(u[:c])
        return g.std() / g.mean() if g.size >= 2 else np.nan

    return {
        "length": np.array([u.size for u in grids]),
        "context_size": contexts,
        "u_first": np.array([u[0] for u in grids]),
        "u_last": np.array([u[-1] for u in grids]),
        "u_mean": np.array([u.mean() for u in grids]),
        "min_gap": np.array([np.diff(u).min() for u in grids]),
        "context_gap_cv": np.array([ctx_cv(u, c) for u, c in zip(grids, contexts, strict=True)]),
    }


def test_grid_distribution_matches_a_numpy_reference(arrays):
    ref = _grid_stats(*_reference_grids(np.random.default_rng(7), N))
    x = arrays["x"].astype(np.float64)
    grids = [np.log10(x[i, : arrays["length"][i]]) for i in range(N)]
    got = _grid_stats(grids, arrays["context_size"])
    for name, values in got.items():
        a, b = values[np.isfinite(values)], ref[name][np.isfinite(ref[name])]
        assert st.ks_2samp(a, b).pvalue > ALPHA, name


# --- the sites' laws ----------------------------------------------------------------------


def test_family_frequencies(arrays):
    family = arrays["family"]
    for k, p in enumerate(CFG.family_probs):
        assert _within_binomial(np.sum(family == k), N, p), k


def test_discrete_sites(sites):
    family, n_breaks = sites["family"], sites["n_breaks"]
    for k, probs in enumerate(CFG.break_probs()):
        sel = family == k
        for j, p in enumerate(probs):
            count = np.sum(n_breaks[sel] == j)
            assert count == 0 if p == 0 else _within_binomial(count, sel.sum(), p), (k, j)
    has_break = n_breaks >= 1
    assert _within_binomial(sites["knee"][has_break].sum(), has_break.sum(), 0.3)
    assert _within_binomial(sites["regular_grid"].sum(), N, 0.5)
    assert _within_binomial(sites["additive_noise"].sum(), N, 0.1)


def test_continuous_sites_follow_their_laws(sites):
    s = {k: v.astype(np.float64) for k, v in sites.items()}
    length = sites["length"]
    u_first, u_last = s["u"][:, 0], s["u"][np.arange(N), length - 1]
    nb, knee, family = sites["n_breaks"], sites["knee"].astype(bool), sites["family"]
    mu, sd = CFG.exponent
    lo, hi = (math.log(b) for b in CFG.exponent_bounds)
    trunc = st.truncnorm((lo - mu) / sd, (hi - mu) / sd, loc=mu, scale=sd).cdf
    first_free = ~(knee & (nb >= 1))
    one_break = nb == 1
    dud = family == DOWN_UP_DOWN
    reach_hi = np.minimum(3.0, 0.8 * s["span"])
    laws = {
        "span": (s["span"], st.uniform(0.5, 5.5).cdf),
        "reach": ((s["reach"] - 0.05) / (reach_hi - 0.05), st.uniform().cdf),
        "log_length": (s["log_length"], st.uniform(np.log(3), np.log(129 / 3)).cdf),
        "exponent a_0": (np.log(s["exponents"][first_free, 0]), trunc),
        "exponent a_1": (np.log(s["exponents"][nb >= 1, 1]), trunc),
        "knee exponent": (s["exponents"][knee & (nb >= 1), 0], st.uniform(0, 0.05).cdf),
        "break position": (
            (s["breaks"][one_break, 0] - u_first[one_break] + 0.5)
            / (u_last[one_break] - u_first[one_break] + 1.5),
            st.uniform().cdf,
        ),
        "break sharpness": (
            np.log(s["break_sharpness"][nb >= 1, 0]),
            st.uniform(np.log(0.1), np.log(30)).cdf,
        ),
        "y_end": (s["y_end"], st.uniform(0.3, 0.7).cdf),
        "floor_fraction": (s["floor_fraction"], st.beta(0.7, 1.0).cdf),
        "noise_log_sigma": (s["noise_log_sigma"], st.norm(-4, 1).cdf),
        "bump_center": (
            (s["bump_center"][dud] - u_first[dud]) / (u_last[dud] - u_first[dud]),
            st.uniform().cdf,
        ),
        "bump_width": (np.log(s["bump_width"][dud]), st.uniform(np.log(0.1), np.log(10)).cdf),
        "bump_height": (s["bump_height"][dud], st.uniform(0.05, 0.65).cdf),
    }
    for name, (sample, cdf) in laws.items():
        assert sample.size > 500, name
        assert _ks_ok(sample, cdf), name
    np.testing.assert_array_equal(
        s["breaks"][nb == 2], np.sort(s["break_position"][nb == 2], axis=1)
    )


def test_noise_is_lognormal_or_truncated_additive(sites):
    valid = np.arange(L)[None, :] < sites["length"][:, None]
    y, yc = sites["y"].astype(np.float64), sites["y_clean"].astype(np.float64)
    sigma = sites["sigma"].astype(np.float64)[:, None]
    add = sites["additive_noise"].astype(bool)
    rng = np.random.default_rng(0)

    mult = valid & ~add[:, None]
    z = (np.log(y / np.where(valid, yc, 1.0)) / sigma)[mult]
    assert _ks_ok(rng.choice(z, 50000, replace=False), st.norm.cdf)

    scale = sigma[:, 0] * np.where(valid, yc, np.inf).min(axis=1)
    scale = scale[:, None]
    low = st.norm.cdf(-yc / scale)
    pit = (st.norm.cdf((y - yc) / scale) - low) / (1 - low)  # uniform if truncated normal
    # float32 keeps noise of scale s on y_clean only while y_clean / s is moderate
    pit = pit[valid & add[:, None] & (yc / scale < 1e3)]
    assert _ks_ok(rng.choice(pit, min(50000, pit.size), replace=False), st.uniform().cdf)


def test_log_density_of_y_matches_scipy(sites):
    sample_sites = [
        "family", "log_length", "span", "reach", "regular_grid", "in_context", "gap_weight",
        "jitter_scale", "jitter", "n_breaks", "knee", "knee_exponent", "log_exponent",
        "break_position", "break_sharpness", "y_end", "floor_fraction", "bump_center",
        "bump_width", "bump_height", "noise_log_sigma", "additive_noise",
    ]  # fmt: skip

    @jax.jit  # one compiled program for the four curves (eagerly: hundreds of small ones)
    def conditioned(data, y):
        model = handlers.condition(scalefree_prior, data=data)
        tr = handlers.trace(handlers.seed(model, 0)).get_trace(y=y)
        total, _ = log_density(scalefree_prior, (), {"y": y}, data)
        return tr["y"]["fn"].log_prob(tr["y"]["value"]), tr["y_clean"]["value"], total

    add = np.flatnonzero(sites["additive_noise"])[:2]
    mult = np.flatnonzero(~sites["additive_noise"].astype(bool))[:2]
    for i in np.r_[add, mult]:
        data = {k: sites[k][i] for k in sample_sites}
        y = sites["y"][i]
        log_prob, y_clean, total = conditioned(data, y)
        got = float(log_prob)
        n = sites["length"][i]
        yi = y[:n].astype(np.float64)
        yc = np.asarray(y_clean[:n], np.float64)
        sigma = float(sites["sigma"][i])
        if sites["additive_noise"][i]:
            s = sigma * yc.min()
            ref = st.truncnorm.logpdf(yi, -yc / s, np.inf, loc=yc, scale=s).sum()
        else:
            ref = st.lognorm.logpdf(yi, sigma, scale=yc).sum()
        assert got == pytest.approx(ref, rel=1e-4, abs=1e-2)
        assert np.isfinite(float(total))


# --- the curve ----------------------------------------------------------------------------


def _bnsl_reference(arrays, rows, u):
    """log10 y_clean at u (rows x points) by the literal BNSL product form, float64."""
    out = []
    for i, ui in zip(rows, u, strict=True):
        x = 10.0**ui
        a, nb = arrays["exponents"][i], arrays["n_breaks"][i]
        d, f = 10.0 ** arrays["breaks"][i], arrays["sharpness"][i]

        def g(x, a=a, nb=nb, d=d, f=f):
            out = x ** -a[0]
            for k in range(nb):
                out = out * (1 + (x / d[k]) ** (1 / f[k])) ** (-(a[k + 1] - a[k]) * f[k])
            return out

        y_end, phi = arrays["y_end"][i], arrays["floor_fraction"][i]
        floor = phi * y_end
        base = floor + (y_end - floor) * g(x) / g(1.0)
        h, m, w = arrays["bump_height"][i], arrays["bump_center"][i], arrays["bump_width"][i]
        bump = h * (np.exp(-0.5 * ((ui - m) / w) ** 2) - np.exp(-0.5 * (m / w) ** 2))
        out.append(np.log10(base) + bump)
    return out


def test_y_clean_matches_the_bnsl_product_form(arrays):
    rows = np.concatenate([np.flatnonzero(arrays["family"] == k)[:100] for k in range(3)])
    u = [np.log10(arrays["x"][i, : arrays["length"][i]].astype(np.float64)) for i in rows]
    ref = _bnsl_reference(arrays, rows, u)
    for i, r in zip(rows, ref, strict=True):
        got = np.log10(arrays["y_clean"][i, : arrays["length"][i]].astype(np.float64))
        np.testing.assert_allclose(got, r, atol=2e-5)


def test_slopes_and_the_share_of_curves_bending_beyond_the_context(batch, arrays):
    s0, s1 = end_slopes(batch)
    rows = np.arange(2000)
    h = 1e-5
    last = np.log10(_last(arrays["x"], arrays).astype(np.float64))[rows]
    for at, got in ((np.zeros_like(last), s0[rows]), (last, s1[rows])):
        pts = [np.array([v - h, v + h]) for v in at]
        ref = np.array([(b - a) / (2 * h) for a, b in _bnsl_reference(arrays, rows, pts)])
        np.testing.assert_allclose(got, ref, atol=1e-3)
    bends = np.abs(s1 - s0) > 0.1
    # Measured 0.23 (standard error 0.003): floors and breaks do show up among the targets.
    assert 0.15 < bends.mean() < 0.4


# --- the generator ------------------------------------------------------------------------


def test_generator_is_the_traced_model(arrays, sites):
    for name in ("length", "context_size", "family"):
        np.testing.assert_array_equal(arrays[name], sites[name])
    valid = _valid(arrays)
    for name in ("x", "y_clean", "y"):
        np.testing.assert_allclose(arrays[name], np.where(valid, sites[name], 0), rtol=1e-5)


def test_same_key_same_batch_and_no_retrace(batch):
    before = _sample._cache_size()
    again = sample_scalefree_curves(jax.random.key(0), N)
    assert _sample._cache_size() == before
    for a, b in zip(jax.tree.leaves(batch), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = sample_scalefree_curves(jax.random.key(1), N)
    assert _sample._cache_size() == before
    assert not np.allclose(np.asarray(other.y), np.asarray(batch.y))


@pytest.mark.slow  # eager tracing of the whole generator; the jitted path is tested by default
def test_jit_and_eager_agree(arrays):
    keys = jax.random.split(jax.random.key(0), N)
    for i in (0, 1):
        out = handlers.seed(scalefree_prior, keys[i])()
        n = int(out["length"])
        assert n == arrays["length"][i] and int(out["context_size"]) == arrays["context_size"][i]
        for name in ("x", "y_clean", "y"):
            np.testing.assert_allclose(np.asarray(out[name])[:n], arrays[name][i, :n], rtol=1e-5)


# --- the models' structure and validation -------------------------------------------------

SITES = {
    "family": ("sample", ()),
    "log_length": ("sample", ()),
    "length": ("deterministic", ()),
    "span": ("sample", ()),
    "reach": ("sample", ()),
    "regular_grid": ("sample", ()),
    "in_context": ("sample", (L,)),
    "gap_weight": ("sample", (L,)),
    "context_size": ("deterministic", ()),
    "jitter_scale": ("sample", ()),
    "jitter": ("sample", (L,)),
    "u": ("deterministic", (L,)),
    "x": ("deterministic", (L,)),
    "n_breaks": ("sample", ()),
    "knee": ("sample", ()),
    "knee_exponent": ("sample", ()),
    "log_exponent": ("sample", (3,)),
    "exponents": ("deterministic", (3,)),
    "break_position": ("sample", (2,)),
    "break_sharpness": ("sample", (2,)),
    "breaks": ("deterministic", (2,)),
    "y_end": ("sample", ()),
    "floor_fraction": ("sample", ()),
    "bump_center": ("sample", ()),
    "bump_width": ("sample", ()),
    "bump_height": ("sample", ()),
    "y_clean": ("deterministic", (L,)),
    "noise_log_sigma": ("sample", ()),
    "sigma": ("deterministic", ()),
    "additive_noise": ("sample", ()),
    "y": ("sample", (L,)),
}
BUMP = {"bump_center", "bump_width", "bump_height"}


def _site_types_and_shapes(model) -> dict:
    """``{site: (type, shape)}`` of one draw, traced abstractly (nothing is compiled)."""
    found = {}

    def draw(key):
        tr = handlers.trace(handlers.seed(model, key)).get_trace()
        found.update({k: v["type"] for k, v in tr.items() if v["type"] != "plate"})
        return {k: v["value"] for k, v in tr.items() if v["type"] != "plate"}

    shapes = jax.eval_shape(draw, jax.random.key(0))
    return {k: (kind, tuple(shapes[k].shape)) for k, kind in found.items()}


def test_trace_has_the_named_sites():
    # Each family's model is the mixture's code with the family fixed: the draws of n_breaks
    # (and every other site) per family are checked on the mixture's draws (test_discrete_sites);
    # here the per-family models' site names and shapes, traced abstractly.
    assert _site_types_and_shapes(scalefree_prior) == SITES
    for family, model in enumerate(SCALEFREE_FAMILY_MODELS):
        names = set(_site_types_and_shapes(model))
        expected = set(SITES) - {"family"} - (set() if family == DOWN_UP_DOWN else BUMP)
        assert names == expected
    out = jax.eval_shape(lambda: handlers.seed(scalefree_down_prior, 0)(n_points=140))
    assert out["x"].shape == (140,) and out["y"].shape == (140,)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("family_probs", (0.5, 0.5, 0.5)),
        ("length_range", (2, 10)),
        ("length_range", (3.5, 10)),
        ("span", (0.0, 6.0)),
        ("reach", (0.5, 3.0)),
        ("max_reach_fraction", 1.0),
        ("regular_grid_prob", 1.5),
        ("max_jitter", 1.0),
        ("min_gap", 0.0),
        ("exponent", (-1.0, 0.0)),
        ("exponent_bounds", (0.0, 2.0)),
        ("knee_prob", -0.1),
        ("knee_exponent_max", 0.0),
        ("break_margin", (-1.0, 1.0)),
        ("sharpness", (3.0, 0.1)),
        ("y_end", (1.0, 0.3)),
        ("floor_beta", (0.0, 1.0)),
        ("bump_height", (0.5, 0.1)),
        ("bump_width", (0.0, 1.0)),
        ("noise_log_sigma", (-4.0, 0.0)),
        ("additive_noise_prob", 2.0),
        ("span", (0.5, math.nan)),
        ("span", (0.5, 1.0, 2.0)),
    ],
)
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=rf"ScaleFreePriorConfig\.{field} must"):
        ScaleFreePriorConfig(**{field: value})


def test_arguments_are_validated():
    with pytest.raises(TypeError, match=r"ScaleFreePriorConfig\.span must"):
        ScaleFreePriorConfig(span="ab")
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        sample_scalefree_curves(key, 0)
    with pytest.raises(TypeError, match="n must be an int"):
        sample_scalefree_curves(key, 2.0)
    with pytest.raises(ValueError, match=r"n_points must be >= 128"):
        sample_scalefree_curves(key, 4, n_points=64)
    with pytest.raises(ValueError, match="family must be 0, 1 or 2"):
        sample_scalefree_curves(key, 4, family=3)
    with pytest.raises(TypeError, match="config must be a ScaleFreePriorConfig"):
        sample_scalefree_curves(key, 4, config=object())
    with pytest.raises(ValueError, match=r"n_points must be >= config.length_range\[1\] = 128"):
        handlers.seed(scalefree_prior, 0)(n_points=100)


@pytest.mark.slow
def test_plot_scalefree_prior_writes_a_png(tmp_path):
    from scalebayes.priors import plot_scalefree_prior

    path = tmp_path / "prior.png"
    fig = plot_scalefree_prior(jax.random.key(0), n_curves=4, path=path, n_summary=64)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.get_axes()) == 4 + 3
    # a review: curves longer than 128 points were refused (the padded length was fixed)
    config = ScaleFreePriorConfig(length_range=(3, 160))
    assert sample_scalefree_curves(jax.random.key(1), 2, config=config).x.shape == (2, 160)
    plot_scalefree_prior(jax.random.key(0), n_curves=2, n_summary=8, config=config)


def test_ranges_without_width_are_constants_with_a_finite_density():
    """A review: the config accepts span=(a, a), reach=(a, a) and max_jitter=0 (an exact
    grid), but the model sampled U(a, a) there, whose log density is +inf."""
    config = ScaleFreePriorConfig(
        span=(3.0, 3.0), reach=(0.5, 0.5), max_jitter=0.0, regular_grid_prob=1.0
    )

    @jax.jit
    def traced(key):
        tr = handlers.trace(handlers.seed(scalefree_prior, key)).get_trace(config=config)
        values = {k: s["value"] for k, s in tr.items() if s["type"] == "sample"}
        total, _ = log_density(scalefree_prior, (), {"config": config}, values)
        return total, tr["span"]["value"], tr["reach"]["value"], tr["x"]["value"]

    for seed in range(3):
        total, span, reach, x = traced(jax.random.key(seed))
        assert np.isfinite(float(total)) and (float(span), float(reach)) == (3.0, 0.5)
        x = np.asarray(x)[x > 0]
        steps = np.diff(np.log10(x))  # an exact log-spaced grid in each part: two step sizes
        assert len(np.unique(np.round(steps, 4))) <= 2, steps
