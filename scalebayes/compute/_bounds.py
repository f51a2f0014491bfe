"""Information-theoretic error bounds in the style of Jeon & Van Roy (arXiv 2407.01456).

Jeon & Van Roy bound the reducible log-loss of a model with ``p`` parameters trained on ``T``
tokens, when the data come from a latent function ``F`` (a two-layer network of infinite
width), by the sum of two terms:

- the **estimation error** ``I(F; F~) / T``, where ``F~`` is a constrained (finite-width,
  finite-precision) approximation of ``F``: it falls with ``T`` and grows with the information
  the model has to pin down;
- the **misspecification error** ``E[d_KL(P*_t || P^_t)]``, which falls with the model size
  and does not depend on ``T``; for the two-layer example it is at most
  ``3 K (1 + d eps^2) / n`` (width ``n``, input dimension ``d``, ``K`` outputs, approximation
  precision ``eps``).

What is taken from the paper and what is assumed here (the theorem constants could not be
read, see ``COMPUTE_OPTIMAL.md``):

- *from the paper*: the decomposition, the ``1 / T`` estimation rate and the misspecification
  term ``3 K (1 + d eps^2) / n``;
- *assumed*: the mutual information.
  [`two_layer_mutual_information`][scalebayes.compute.two_layer_mutual_information] takes
  every one of the ``p = n (d + K)`` weights of ``F~`` to be ``F``'s weight seen through a
  Gaussian channel with signal-to-noise ratio ``1 / eps^2`` (unit-variance weights, noise
  variance ``eps^2``), so ``I(F; F~) <= p / 2 log(1 + 1 / eps^2)`` nats (the channel's
  capacity); and ``p = n (d + K)`` (biases ignored), so ``n = p / (d + K)``.

With these choices the bound has the shape ``a p / T + b / p`` up to the logarithm, whose
compute-optimal allocation under ``C = p T`` is ``p* = (b C / (2 a))^(1/3)``: an exponent of
1/3, not the paper's 1/2. An exponent of 1/2 needs an ``I(F; F~)`` that grows only
logarithmically with ``p``; the solver in ``_allocation.py`` reports the exponent of whatever
bound is supplied.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from .._checks import check_integer

MISSPECIFICATION_CONSTANT = 3.0
"""The constant of the two-layer misspecification term ``3 K (1 + d eps^2) / n``."""


def _checked(name: str, value: ArrayLike, *, positive: bool) -> Array:
    """``value`` as an array; a concrete one (not traced by ``jit`` or ``grad``) must be
    finite and > 0 (``positive``) or >= 0, else a ValueError naming it."""
    if isinstance(value, jax.core.Tracer):
        return value
    try:
        host = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers, got {value!r}") from None
    bad = ~np.isfinite(host) | ((host <= 0) if positive else (host < 0))
    if bad.any():
        rule = "> 0" if positive else ">= 0"
        raise ValueError(
            f"{name} must be finite and {rule}; got {float(host[bad].reshape(-1)[0])!r}"
        )
    return jnp.asarray(host)


def _network(width: ArrayLike, input_dim: ArrayLike, n_outputs: ArrayLike) -> tuple:
    """The two-layer network's ``(n, d, K)``, each checked finite and > 0 (`_checked`)."""
    return tuple(
        _checked(name, value, positive=True)
        for name, value in (("width", width), ("input_dim", input_dim), ("n_outputs", n_outputs))
    )


def estimation_error(mutual_information: ArrayLike, n_tokens: ArrayLike) -> Array:
    """The estimation term ``I(F; F~) / T`` of the reducible error (nats per token).

    Args:
        mutual_information: ``I(F; F~)`` in nats (>= 0).
        n_tokens: number of training tokens ``T`` (> 0).

    Returns:
        ``I / T``, broadcast over the arguments.

    Raises:
        ValueError: for a concrete (not traced) argument out of its range.
    """
    info = _checked("mutual_information", mutual_information, positive=False)
    return info / _checked("n_tokens", n_tokens, positive=True)


def misspecification_error(
    width: ArrayLike,
    input_dim: ArrayLike,
    n_outputs: ArrayLike,
    eps: ArrayLike,
    *,
    constant: float = MISSPECIFICATION_CONSTANT,
) -> Array:
    """The two-layer misspecification term ``c K (1 + d eps^2) / n`` (nats per token).

    Args:
        width: hidden width ``n`` of the finite approximation (> 0; may be fractional when
            derived from a parameter count).
        input_dim: input dimension ``d``.
        n_outputs: number of outputs ``K``.
        eps: approximation precision ``eps`` (>= 0).
        constant: ``c``; 3 in Jeon & Van Roy's two-layer example.

    Returns:
        ``c K (1 + d eps^2) / n``, broadcast over the arguments.

    Raises:
        ValueError: for a concrete (not traced) argument out of its range.
    """
    width, input_dim, n_outputs = _network(width, input_dim, n_outputs)
    eps = _checked("eps", eps, positive=False)
    constant = _checked("constant", constant, positive=True)
    return constant * n_outputs * (1.0 + input_dim * eps**2) / width


def two_layer_mutual_information(
    width: ArrayLike, input_dim: ArrayLike, n_outputs: ArrayLike, eps: ArrayLike
) -> Array:
    """The assumed ``I(F; F~) = n (d + K) / 2 log(1 + 1 / eps^2)`` nats.

    An *assumption* (see the module docstring): each of the ``p = n (d + K)`` weights of the
    approximation is the latent weight observed through a Gaussian channel with
    signal-to-noise ratio ``1 / eps^2``, whose capacity is ``1/2 log(1 + 1 / eps^2)``.

    Args:
        width: hidden width ``n`` (> 0).
        input_dim: input dimension ``d``.
        n_outputs: number of outputs ``K``.
        eps: approximation precision (> 0).

    Returns:
        The mutual information in nats.

    Raises:
        ValueError: for a concrete (not traced) argument out of its range.
    """
    width, input_dim, n_outputs = _network(width, input_dim, n_outputs)
    eps = _checked("eps", eps, positive=True)
    return 0.5 * width * (input_dim + n_outputs) * jnp.log1p(1.0 / eps**2)


class TwoLayerBound(eqx.Module):
    """The reducible-error bound of the two-layer example as a function of ``(p, T)``.

    ``bound(p, T) = I(F; F~) / T + 3 K (1 + d eps^2) / n`` with ``n = p / (d + K)`` and
    ``I`` from [`two_layer_mutual_information`][scalebayes.compute.two_layer_mutual_information].
    With ``eps = None`` the precision is chosen per ``(p, T)`` to minimise the bound, in
    closed form: with ``s = eps^2`` the stationarity condition is
    ``s (1 + s) = p n / (2 T c K d)``, a quadratic in ``s``. The logarithm
    ``log(1 + 1 / eps*^2)`` that the optimised precision leaves in the bound depends on
    ``(p, T)`` only through ``p n / T``, which is the same at every budget along the
    compute-optimal path, so the allocation exponent is exactly 1/3 with no logarithmic
    drift (`allocation_exponent` measures 0.3333 at every budget). Call it as
    ``bound(p, T)``; pass it to
    [`optimal_allocation`][scalebayes.compute.optimal_allocation] as
    ``lambda p, T, _: bound(p, T)``.

    Attributes:
        input_dim: input dimension ``d`` (>= 1).
        n_outputs: number of outputs ``K`` (>= 1).
        eps: fixed approximation precision, or ``None`` to optimise it.
        constant: ``c`` of the misspecification term (3 in the paper).
    """

    input_dim: int
    n_outputs: int
    eps: float | None = None
    constant: float = MISSPECIFICATION_CONSTANT

    def __post_init__(self):
        for name in ("input_dim", "n_outputs"):
            object.__setattr__(self, name, check_integer(name, getattr(self, name), 1))
        if self.eps is not None and not (math.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps must be None or a finite number > 0, got {self.eps!r}")
        if not (math.isfinite(self.constant) and self.constant > 0):
            raise ValueError(f"constant must be a finite number > 0, got {self.constant!r}")

    def width(self, n_params: ArrayLike) -> Array:
        """The hidden width ``n = p / (d + K)`` of a model with ``p`` parameters."""
        return jnp.asarray(n_params) / (self.input_dim + self.n_outputs)

    def precision(self, n_params: ArrayLike, n_tokens: ArrayLike) -> Array:
        """The precision ``eps``: the fixed one, or the bound-minimising one for ``(p, T)``."""
        if self.eps is not None:
            return jnp.broadcast_to(
                jnp.asarray(self.eps, dtype=jnp.result_type(float)),
                jnp.broadcast_shapes(jnp.shape(n_params), jnp.shape(n_tokens)),
            )
        p, t = jnp.asarray(n_params), jnp.asarray(n_tokens)
        # d/ds [p/(2T) log(1 + 1/s) + c K d s / n] = 0  <=>  s (1 + s) = p n / (2 T c K d)
        q = p * self.width(p) / (2.0 * t * self.constant * self.n_outputs * self.input_dim)
        s = 2.0 * q / (1.0 + jnp.sqrt(1.0 + 4.0 * q))  # the positive root, without cancellation
        return jnp.sqrt(s)

    def estimation(self, n_params: ArrayLike, n_tokens: ArrayLike) -> Array:
        """The estimation term ``I(F; F~) / T``."""
        eps = self.precision(n_params, n_tokens)
        info = two_layer_mutual_information(
            self.width(n_params), self.input_dim, self.n_outputs, eps
        )
        return info / jnp.asarray(n_tokens)  # estimation_error without its argument checks

    def misspecification(self, n_params: ArrayLike, n_tokens: ArrayLike) -> Array:
        """The misspecification term ``c K (1 + d eps^2) / n`` (depends on ``T`` only via eps)."""
        eps = self.precision(n_params, n_tokens)
        return misspecification_error(
            self.width(n_params), self.input_dim, self.n_outputs, eps, constant=self.constant
        )

    def __call__(self, n_params: ArrayLike, n_tokens: ArrayLike) -> Array:
        """The bound ``estimation + misspecification`` at ``(p, T)`` (nats per token); a
        concrete ``p`` or ``T`` that is not finite and > 0 is a ValueError."""
        n_params = _checked("n_params", n_params, positive=True)
        n_tokens = _checked("n_tokens", n_tokens, positive=True)
        return self.estimation(n_params, n_tokens) + self.misspecification(n_params, n_tokens)
