"""``benchmarks/quantile_recal.py``: its coverage grid and weighted quantile, against
brute force."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import quantile_recal


def test_coverage_grid_is_the_mean_over_curves_of_the_share_inside():
    rng = np.random.default_rng(0)
    pits = [rng.uniform(size=n) for n in (1, 3, 7)] + [np.array([0.25, 0.5, 0.5])]
    grid = np.round(np.arange(0.0, 1.0001, 0.125), 6)
    got = quantile_recal.coverage_grid(pits, grid)
    for i, a in enumerate(grid):
        for j, b in enumerate(grid):
            shares = [np.mean((p >= a) & (p <= b)) for p in pits]
            want = np.mean(shares) if a <= b else 0.0
            assert abs(got[i, j] - want) < 1e-12, (a, b)


def test_weighted_quantile_repeats_by_weight():
    values = np.array([0.3, 0.1, 0.9, 0.5])
    weights = np.array([1.0, 2.0, 1.0, 4.0])
    repeated = np.repeat(values, weights.astype(int))  # 0.3, 0.1 0.1, 0.9, 0.5 x4
    for q in (0.05, 0.2, 0.3, 0.5, 0.9, 0.95, 1.0):
        want = np.sort(repeated)[int(np.ceil(q * repeated.size)) - 1]
        assert quantile_recal.weighted_quantile(values, weights, q) == want, q
