"""The infinite ensemble of infinite-width networks trained by gradient descent on MSE.

Lee et al. (2019), "Wide neural networks of any depth evolve as linear models under gradient
descent", eqs. (14)-(16); the semantics of neural-tangents'
``predict.gradient_descent_mse_ensemble``. With ``Theta`` the NTK, ``K`` the NNGP kernel,
``X`` the training and ``x`` the test inputs and ``Y`` the training targets (``|Y|`` entries),
training on the loss ``||f(X) - Y||^2 / (2 |Y|)`` with learning rate ``eta`` for time ``t``:

    A        = Theta_XX^-1 (I - exp(-eta t Theta_XX / |Y|))        (Theta_XX^-1 at t = inf)
    mean(x)  = Theta_xX A Y
    cov(x,x') = K_xx' + Theta_xX A K_XX A Theta_Xx' - (Theta_xX A K_Xx' + K_xX A Theta_Xx')

The output channels are independent and share the covariance.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import is_finite_real, is_integer
from .._precision import float64
from ._kernels import Kernels, MLPConfig, mlp_kernels

__all__ = [
    "EnsemblePrediction",
    "ensemble_from_kernels",
    "infinite_ensemble",
    "max_stable_learning_rate",
]


class EnsemblePrediction(eqx.Module):
    """The Gaussian distribution of trained-network outputs on the test set over initialisations.

    Attributes:
        mean: predictive mean, shape ``(M, k)`` (``M`` test points, ``k`` output channels).
        cov: test-by-test covariance shared by the ``k`` independent channels, ``(M, M)``.
    """

    mean: Float[Array, "M k"]
    cov: Float[Array, "M M"]


def _check_time(t: float | None, learning_rate: float, diag_reg: float = 0.0) -> None:
    if t is not None and not (is_finite_real(t) and t >= 0):
        raise ValueError(f"t must be None (infinity) or a finite number >= 0, got {t!r}")
    if not (is_finite_real(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}")
    if not (is_finite_real(diag_reg) and diag_reg >= 0):
        raise ValueError(f"diag_reg must be a finite number >= 0, got {diag_reg!r}")


def _kernels64(kernels: Kernels, name: str) -> Kernels:
    ntk, nngp = (jnp.asarray(a, jnp.float64) for a in (kernels.ntk, kernels.nngp))
    if not bool(jnp.all(jnp.isfinite(ntk)) & jnp.all(jnp.isfinite(nngp))):
        raise ValueError(
            f"the {name} kernels are not finite (inputs too large for the network's depth and "
            "weight scale?): rescale the inputs or lower W_std"
        )
    return Kernels(nngp=nngp, ntk=ntk)


@eqx.filter_jit
def _moments(train_train, test_train, test_test_nngp, y_train, t, learning_rate, diag_reg):
    theta = train_train.ntk
    n = theta.shape[0]
    theta = theta + diag_reg * jnp.trace(theta) / n * jnp.eye(n, dtype=theta.dtype)
    lam, vec = jnp.linalg.eigh(theta)
    # Modes at rounding level (a duplicated input makes Theta_XX singular) carry no
    # information: Theta_xX v vanishes with Theta_XX v for a kernel. At t = infinity they are
    # dropped (a pseudo-inverse, NumPy's pinv cut-off); at finite t, g -> eta t / |Y| as
    # lambda -> 0, which is finite.
    cut = n * jnp.finfo(lam.dtype).eps * jnp.max(jnp.abs(lam))
    kept = lam > cut
    lam = jnp.where(kept, lam, 1.0)
    if t is None:
        g = jnp.where(kept, 1.0 / lam, 0.0)
    else:
        rate = learning_rate * t / y_train.size
        g = jnp.where(kept, -jnp.expm1(-rate * lam) / lam, rate)
    a = (vec * g) @ vec.T  # A = V g(lambda) V^T
    b = test_train.ntk @ a  # Theta_xX A, (M, N)
    mean = b @ y_train
    cross = b @ test_train.nngp.T  # Theta_xX A K_Xx, (M, M)
    cov = test_test_nngp + b @ train_train.nngp @ b.T - cross - cross.T
    return mean, 0.5 * (cov + cov.T)


@float64
def ensemble_from_kernels(
    train_train: Kernels,
    test_train: Kernels,
    test_test_nngp: Float[ArrayLike, "M M"],
    y_train: Float[ArrayLike, "N k"],
    *,
    t: float | None = None,
    learning_rate: float = 1.0,
    diag_reg: float = 0.0,
) -> EnsemblePrediction:
    """The ensemble's predictive mean and covariance from precomputed kernels.

    Args:
        train_train: kernels between the training inputs, ``(N, N)`` each.
        test_train: kernels between test and training inputs, ``(M, N)`` each.
        test_test_nngp: NNGP kernel between the test inputs, ``(M, M)``.
        y_train: training targets, ``(N, k)``.
        t: training time (gradient-descent steps for small learning rates); ``None`` is
            infinity (the fully trained ensemble).
        learning_rate: ``eta`` of gradient descent on ``||f(X) - Y||^2 / (2 |Y|)``.
        diag_reg: ``diag_reg * mean(diag Theta_XX)`` is added to the diagonal of
            ``Theta_XX`` (neural-tangents' relative convention). Without it a singular
            ``Theta_XX`` (e.g. a duplicated training input) is inverted as a pseudo-inverse:
            eigenvalues below ``N eps lambda_max`` are dropped.

    Returns:
        The [`EnsemblePrediction`][scalebayes.ntk.EnsemblePrediction], computed in float64
        (NumPy arrays): in float32 the pseudo-inverse's cut-off drops real modes of
        ``Theta_XX`` (a review measured ``mu_L`` 23% high at ``N = 1024``).
    """
    _check_time(t, learning_rate, diag_reg)
    train_train = _kernels64(train_train, "train-train")
    test_train = _kernels64(test_train, "test-train")
    n = train_train.ntk.shape
    if len(n) != 2 or n[0] != n[1] or train_train.nngp.shape != n:
        raise ValueError(f"train_train kernels must be square (N, N), got {n}")
    m = test_train.ntk.shape
    if len(m) != 2 or m[1] != n[0] or test_train.nngp.shape != m:
        raise ValueError(f"test_train kernels must have shape (M, {n[0]}), got {m}")
    test_test = jnp.asarray(test_test_nngp, jnp.float64)
    if test_test.shape != (m[0], m[0]):
        raise ValueError(f"test_test_nngp must have shape ({m[0]}, {m[0]}), got {test_test.shape}")
    y_train = jnp.asarray(y_train, jnp.float64)
    if y_train.ndim != 2 or y_train.shape[0] != n[0] or y_train.shape[1] == 0:
        raise ValueError(f"y_train must have shape ({n[0]}, k) with k >= 1, got {y_train.shape}")
    mean, cov = _moments(train_train, test_train, test_test, y_train, t, learning_rate, diag_reg)
    return EnsemblePrediction(mean=np.asarray(mean), cov=np.asarray(cov))


@float64
def infinite_ensemble(
    config: MLPConfig,
    x_train: Float[ArrayLike, "N d"],
    y_train: Float[ArrayLike, "N k"],
    x_test: Float[ArrayLike, "M d"],
    *,
    t: float | None = None,
    learning_rate: float = 1.0,
    diag_reg: float = 0.0,
) -> EnsemblePrediction:
    """The trained infinite ensemble's outputs on ``x_test``: mean and full covariance.

    The kernels come from neural-tangents' analytic ``stax`` kernel of ``config``; the
    formulas are those of the module docstring (tested against neural-tangents'
    ``predict.gradient_descent_mse_ensemble``).

    Args:
        config: the architecture.
        x_train: training inputs, ``(N, d)``.
        y_train: training targets, ``(N, k)`` (one-hot for classification).
        x_test: test inputs, ``(M, d)``.
        t: training time; ``None`` is infinity.
        learning_rate: gradient-descent learning rate (matters only for finite ``t``).
        diag_reg: relative diagonal regulariser of ``Theta_XX``.

    Returns:
        The [`EnsemblePrediction`][scalebayes.ntk.EnsemblePrediction], computed in float64
        (NumPy arrays).
    """
    x_train = jnp.asarray(x_train, jnp.float64)
    x_test = jnp.asarray(x_test, jnp.float64)
    y_train = jnp.asarray(y_train, jnp.float64)
    if y_train.ndim != 2 or y_train.shape[0] != x_train.shape[0]:
        raise ValueError(f"y_train must have shape ({x_train.shape[0]}, k), got {y_train.shape}")
    if x_train.shape[0] == 0:
        raise ValueError("x_train has no rows: the ensemble needs at least one training point")
    if x_test.ndim != 2 or x_test.shape[0] == 0:
        raise ValueError(f"x_test must have shape (M, d) with M >= 1, got {x_test.shape}")
    if x_train.ndim == 2 and x_test.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"x_train and x_test must have the same number of features d; got x_train "
            f"{x_train.shape} and x_test {x_test.shape}"
        )
    for name, a in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test)):
        if not bool(jnp.all(jnp.isfinite(a))):
            raise ValueError(f"{name} has NaN or infinite entries; every input must be finite")
    train_train = mlp_kernels(config, x_train)
    test_train = mlp_kernels(config, x_test, x_train)
    test_test = mlp_kernels(config, x_test)
    return ensemble_from_kernels(
        train_train,
        test_train,
        test_test.nngp,
        y_train,
        t=t,
        learning_rate=learning_rate,
        diag_reg=diag_reg,
    )


def max_stable_learning_rate(train_train_ntk: Float[ArrayLike, "N N"], k: int) -> float:
    """``2 |Y| / lambda_max(Theta_XX)``: gradient descent on the linearised network diverges
    above it (``|Y| = N k``)."""
    theta = jnp.asarray(train_train_ntk)
    if theta.ndim != 2 or theta.shape[0] != theta.shape[1] or theta.shape[0] == 0:
        raise ValueError(f"train_train_ntk must be a square (N, N) matrix, got {theta.shape}")
    if not is_integer(k) or k < 1:
        raise ValueError(f"k (the number of outputs) must be a positive integer, got {k!r}")
    top = float(jnp.linalg.eigvalsh(theta)[-1])
    if not (math.isfinite(top) and top > 0):
        raise ValueError(
            f"the NTK's largest eigenvalue is {top}: no learning rate is stable or all are "
            "(a kernel that is zero or not finite)"
        )
    return 2.0 * theta.shape[0] * k / top
