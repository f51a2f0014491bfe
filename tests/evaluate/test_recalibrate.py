"""Recalibration: a scale on log y around the median, fitted by split-conformal prediction.

The reference is exact: stretching a log-normal by ``s`` around its median is the log-normal
with ``s`` times the sd (MCMCPredictive with one draw is an exact log-normal).
"""

import numpy as np
import pytest

from scalebayes.evaluate import ScaledPredictive, conformal_scale, interval_coverage
from scalebayes.inference import MCMCPredictive

MU = np.array([0.0, -1.0, 2.0])
SD = np.array([0.1, 0.3, 0.05])


def lognormal(mu, sd):
    return MCMCPredictive(loc=np.atleast_2d(mu), scale=np.atleast_2d(sd))


@pytest.mark.parametrize("s", [0.5, 1.0, 2.5])
def test_a_stretched_lognormal_is_the_lognormal_with_s_times_the_sd(s):
    got = ScaledPredictive(lognormal(MU, SD), s)
    want = lognormal(MU, s * SD)
    q = np.array([0.05, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(got.icdf(q), want.icdf(q), rtol=1e-9)
    y = np.exp(MU + 0.7 * SD)
    np.testing.assert_allclose(got.log_prob(y), want.log_prob(y), rtol=1e-9)
    assert got.log_prob(np.array([0.0, 1.0, 1.0]))[0] == -np.inf
    draws = got.sample(np.asarray([0, 1], np.uint32), 4000)
    assert draws.shape == (4000, 3) and np.all(draws > 0)
    assert np.all(np.abs(np.log(draws).std(0) / (s * SD) - 1) < 0.06)


@pytest.mark.parametrize("seed", range(4))
def test_conformal_scale_restores_coverage_on_new_curves(seed):
    rng = np.random.default_rng(seed)
    n_curves, n_targets = 200, 5

    def curves():
        mu = rng.normal(0, 1, (n_curves, n_targets))
        y = np.exp(mu + 2.0 * 0.2 * rng.standard_normal(mu.shape))  # truth: twice as wide
        return [lognormal(m, np.full(n_targets, 0.2)) for m in mu], list(y)

    reference, y_ref = curves()
    s = conformal_scale(reference, y_ref, 0.9)
    assert 1.7 < s < 2.3  # the truth is 2
    new, y_new = curves()
    before = np.mean([interval_coverage(p, y, 0.9)[0] for p, y in zip(new, y_new, strict=True)])
    after = np.mean(
        [
            interval_coverage(ScaledPredictive(p, s), y, 0.9)[0]
            for p, y in zip(new, y_new, strict=True)
        ]
    )
    assert before < 0.7  # an interval half as wide as it should be covers about 59%
    assert abs(after - 0.9) < 0.035  # 1000 targets: sd of the coverage about 0.01


def test_bad_input():
    with pytest.raises(ValueError, match="one array of targets per prediction"):
        conformal_scale([], [], 0.9)
    with pytest.raises(ValueError, match="finite and > 0"):
        ScaledPredictive(lognormal(MU, SD), 0.0)
