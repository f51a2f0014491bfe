"""The Levenberg-Marquardt solver against numpy.linalg.lstsq and textbook problems."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.inference import LMState, levenberg_marquardt


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_least_squares_matches_lstsq(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((40, 6)) * np.array([1.0, 10.0, 0.1, 3.0, 1.0, 0.5])
    b = rng.standard_normal(40)
    ref, *_ = np.linalg.lstsq(a, b, rcond=None)
    a_j, b_j = jnp.asarray(a), jnp.asarray(b)
    state = levenberg_marquardt(lambda th: a_j @ th - b_j, jnp.zeros(6), n_iter=60)
    assert isinstance(state, LMState)
    np.testing.assert_allclose(np.asarray(state.theta), ref, rtol=1e-9, atol=1e-12)
    assert float(state.loss) == pytest.approx(0.5 * np.sum((a @ ref - b) ** 2), rel=1e-12)


@pytest.mark.parametrize("start", [(-1.2, 1.0), (2.0, -1.0), (-0.5, 3.0)])
def test_rosenbrock_converges(start):
    # f = 100 (t2 - t1^2)^2 + (1 - t1)^2 as residuals; unique minimum at (1, 1) with f = 0
    def residual(th):
        return jnp.stack([10.0 * (th[1] - th[0] ** 2), 1.0 - th[0]])

    state = levenberg_marquardt(residual, jnp.asarray(start), n_iter=200)
    np.testing.assert_allclose(np.asarray(state.theta), [1.0, 1.0], atol=1e-8)
    assert float(state.loss) < 1e-16


def test_a_list_or_integer_start_is_read_as_floats():
    """A review: a list start raised AttributeError, an integer array jacfwd's TypeError."""

    def residual(th):
        return jnp.stack([10.0 * (th[1] - th[0] ** 2), 1.0 - th[0]])

    want = levenberg_marquardt(residual, jnp.asarray([0.0, 1.0]), n_iter=50).theta
    for start in ([0, 1], jnp.array([0, 1]), (0.0, 1.0)):
        got = levenberg_marquardt(residual, start, n_iter=50).theta
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    with pytest.raises(ValueError, match=r"theta0 must be 1-D"):
        levenberg_marquardt(residual, jnp.zeros((2, 2)))


def test_loss_is_half_sum_of_squares_and_never_increases():
    rng = np.random.default_rng(3)
    x = np.linspace(0.0, 2.0, 25)
    y = 2.0 * np.exp(-1.3 * x) + 0.01 * rng.standard_normal(25)

    def residual(th):
        return th[0] * jnp.exp(-th[1] * x) - y

    losses = []
    for n in (0, 2, 30):
        st = levenberg_marquardt(residual, jnp.array([1.0, 0.1]), n_iter=n)
        r = np.asarray(residual(st.theta))
        assert float(st.loss) == pytest.approx(0.5 * np.sum(r**2), rel=1e-12)
        losses.append(float(st.loss))
    assert all(b <= a for a, b in itertools.pairwise(losses))
    # the exponential fit is a smooth nonlinear problem: converged by 30 iterations, compare
    # with the normal equations' optimality condition J^T r = 0
    jac = np.asarray(jax.jacfwd(residual)(st.theta))
    assert np.max(np.abs(jac.T @ r)) < 1e-10


def test_non_finite_candidates_are_rejected():
    # log(th) is NaN for th <= 0: a full Gauss-Newton step from th = 0.05 toward the root of
    # log(th) - log(3) overshoots into th < 0 only if accepted; the solver must stay finite.
    def residual(th):
        return jnp.stack([jnp.log(th[0]) - jnp.log(3.0), 10.0 * (th[0] - 3.0)])

    state = levenberg_marquardt(residual, jnp.array([0.05]), n_iter=100, damping0=1e-8)
    assert np.isfinite(float(state.loss))
    assert float(state.theta[0]) == pytest.approx(3.0, rel=1e-10)


def test_jit_and_vmap_agree_with_eager():
    # jit, vmap and eager evaluation round differently (fused and batched matmuls), and LM's
    # accept/reject test compares losses that differ by rounding near the optimum, so the
    # three paths end at points that agree only to the precision the objective pins them down:
    # f is flat to eps * f within |d theta| ~ sqrt(eps) ~ 1e-8 (measured 3.7e-9 relative).
    # Parameters therefore agree to 1e-6 relative; the loss, stationary at the optimum, to
    # second order in d theta, i.e. to rounding (1e-9).
    rng = np.random.default_rng(4)
    a = jnp.asarray(rng.standard_normal((10, 3)))
    b = jnp.asarray(rng.standard_normal(10))

    def solve(th0):
        return levenberg_marquardt(lambda th: jnp.tanh(a @ th) - 0.5 * b, th0, n_iter=40)

    starts = jnp.asarray(rng.standard_normal((4, 3)) * 0.1)
    batched = jax.jit(jax.vmap(solve))(starts)
    jitted = jax.jit(solve)
    for i in range(4):
        single = jitted(starts[i])
        np.testing.assert_allclose(
            np.asarray(batched.theta[i]), np.asarray(single.theta), rtol=1e-6
        )
        assert float(batched.loss[i]) == pytest.approx(float(single.loss), rel=1e-9)
    eager = solve(starts[0])
    np.testing.assert_allclose(np.asarray(eager.theta), np.asarray(batched.theta[0]), rtol=1e-6)
    assert float(eager.loss) == pytest.approx(float(batched.loss[0]), rel=1e-9)
