"""The MLP architecture and its infinite-width kernels (NNGP and NTK) from neural-tangents."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import is_real
from ._compat import neural_tangents

__all__ = ["ACTIVATIONS", "Kernels", "MLPConfig", "mlp_kernels", "stax_mlp"]

ACTIVATIONS = ("relu", "erf")
"""Activations with an analytic infinite-width kernel in neural-tangents' ``stax``."""


class MLPConfig(eqx.Module):
    """A fully connected network in NTK parameterisation: the architecture of a study.

    Each layer computes ``z = W_std / sqrt(fan_in) * (x @ W) + b_std * b`` with ``W, b`` standard
    normal at initialisation; ``depth`` hidden layers with ``activation`` are followed by a
    linear read-out layer with the same ``W_std`` and ``b_std``. The same configuration defines
    the infinite-width kernels ([`mlp_kernels`][scalebayes.ntk.mlp_kernels]) and the
    finite-width Equinox networks ([`FiniteMLP`][scalebayes.ntk.FiniteMLP]).

    Attributes:
        depth: number of hidden layers (>= 1).
        W_std: weight scale (width-independent in NTK parameterisation), > 0.
        b_std: bias scale, >= 0.
        activation: ``"relu"`` or ``"erf"``.
    """

    depth: int = 2
    W_std: float = math.sqrt(2.0)
    b_std: float = 0.1
    activation: str = "relu"

    def __post_init__(self):
        if isinstance(self.depth, bool) or not isinstance(self.depth, int | np.integer):
            raise TypeError(f"depth must be an integer, got {type(self.depth).__name__}")
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1 hidden layer, got {self.depth}")
        for name in ("W_std", "b_std"):
            if not is_real(getattr(self, name)):
                raise TypeError(f"{name} must be a number, got {getattr(self, name)!r}")
        # plain Python values (compared in float64, a float32 one too): the architecture is
        # static in every compiled program, where a NumPy scalar would be traced
        self.depth = int(self.depth)
        self.W_std = float(self.W_std)
        self.b_std = float(self.b_std)
        if not (math.isfinite(self.W_std) and 0 < self.W_std < 1e100):
            raise ValueError(f"W_std (--W-std) must be > 0 and < 1e100, got {self.W_std}")
        if not (math.isfinite(self.b_std) and 0 <= self.b_std < 1e100):
            raise ValueError(f"b_std (--b-std) must be >= 0 and < 1e100, got {self.b_std}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        self.activation = str(self.activation)


class Kernels(eqx.Module):
    """The NNGP kernel ``K`` and the NTK ``Theta`` between two sets of inputs.

    Attributes:
        nngp: ``K[i, j] = E[f(x1_i) f(x2_j)]`` at initialisation (one output channel).
        ntk: ``Theta[i, j] = E[<df(x1_i)/dp, df(x2_j)/dp>]`` (one output channel).
    """

    nngp: Float[Array, "n1 n2"]
    ntk: Float[Array, "n1 n2"]


def stax_mlp(config: MLPConfig, out_dim: int = 1) -> tuple[Callable, Callable, Callable]:
    """The neural-tangents ``stax`` network of ``config`` (hidden width 512 for finite use).

    Args:
        config: the architecture.
        out_dim: number of output channels of the read-out layer.

    Returns:
        ``(init_fn, apply_fn, kernel_fn)`` of ``stax.serial``; ``kernel_fn`` is the
        infinite-width kernel and does not depend on the hidden width.
    """
    stax = neural_tangents().stax
    act = {"relu": stax.Relu, "erf": stax.Erf}[config.activation]
    layers: list[Any] = []
    for _ in range(config.depth):
        layers += [stax.Dense(512, W_std=config.W_std, b_std=config.b_std), act()]
    layers.append(stax.Dense(out_dim, W_std=config.W_std, b_std=config.b_std))
    return stax.serial(*layers)


def mlp_kernels(
    config: MLPConfig,
    x1: Float[ArrayLike, "n1 d"],
    x2: Float[ArrayLike, "n2 d"] | None = None,
    *,
    batch_size: int = 0,
) -> Kernels:
    """The infinite-width NNGP kernel and NTK of ``config`` between ``x1`` and ``x2``.

    Args:
        config: the architecture.
        x1: inputs, shape ``(n1, d)``.
        x2: inputs, shape ``(n2, d)``; ``None`` means ``x1``.
        batch_size: if > 0, compute in blocks of this many rows and columns
            (``neural_tangents.batch``) to bound memory; 0 computes in one go.

    Returns:
        The [`Kernels`][scalebayes.ntk.Kernels], in the dtype of ``x1`` (float64 inside
        ``jax.enable_x64``).
    """
    x1 = jnp.asarray(x1)
    if x1.ndim != 2:
        raise ValueError(f"x1 must have shape (n, d), got {x1.shape}")
    if x2 is not None:
        x2 = jnp.asarray(x2)
        if x2.ndim != 2 or x2.shape[1] != x1.shape[1]:
            raise ValueError(f"x2 must have shape (n2, {x1.shape[1]}), got {x2.shape}")
    neural_tangents()  # its check on every call, not only when the cache below is filled
    kernel_fn = _compiled_kernel_fn(config.depth, config.W_std, config.b_std, config.activation)
    if not batch_size:
        k = kernel_fn(x1, x2, ("nngp", "ntk"))
        return Kernels(nngp=k.nngp, ntk=k.ntk)
    # neural_tangents.batch needs whole blocks: pad each side with copies of its last row
    # (every kernel entry depends on its own pair of rows only) and cut the padding off
    n1 = x1.shape[0]
    n2 = n1 if x2 is None else x2.shape[0]
    batched = neural_tangents().batch(kernel_fn, batch_size=batch_size)
    k = batched(
        _pad_rows(x1, batch_size),
        None if x2 is None else _pad_rows(x2, batch_size),
        ("nngp", "ntk"),
    )
    return Kernels(nngp=k.nngp[:n1, :n2], ntk=k.ntk[:n1, :n2])


@functools.lru_cache(maxsize=16)
def _compiled_kernel_fn(depth: int, W_std: float, b_std: float, activation: str) -> Callable:
    """``stax_mlp``'s kernel function, jitted once per architecture. Called eagerly it ran
    one compiled program per operation (about 80 for a depth-2 network, each compiled anew for
    every input shape): a first call took 1.6-3.0 s and a repeat 46-69 ms, against 0.3-0.5 s
    and 3-5 ms jitted (50-200 inputs of 8 features, depth 2, this 2-core CPU). The kernels
    agree to 7e-9 relative in float64 (the ReLU NTK, whose arc-cosine is ill-conditioned near
    the diagonal, where XLA fuses the formulas differently; the others to 2e-12)."""
    config = MLPConfig(depth=depth, W_std=W_std, b_std=b_std, activation=activation)
    _, _, kernel_fn = stax_mlp(config)
    return jax.jit(kernel_fn, static_argnames="get")


def _pad_rows(x: Array, block: int) -> Array:
    extra = -x.shape[0] % block
    return x if not extra else jnp.concatenate([x, jnp.repeat(x[-1:], extra, axis=0)])
