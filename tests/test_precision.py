"""The precision policy: one switch (``scalebayes.precision``), solvers always in float64."""

import jax
import numpy as np
import pytest

import scalebayes
from scalebayes import families
from scalebayes.inference import fit_curves

X = np.geomspace(1e6, 1e9, 12)
TRUTH = dict(eps_inf=0.15, eps_0=0.95, alpha=1.0, beta=4e5, c=-0.8)


def test_the_switch_sets_the_families_dtype_and_nests():
    assert families.m4(X, **TRUTH).dtype == np.float32  # JAX's default
    with scalebayes.precision("float64") as chosen:
        assert chosen == "float64"
        assert families.m4(X, **TRUTH).dtype == np.float64
        with scalebayes.precision("float32"):
            assert families.m4(X, **TRUTH).dtype == np.float32
        assert families.m4(X, **TRUTH).dtype == np.float64
    assert families.m4(X, **TRUTH).dtype == np.float32
    assert not jax.config.jax_enable_x64  # the global configuration is untouched


def test_the_switch_is_restored_after_an_error():
    with pytest.raises(RuntimeError), scalebayes.precision("float64"):
        raise RuntimeError("boom")
    assert families.m4(X, **TRUTH).dtype == np.float32


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="'float32' or 'float64'"), scalebayes.precision("bf16"):
        pass


def test_solvers_run_in_float64_whatever_the_switch_says():
    with scalebayes.precision("float64"):
        y = np.asarray(families.m4(X, **TRUTH), np.float64)
    outside = fit_curves("m4", [X], [y])[0]
    with scalebayes.precision("float32"):
        inside = fit_curves("m4", [X], [y])[0]
    assert inside.params == outside.params and inside.loss == outside.loss
    # float64 accuracy: a noise-free curve is fitted to far below float32's resolution
    assert outside.loss < 1e-14
    assert outside.predict(X).dtype == np.float64
