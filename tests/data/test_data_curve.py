"""Tests for the Curve type and the NSL-PFN x normalisation."""

import dataclasses

import numpy as np
import pytest

from scalebayes.data import Curve, CurveDataError, nslpfn_normalise_x


def _curve(**kw):
    args = {"x": [1.0, 2.0, 4.0, 8.0], "y": [4.0, 3.0, 2.5, 2.2], "name": "c"}
    return Curve(**(args | kw))


def test_curve_stores_read_only_float64_copies():
    x = np.array([1, 2, 4, 8])
    c = _curve(x=x, metadata={"k": 1})
    x[0] = 100
    assert c.x.dtype == np.float64 and c.y.dtype == np.float64
    np.testing.assert_array_equal(c.x, [1.0, 2.0, 4.0, 8.0])
    assert c.n == len(c) == 4 and c.is_context is None and c.y_scale == 1.0
    with pytest.raises(ValueError, match="read-only"):
        c.x[0] = 3.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.name = "other"  # type: ignore[misc]


def test_curve_sorts_unsorted_points_with_y_and_split():
    c = Curve([4.0, 1.0, 8.0, 2.0], [2.5, 4.0, 2.2, 3.0], "c", is_context=[1, 1, 0, 1])
    np.testing.assert_array_equal(c.x, [1.0, 2.0, 4.0, 8.0])
    np.testing.assert_array_equal(c.y, [4.0, 3.0, 2.5, 2.2])
    np.testing.assert_array_equal(c.is_context, [True, True, True, False])
    assert c.is_context.dtype == np.bool_


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"x": [1.0, 2.0, 2.0, 8.0]}, r"x must not repeat; \[2.0\]"),
        ({"x": [0.0, 2.0, 4.0, 8.0]}, r"finite and > 0; got \[0.0\]"),
        ({"x": [-1.0, 2.0, 4.0, 8.0]}, r"finite and > 0; got \[-1.0\]"),
        ({"x": [1.0, np.nan, 4.0, 8.0]}, "finite and > 0"),
        ({"y": [1.0, np.inf, 4.0, 8.0]}, r"every y must be finite; got \[inf\]"),
        (
            {"x": [5e-324, 2.0, 4.0, 8.0]},
            r"x = 4.94066e-324 is below 1e-300 in magnitude; rescale x",
        ),
        ({"y": [1.0, -1e-310, 4.0, 8.0]}, r"y = -1e-310 is below 1e-300 in magnitude; rescale y"),
        ({"x": [1.0, 2.0], "y": [3.0, 2.0]}, "at least 3 points; got 2"),
        ({"y": [1.0, 2.0, 3.0]}, "same length; got 4, 3"),
        ({"x": [[1.0, 2.0, 4.0, 8.0]]}, r"Curve.x must be 1-D; got shape \(1, 4\)"),
        ({"y": ["a", "b", "c", "d"]}, "Curve.y must be a 1-D array of real numbers"),
        ({"is_context": [True, False]}, r"shape \(4,\) like x; got shape \(2,\)"),
        ({"is_context": [0.5, 1.0, 1.0, 0.0]}, "boolean mask"),
        ({"is_context": [2, 1, 1, 0]}, "boolean mask"),
        ({"is_context": [False] * 4}, "marks no context point"),
        ({"y_scale": 0.0}, "y_scale must be finite and > 0"),
        ({"y_scale": np.nan}, "y_scale must be finite and > 0"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"dataset": None}, "dataset must be a string"),
    ],
)
def test_curve_rejects_invalid_input(kw, message):
    with pytest.raises(ValueError, match=message):
        _curve(**kw)


def test_curve_data_error_is_a_value_error():
    assert issubclass(CurveDataError, ValueError)


def test_split_properties():
    c = _curve(is_context=[True, True, True, False])
    np.testing.assert_array_equal(c.x_context, [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(c.y_context, [4.0, 3.0, 2.5])
    np.testing.assert_array_equal(c.x_target, [8.0])
    np.testing.assert_array_equal(c.y_target, [2.2])
    assert c.n_context == 3


@pytest.mark.parametrize("prop", ["x_context", "y_context", "x_target", "y_target", "n_context"])
def test_split_properties_need_a_split(prop):
    with pytest.raises(ValueError, match=r"has no context/target split: its runs are \.x and \.y"):
        getattr(_curve(), prop)


def test_with_split_returns_new_curve_and_keeps_original():
    c = _curve(metadata={"k": 1})
    s = c.with_split([1, 1, 0, 0])
    assert c.is_context is None and s is not c
    np.testing.assert_array_equal(s.x_target, [4.0, 8.0])
    assert s.metadata == {"k": 1} and s.metadata is not c.metadata
    assert s.with_split(None).is_context is None


@pytest.mark.parametrize(
    ("n", "fraction", "n_target"),
    [
        (3, 0.3, 1),
        (4, 0.3, 1),
        (10, 0.3, 3),
        (11, 0.3, 3),
        (20, 0.3, 6),
        (5, 0.01, 1),
        (3, 0.99, 2),
    ],
)
def test_with_default_split_holds_out_the_last_points(n, fraction, n_target):
    x = np.geomspace(1.0, 1e3, n)[::-1]  # given in reverse: the split is by x, not position
    c = Curve(x, 1.0 / x, "c").with_default_split(fraction)
    assert c.x_target.size == n_target
    assert c.x_context.max() < c.x_target.min()


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_with_default_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match=r"target_fraction must be a number in \(0, 1\)"):
        _curve().with_default_split(fraction)


def test_nslpfn_normalise_x_closed_form():
    x_ref = np.array([10.0, 30.0, 110.0])
    got = nslpfn_normalise_x(np.array([10.0, 60.0, 110.0, 210.0]), x_ref)
    # 0.01 + 0.99 * (x - 10) / 100
    np.testing.assert_allclose(got, [0.01, 0.505, 1.0, 1.99], rtol=1e-15)
    np.testing.assert_allclose(nslpfn_normalise_x(x_ref[:, None], x_ref)[:, 0], [0.01, 0.208, 1.0])
    np.testing.assert_allclose(_curve().pfn_x(), 0.01 + 0.99 * np.array([0, 1, 3, 7]) / 7)


@pytest.mark.parametrize(("x_ref", "message"), [([2.0, 2.0], "two distinct"), ([], "non-empty")])
def test_nslpfn_normalise_x_rejects_degenerate_reference(x_ref, message):
    with pytest.raises(ValueError, match=message):
        nslpfn_normalise_x(np.array([1.0]), np.array(x_ref))


def test_repr_is_short():
    text = repr(_curve(is_context=[1, 1, 1, 0], dataset="IC"))
    assert text == "Curve(name='c', dataset='IC', n=4, 3 context, x=[1, 8], y_scale=1)"


def test_messages_stay_one_short_line_however_many_values_are_bad():
    """A review: 5,000 NaN x made a 25,047-character message; a 2-D text array five lines."""
    many = r"got \[nan, nan, nan, nan, nan, \.\.\. \(5000 in all\)\]$"
    with pytest.raises(ValueError, match=many):
        Curve(np.r_[np.full(5000, np.nan), 1.0, 2.0, 3.0], np.ones(5003), "c")
    with pytest.raises(ValueError, match="must be a 1-D array of real numbers") as error:
        Curve(np.array([["a", "b"], ["c", "d"]]), np.ones(2), "c")
    assert "\n" not in str(error.value) and len(str(error.value)) < 200
