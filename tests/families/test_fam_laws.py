"""Closed-form scaling-law families against independent numpy / mpmath references.

Every reference below is written out from the formulas in FAMILIES.md (Alabdulmohsin et al.
2022; Caballero et al. 2023), not taken from the code under test. Gradients are checked
against central finite differences in float64.
"""

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest

from scalebayes.families import bnsl, m1, m2, m3, m4, power_law

X = np.geomspace(1.0, 1e12, 37)


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _np(a):
    out = np.asarray(a)
    assert out.dtype == np.float64
    return out


# ---------------------------------------------------------------------------------------------
# closed forms


@pytest.mark.parametrize(("beta", "c"), [(3.0, -0.2), (0.5, -1.3), (2.0, 0.4), (1e4, -0.05)])
def test_m1_matches_numpy(beta, c):
    np.testing.assert_allclose(_np(m1(X, beta, c)), beta * X**c, rtol=1e-13)


@pytest.mark.parametrize(
    ("eps_inf", "beta", "c"), [(0.5, 20.0, -0.3), (0.0, 3.0, -0.1), (2.0, 1e-2, -1.5)]
)
def test_m2_matches_numpy(eps_inf, beta, c):
    np.testing.assert_allclose(_np(m2(X, eps_inf, beta, c)), eps_inf + beta * X**c, rtol=1e-13)


@pytest.mark.parametrize(
    ("beta", "gamma", "c"),
    [(2.0, 1e-7, 0.15), (0.7, 1e-3, 0.5), (5.0, 10.0, 1.2), (1.0, 1e-12, 0.05)],
)
def test_m3_matches_numpy(beta, gamma, c):
    np.testing.assert_allclose(
        _np(m3(X, beta, gamma, c)), beta * (1.0 / X + gamma) ** c, rtol=1e-13
    )


@pytest.mark.parametrize(("beta", "c"), [(2.0, 0.3), (0.1, 1.0)])
def test_m3_gamma_zero_is_power_law(beta, c):
    # gamma = 0: beta (1/x)^c = beta x^-c, also at extreme x where 1/x under/overflows.
    x = np.geomspace(1e-30, 1e30, 61)
    np.testing.assert_allclose(_np(m3(x, beta, 0.0, c)), beta * x ** (-c), rtol=1e-12)


def test_m3_limits():
    # small x: beta x^-c (1 + gamma x)^c -> beta x^-c; large x: -> beta gamma^c (flat).
    beta, gamma, c = 1.5, 1e-6, 0.4
    assert _np(m3(1e-3, beta, gamma, c)) == pytest.approx(beta * 1e3**c, rel=1e-8)
    assert _np(m3(1e30, beta, gamma, c)) == pytest.approx(beta * gamma**c, rel=1e-12)


@pytest.mark.parametrize(("a", "alpha"), [(3.0, 0.2), (0.01, 1.5)])
def test_power_law_matches_numpy_and_m1(a, alpha):
    y = _np(power_law(X, a, alpha))
    np.testing.assert_allclose(y, a * X ** (-alpha), rtol=1e-13)
    np.testing.assert_allclose(y, _np(m1(X, a, -alpha)), rtol=1e-15)


def _bnsl_numpy(x, a, b, c0, c, d, f):
    x = np.asarray(x, dtype=np.float64)
    body = b * x ** (-c0)
    for ci, di, fi in zip(c, d, f, strict=True):
        body = body * (1.0 + (x / di) ** (1.0 / fi)) ** (-ci * fi)
    return a + body


def test_bnsl_zero_breaks_is_m2_like():
    a, b, c0 = 0.3, 5.0, 0.25
    empty = np.zeros(0)
    y = _np(bnsl(X, a, b, c0, empty, empty, empty))
    np.testing.assert_allclose(y, a + b * X ** (-c0), rtol=1e-13)
    np.testing.assert_allclose(y, _np(m2(X, a, b, -c0)), rtol=1e-13)


@pytest.mark.parametrize(
    ("a", "b", "c0", "c1", "d1", "f1"),
    [
        (0.1, 5.0, 0.1, 0.3, 1e6, 0.5),
        (0.0, 2.0, 0.05, 1.0, 1e4, 0.1),
        (0.41388, 2.27727, 0.055077, 5.66290, 612.584, 0.059193),  # published addition fit
        (0.2, 3.0, 0.4, -0.8, 1e5, 0.3),  # c1 < 0: falls, then rises (double descent)
    ],
)
def test_bnsl_one_break_matches_numpy(a, b, c0, c1, d1, f1):
    x = np.geomspace(1.0, 1e9, 55)
    ref = _bnsl_numpy(x, a, b, c0, [c1], [d1], [f1])
    got = _np(bnsl(x, a, b, c0, np.array([c1]), np.array([d1]), np.array([f1])))
    np.testing.assert_allclose(got, ref, rtol=1e-11)


def test_bnsl_negative_break_is_non_monotone():
    x = np.geomspace(1.0, 1e10, 200)
    y = _np(bnsl(x, 0.2, 3.0, 0.4, np.array([-0.8]), np.array([1e5]), np.array([0.3])))
    dy = np.diff(y)
    # the log-log slope goes from -c0 = -0.4 to -(c0 + c1) = +0.4
    assert (dy[:20] < 0).all() and (dy[-20:] > 0).all()
    i_min = int(np.argmin(y))
    assert 1e4 < x[i_min] < 1e6


def test_bnsl_two_breaks_matches_numpy():
    c, d, f = np.array([0.3, -0.2]), np.array([1e4, 1e7]), np.array([0.4, 0.2])
    ref = _bnsl_numpy(X, 0.05, 4.0, 0.1, c, d, f)
    np.testing.assert_allclose(_np(bnsl(X, 0.05, 4.0, 0.1, c, d, f)), ref, rtol=1e-11)


def test_bnsl_break_arrays_must_agree():
    """A review: d = [1e7] beside two c and f put both breaks at 1e7 without a word, and
    three c beside two d raised a broadcasting error from deep in JAX."""
    for c, d, f in (([0.2, 0.1], [1e7], [0.5, 0.5]), ([0.2, 0.1, 0.1], [1e4, 1e7], [0.5, 0.5])):
        with pytest.raises(ValueError, match=r"their last axes must agree; got c .*, d .*, f"):
            bnsl(X, 0.1, 2.0, 0.1, np.array(c), np.array(d), np.array(f))
        with pytest.raises(ValueError, match="their last axes must agree"):  # under jit too
            jax.jit(bnsl)(X, 0.1, 2.0, 0.1, np.array(c), np.array(d), np.array(f))


def test_bnsl_batched_parameters_broadcast():
    # a batch of 3 curves: scalars of shape (3, 1), breaks of shape (3, 1, n)
    a = np.array([0.0, 0.1, 0.2])[:, None]
    c = np.array([[0.3, 0.1], [0.5, -0.1], [0.2, 0.2]])[:, None, :]
    d = np.array([[1e3, 1e6], [1e4, 1e8], [1e5, 1e7]])[:, None, :]
    f = np.array([[0.5, 0.2], [0.1, 0.3], [1.0, 0.7]])[:, None, :]
    got = _np(bnsl(X, a, 2.0, 0.1, c, d, f))
    assert got.shape == (3, X.size)
    for i in range(3):
        ref = _bnsl_numpy(X, a[i, 0], 2.0, 0.1, c[i, 0], d[i, 0], f[i, 0])
        np.testing.assert_allclose(got[i], ref, rtol=1e-11)


def _bnsl_mpmath(x, a, b, c0, c, d, f):
    mp.mp.dps = 40
    x = mp.mpf(x)
    body = mp.mpf(b) * x ** (-mp.mpf(c0))
    for ci, di, fi in zip(c, d, f, strict=True):
        body *= (1 + (x / mp.mpf(di)) ** (1 / mp.mpf(fi))) ** (-mp.mpf(ci) * mp.mpf(fi))
    return float(mp.mpf(a) + body)


@pytest.mark.parametrize(
    "params",
    [
        (0.1, 5.0, 0.1, [0.3], [1e6], [0.5]),
        (0.0, 2.0, 0.05, [1.0], [1e4], [0.02]),  # sharp break: (x/d)^(1/f) overflows naively
        (0.0, 3.0, 0.4, [-0.8, 0.6], [1e5, 1e9], [0.3, 0.05]),
    ],
)
@pytest.mark.parametrize("x", [1e-30, 1e-10, 1.0, 1e10, 1e30])
def test_bnsl_extreme_x_finite_and_accurate(params, x):
    a, b, c0, c, d, f = params
    got = float(_np(bnsl(x, a, b, c0, np.array(c), np.array(d), np.array(f))))
    assert np.isfinite(got) and got > 0
    assert got == pytest.approx(_bnsl_mpmath(x, a, b, c0, c, d, f), rel=1e-10)


def test_float32_in_float32_out():
    x32 = np.geomspace(1e3, 1e9, 5).astype(np.float32)
    for y in (
        m1(x32, np.float32(2.0), np.float32(-0.2)),
        m3(x32, np.float32(2.0), np.float32(1e-6), np.float32(0.2)),
        m4(x32, *(np.float32(v) for v in (0.1, 1.0, 1.0, 1e3, -0.5))),
    ):
        assert y.dtype == jnp.float32


# ---------------------------------------------------------------------------------------------
# gradients against central finite differences (float64)


EPS = np.finfo(np.float64).eps


def _central_fd(fn, params, i, rel=1e-3):
    """Five-point central difference in argument ``i``, and a bound on its rounding error.

    Truncation is O((h / scale)^4) ~ 1e-12 for the smooth families here; rounding of the four
    evaluations contributes at most (1 + 8 + 8 + 1) eps |f| / (12 h) = 1.5 eps |f| / h.
    """
    p = [np.float64(v) for v in params]
    h = rel * abs(p[i]) if p[i] != 0 else rel

    def at(k):
        q = list(p)
        q[i] = p[i] + k * h
        return float(fn(*q))

    values = [at(k) for k in (-2, -1, 1, 2)]
    fd = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)
    rounding = 1.5 * EPS * max(abs(v) for v in values) / h
    return fd, rounding


def _check_grads(fn, params, rtol=1e-6):
    grads = jax.grad(fn, argnums=tuple(range(len(params))))(*(jnp.float64(v) for v in params))
    for i, g in enumerate(grads):
        fd, rounding = _central_fd(fn, params, i)
        tol = rtol * abs(fd) + 4 * rounding
        assert abs(float(g) - fd) <= tol, f"argument {i}: {float(g)} vs {fd} (tol {tol:.2e})"


@pytest.mark.parametrize("x", [1e3, 3e6, 1e9])
def test_m1_m2_power_law_grads(x):
    _check_grads(m1, [x, 3.0, -0.2])
    _check_grads(m2, [x, 0.4, 20.0, -0.3])
    _check_grads(power_law, [x, 2.0, 0.35])


@pytest.mark.parametrize("x", [1e3, 3e6, 1e9])
@pytest.mark.parametrize("gamma", [1e-7, 1e-3])
def test_m3_grads(x, gamma):
    _check_grads(m3, [x, 2.0, gamma, 0.3])


def test_m3_grad_at_gamma_zero_is_finite():
    # gamma >= 0 is the constraint, so gamma = 0 is in the domain; the derivative there is the
    # closed form d/dgamma beta (1/x + gamma)^c |_0 = beta c x^(1 - c), and the other partials
    # are those of beta x^-c.
    x, beta, c = 1e3, 2.0, 0.3
    g_x, g_beta, g_gamma, g_c = jax.grad(m3, argnums=(0, 1, 2, 3))(x, beta, 0.0, c)
    assert float(g_beta) == pytest.approx(x ** (-c), rel=1e-12)
    assert float(g_c) == pytest.approx(-beta * np.log(x) * x ** (-c), rel=1e-12)
    assert float(g_x) == pytest.approx(-beta * c * x ** (-c - 1), rel=1e-12)
    assert float(g_gamma) == pytest.approx(beta * c * x ** (1 - c), rel=1e-12)


@pytest.mark.parametrize(
    "params",
    [
        (0.1, 5.0, 0.1, 0.3, 1e6, 0.5),
        (0.2, 3.0, 0.4, -0.8, 1e5, 0.3),
        (0.0, 2.0, 0.05, 1.0, 1e4, 0.1),
    ],
)
@pytest.mark.parametrize("x", [1e3, 1e5, 3e6])
def test_bnsl_one_break_grads(params, x):
    def scalar_bnsl(x, a, b, c0, c1, d1, f1):
        return bnsl(x, a, b, c0, jnp.stack([c1]), jnp.stack([d1]), jnp.stack([f1]))

    _check_grads(scalar_bnsl, [x, *params])


def test_bnsl_two_break_grads_wrt_break_arrays():
    x = 2e5
    a, b, c0 = 0.05, 4.0, 0.1
    c, d, f = np.array([0.3, -0.2]), np.array([1e4, 1e7]), np.array([0.4, 0.2])
    gc, gd, gf = jax.grad(lambda c, d, f: bnsl(x, a, b, c0, c, d, f), argnums=(0, 1, 2))(c, d, f)
    for arr_idx, g in enumerate((gc, gd, gf)):
        for j in range(2):

            def fn(v, arr_idx=arr_idx, j=j):
                arrs = [c.copy(), d.copy(), f.copy()]
                arrs[arr_idx][j] = v
                return bnsl(x, a, b, c0, *arrs)

            fd, rounding = _central_fd(fn, [(c, d, f)[arr_idx][j]], 0)
            assert abs(float(g[j]) - fd) <= 1e-6 * abs(fd) + 4 * rounding
