"""The Huber density is a proper, normalised distribution that samples what it scores.

References are independent of the implementation: numerical integration (scipy ``quad``) of
``exp(-rho_delta(z))`` written out here, and a Kolmogorov-Smirnov test of the sampler against
the distribution function, which is itself checked against ``quad``.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from scalebayes import precision
from scalebayes.compute import Huber, huber_log_normaliser, huber_loss

DELTAS = (1e-3, 0.1, 1.345, 5.0)


def rho(z, delta):
    z = abs(z)
    return 0.5 * z * z if z <= delta else delta * (z - 0.5 * delta)


def integral(f, lo, hi, breaks):
    """Integrate ``f`` over ``[lo, hi]`` split at the kinks and far into the tails."""
    points = sorted({lo, hi, *(b for b in breaks if lo < b < hi)})
    return sum(
        integrate.quad(f, a, b, epsabs=0, epsrel=1e-12, limit=200)[0]
        for a, b in itertools.pairwise(points)
    )


@pytest.mark.parametrize("delta", DELTAS)
@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (0.7, 0.02), (-3.0, 4.0)])
def test_density_integrates_to_one(delta, loc, scale):
    dist = Huber(loc, scale, delta)
    with precision("float64"):

        def pdf(x):
            return math.exp(float(dist.log_prob(jnp.float64(x))))

        # the tails decay like exp(-delta |z|): integrate to 60 / delta scales
        reach = scale * (delta + 60.0 / delta)
        edges = [loc - scale * delta, loc, loc + scale * delta]
        edges += [loc + s * scale * k / delta for s in (-1, 1) for k in (1, 5, 15, 30)]
        total = integral(pdf, loc - reach, loc + reach, edges)
    assert total == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("delta", DELTAS)
def test_normaliser_and_log_prob_match_the_written_out_density(delta):
    z_ref = integral(
        lambda z: math.exp(-rho(z, delta)), -80 / delta, 80 / delta, [-delta, 0, delta]
    )
    assert huber_log_normaliser(delta) == pytest.approx(math.log(z_ref), abs=1e-10)
    x = np.array([-50.0, -1.0, -delta / 2, 0.0, delta / 3, 2.5, 400.0])
    loc, scale = 0.25, 1.7
    with precision("float64"):
        got = np.asarray(Huber(loc, scale, delta).log_prob(jnp.asarray(x)))
    want = [-rho((v - loc) / scale, delta) - math.log(scale) - math.log(z_ref) for v in x]
    # `want` holds log z_ref from adaptive quadrature (accurate to ~1e-10, as checked above)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("delta", (1e-3, 1.0))
def test_cdf_and_variance_match_quad(delta):
    dist = Huber(0.3, 2.0, delta)
    norm = math.exp(huber_log_normaliser(delta))

    def pdf(x):
        return math.exp(-rho((x - 0.3) / 2.0, delta)) / (2.0 * norm)

    kinks = [0.3 - 2 * delta, 0.3, 0.3 + 2 * delta]
    with precision("float64"):
        for x in (-40.0, 0.3 - 2 * delta, 0.3 - delta, 0.3, 0.3 + 1.5 * delta, 7.0):
            want = (
                0.5 - integral(pdf, x, 0.3, kinks)
                if x < 0.3
                else 0.5 + integral(pdf, 0.3, x, kinks)
            )
            assert float(dist.cdf(jnp.float64(x))) == pytest.approx(want, abs=1e-10)
        reach = 2.0 * (delta + 80.0 / delta)
        second = integral(lambda x: (x - 0.3) ** 2 * pdf(x), 0.3 - reach, 0.3 + reach, kinks)
        assert float(dist.variance) == pytest.approx(second, rel=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("delta", (1e-3, 0.5, 3.0))
def test_samples_follow_the_cdf(seed, delta):
    dist = Huber(1.0, 0.5, delta)
    with precision("float64"):
        x = np.asarray(dist.sample(jax.random.key(seed), (20_000,)))
        cdf = lambda v: np.asarray(dist.cdf(jnp.asarray(v)))  # noqa: E731
        p_value = stats.kstest(x, cdf).pvalue
        in_core = int(np.sum(np.abs(x - 1.0) <= 0.5 * delta))
    # 9 independent tests of each kind: family-wise false alarm < 1e-3 each
    assert p_value > 1e-4
    assert stats.binomtest(in_core, x.size, dist.core_probability).pvalue > 1e-4


def test_huber_loss_and_batching():
    r = jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(huber_loss(r, 1.0), [1.5, 0.125, 0.0, 0.125, 1.5])
    dist = Huber(jnp.zeros((3, 1)), jnp.ones((4,)), 0.1)
    assert dist.batch_shape == (3, 4)
    assert dist.sample(jax.random.key(0), (2,)).shape == (2, 3, 4)
    assert dist.log_prob(jnp.zeros((3, 4))).shape == (3, 4)
    # a pytree: vmap over distributions works and keeps delta
    lp = jax.vmap(lambda d: d.log_prob(0.0))(Huber(jnp.zeros(5), jnp.ones(5), 0.1))
    np.testing.assert_allclose(lp, -huber_log_normaliser(0.1), rtol=1e-6)


def test_large_delta_is_gaussian():
    with precision("float64"):
        x = jnp.linspace(-3.0, 3.0, 13)
        got = Huber(0.0, 1.0, 40.0).log_prob(x)
        np.testing.assert_allclose(got, stats.norm.logpdf(np.asarray(x)), rtol=1e-12)


def test_bad_delta():
    with pytest.raises(ValueError, match="delta"):
        Huber(0.0, 1.0, 0.0)
    with pytest.raises(TypeError, match="delta"):  # a traced delta has no value to check
        jax.jit(lambda d: Huber(0.0, 1.0, d).delta)(0.1)
    assert Huber(0.0, 1.0, jnp.array(0.1)).delta == pytest.approx(0.1)  # a concrete 0-d array
    assert Huber(0.0, 1.0, np.float32(1e-3)).delta == pytest.approx(1e-3)
