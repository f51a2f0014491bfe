"""The batched generator: shape rules per family, frame rules, frequencies, the bar borders,
determinism and compilation.

Statistical checks: counts within 4.5 binomial standard errors (a false failure in at most
~1e-5 per check); the context-size chi-square at alpha = 1e-4. The bar-distribution borders
of the release are equal-mass quantiles of noisy prior y over 100,000 curves x 100 points:
0.152 (10%), 0.433 (50%), 0.861 (90%). Here 20,000 curves x 100 points: the Monte Carlo
standard error of each quantile, measured over 5 independent batches, is 0.002 / 0.004 /
0.007, so the tolerance of +-0.03 leaves 4 standard errors beyond the small difference the
exact M4 solve makes (the release takes an argmin over a 1000-point grid).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
import scipy.stats as st

from scalebayes.priors import (
    DOWN,
    DOWN_DOWN,
    DOWN_UP_DOWN,
    PriorBatch,
    PriorConfig,
    down_prior,
    sample_curves,
)
from scalebayes.priors._generator import _sample

# one worker runs this file and test_prior_models.py (one compiled program; see tests/conftest.py)
pytestmark = pytest.mark.xdist_group("nsl-generator")

N = 20000  # the same batch shape as test_prior_models.py: compiled once
L = 100
TOL = 1e-6  # float32 rounding of a flat stretch can show as a step of this size


@pytest.fixture(scope="module")
def batch():
    return sample_curves(jax.random.key(0), N, length=L)


@pytest.fixture(scope="module")
def arrays(batch):
    return {name: np.asarray(value) for name, value in batch._asdict().items()}


def _within_binomial(count, n, p, z=4.5):
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p))


def test_batch_layout(batch, arrays):
    assert isinstance(batch, PriorBatch)
    for name in ("x", "y", "y_clean", "mask"):
        assert arrays[name].shape == (N, L)
    for name in ("length", "context_size", "family", "sigma", "n_tries", "accepted"):
        assert arrays[name].shape == (N,)
    assert arrays["mask"].all() and np.all(arrays["length"] == L)
    assert arrays["accepted"].all() and np.all(arrays["n_tries"] >= 1)
    ctx = arrays["context_size"][:, None]
    np.testing.assert_array_equal(np.asarray(batch.context_mask), np.arange(L) < ctx)
    np.testing.assert_array_equal(np.asarray(batch.target_mask), np.arange(L) >= ctx)


def test_values_are_finite_and_nonnegative(arrays):
    for name in ("x", "y", "y_clean", "sigma"):
        assert np.isfinite(arrays[name]).all()
    assert (arrays["y"] >= 0).all()
    assert (arrays["sigma"] > 0).all()


def test_grid_is_sorted_with_both_ends(arrays):
    x = arrays["x"]
    assert np.all(x[:, 0] == np.float32(0.01)) and np.all(x[:, -1] == 1.0)
    assert np.all(np.diff(x, axis=1) >= 0)
    assert x.min() >= np.float32(0.01) and x.max() <= 1.0


def test_context_size_rule(arrays):
    ctx = arrays["context_size"]
    lo, hi = max(2, int(L * 0.1)), int(L * 0.9)
    assert ctx.min() >= lo and ctx.max() <= hi
    counts = np.bincount(ctx - lo, minlength=hi - lo + 1)
    assert st.chisquare(counts).pvalue > 1e-4  # uniform on 10..90


def test_family_frequencies(arrays):
    counts = np.bincount(arrays["family"], minlength=3)
    for k, p in enumerate((0.7, 0.2, 0.1)):
        assert _within_binomial(counts[k], N, p)


def test_down_and_down_down_are_monotone(arrays):
    fam = arrays["family"]
    steps = np.diff(arrays["y_clean"], axis=1)
    assert np.all(steps[(fam == DOWN) | (fam == DOWN_DOWN)] <= TOL)


def test_down_up_down_rises_once_and_stays_below_its_start(arrays):
    dud = arrays["family"] == DOWN_UP_DOWN
    y, y_clean = arrays["y"][dud], arrays["y_clean"][dud]
    assert np.all(y <= y[:, :1])  # the release's rejection rule, on the noisy values
    steps = np.diff(y_clean, axis=1)
    rising = steps > TOL
    n_rise = 0
    for row, up in zip(steps, rising, strict=True):
        if not up.any():
            continue  # both breaks on one grid point: an empty Up segment
        first, last = np.flatnonzero(up)[[0, -1]]
        assert np.all(row[first : last + 1] >= -TOL)  # one contiguous rise, no dip inside
        n_rise += 1
    assert n_rise >= 0.95 * dud.sum()


def test_noisy_values_scatter_around_the_clean_curve(arrays):
    z = (arrays["y"] - arrays["y_clean"]) / arrays["sigma"][:, None]
    assert abs(z.mean()) < 0.01
    assert abs(z.std() - 1.0) < 0.02  # rejection of negatives trims a little of the tail


def test_quantiles_match_the_released_bar_borders(arrays):
    q10, q50, q90 = np.quantile(arrays["y"], [0.1, 0.5, 0.9])
    assert q10 == pytest.approx(0.152, abs=0.03)
    assert q50 == pytest.approx(0.433, abs=0.03)
    assert q90 == pytest.approx(0.861, abs=0.03)


def test_same_key_same_batch_and_no_retrace(batch):
    before = _sample._cache_size()
    again = sample_curves(jax.random.key(0), N, length=L)
    assert _sample._cache_size() == before  # compiled once per (n, length, ...)
    for a, b in zip(batch, again, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = sample_curves(jax.random.key(1), N, length=L)
    assert _sample._cache_size() == before
    assert not np.allclose(np.asarray(other.y), np.asarray(batch.y))


@pytest.mark.slow
def test_jit_and_non_jit_agree():
    # The whole generator op by op (about 20 s); the models' own check is in the fast set.
    kwargs = {"length": 12, "prior": down_prior, "chunk_size": 4}
    jitted = sample_curves(jax.random.key(3), 6, **kwargs)
    with jax.disable_jit():
        eager = sample_curves(jax.random.key(3), 6, **kwargs)
    for a, b in zip(jitted, eager, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


# -- the prior contract, with a cheap model whose acceptance rate is known ---------------------

ACCEPT = 0.4


def _level_prior(x, *, length, context_size, config):
    """A flat curve at a uniform level; valid with probability ACCEPT (level < ACCEPT)."""
    level = numpyro.sample("level", dist.Uniform(0.0, 1.0))
    y = jnp.where(jnp.arange(x.shape[-1]) < length, level + 0.0 * x, 0.0)
    return {"y": y, "valid": level < ACCEPT, "family": 7, "sigma": 0.5}


@pytest.fixture(scope="module")
def level_batch():
    # A two-model mixture (the family id is the pair's index), lengths drawn per curve.
    pairs = [(0.5, _level_prior), (0.5, _level_prior)]
    return sample_curves(jax.random.key(5), 3000, prior=pairs)


def test_variable_lengths_are_padded(level_batch):
    b = {name: np.asarray(value) for name, value in level_batch._asdict().items()}
    table = PriorConfig().length_values()
    assert b["x"].shape == (3000, 501)
    assert set(np.unique(b["length"])) <= set(table.tolist())
    assert b["length"].min() < 80 and b["length"].max() > 400
    for i in range(3000):
        n = b["length"][i]
        assert b["mask"][i, :n].all() and not b["mask"][i, n:].any()
        assert b["x"][i, n - 1] == 1.0 and b["x"][i, 0] == np.float32(0.01)
        assert np.all(b["x"][i, n:] == 0) and np.all(b["y"][i, n:] == 0)
        assert np.all(np.diff(b["x"][i, :n]) >= 0)
        assert max(2, int(0.1 * n)) <= b["context_size"][i] <= int(0.9 * n)
    assert set(np.unique(b["family"])) == {0, 1} and np.all(b["sigma"] == 0.5)
    assert _within_binomial((b["family"] == 1).sum(), 3000, 0.5)


def test_rejection_draws_until_valid(level_batch):
    # Tries per curve are geometric with success probability ACCEPT; accepted levels are
    # uniform on [0, ACCEPT).
    tries = np.asarray(level_batch.n_tries)
    level = np.asarray(level_batch.y)[:, 0]
    assert np.all(level < ACCEPT)
    assert st.kstest(level, st.uniform(0, ACCEPT).cdf).pvalue > 1e-4
    assert _within_binomial((tries == 1).sum(), tries.size, ACCEPT)
    mean, se = tries.mean(), math.sqrt((1 - ACCEPT) / ACCEPT**2 / tries.size)
    assert abs(mean - 1 / ACCEPT) < 4.5 * se


@pytest.mark.slow
def test_the_pass_cap():
    capped = sample_curves(jax.random.key(2), 400, length=20, prior=_level_prior, max_rounds=1)
    assert np.all(np.asarray(capped.n_tries) == 1)  # one pass only
    accepted = np.asarray(capped.accepted)
    assert np.all(np.asarray(capped.family)[accepted] == 7)  # a single model's own family
    assert _within_binomial(accepted.sum(), 400, ACCEPT)
    assert np.all(np.asarray(capped.y)[accepted, 0] < ACCEPT)


def _always_valid(x, *, length, context_size, config):
    out = _level_prior(x, length=length, context_size=context_size, config=config)
    return {**out, "valid": True}


def test_a_part_full_chunk_spends_its_spare_slots_on_more_candidates():
    # ~15 of 500 curves come from the model that accepts 40%: in one pass their chunk of 500
    # slots draws ~33 candidates of each and keeps the first valid one, so all are accepted
    # (one candidate per pass would leave ~60% of them pending after it)
    pairs = [(0.97, _always_valid), (0.03, _level_prior)]
    capped = sample_curves(
        jax.random.key(3), 500, length=20, prior=pairs, chunk_size=500, max_rounds=1
    )
    family, tries = np.asarray(capped.family), np.asarray(capped.n_tries)
    rare = family == 1
    assert 5 <= rare.sum() <= 30 and np.all(np.asarray(capped.accepted))
    assert np.all(tries[~rare] == 1) and tries[rare].max() > 1
    assert np.all(np.asarray(capped.y)[rare, 0] < ACCEPT)


def test_arguments_are_validated():
    key = jax.random.key(0)
    with pytest.raises(TypeError, match="n must be an int"):
        sample_curves(key, 10.0)
    with pytest.raises(ValueError, match="length must be >= 3"):
        sample_curves(key, 10, length=2)
    with pytest.raises(ValueError, match="max_length"):
        sample_curves(key, 10, length=50, max_length=40)
    with pytest.raises(ValueError, match="sum to 1"):
        sample_curves(key, 10, prior=[(0.5, down_prior), (0.2, down_prior)])
    with pytest.raises(TypeError, match="prior must be"):
        sample_curves(key, 10, prior="down")
    with pytest.raises(TypeError, match="PriorConfig"):
        sample_curves(key, 10, config={"x_range": (0.01, 1.0)})


@pytest.mark.slow
def test_quantiles_at_the_release_sample_size():
    # 100,000 curves x 100 points as in the release (five batches of the compiled shape).
    y = np.concatenate(
        [np.asarray(sample_curves(jax.random.key(42 + i), N, length=L).y) for i in range(5)]
    )
    q10, q50, q90 = np.quantile(y, [0.1, 0.5, 0.9])
    assert q10 == pytest.approx(0.152, abs=0.01)
    assert q50 == pytest.approx(0.433, abs=0.01)
    assert q90 == pytest.approx(0.861, abs=0.01)
