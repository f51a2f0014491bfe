"""``calibrated_msce``: the MSCE of a predictive against its own joint draws, checked row by row
against ``msce`` and against the closed forms for perfectly correlated and independent targets."""

import numpy as np
import pytest

from scalebayes.evaluate import MSCE_LEVELS, GaussianPredictive, calibrated_msce, msce

LEVELS = np.array(MSCE_LEVELS)


def test_each_path_scores_what_msce_scores_against_it():
    rng = np.random.default_rng(0)
    pred = GaussianPredictive(mean=np.linspace(1.0, 2.0, 9), std=np.linspace(0.1, 0.5, 9))
    paths = pred.loc + pred.std * rng.standard_normal((25, 9)) * 1.3
    got = calibrated_msce(pred, paths)
    assert got.shape == (25,)
    np.testing.assert_array_equal(got, [msce(pred, p) for p in paths])
    levels = (0.5, 0.9)
    np.testing.assert_array_equal(
        calibrated_msce(pred, paths, levels), [msce(pred, p, levels) for p in paths]
    )


def test_targets_that_move_together_score_mean_level_times_one_minus_level():
    """One standard normal per path shared by all 50 targets: each level's coverage is 0 or
    1 with probability the level, so E[MSCE] = mean(l (1 - l)) = 0.144 (20,000 paths; the
    per-path MSCE lies in [0, 0.15], so the standard error of the mean is below 0.001)."""
    rng = np.random.default_rng(1)
    pred = GaussianPredictive(mean=np.zeros(50), std=1.0)
    paths = np.repeat(rng.standard_normal((20_000, 1)), 50, axis=1)
    expected = float(np.mean(LEVELS * (1 - LEVELS)))
    assert expected == pytest.approx(0.1439, abs=1e-4)
    assert np.mean(calibrated_msce(pred, paths)) == pytest.approx(expected, abs=0.005)
    # Intervals twice too wide: coverage is P(|z| <= 2 q_l), and the MSCE is lower.
    wide = GaussianPredictive(mean=np.zeros(50), std=2.0)
    assert np.mean(calibrated_msce(wide, paths)) < expected - 0.03


def test_independent_targets_score_near_zero():
    rng = np.random.default_rng(2)
    pred = GaussianPredictive(mean=np.zeros(2000), std=1.0)
    paths = rng.standard_normal((200, 2000))
    # coverage of 2000 independent targets has sd <= 0.0112, so E[MSCE] <= 1.3e-4
    assert np.mean(calibrated_msce(pred, paths)) < 5e-4


@pytest.mark.parametrize(
    ("paths", "match"),
    [
        (np.zeros((3, 4)), r"must be \(n_paths, 5\)"),
        (np.zeros(5), "must be a 2-D array"),
        (np.full((2, 5), np.nan), "must be finite"),
    ],
)
def test_bad_paths_get_one_line_errors(paths, match):
    pred = GaussianPredictive(mean=np.zeros(5), std=1.0)
    with pytest.raises(ValueError, match=match):
        calibrated_msce(pred, paths)
