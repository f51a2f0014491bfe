"""The package's precision policy: one context the user controls, one scope at each entry point.

The policy (README, "Precision"):

1. **Solvers and summaries run in float64, always.** Point fits (Levenberg-Marquardt over a fixed
   budget of iterations), the compute-optimal fits and allocations, the NTK moments and the MCMC
   predictive quantities cannot keep their tolerances in float32. Their public entry points
   are decorated with [`float64`][scalebayes._precision.float64], which switches JAX's x64
   mode on for the call (and only for it) and leaves the global configuration alone; they
   return NumPy float64 arrays.
2. **Samplers follow the user's choice.**
   [`sample_posterior`][scalebayes.inference.sample_posterior] and
   [`sample_model`][scalebayes.inference.sample_model] take ``precision=``; when it is
   ``None`` they use the innermost [`precision`][scalebayes.precision] context, else their
   documented default (float32 for many curves, float64 for one model).
3. **Plain JAX functions follow JAX.** The families (``scalebayes.families.m4`` ...) compute
   in the dtype of their inputs: float32 unless x64 mode is on. ``with
   scalebayes.precision("float64"):`` turns it on for a block (the NumPy inputs then become
   float64 arrays), ``with scalebayes.precision("float32"):`` turns it off.

Nothing in the package toggles precision anywhere else: helpers inherit their entry point's.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator

__all__ = ["PRECISIONS", "check_precision", "current_precision", "float64", "precision"]

PRECISIONS = ("float32", "float64")
_CHOSEN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "scalebayes_precision", default=None
)


def check_precision(value: object) -> str:
    """``value`` if it is ``"float32"`` or ``"float64"``; else a ``ValueError`` naming them."""
    if value not in PRECISIONS:
        raise ValueError(f"precision must be 'float32' or 'float64', got {value!r}")
    return str(value)


def _jax_x64(enabled: bool):
    """JAX's x64 mode on or off for a block (``jax.enable_x64``; ``jax.experimental`` on
    older releases)."""
    import jax

    state = getattr(jax, "enable_x64", None)
    if state is not None:
        return state(enabled)
    from jax.experimental import enable_x64  # pragma: no cover - older JAX

    return enable_x64(enabled)  # pragma: no cover


@contextlib.contextmanager
def precision(value: str) -> Iterator[str]:
    """Compute in ``"float32"`` or ``"float64"`` inside the block.

    Sets the precision of the package's samplers when their ``precision`` argument is
    ``None``, and JAX's x64 mode for plain JAX code (the families). Solvers run in float64
    whatever it says (see the module's policy). Nests; restores the previous state on exit;
    local to the thread and task.

    Args:
        value: ``"float32"`` or ``"float64"``.

    Yields:
        The precision.

    Example:
        >>> import numpy as np, scalebayes
        >>> from scalebayes import families
        >>> with scalebayes.precision("float64"):
        ...     y = families.m1(np.array([10.0, 100.0]), 2.0, -0.5)
        >>> str(y.dtype)
        'float64'
    """
    value = check_precision(value)
    token = _CHOSEN.set(value)
    try:
        with _jax_x64(value == "float64"):
            yield value
    finally:
        _CHOSEN.reset(token)


def current_precision(default: str) -> str:
    """The innermost [`precision`][scalebayes.precision] context's value, else ``default``."""
    chosen = _CHOSEN.get()
    return check_precision(default if chosen is None else chosen)


@contextlib.contextmanager
def precision_scope(value: str | None, default: str = "float64") -> Iterator[str]:
    """An entry point's scope: ``value``, else the user's context, else ``default``."""
    resolved = current_precision(default) if value is None else check_precision(value)
    with _jax_x64(resolved == "float64"):
        yield resolved


def float64[**P, R](fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` in float64 (JAX's x64 mode on for the call only): a solver's entry point."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _jax_x64(True):
            return fn(*args, **kwargs)

    return wrapper
