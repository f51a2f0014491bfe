"""Parameter specifications: registry lookup, named evaluation, defaults and BNSL specs."""

import re

import jax
import numpy as np
import pytest

from scalebayes.families import (
    FAMILIES,
    Family,
    Param,
    bnsl,
    bnsl_family,
    get_family,
    m1,
    m2,
    m3,
    m4,
    power_law,
)

X = np.geomspace(1e3, 1e9, 13)


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def test_registry_names_and_functions():
    assert set(FAMILIES) == {"m1", "m2", "m3", "m4", "bnsl", "power_law"}
    expected = {"m1": m1, "m2": m2, "m3": m3, "m4": m4, "bnsl": bnsl, "power_law": power_law}
    for name, fam in FAMILIES.items():
        assert isinstance(fam, Family)
        assert fam.name == name
        assert fam.fn is expected[name]
    assert FAMILIES["m1"].param_names == ("beta", "c")
    assert FAMILIES["m2"].param_names == ("eps_inf", "beta", "c")
    assert FAMILIES["m3"].param_names == ("beta", "gamma", "c")
    assert FAMILIES["m4"].param_names == ("eps_inf", "eps_0", "alpha", "beta", "c")
    assert FAMILIES["power_law"].param_names == ("a", "alpha")
    assert FAMILIES["bnsl"].n_breaks == 1


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        FAMILIES["m5"] = FAMILIES["m1"]  # type: ignore[index]


def test_get_family_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown family 'm9'") as info:
        get_family("m9")
    for name in FAMILIES:
        assert repr(name) in str(info.value)
    # a review: n_breaks beside a family without breaks was ignored
    with pytest.raises(ValueError, match="n_breaks is for bnsl; m4 has no breaks"):
        get_family("m4", n_breaks=1)


@pytest.mark.parametrize(
    ("alias", "name"), [("M4", "m4"), ("power-law", "power_law"), ("BNSL", "bnsl")]
)
def test_get_family_case_and_dash_insensitive(alias, name):
    assert get_family(alias) is FAMILIES[name]


def test_get_family_n_breaks():
    assert get_family("bnsl", n_breaks=2).param_names == bnsl_family(2).param_names
    assert get_family("bnsl").n_breaks == 1
    with pytest.raises(ValueError, match="n_breaks"):
        get_family("bnsl", n_breaks=9)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 8])
def test_bnsl_family_param_names(n):
    fam = bnsl_family(n)
    expected = ["a", "b", "c0"]
    for i in range(1, n + 1):
        expected += [f"c{i}", f"d{i}", f"f{i}"]
    assert fam.param_names == tuple(expected)
    assert fam.n_breaks == n
    assert fam.name == "bnsl"


@pytest.mark.parametrize("bad", [-1, 9, 1.0, "2", None])
def test_bnsl_family_rejects_bad_break_counts(bad):
    with pytest.raises(ValueError, match="n_breaks"):
        bnsl_family(bad)


def test_missing_and_unknown_params_raise_key_error_naming_them():
    fam = FAMILIES["m2"]
    with pytest.raises(KeyError) as info:
        fam(X, {"eps_inf": 0.1, "beta": 2.0})
    assert "'c'" in str(info.value) and "missing ['c']" in str(info.value)
    with pytest.raises(KeyError) as info:
        fam(X, {"eps_inf": 0.1, "beta": 2.0, "c": -0.3, "gamma": 1.0})
    assert "unknown ['gamma']" in str(info.value)
    with pytest.raises(KeyError, match=re.escape("missing ['f1']")):
        bnsl_family(1)(X, {"a": 0.0, "b": 1.0, "c0": 0.1, "c1": 0.2, "d1": 1e5})


def test_call_by_name_equals_positional():
    params = {"eps_inf": 0.2, "eps_0": 0.9, "alpha": 1.5, "beta": 1e3, "c": -0.6}
    # dict order does not matter
    shuffled = dict(reversed(list(params.items())))
    np.testing.assert_array_equal(
        np.asarray(FAMILIES["m4"](X, shuffled)), np.asarray(m4(X, 0.2, 0.9, 1.5, 1e3, -0.6))
    )
    np.testing.assert_allclose(
        np.asarray(FAMILIES["m3"](X, {"beta": 2.0, "gamma": 1e-6, "c": 0.3})),
        2.0 * (1 / X + 1e-6) ** 0.3,
        rtol=1e-13,
    )


def test_bnsl_call_by_name_against_numpy():
    p = {"a": 0.1, "b": 4.0, "c0": 0.1, "c1": 0.3, "d1": 1e4, "f1": 0.4, "c2": -0.2}
    p |= {"d2": 1e7, "f2": 0.2}
    body = p["b"] * X ** (-p["c0"])
    for i in (1, 2):
        body = body * (1 + (X / p[f"d{i}"]) ** (1 / p[f"f{i}"])) ** (-p[f"c{i}"] * p[f"f{i}"])
    np.testing.assert_allclose(np.asarray(bnsl_family(2)(X, p)), p["a"] + body, rtol=1e-12)
    # zero breaks: a + b x^-c0
    np.testing.assert_allclose(
        np.asarray(bnsl_family(0)(X, {"a": 0.3, "b": 5.0, "c0": 0.25})),
        0.3 + 5.0 * X**-0.25,
        rtol=1e-13,
    )


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_defaults_round_trip_to_a_falling_curve(name):
    fam = FAMILIES[name]
    d = fam.defaults()
    assert tuple(d) == fam.param_names
    y = np.asarray(fam(X, d))
    assert y.shape == X.shape and np.all(np.isfinite(y)) and np.all(y > 0)
    assert np.all(np.diff(y) < 0), "defaults should describe a falling curve over 1e3..1e9"
    # the defaults satisfy their own constraints
    for p in fam.params:
        v = d[p.name]
        assert {"positive": v > 0, "nonnegative": v >= 0, "negative": v < 0, "real": True}[
            p.constraint
        ], (name, p.name, v)


@pytest.mark.parametrize("n", [0, 2, 3])
def test_bnsl_defaults_round_trip(n):
    fam = bnsl_family(n)
    y = np.asarray(fam(X, fam.defaults()))
    assert np.all(np.isfinite(y)) and np.all(y > 0) and np.all(np.diff(y) < 0)


def test_param_rejects_unknown_constraint():
    with pytest.raises(ValueError, match="constraint of 'k'"):
        Param("k", "bounded", 0.0)
