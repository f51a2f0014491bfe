"""Edges of the data layer found in review: far-split arguments and hand-built curves."""

import numpy as np
import pytest

from scalebayes.data import Curve, far_split, load_far_benchmark, read_curves_csv

X = np.logspace(0, 3, 31)
CURVE = Curve(X, 2 * X**-0.3, "c")


def test_a_factor_just_above_the_target_span_is_refused_not_split_twice():
    with pytest.raises(ValueError, match="factor must exceed 10\\*\\*target_decades"):
        far_split(CURVE, 10**0.5 * (1 + 1e-11))
    far = far_split(CURVE, 10.0)  # the usual split: context and targets disjoint
    assert far is not None and np.intersect1d(far.x_context, far.x_target).size == 0


@pytest.mark.parametrize(
    "target_decades, error, message",
    [(400, ValueError, "factor must exceed"), ("0.5", TypeError, "target_decades must be a real")],
)
def test_target_decades_is_checked_before_it_is_used(target_decades, error, message):
    with pytest.raises(error, match=message):
        far_split(CURVE, 10, target_decades=target_decades)
    with pytest.raises(error, match=message):
        load_far_benchmark("nano", 10, target_decades=target_decades)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y_scale": None}, "y_scale must be a number > 0"),
        ({"metadata": None}, "metadata must be a dict"),
        ({"x": np.array([1.0, 2.0, 3.0]) + 1j}, "real numbers"),
    ],
)
def test_a_hand_built_curve_names_the_bad_field(kwargs, message):
    fields = {"x": [1.0, 2.0, 3.0], "y": [3.0, 2.0, 1.0], "name": "c", **kwargs}
    with pytest.raises(ValueError, match=message):
        Curve(**fields)


def test_default_split_fraction_must_be_a_number():
    with pytest.raises(ValueError, match="target_fraction must be a number in"):
        CURVE.with_default_split("0.3")


def test_numpy_integers_are_integers(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("x,y\n1,3\n2,2\n3,1\n")
    assert read_curves_csv(path, min_points=np.int64(3))[0].n == 3
