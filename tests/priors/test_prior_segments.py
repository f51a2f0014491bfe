"""Pure curve pieces: the sort-free grid, the break rules and the Norm, against references.

- the grid from exponential spacings against the exact law of sorted uniforms (the j-th of m
  sorted U(0, 1) is Beta(j, m + 1 - j)), KS tests at alpha = 1e-4 over 3 seeds x 3 ranks
  (a false failure in at most 0.09% of runs);
- the break positions and indices against the release's rules written out in numpy;
- the Norm of M3 and M4 against ``scalebayes.families.m3`` / ``m4`` normalised naively in
  float64.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from scalebayes.families import m3, m4
from scalebayes.priors._segments import (
    M3,
    M4,
    SegmentTable,
    assemble_curve,
    break_positions,
    break_starts,
    grid_from_spacings,
)

ALPHA_KS = 1e-4


@jax.jit
def _grids(key, length):
    spacings = jax.random.exponential(key, (4000, 63))
    return jax.vmap(grid_from_spacings, in_axes=(0, None, None))(spacings, length, (0.01, 1.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_points_are_sorted_uniform_order_statistics(seed):
    length = 40  # padded to 64
    x = np.asarray(_grids(jax.random.key(seed), length))
    assert np.all(x[:, 0] == np.float32(0.01))
    assert np.all(x[:, length - 1] == 1.0)
    assert np.all(x[:, length:] == 0.0)
    assert np.all(np.diff(x[:, :length], axis=1) >= 0)
    m = length - 2
    for j in (1, 13, m):  # the smallest, a middle and the largest inner point
        u = (x[:, j] - 0.01) / 0.99
        assert st.kstest(u, st.beta(j, m + 1 - j).cdf).pvalue > ALPHA_KS


def _release_breaks(pieces, n_breaks, cutoff, grid, anchor, margin=0.05):
    """The release's break indices, literally: cumulative products, sort, rescale, search."""
    brks = np.sort([np.prod(pieces[: i + 1]) for i in range(n_breaks)])
    ref = brks[-1] if anchor == "last" else brks[0]
    with np.errstate(divide="ignore"):
        normaliser = ref / min(ref, cutoff - margin)
    brks = np.append(brks / normaliser, 1.0)
    idx = np.searchsorted(grid, brks)
    idx[-1] = len(grid)
    idx[idx == 0] = 1
    return idx[:-1]


def test_breaks_follow_the_release():
    rng = np.random.default_rng(3)
    n_points = 60
    for trial in range(300):
        grid = np.sort(np.r_[0.01, 1.0, rng.uniform(0.01, 1.0, n_points - 2)]).astype(np.float32)
        cutoff = grid[rng.integers(2, n_points - 1)]
        if trial % 10 == 0:
            cutoff = grid[rng.integers(1, 3)]  # cutoff - 0.05 <= 0: every break at index 1
        low = min(max(cutoff - 0.05, 0.0), 0.2)
        pieces = rng.uniform(low, 0.4, 2).astype(np.float32)
        for anchor, n_breaks in (("last", 1), ("last", 2), ("first", 2)):
            pos = break_positions(jnp.asarray(pieces), n_breaks, cutoff, anchor=anchor, margin=0.05)
            got = np.asarray(break_starts(jnp.asarray(grid), n_points, pos))
            ref = _release_breaks(pieces.astype(float), n_breaks, float(cutoff), grid, anchor)
            np.testing.assert_array_equal(got[:n_breaks], ref)
            assert np.all(got[n_breaks:] == n_points)  # unused breaks: empty segments
            if anchor == "last":  # Down-Down: the cutoff index lies in the final segment
                assert got[n_breaks - 1] <= np.searchsorted(grid, cutoff)


def _one_segment(kind, **params):
    k = jnp.asarray
    return SegmentTable(
        kind=k([kind]),
        starts=jnp.zeros((0,), jnp.int32),
        m3_gamma=k([params.get("gamma", 1.0)]),
        m3_c=k([params.get("c3", 0.1)]),
        m4_alpha=k([params.get("alpha", 1.0)]),
        m4_beta=k([params.get("beta", 0.3)]),
        m4_c=k([params.get("c4", -1.0)]),
        y0=k([params["y0"]]),
        y1=k([params["y1"]]),
        up_b=k(2.0),
        up_g=k(1.0),
        up_slope=k(0.1),
    )


@pytest.mark.parametrize(
    "kind, params",
    [
        (M3, {"gamma": 0.5, "c3": 0.13}),
        (M3, {"gamma": 7.0, "c3": 0.004}),  # nearly flat: the naive Norm cancels in float32
        (M4, {"alpha": 1.3, "beta": 0.4, "c4": -0.8}),
        (M4, {"alpha": 0.3, "beta": 3.0, "c4": -2.5}),  # saturates near w = 1 at small x
    ],
)
def test_norm_of_m3_and_m4_matches_float64_reference(kind, params):
    rng = np.random.default_rng(4)
    grid = np.sort(np.r_[0.01, 1.0, rng.uniform(0.01, 1.0, 98)])
    y0, y1 = 0.9, 0.25
    with jax.enable_x64(True):
        if kind == M3:
            raw = np.asarray(m3(grid, 1.0, params["gamma"], params["c3"]))
        else:
            raw = np.asarray(m4(grid, 0.0, 1.0, params["alpha"], params["beta"], params["c4"]))
    ref = y1 + (y0 - y1) * (raw - raw[-1]) / (raw[0] - raw[-1])
    table = _one_segment(kind, y0=y0, y1=y1, **params)
    got = np.asarray(jax.jit(assemble_curve, static_argnames="fast_m4")(grid, 100, table))
    np.testing.assert_allclose(got, ref, atol=3e-6)
    # the exact solver of scalebayes.families gives the same curve
    slow = jax.jit(assemble_curve, static_argnames="fast_m4")(grid, 100, table, fast_m4=False)
    np.testing.assert_allclose(got, np.asarray(slow), atol=1e-6)
