"""Compute-optimal allocation: the closed form for the Chinchilla law and a numerical solver.

For a loss (or error bound) ``f(p, T)`` of a model with ``p`` parameters trained on ``T``
tokens and a compute budget ``C = k p T`` (``k = 6`` FLOPs per parameter and token for
transformers as in Hoffmann et al. 2022, ``k = 1`` in Jeon & Van Roy's accounting), the
compute-optimal allocation is

    p*(C) = argmin_p f(p, C / (k p)),    T*(C) = C / (k p*(C)).

[`optimal_allocation`][scalebayes.compute.optimal_allocation] finds it for any ``f`` by
bisection on ``d f / d log p`` over ``u = log p`` (the objective is assumed unimodal in ``u``,
which holds for sums of power laws and for the information-theoretic bounds here) and is
differentiable: its JVP comes from the implicit function theorem at the optimum,
``du*/dθ = -(∂²f/∂u∂θ) / (∂²f/∂u²)``, so ``dp*/dC`` and derivatives with respect to the
parameters of ``f`` are exact, not differentiated through the iterations.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from .._checks import beyond_float, is_integer
from .._precision import float64

#: ``optimal_allocation``'s most bisection steps (100 already reach float64 resolution).
_MAX_ITERATIONS = 10_000

LossFn = Callable[[Array, Array, Any], Array]


class Allocation(NamedTuple):
    """A compute-optimal allocation (each field has the shape of the compute budget).

    Attributes:
        n_params: the optimal parameter count ``N*`` (or ``p*``).
        n_tokens: the optimal number of training tokens ``D* = C / (k N*)``.
        loss: the loss (or bound) at the optimum, ``f(N*, D*)``.
    """

    n_params: Array
    n_tokens: Array
    loss: Array


class ExponentFit(NamedTuple):
    """The power law ``p*(C) ≈ G C^a`` fitted to optimal allocations over a range of budgets.

    Attributes:
        exponent: least-squares slope ``a`` of ``log p*`` on ``log C`` over the grid.
        prefactor: ``G`` of the fitted line.
        local: the local exponents ``d log p* / d log C`` at each budget (by implicit
            differentiation), shape of the grid; constant and equal to ``exponent`` for an
            exact power law.
        compute: the budgets used.
        n_params: ``p*`` at each budget.
    """

    exponent: float
    prefactor: float
    local: np.ndarray
    compute: np.ndarray
    n_params: np.ndarray


def _as_float(name: str, value: ArrayLike, *, positive: bool, non_negative: bool = False) -> Array:
    """``value`` as a floating JAX array; a concrete one is checked (finite, and > 0 if
    ``positive``, >= 0 if ``non_negative``). Python and NumPy numbers and concrete JAX
    arrays go through NumPy float64 (the precision policy: concrete calls compute in
    float64), so an integer budget such as ``10**21`` does not overflow JAX's integers."""
    if isinstance(value, jax.core.Tracer):  # under jit / grad / vmap: the trace's business
        return value if jnp.issubdtype(value.dtype, jnp.floating) else value.astype(float)
    try:
        array = np.asarray(value, dtype=np.float64)  # a concrete JAX array too (float32 in)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    except OverflowError:  # a Python int beyond float64, e.g. 10**400
        raise ValueError(f"{name} must be finite; got {beyond_float(value)}") from None
    # checked on the host: under jit, jnp.asarray of a constant can already be a tracer
    host = array.astype(np.dtype(jnp.result_type(float)))  # float32 where x64 is off
    low = (host <= 0) if positive else (host < 0) if non_negative else False
    bad = ~np.isfinite(host) | low
    if bad.any():
        bound = " and > 0" if positive else " and >= 0" if non_negative else ""
        raise ValueError(
            f"{name} must be finite{bound}; got "
            f"{float(host.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])!r}"
        )
    return jnp.asarray(host)


@float64
def chinchilla_allocation(
    E: ArrayLike,
    A: ArrayLike,
    B: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    compute: ArrayLike,
    *,
    flops_per_param_token: float = 6.0,
) -> Allocation:
    """The compute-optimal allocation of ``L(N, D) = E + A / N^alpha + B / D^beta`` in closed form.

    With ``C = k N D``, setting ``d L(N, C / (k N)) / d N = 0`` gives

        G = (alpha A / (beta B))^(1 / (alpha + beta)),   a = beta / (alpha + beta),
        N* = G (C / k)^a,   D* = (C / k) / N*,

    (Hoffmann et al. 2022, eq. 4), with ``N*`` kept within ``[1, C / k]`` (at least one
    parameter and one token; extreme parameters put the unconstrained optimum outside, and
    the loss is convex in ``log N``, so the clipped value is the constrained optimum). A
    traced exponent ``<= 0`` (a posterior draw) is answered as the numerical solver does:
    the same stationary point when both are negative, else the bracket edge of lower loss. All
    arguments broadcast against each other, so posterior
    draws (shape ``(n_draws, 1)``) and a grid of budgets (shape ``(n_budgets,)``) give
    ``(n_draws, n_budgets)``. Computed in log space.

    Args:
        E: irreducible loss.
        A: model-size coefficient (> 0).
        B: data-size coefficient (> 0).
        alpha: model-size exponent (> 0).
        beta: data-size exponent (> 0).
        compute: budget ``C`` in FLOPs (> 0).
        flops_per_param_token: ``k`` in ``C = k N D``.

    Returns:
        The [`Allocation`][scalebayes.compute.Allocation] ``(N*, D*, L(N*, D*))``; float64
        unless called under a float32 ``jit``, ``grad`` or ``vmap``.

    Raises:
        ValueError: if a concrete (not traced) argument is out of range: ``compute``, ``A``,
            ``B``, ``alpha``, ``beta`` or ``flops_per_param_token`` not finite and > 0,
            ``compute`` below ``flops_per_param_token``, or ``E`` (the irreducible loss) not
            finite and >= 0.
    """
    k = _check_positive("flops_per_param_token", flops_per_param_token)
    E, A, B, alpha, beta, compute = (
        _as_float(name, v, positive=name != "E", non_negative=name == "E")
        for name, v in zip(
            ("E", "A", "B", "alpha", "beta", "compute"),
            (E, A, B, alpha, beta, compute),
            strict=True,
        )
    )
    if not isinstance(compute, jax.core.Tracer) and np.any(np.asarray(compute) < k):
        raise ValueError(
            f"compute must be at least flops_per_param_token = {k:g} (one parameter trained "
            f"on one token); got {float(np.min(np.asarray(compute))):g}"
        )
    log_budget = jnp.log(compute) - math.log(k)
    top = jnp.maximum(log_budget, 0.0)

    def loss_at(log_n):
        return (
            E
            + jnp.exp(jnp.log(A) - alpha * log_n)
            + jnp.exp(jnp.log(B) - beta * (log_budget - log_n))
        )

    # A traced exponent <= 0 (a posterior draw of a prior that allows it): with both < 0 the
    # loss is still convex in log N and the same stationary point (with |alpha|, |beta| in
    # the logs) is its minimum; with one <= 0 and the other >= 0 the loss is monotone in
    # log N and its optimum is the bracket edge of lower loss (as optimal_allocation's
    # bracket gives), not the formula's log of a negative number.
    interior = alpha * beta > 0
    a_safe, b_safe = jnp.where(interior, alpha, 1.0), jnp.where(interior, beta, 1.0)
    total = a_safe + b_safe
    log_g = (jnp.log(jnp.abs(a_safe)) + jnp.log(A) - jnp.log(jnp.abs(b_safe)) - jnp.log(B)) / total
    # at least one parameter and one token: the loss is convex in log N, so the optimum under
    # that constraint is the clipped one (as optimal_allocation's bracket gives), and N*, D*
    # stay finite and > 0 where exp would under- or overflow
    log_n = jnp.clip(log_g + b_safe / total * log_budget, 0.0, top)
    edge = jnp.where(loss_at(top) < loss_at(jnp.zeros_like(top)), top, 0.0)
    log_n = jnp.where(interior, log_n, edge)
    log_d = log_budget - log_n
    return Allocation(jnp.exp(log_n), jnp.exp(log_d), loss_at(log_n))


class _Settings(NamedTuple):
    """Static settings of the solver (hashable, so they can be a ``nondiff_argnum``)."""

    log_k: float
    log_min_params: float
    log_min_tokens: float
    iterations: int


def _bounds(log_c: Array, settings: _Settings) -> tuple[Array, Array]:
    lo = jnp.asarray(settings.log_min_params, dtype=log_c.dtype)
    hi = log_c - settings.log_k - settings.log_min_tokens
    return lo, hi


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 3))
def _argmin_log_params(objective: Callable, log_c: Array, args: Any, settings: _Settings) -> Array:
    """``argmin_u objective(u, log_c, args)`` over the bracket, by bisection on the derivative."""
    grad_u = jax.grad(objective, argnums=0)
    lo, hi = _bounds(log_c, settings)

    def step(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        slope = grad_u(mid, log_c, args)
        # A loss written as A / N**alpha can overflow to inf / inf in its derivative where the
        # loss itself is fine (it underflows to 0): read the sign off the loss there instead.
        h = 1e-6 * jnp.maximum(1.0, jnp.abs(mid))
        change = objective(mid + h, log_c, args) - objective(mid - h, log_c, args)
        rising = jnp.where(jnp.isfinite(slope), slope > 0, change > 0)
        return jnp.where(rising, lo, mid), jnp.where(rising, mid, hi)

    lo, hi = jax.lax.fori_loop(0, settings.iterations, step, (lo, hi))
    u = 0.5 * (lo + hi)
    lo0, hi0 = _bounds(log_c, settings)
    return jnp.where(hi0 >= lo0, u, jnp.nan)


@_argmin_log_params.defjvp
def _argmin_log_params_jvp(objective, settings, primals, tangents):
    log_c, args = primals
    u = _argmin_log_params(objective, log_c, args, settings)
    grad_u = jax.grad(objective, argnums=0)
    curvature = jax.grad(grad_u, argnums=0)(u, log_c, args)
    _, mixed = jax.jvp(lambda lc, a: grad_u(u, lc, a), (log_c, args), tangents)
    interior = -mixed / curvature
    # On the bracket's edges the optimum moves with the edge: the lower edge is fixed, the
    # upper edge log C - log k - log T_min moves one for one with log C.
    lo, hi = _bounds(log_c, settings)
    width = hi - lo
    at_lo = u - lo < 1e-6 * width
    at_hi = hi - u < 1e-6 * width
    du = jnp.where(at_lo, 0.0, jnp.where(at_hi, tangents[0], interior))
    return u, du


def _objective(loss_fn: LossFn, log_k: float) -> Callable:
    def objective(u, log_c, args):
        return loss_fn(jnp.exp(u), jnp.exp(log_c - log_k - u), args)

    return objective


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


@float64
def optimal_allocation(
    loss_fn: LossFn,
    compute: ArrayLike,
    args: Any = None,
    *,
    flops_per_param_token: float = 1.0,
    min_params: float = 1.0,
    min_tokens: float = 1.0,
    iterations: int = 100,
) -> Allocation:
    """Minimise ``loss_fn(p, T, args)`` subject to ``C = k p T`` for each budget in ``compute``.

    Bisection on ``d f / d log p`` over ``log p`` in ``[log min_params, log(C / (k min_tokens))]``
    (``iterations`` halvings), then ``T = C / (k p)``. If the derivative does not change sign
    the optimum is the edge of that bracket. Differentiable in ``compute`` and ``args`` by the
    implicit function theorem (exact derivatives at the optimum); works under ``jit`` and
    ``vmap``. Where ``C / k < min_params min_tokens`` no allocation exists and the result is
    NaN (under a trace; a concrete budget that small raises). Computes in float64 unless
    called under a float32 ``jit``, ``grad`` or ``vmap``.

    Args:
        loss_fn: ``loss_fn(p, T, args) -> scalar``, smooth in ``log p``; ``p`` and ``T`` are
            positive scalars (use ``jnp`` functions so it can be differentiated). Its
            solver is compiled once per hashable ``loss_fn`` (a function, or an object that
            hashes by identity), so pass values that change between calls in ``args``; an
            unhashable object (a dataclass) is read afresh, and compiled, on every call.
        compute: budget(s) ``C`` (any shape, > 0).
        args: a pytree of parameters passed to ``loss_fn`` (differentiable).
        flops_per_param_token: ``k`` in ``C = k p T`` (1 for Jeon & Van Roy, 6 for transformers).
        min_params: smallest parameter count considered.
        min_tokens: smallest token count considered.
        iterations: bisection steps; 100 reaches float64 resolution for any bracket.

    Returns:
        The [`Allocation`][scalebayes.compute.Allocation] ``(p*, T*, f(p*, T*))``, each with
        the shape of ``compute``.

    Raises:
        ValueError: if a concrete ``compute`` is not finite and > 0, or is below
            ``k min_params min_tokens``; or if ``loss_fn`` is not finite at the allocation
            found (outside a trace).

    Example:
        For ``f = a p / T + b / p`` and ``C = p T`` the optimum is ``p* = (b C / (2 a))^(1/3)``:

        ```python
        f = lambda p, T, ab: ab[0] * p / T + ab[1] / p
        optimal_allocation(f, 1e12, (1.0, 2.0)).n_params  # (2e12 / 2)^(1/3) = 1e4
        ```
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if not is_integer(iterations) or not 1 <= iterations <= _MAX_ITERATIONS:
        raise ValueError(
            f"iterations must be an integer from 1 to {_MAX_ITERATIONS} (100 reaches float64 "
            f"resolution), got {iterations!r}"
        )
    settings = _Settings(
        math.log(_check_positive("flops_per_param_token", flops_per_param_token)),
        math.log(_check_positive("min_params", min_params)),
        math.log(_check_positive("min_tokens", min_tokens)),
        int(iterations),
    )
    compute = _as_float("compute", compute, positive=True)
    if not isinstance(compute, jax.core.Tracer):
        smallest = math.exp(settings.log_k + settings.log_min_params + settings.log_min_tokens)
        if np.any(np.asarray(compute) < smallest * (1 - 1e-12)):
            raise ValueError(
                f"compute must be at least flops_per_param_token * min_params * min_tokens = "
                f"{smallest:g} (no allocation fits a smaller budget); got "
                f"{float(np.min(np.asarray(compute))):g}"
            )
    log_c = jnp.log(compute)
    args = _plain_containers(args)
    p, t, loss = _solve(log_c.reshape(-1), args, loss_fn=_hashable(loss_fn), settings=settings)
    if not isinstance(loss, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(loss))):
        bad = int(np.argmax(~np.isfinite(np.asarray(loss))))
        raise ValueError(
            f"loss_fn is not finite at the allocation it reached for C = "
            f"{float(np.exp(np.asarray(log_c).reshape(-1)[bad])):g} (loss "
            f"{float(np.asarray(loss)[bad])}): check loss_fn and args over p in "
            f"[min_params, C / (k min_tokens)]"
        )
    shape = log_c.shape
    return Allocation(p.reshape(shape), t.reshape(shape), loss.reshape(shape))


def _plain_containers(args: Any) -> Any:
    """``args`` with every mapping that is not a dict (such as the read-only
    ``HOFFMANN_2022``, a ``MappingProxyType``) as a dict, inside tuples and lists too: JAX
    reads dicts, tuples and lists as pytrees, and refused the package's own constants."""
    if isinstance(args, Mapping):
        return {key: _plain_containers(value) for key, value in args.items()}
    if isinstance(args, tuple | list) and not hasattr(args, "_fields"):  # not a NamedTuple
        return type(args)(_plain_containers(value) for value in args)
    return args


class _ByIdentity:
    """A callable wrapper that hashes by identity (for unhashable loss functions)."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)

    __hash__ = object.__hash__
    __eq__ = object.__eq__


def _hashable(loss_fn: LossFn) -> LossFn:
    """``loss_fn`` itself if hashable (a function: its compiled solver is reused), else a
    fresh `_ByIdentity` wrapper (e.g. a dataclass holding its parameters): compiled again on
    each call, since such an object may have changed since the last one."""
    try:
        hash(loss_fn)
        return loss_fn
    except TypeError:
        return _ByIdentity(loss_fn)


@functools.partial(jax.jit, static_argnames=("loss_fn", "settings"))
def _solve(log_c: Array, args: Any, *, loss_fn: LossFn, settings: _Settings):
    """Solve at every ``log C`` of a 1-D array (compiled once per ``loss_fn`` and settings)."""
    objective = _objective(loss_fn, settings.log_k)

    def one(lc):
        u = _argmin_log_params(objective, lc, args, settings)
        p = jnp.exp(u)
        t = jnp.exp(lc - settings.log_k - u)
        return p, t, loss_fn(p, t, args)

    return jax.vmap(one)(log_c)


@functools.partial(jax.jit, static_argnames=("loss_fn", "options"))
def _log_params_and_slopes(log_c: Array, args: Any, *, loss_fn: LossFn, options: tuple):
    """``log p*`` and ``d log p* / d log C`` at each ``log C`` (compiled once per ``loss_fn``
    and options, not per call)."""

    def log_p(lc):
        return jnp.log(optimal_allocation(loss_fn, jnp.exp(lc), args, **dict(options)).n_params)

    return jax.vmap(jax.value_and_grad(log_p))(log_c)


@float64
def allocation_exponent(
    loss_fn: LossFn,
    compute: ArrayLike,
    args: Any = None,
    *,
    flops_per_param_token: float = 1.0,
    min_params: float = 1.0,
    min_tokens: float = 1.0,
) -> ExponentFit:
    """Fit ``p*(C) ≈ G C^a`` over a grid of budgets, with the local exponents.

    Solves [`optimal_allocation`][scalebayes.compute.optimal_allocation] at each budget, fits
    ``log p* = log G + a log C`` by least squares and differentiates ``log p*`` with respect to
    ``log C`` at each budget (implicit differentiation). For a bound with logarithmic factors
    the local exponent drifts with ``C`` and the fitted ``a`` is its average over the range.

    Args:
        loss_fn: ``loss_fn(p, T, args) -> scalar`` (see `optimal_allocation`).
        compute: at least two distinct budgets (> 0).
        args: parameters passed to ``loss_fn``.
        flops_per_param_token: ``k`` in ``C = k p T``.
        min_params: smallest parameter count considered.
        min_tokens: smallest token count considered.

    Returns:
        An [`ExponentFit`][scalebayes.compute.ExponentFit].
    """
    try:
        grid = np.asarray(compute, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"compute must be numbers (budgets in FLOPs), got {compute!r}") from None
    if grid.size < 2 or np.unique(grid).size < 2:
        raise ValueError(f"compute must hold at least two distinct budgets, got {grid.tolist()}")
    if not np.all(np.isfinite(grid) & (grid > 0)):
        raise ValueError("compute: every budget must be finite and > 0")
    smallest = (
        _check_positive("flops_per_param_token", flops_per_param_token)
        * _check_positive("min_params", min_params)
        * _check_positive("min_tokens", min_tokens)
    )
    if grid.min() < smallest * (1 - 1e-12):
        raise ValueError(
            f"compute must be at least flops_per_param_token * min_params * min_tokens = "
            f"{smallest:g} (no allocation fits a smaller budget); got {grid.min():g}"
        )
    options = (
        ("flops_per_param_token", float(flops_per_param_token)),
        ("min_params", float(min_params)),
        ("min_tokens", float(min_tokens)),
    )
    log_c = jnp.log(jnp.asarray(grid))
    values, local = _log_params_and_slopes(log_c, args, loss_fn=_hashable(loss_fn), options=options)
    values, local = np.asarray(values, dtype=float), np.asarray(local, dtype=float)
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(local))):
        # the solve under the trace checks nothing: the concrete one says where the loss fails
        optimal_allocation(loss_fn, grid, args, **dict(options))
        bad = int(np.argmax(~(np.isfinite(values) & np.isfinite(local))))
        raise ValueError(
            f"the local exponent d log p*/d log C is not finite at C = {grid[bad]:g}: check "
            "that loss_fn is smooth in log p there"
        )
    x = np.log(grid)
    slope, intercept = np.polyfit(x, values, 1)
    return ExponentFit(float(slope), float(np.exp(intercept)), local, grid, np.exp(values))
