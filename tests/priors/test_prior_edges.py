"""Edges of the priors found in review: keys, integer types and a concrete length."""

import jax
import numpy as np
import pytest
from numpyro import handlers

from scalebayes.families import get_family
from scalebayes.priors import (
    down_prior,
    plot_prior_predictive,
    sample_curves,
    sample_scalefree_curves,
)


@pytest.mark.parametrize(
    "call",
    [
        lambda: sample_curves(0, 4, length=20),
        lambda: sample_scalefree_curves(0, 4),
        lambda: plot_prior_predictive(0, 2),
    ],
)
def test_an_integer_key_says_what_to_pass(call):
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key such as jax.random.key\(0\)"):
        call()


@pytest.mark.parametrize("length", [2, 20])
def test_a_concrete_length_outside_the_grid_is_refused(length):
    model = handlers.seed(down_prior, jax.random.key(0))
    with pytest.raises(ValueError, match="length must be between 3 and len\\(x\\) = 10"):
        model(x=np.linspace(0.01, 1.0, 10), length=length)


def test_integer_arguments_take_numpy_integers_and_refuse_bools():
    assert get_family("bnsl", n_breaks=np.int64(2)) == get_family("bnsl", n_breaks=2)
    with pytest.raises(ValueError, match="n_breaks"):
        get_family("bnsl", n_breaks=True)
