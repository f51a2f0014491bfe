"""Edges of the metrics and recalibration found in review."""

import numpy as np
import pytest

from scalebayes.evaluate import GaussianPredictive, conformal_scale, crps, summarise

PRED = GaussianPredictive([1.0, 2.0, 3.0], 0.3)


@pytest.mark.parametrize(
    "predictions, ys, error, message",
    [
        ([PRED], [[1.1]], ValueError, "curve 0 has 1 targets but its prediction 3"),
        ([PRED], [[1.1, 2, 3, 4]], ValueError, "curve 0 has 4 targets"),
        ([object()], [[1.0]], TypeError, "not a predictive distribution"),
        ([PRED], [[1.0, -2.0, 3.0]], ValueError, "target <= 0"),
        ([PRED], [[1.0, 2.0, 3.0]], ValueError, "are covered at any scale"),
        # a review: a NaN in one of many reference curves was not traced to its curve
        ([PRED, PRED], [[1.1, 2, 3], [1.0, np.nan, 3]], ValueError, "curve 1: `y` must be fin"),
    ],
)
def test_conformal_scale_checks_its_inputs(predictions, ys, error, message):
    with pytest.raises(error, match=message):
        conformal_scale(predictions, ys)


def test_summarise_neither_overflows_nor_invents_a_nan():
    assert summarise([1.7e308, 1.7e308]) == (1.7e308, 0.0)
    assert summarise([-np.inf]) == (-np.inf, 0.0)  # one value: no spread (a valid LL)
    mean, std = summarise([-np.inf, 2.0])
    assert mean == -np.inf and std == np.inf
    mean, std = summarise([1.0, 2.0, 4.0])
    assert mean == pytest.approx(7 / 3) and std == pytest.approx(np.std([1.0, 2.0, 4.0]))
    # as documented (a review found (nan, inf) and (nan, 0.0) here)
    assert all(np.isnan(v) for v in summarise([np.inf, -np.inf]))
    assert all(np.isnan(v) for v in summarise([np.nan]))
    assert all(np.isnan(v) for v in summarise([np.nan, 1.0]))


def test_numpy_integers_are_integers():
    assert crps(PRED, [1.0, 2.0, 3.0], n_quantiles=np.int64(20)) == pytest.approx(
        crps(PRED, [1.0, 2.0, 3.0], n_quantiles=20)
    )


class _Bounds(GaussianPredictive):
    """A predictive whose intervals are given outright (NaN or inverted ones)."""

    def __init__(self, lower, upper):
        super().__init__([1.0, 2.0], 0.3)
        object.__setattr__(self, "_bounds", (np.asarray(lower), np.asarray(upper)))

    def interval(self, level):
        return self._bounds


@pytest.mark.parametrize(
    ("lower", "upper", "message"),
    [
        ([np.nan, 1.5], [2.0, 2.5], "returned NaN bounds"),
        ([2.0, 1.5], [0.5, 2.5], "a lower bound above the upper one at target 0"),
    ],
)
def test_intervals_that_are_not_intervals_are_not_scored(lower, upper, message):
    """They used to score as coverage with a NaN or negative width."""
    from scalebayes.evaluate import interval_coverage, msce, score_curve

    pred, y = _Bounds(lower, upper), np.array([1.0, 2.0])
    for score in (
        lambda: interval_coverage(pred, y, 0.9),
        lambda: crps(pred, y),
        lambda: msce(pred, y),
        lambda: score_curve(pred, y),
    ):
        with pytest.raises(ValueError, match=message):
            score()


@pytest.mark.parametrize("k", [1e-170, 1e200])
def test_sample_predictive_reads_draws_at_any_magnitude(k):
    """A review: the bandwidth's squared deviations underflowed near 1e-170 (three distinct
    draws refused as all equal) and overflowed near 1e200 (log_prob -inf at the median)."""
    from scalebayes.evaluate import SamplePredictive

    draws = np.array([[1.0], [2.0], [3.0]])
    unit, scaled = SamplePredictive(draws), SamplePredictive(k * draws)
    np.testing.assert_allclose(scaled.bandwidth, k * unit.bandwidth, rtol=1e-12)
    np.testing.assert_allclose(
        scaled.log_prob([2.0 * k]), unit.log_prob([2.0]) - np.log(k), rtol=1e-12
    )
