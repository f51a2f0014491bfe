"""JoinedPredictive: each target answered by its part, against the parts themselves."""

import jax
import numpy as np
import pytest
import scipy.stats as st

from scalebayes.evaluate import GaussianPredictive, JoinedPredictive

A = GaussianPredictive(np.array([1.0, 2.0]), np.array([0.1, 0.2]))
B = GaussianPredictive(np.array([3.0]), np.array([0.3]))
# targets 0 and 2 from A, target 1 from B
JOINED = JoinedPredictive([A, B], [[0, 2], [1]])
MEAN, SD = np.array([1.0, 3.0, 2.0]), np.array([0.1, 0.3, 0.2])


def test_every_per_target_question_is_its_parts():
    q = np.array([0.05, 0.5, 0.9])
    np.testing.assert_allclose(JOINED.quantile(q), st.norm.ppf(q[:, None], MEAN, SD), rtol=1e-9)
    np.testing.assert_allclose(JOINED.median(), MEAN, rtol=1e-12)
    y = np.array([1.05, 2.8, 2.1])
    np.testing.assert_allclose(JOINED.log_prob(y), st.norm.logpdf(y, MEAN, SD), rtol=1e-9)
    np.testing.assert_allclose(JOINED.cdf(y), st.norm.cdf(y, MEAN, SD), rtol=1e-9)
    ys = np.stack([y, y + 0.1])
    np.testing.assert_allclose(JOINED.cdf(ys), st.norm.cdf(ys, MEAN, SD), rtol=1e-9)
    np.testing.assert_allclose(JOINED.mean(), MEAN)
    assert JOINED.n_targets == 3


def test_draws_place_each_parts_draws_at_its_targets():
    draws = JOINED.sample(jax.random.PRNGKey(0), (4000,))
    assert draws.shape == (4000, 3)
    np.testing.assert_allclose(draws.mean(0), MEAN, atol=5 * 0.3 / np.sqrt(4000))  # 5 sd
    np.testing.assert_allclose(draws.std(0), SD, rtol=0.06)
    again = JOINED.sample(jax.random.PRNGKey(0), (4000,))
    np.testing.assert_array_equal(draws, again)  # the key decides


@pytest.mark.parametrize(
    ("parts", "index", "error", "message"),
    [
        ([], [], ValueError, "at least one part"),
        ([A, "b"], [[0, 2], [1]], TypeError, "parts must be Predictives, got str"),
        ([A, B], [[0, 2]], ValueError, "one index per part: 2 parts, 1 indices"),
        ([A, B], [[0], [1]], ValueError, "1 positions for a part of 2 targets"),
        ([A, B], [[0, 1], [1]], ValueError, "cover the targets 0 .. n - 1, each once"),
        ([A, B], [[0, 3], [1]], ValueError, "cover the targets 0 .. n - 1, each once"),
        ([A, B], [[0.0, 2.0], [1]], ValueError, "index 0 must hold integers, got float64"),
    ],
)
def test_bad_parts(parts, index, error, message):
    with pytest.raises(error, match=message):
        JoinedPredictive(parts, index)
