"""Run a block in double precision without touching the global JAX configuration."""

from __future__ import annotations

import jax


def x64():
    """A context manager that enables float64 inside the block only.

    ``jax.enable_x64(True)`` on current JAX; ``jax.experimental.enable_x64()`` on older
    releases that lack it.
    """
    state = getattr(jax, "enable_x64", None)
    if state is not None and callable(state):
        try:
            return state(True)
        except TypeError:
            pass
    from jax.experimental import enable_x64  # older JAX

    return enable_x64()
