"""Property-based tests of the predictor: any valid curve gives finite, non-negative,
monotone answers at every magnitude; any invalid argument gives an error that names it."""

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalebayes.pfn import PFN

LEVELS = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def pfn():
    return PFN.load("nslpfn-small")


@st.composite
def curves(draw):
    """A valid curve: 2..40 context x > 0 in 1e-3..1e12, y >= 0 in 1e-8..1e8, 2 queries."""
    n = draw(st.integers(2, 40))
    lo = draw(st.floats(-3.0, 11.5))
    span = draw(st.floats(1e-3, 12.0 - lo))
    # distinct x (a repeated x is refused: tests/pfn/test_stack.py), gaps within 100x
    gaps = np.cumsum(draw(st.lists(st.floats(0.01, 1.0), min_size=n - 1, max_size=n - 1)))
    x = 10.0 ** (lo + span * np.array([0.0, *gaps]) / gaps[-1])
    x = draw(st.permutations(list(x)))
    x = np.asarray(x)
    beyond = draw(st.lists(st.floats(1e-3, 2.0), min_size=2, max_size=2))
    x_query = x.max() * 10.0 ** np.asarray(beyond)
    magnitude = 10.0 ** draw(st.floats(-8.0, 8.0))
    kind = draw(st.sampled_from(["zeros", "constant", "power law", "arbitrary"]))
    if kind == "zeros":
        y = np.zeros(n)
    elif kind == "constant":
        y = np.full(n, magnitude)
    elif kind == "power law":
        alpha = draw(st.floats(0.0, 1.5))
        floor = draw(st.floats(0.0, 1.0))
        y = magnitude * (floor + (x / x.min()) ** -alpha)
    else:
        y = magnitude * np.asarray(
            draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)), np.float64
        )
    return x, y, x_query


def _check_distribution(pred, n_queries):
    qs = pred.quantile(LEVELS)
    assert qs.shape == (len(LEVELS), n_queries)
    values = {
        "quantile": qs,
        "median": pred.median(),
        "mean": pred.mean(),
        "sample": pred.sample(jax.random.PRNGKey(0), 64),
    }
    lower, upper = pred.interval(0.9)
    values |= {"interval lower": lower, "interval upper": upper}
    for name, value in values.items():
        assert np.all(np.isfinite(value)), (name, value)
        assert np.all(value >= 0), (name, value)
    assert np.all(np.diff(qs, axis=0) >= 0), qs
    np.testing.assert_array_equal(qs[3], pred.median())
    assert np.all(np.isfinite(pred.log_prob(pred.median())))


@pytest.mark.filterwarnings("ignore::scalebayes.pfn.ReachWarning")  # any query, any distance
@SETTINGS
@given(curve=curves(), k=st.floats(-6.0, 6.0))
@pytest.mark.filterwarnings("ignore::scalebayes.pfn.SpanWarning")  # a wide curve: windowed
def test_valid_curves_give_finite_nonnegative_monotone_answers(pfn, curve, k):
    x, y, x_query = curve
    pred = pfn.predict(x, y, x_query)
    _check_distribution(pred, x_query.size)
    # scale equivariance: multiplying y by k multiplies every quantile by k (k y = y if y = 0)
    k = 10.0**k if y.max() > 0 else 1.0
    scaled = pfn.predict(x, k * y, x_query)
    np.testing.assert_allclose(
        scaled.quantile(LEVELS), k * pred.quantile(LEVELS), rtol=1e-4, atol=1e-6 * k * pred.y_scale
    )


def _corrupt(kind, value, rng):
    value = np.array(value, dtype=np.float64)
    i = int(rng.integers(value.size))
    if kind in ("nan", "inf", "-inf", "negative", "zero"):
        value[i] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "negative": -1.0, "zero": 0}[
            kind
        ]
        return value
    return {
        "2-D": value[None, :],
        "scalar": value[0],
        "empty": value[:0],
        "shorter": value[:-1] if value.size > 1 else value[:0],
        "string": "1, 2, 3",
        "strings": [str(v) for v in value],
        "none": None,
        "complex": value + 1j,
    }[kind]


KINDS = ["nan", "inf", "-inf", "negative", "zero", "2-D", "scalar", "empty", "shorter"]
KINDS += ["string", "strings", "none", "complex"]


@SETTINGS
@given(
    curve=curves(),
    argument=st.sampled_from(["x_context", "y_context", "x_query"]),
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_invalid_arguments_get_an_error_that_names_them(pfn, curve, argument, kind, seed):
    x, y, x_query = curve
    if kind == "zero" and argument == "y_context":
        kind = "negative"  # y = 0 is valid
    if kind == "shorter" and argument == "x_query":
        kind = "empty"  # x_query may have any length >= 1
    args = {"x_context": x, "y_context": y, "x_query": x_query}
    args[argument] = _corrupt(kind, args[argument], np.random.default_rng(seed))
    with pytest.raises((ValueError, TypeError), match=argument):
        pfn.predict(args["x_context"], args["y_context"], args["x_query"])


@pytest.mark.parametrize(
    ("y_scale", "error"),
    [
        ("max", ValueError),
        (-1.0, ValueError),
        (0.0, ValueError),
        (np.nan, ValueError),
        (np.inf, ValueError),
        (None, TypeError),
        (True, TypeError),
        (1e-9, ValueError),
    ],
)
def test_invalid_y_scale_gets_an_error_that_names_it(pfn, y_scale, error):
    x = np.geomspace(1.0, 100.0, 8)
    with pytest.raises(error, match="y_scale"):
        pfn.predict(x, 1 + x**-0.5, [200.0], y_scale=y_scale)
