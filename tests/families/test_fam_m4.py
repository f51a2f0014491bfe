"""M4 (Alabdulmohsin et al. 2022): the implicit equation, solved by safeguarded Newton.

``(y - eps_inf) / (eps_0 - y)^alpha = beta x^c``. References: a 50-digit mpmath bisection of
the equation, the equation itself (a root must satisfy it to the precision its conditioning
allows), the inverse problem (pick y, compute beta, solve back), and the implicit-function
theorem for the derivatives.
"""

import itertools

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest

from scalebayes.families import m4, m4_solve_logit

EPS = np.finfo(np.float64).eps
m4_jit = jax.jit(m4)


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _m4_mpmath(x, eps_inf, eps_0, alpha, beta, c, dps=50):
    """The root y of log(y - eps_inf) - alpha log(eps_0 - y) = log beta + c log x, by bisection.

    The bracket variable is s with y = eps_inf + span / (1 + exp(-s)); the left side is strictly
    increasing in y, so 240 halvings of [-3000, 3000] pin s (and y) far below 1e-50.
    """
    with mp.workdps(dps):
        x, ei, e0, al, be, c = (mp.mpf(float(v)) for v in (x, eps_inf, eps_0, alpha, beta, c))
        rhs = mp.log(be) + c * mp.log(x)
        span = e0 - ei

        def g(s):
            w = 1 / (1 + mp.exp(-s))
            return mp.log(span * w) - al * mp.log(span * (1 - w)) - rhs

        lo, hi = mp.mpf(-3000), mp.mpf(3000)
        assert g(lo) < 0 < g(hi)
        for _ in range(240):
            mid = (lo + hi) / 2
            if g(mid) < 0:
                lo = mid
            else:
                hi = mid
        return float(ei + span / (1 + mp.exp(-(lo + hi) / 2)))


def _random_params(rng, n):
    """n parameter sets over a wide range, with beta set so that log(w / (1 - w)^alpha) is
    uniform in [-25, 25] (the curve is neither flat at eps_inf nor at eps_0 by construction)."""
    alpha = np.exp(rng.uniform(np.log(1e-3), np.log(50.0), n))
    x = np.exp(rng.uniform(0.0, np.log(1e12), n))
    eps_inf = rng.uniform(0.0, 1.0, n)
    span = np.exp(rng.uniform(np.log(0.05), np.log(5.0), n))
    c = rng.uniform(-1.5, -0.01, n)
    target = rng.uniform(-25.0, 25.0, n)
    log_beta = target - c * np.log(x) + (1.0 - alpha) * np.log(span)
    return x, eps_inf, eps_inf + span, alpha, np.exp(log_beta), c


# ---------------------------------------------------------------------------------------------
# values


@pytest.mark.parametrize("seed", [0, 1])
def test_m4_matches_mpmath(seed):
    params = _random_params(np.random.default_rng(seed), 12)
    got = np.asarray(m4_jit(*(jnp.asarray(p) for p in params)))
    ref = np.array([_m4_mpmath(*p) for p in zip(*params, strict=True)])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "params",
    [
        (1e12, 0.0, 1.0, 1e-3, 1e4, -0.05),
        (1.0, 0.3, 0.8, 50.0, 1e-2, -1.0),
        (1e6, 0.1, 5.0, 0.02, 1.0, -0.5),
        (1e3, 1.9, 2.0, 3.0, 1e3, -1.2),
    ],
)
def test_m4_corner_cases_match_mpmath(params):
    assert float(m4(*params)) == pytest.approx(_m4_mpmath(*params), rel=1e-12)


def test_m4_inverse_problem():
    # Pick y strictly inside (eps_inf, eps_0), compute beta from the equation, solve back.
    rng = np.random.default_rng(7)
    n = 400
    alpha = np.exp(rng.uniform(np.log(1e-3), np.log(50.0), n))
    x = np.exp(rng.uniform(0.0, np.log(1e12), n))
    eps_inf = rng.uniform(0.0, 1.0, n)
    span = np.exp(rng.uniform(np.log(0.05), np.log(5.0), n))
    c = rng.uniform(-1.5, -0.01, n)
    w = 1.0 / (1.0 + np.exp(-rng.uniform(-18.0, 18.0, n)))  # 1.5e-8 < w < 1 - 1.5e-8
    log_beta = np.log(span * w) - alpha * np.log(span * (1 - w)) - c * np.log(x)
    y_true = eps_inf + span * w
    y = np.asarray(m4_jit(x, eps_inf, eps_inf + span, alpha, np.exp(log_beta), c))
    # exp(log_beta) is rounded: a relative change eps in beta moves w by at most ~eps w (1-w)
    # / ((1-w) + alpha w) <= eps, so y is known to a few ulps of max(y, span).
    np.testing.assert_allclose(y, y_true, rtol=1e-12, atol=0)
    assert np.all(y > eps_inf) and np.all(y < eps_inf + span)


def _wide_grid():
    grid = itertools.product(
        np.geomspace(1.0, 1e12, 13),  # x
        (0.0, 0.2),  # eps_inf
        (1.0, 1.5),  # eps_0
        np.geomspace(1e-3, 50.0, 12),  # alpha
        (1e-2, 1.0, 1e2, 1e4),  # beta
        (-0.05, -0.5, -1.5),  # c
    )
    return tuple(np.array(col) for col in zip(*grid, strict=True))


def test_m4_satisfies_implicit_equation_on_wide_grid():
    x, ei, e0, alpha, beta, c = _wide_grid()
    y = np.asarray(m4_jit(x, ei, e0, alpha, beta, c))
    assert np.all(np.isfinite(y))
    assert np.all((y >= ei) & (y <= e0))

    inside = (y > ei) & (y < e0)
    assert inside.mean() > 0.75
    lower, upper = y - ei, e0 - y
    rhs = np.log(beta) + c * np.log(x)
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0), 1/0 at the rounded bounds
        lhs = np.log(lower) - alpha * np.log(upper)
        # Rounding y to float64 (a few ulps, including eps_inf + span * w) moves the left side
        # by ulp(y) * d lhs / dy; the logs and products add ~1e-15 of the terms' size.
        cond = 4 * np.spacing(np.maximum(y, e0)) * (1 / lower + alpha / upper)
        size = 1 + np.abs(np.log(lower)) + np.abs(alpha * np.log(upper)) + np.abs(rhs)
    resid = np.abs(lhs - rhs)[inside]
    tol = (1e-12 * size + cond)[inside]
    assert np.all(resid <= tol), f"worst residual/tol {np.max(resid / tol):.3g}"
    # and where the root is better conditioned the residual is genuinely ~1e-12 relative
    well = inside & (cond < 1e-14 * size)
    assert well.mean() > 0.3
    assert np.max(np.abs(lhs - rhs)[well] / size[well]) < 1e-13

    # y rounded onto a bound only where the exact root is within rounding of it:
    # w ~ exp(R) when w is tiny, and w / (1 - w)^alpha > w ~ 1 when w rounds to 1.
    r_eff = rhs - (1 - alpha) * np.log(e0 - ei)
    at_floor, at_top = y == ei, y == e0
    assert np.all(r_eff[at_floor] < np.log(1e-14))
    assert np.all(r_eff[at_top] > -1e-12)


def test_solve_logit_against_mpmath():
    # G(t) = t + (alpha - 1) log(1 + e^t) = rhs, evaluated in 50 digits at the float64 root.
    alphas = np.geomspace(1e-3, 50.0, 13)
    rhss = np.concatenate([-np.geomspace(1e-8, 1e4, 15), [0.0], np.geomspace(1e-8, 1e4, 15)])
    a, r = np.meshgrid(alphas, rhss)
    t = np.asarray(m4_solve_logit(jnp.asarray(r), jnp.asarray(a)))
    with mp.workdps(50):
        for ai, ri, ti in zip(a.ravel(), r.ravel(), t.ravel(), strict=True):
            g = mp.mpf(ti) + (mp.mpf(ai) - 1) * mp.log1p(mp.exp(mp.mpf(ti)))
            assert abs(float(g - mp.mpf(ri))) <= 1e-13 * max(1.0, abs(ri)), (ai, ri, ti)


@pytest.mark.parametrize("n", [8, 13])
def test_solve_logit_is_right_in_every_position_of_a_vector(n):
    # jaxlib 0.11.2's CPU compiler got 2 of these 8 roots wrong with (t, lo, hi) carried as
    # three arrays (each alone, or under jaxlib 0.12.1, was right): every element is checked
    alpha = np.resize(np.geomspace(1e-3, 50.0, 13), n)
    rhs = np.full(n, -1e-8)
    t = np.asarray(m4_solve_logit(jnp.asarray(rhs), jnp.asarray(alpha)))
    g = t + (alpha - 1.0) * np.logaddexp(0.0, t)
    np.testing.assert_allclose(g, rhs, rtol=0, atol=1e-13)


def test_m4_alpha_below_clip_is_clipped():
    x = np.geomspace(1e3, 1e9, 7)
    np.testing.assert_array_equal(
        np.asarray(m4(x, 0.1, 1.0, 1e-5, 1e2, -0.4)), np.asarray(m4(x, 0.1, 1.0, 1e-3, 1e2, -0.4))
    )
    assert float(jax.grad(m4, argnums=3)(1e5, 0.1, 1.0, 1e-5, 1e2, -0.4)) == 0.0


# ---------------------------------------------------------------------------------------------
# shape of the curve


@pytest.mark.parametrize(
    "params", [(0.2, 0.9, 1.5, 1e3, -0.6), (0.0, 1.0, 0.01, 1e6, -1.0), (0.5, 3.0, 30.0, 1e2, -0.2)]
)
def test_m4_monotone_sigmoid_in_log_x(params):
    eps_inf, eps_0, alpha, beta, c = params
    x = np.geomspace(1e-6, 1e18, 600)
    y = np.asarray(m4_jit(x, *params))
    dy = np.diff(y)
    assert np.all(dy <= 0)
    # strictly falling wherever the step is resolvable in float64
    moving = (y[1:] > eps_inf) & (y[:-1] < eps_0) & (np.maximum(y[1:], y[:-1]) > 0)
    resolvable = (-dy) > 4 * np.spacing(eps_0)
    assert np.all(dy[moving & resolvable] < 0)
    assert (moving & resolvable).mean() > 0.3
    # c > 0 mirrors it: increasing in x
    assert np.all(np.diff(np.asarray(m4_jit(x, eps_inf, eps_0, alpha, beta, -c))) >= 0)
    # the plateau and the floor: x^c -> inf / 0 at x = 1e-300 / 1e300 (|c| log x ~ 138+)
    ends = np.asarray(m4_jit(np.array([1e-300, 1e300]), *params))
    # (the approach to eps_0 is itself a power law, 1 - w ~ exp(-R / alpha), slow for large alpha)
    assert ends[0] == pytest.approx(eps_0, abs=1e-2 * (eps_0 - eps_inf))
    assert ends[1] == pytest.approx(eps_inf, abs=1e-3 * (eps_0 - eps_inf))


# ---------------------------------------------------------------------------------------------
# jit / vmap


# jit, vmap and broadcasting fuse and order the Newton iteration's operations differently, so
# they may round differently; each path converges to the root to the accuracy the mpmath tests
# above establish (1e-12 relative), so they agree to that, not to the last ulp.
M4_PATHS_RTOL = 1e-12


def test_m4_jit_matches_eager():
    x, ei, e0, alpha, beta, c = _random_params(np.random.default_rng(3), 64)
    eager = np.asarray(m4(x, ei, e0, alpha, beta, c))
    jitted = np.asarray(m4_jit(x, ei, e0, alpha, beta, c))
    np.testing.assert_allclose(jitted, eager, rtol=M4_PATHS_RTOL, atol=0)


def test_m4_vmap_over_parameters_equals_loop():
    x = np.geomspace(1e3, 1e9, 11)
    _, ei, e0, alpha, beta, c = _random_params(np.random.default_rng(4), 6)
    batched = np.asarray(jax.vmap(m4, in_axes=(None, 0, 0, 0, 0, 0))(x, ei, e0, alpha, beta, c))
    assert batched.shape == (6, 11)
    for i in range(6):
        np.testing.assert_allclose(
            batched[i],
            np.asarray(m4(x, ei[i], e0[i], alpha[i], beta[i], c[i])),
            rtol=M4_PATHS_RTOL,
        )
    # broadcasting the same batch gives the same answer as vmap
    broadcast = np.asarray(
        m4(x, ei[:, None], e0[:, None], alpha[:, None], beta[:, None], c[:, None])
    )
    np.testing.assert_allclose(broadcast, batched, rtol=M4_PATHS_RTOL)


# ---------------------------------------------------------------------------------------------
# derivatives


def _fd5(fn, params, i, rel=1e-3):
    """Five-point central difference in argument i and a bound on its rounding error."""
    p = [np.float64(v) for v in params]
    h = rel * abs(p[i]) if p[i] != 0 else rel

    def at(k):
        q = list(p)
        q[i] = p[i] + k * h
        return float(fn(*q))

    vals = [at(k) for k in (-2, -1, 1, 2)]
    fd = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h)
    return fd, 1.5 * EPS * max(abs(v) for v in vals) / h


M4_CASES = [
    (0.2, 0.9, 1.5, 1e3, -0.6),
    (0.0, 1.0, 1.0, 1e6, -1.0),
    (0.05, 2.0, 0.02, 0.5, -0.1),
    (0.3, 0.8, 20.0, 1e2, -0.4),
]
m4_grad = jax.jit(jax.grad(m4, argnums=(0, 1, 2, 3, 4, 5)))


@pytest.mark.parametrize("params", M4_CASES)
@pytest.mark.parametrize("x", [1e3, 1e6, 1e9])
def test_m4_grads_against_finite_differences(params, x):
    args = [x, *params]
    grads = m4_grad(*(jnp.float64(v) for v in args))
    for i, g in enumerate(grads):
        fd, rounding = _fd5(m4_jit, args, i)
        tol = 1e-6 * abs(fd) + 4 * rounding
        assert abs(float(g) - fd) <= tol, f"argument {i}: {float(g)} vs {fd}"


@pytest.mark.parametrize("params", M4_CASES)
@pytest.mark.parametrize("x", [1e3, 1e6, 1e9])
def test_m4_grads_satisfy_implicit_function_theorem(params, x):
    """d/dtheta [log(y - eps_inf) - alpha log(eps_0 - y) - log(beta x^c)] = 0 along y(theta)."""

    def residual(x, ei, e0, alpha, beta, c, y):
        return jnp.log(y - ei) - alpha * jnp.log(e0 - y) - jnp.log(beta) - c * jnp.log(x)

    def along_root(*theta):
        return residual(*theta, m4(*theta))

    theta = tuple(jnp.float64(v) for v in (x, *params))
    total = jax.grad(along_root, argnums=tuple(range(6)))(*theta)
    # the two parts of the total derivative, to scale the tolerance
    y = m4(*theta)
    dr_dy = jax.grad(residual, argnums=6)(*theta, y)
    explicit = jax.grad(residual, argnums=tuple(range(6)))(*theta, y)
    dy = m4_grad(*theta)
    for i in range(6):
        scale = abs(float(dr_dy * dy[i])) + abs(float(explicit[i]))
        assert abs(float(total[i])) <= 1e-9 * scale, (i, float(total[i]), scale)


def test_solve_logit_derivatives_against_mpmath():
    # dt/drhs = 1 / G'(t), dt/dalpha = -log(1 + e^t) / G'(t), G'(t) = sigmoid(-t) + alpha sigmoid(t)
    for rhs, alpha in [(-3.0, 0.5), (0.0, 1.0), (2.0, 7.0), (10.0, 0.01), (-40.0, 30.0)]:
        t = float(m4_solve_logit(rhs, alpha))
        d_rhs, d_alpha = jax.grad(m4_solve_logit, argnums=(0, 1))(
            jnp.float64(rhs), jnp.float64(alpha)
        )
        f_rhs, f_alpha = jax.jacfwd(m4_solve_logit, argnums=(0, 1))(
            jnp.float64(rhs), jnp.float64(alpha)
        )
        with mp.workdps(40):
            tt = mp.mpf(t)
            gp = 1 / (1 + mp.exp(tt)) + alpha / (1 + mp.exp(-tt))
            ref_rhs = float(1 / gp)
            ref_alpha = float(-mp.log1p(mp.exp(tt)) / gp)
        for got in (d_rhs, f_rhs):
            assert float(got) == pytest.approx(ref_rhs, rel=1e-12)
        for got in (d_alpha, f_alpha):
            assert float(got) == pytest.approx(ref_alpha, rel=1e-12, abs=1e-300)
