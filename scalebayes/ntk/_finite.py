"""Finite-width ensembles: Equinox MLPs in NTK parameterisation, trained by full-batch GD.

Each member has the architecture of an [`MLPConfig`][scalebayes.ntk.MLPConfig] at a finite
hidden width, its own initialisation key, and is trained on the same training set by
full-batch gradient descent (``optax.sgd``) on ``||f(X) - Y||^2 / (2 |Y|)`` for a fixed number
of steps, the loss and time convention of [`infinite_ensemble`][scalebayes.ntk.infinite_ensemble]
(``t`` = steps). Members are ``vmap``-ped and the whole training is one ``jit``-compiled
``lax.scan``.
"""

from __future__ import annotations

import math
import operator

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax.scipy.special import erf
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._checks import check_key, is_integer
from ._kernels import MLPConfig

__all__ = ["FiniteMLP", "ensemble_losses", "init_ensemble", "train_ensemble"]


class FiniteMLP(eqx.Module):
    """A finite-width MLP in NTK parameterisation (see [`MLPConfig`][scalebayes.ntk.MLPConfig]).

    Layer ``l`` computes ``W_std / sqrt(fan_in) * (h @ W_l) + b_std * b_l``; the parameters
    ``W_l``, ``b_l`` are standard normal at initialisation, so the function (not the
    parameters) carries ``W_std`` and ``b_std``.

    Attributes:
        weights: ``W_l`` of shape ``(fan_in, fan_out)``, hidden layers then read-out.
        biases: ``b_l`` of shape ``(fan_out,)``.
        config: the architecture (static).
    """

    weights: tuple[Array, ...]
    biases: tuple[Array, ...]
    config: MLPConfig = eqx.field(static=True)

    def __init__(
        self, config: MLPConfig, in_dim: int, width: int, out_dim: int, *, key: PRNGKeyArray
    ):
        """Draw the standard-normal parameters.

        Args:
            config: the architecture.
            in_dim: input dimension ``d``.
            width: hidden width.
            out_dim: output channels ``k``.
            key: PRNG key of this member.
        """
        if not (is_integer(width) and width >= 1):
            raise ValueError(f"width must be an integer >= 1, got {width!r}")
        width = int(width)
        sizes = [in_dim] + [width] * config.depth + [out_dim]
        keys = jax.random.split(key, 2 * (len(sizes) - 1))
        self.weights = tuple(
            jax.random.normal(keys[2 * i], (sizes[i], sizes[i + 1])) for i in range(len(sizes) - 1)
        )
        self.biases = tuple(
            jax.random.normal(keys[2 * i + 1], (sizes[i + 1],)) for i in range(len(sizes) - 1)
        )
        self.config = config

    def __call__(self, x: Float[Array, "n d"]) -> Float[Array, "n k"]:
        """The network's outputs on a batch ``x``."""
        act = jax.nn.relu if self.config.activation == "relu" else erf
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = self.config.W_std / jnp.sqrt(w.shape[0]) * (h @ w) + self.config.b_std * b
            if i < last:
                h = act(h)
        return h


def init_ensemble(
    key: PRNGKeyArray, config: MLPConfig, in_dim: int, width: int, out_dim: int, n: int
) -> FiniteMLP:
    """``n`` independently initialised members, stacked along a leading axis (``vmap``).

    Args:
        key: PRNG key; member ``i`` uses the ``i``-th of ``jax.random.split(key, n)``.
        config: the architecture.
        in_dim: input dimension ``d``.
        width: hidden width.
        out_dim: output channels ``k``.
        n: ensemble size.

    Returns:
        A [`FiniteMLP`][scalebayes.ntk.FiniteMLP] whose arrays have a leading axis of size ``n``.
    """
    # sizes as Python ints: the compiled program is built per architecture (a NumPy or JAX
    # integer would be traced); anything else goes on to FiniteMLP's own checks
    key = check_key(key)
    return _init_ensemble(key, config, *map(_python_int, (in_dim, width, out_dim, n)))


def _python_int(value):
    if isinstance(value, bool):
        return value
    try:  # a Python, NumPy or concrete 0-d JAX integer
        return operator.index(value)
    except TypeError:  # (a float, or a traced value): FiniteMLP says what is wrong
        return value


@eqx.filter_jit
def _init_ensemble(key, config, in_dim, width, out_dim, n):
    # one compiled program per architecture: drawn op by op, every weight shape compiled
    # its own normal-draw program (0.3-0.5 s each on a CPU)
    keys = jax.random.split(key, n)
    return eqx.filter_vmap(lambda k: FiniteMLP(config, in_dim, width, out_dim, key=k))(keys)


def _mse_half(model: FiniteMLP, x, y):
    return 0.5 * jnp.mean((model(x) - y) ** 2)  # ||f(X) - Y||^2 / (2 |Y|)


@eqx.filter_jit
def _train(ensemble: FiniteMLP, x, y, learning_rate, steps: int):
    optimiser = optax.sgd(learning_rate)

    def train_one(model):
        params, static = eqx.partition(model, eqx.is_array)

        def step(carry, _):
            params, state = carry
            grads = jax.grad(lambda p: _mse_half(eqx.combine(p, static), x, y))(params)
            updates, state = optimiser.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(step, (params, optimiser.init(params)), length=steps)
        model = eqx.combine(params, static)
        return model, 2.0 * _mse_half(model, x, y)

    return eqx.filter_vmap(train_one)(ensemble)


def train_ensemble(
    ensemble: FiniteMLP,
    x_train: Float[ArrayLike, "N d"],
    y_train: Float[ArrayLike, "N k"],
    *,
    learning_rate: float,
    steps: int,
) -> tuple[FiniteMLP, Float[Array, " n"]]:
    """Train every member by full-batch gradient descent for ``steps`` steps.

    Args:
        ensemble: stacked members from [`init_ensemble`][scalebayes.ntk.init_ensemble].
        x_train: training inputs ``(N, d)``.
        y_train: training targets ``(N, k)``.
        learning_rate: GD learning rate ``eta`` on ``||f(X) - Y||^2 / (2 |Y|)``.
        steps: number of full-batch steps (``t`` of the infinite-width theory).

    Returns:
        ``(trained, train_mse)``: the trained members and each member's final training MSE
        ``||f(X) - Y||^2 / |Y|``.
    """
    if not (is_integer(steps) and steps >= 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    steps = int(steps)
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be finite and > 0, got {learning_rate}")
    x = jnp.asarray(x_train, dtype=jnp.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x_train must be (N, d) with N >= 1 training points, got {x.shape}")
    y = jnp.asarray(y_train, dtype=jnp.float32)
    return _train(ensemble, x, y, jnp.float32(learning_rate), steps)


@eqx.filter_jit
def _member_losses(ensemble, x, y):
    return eqx.filter_vmap(lambda m: jnp.mean((m(x) - y) ** 2))(ensemble)


def ensemble_losses(
    ensemble: FiniteMLP, x_test: Float[ArrayLike, "M d"], y_test: Float[ArrayLike, "M k"]
) -> Float[Array, " n"]:
    """Each member's test MSE ``||f(x_test) - y_test||_F^2 / (M k)`` (the loss of the theory).

    Raises:
        ValueError: if the test set is empty or ``x_test`` and ``y_test`` differ in rows.
    """
    x, y = jnp.asarray(x_test, jnp.float32), jnp.asarray(y_test, jnp.float32)
    if x.ndim != 2 or x.shape[0] == 0 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"x_test must be (M, d) with M >= 1 and y_test (M, k); got {x.shape} and {y.shape}"
        )
    return _member_losses(ensemble, x, y)
