"""Eager random draws that compile once per size bucket, not once per shape.

Outside ``jit`` every ``jax.random`` call of a new shape compiles its own XLA program, and a
normal draw costs 0.3-0.5 s of compilation on a CPU (float64: the hash and the inverse error
function), which a user pays again for every new number of draws (``Predictive.sample(key,
7)``, then ``(key, 9)``, ...). With JAX's partitionable threefry (its default since 0.5) a
draw's values depend only on the key and each element's flat index, so the first ``n``
values of a draw of ``m >= n`` are the draw of ``n``, in any shape. These helpers draw a
power-of-two number of values and keep the first ``n``, on the host: the same numbers as a
direct draw of ``shape``, from one compiled program per bucket. Where that identity does not
hold (another PRNG implementation, the non-partitionable threefry) or where the bounds are
arrays that broadcast against ``shape``, they draw ``shape`` directly; inside a trace they
return that direct draw as the traced array it is.
"""

from __future__ import annotations

import math

import numpy as np

from ._shapes import bucket

__all__ = ["draw_choice", "draw_normal", "draw_randint", "draw_uniform"]

_SMALLEST = 16  # values drawn at least


def _prefix_consistent(key) -> bool:
    import jax

    dtype = getattr(key, "dtype", None)
    if dtype is None or not jax.config.jax_threefry_partitionable:
        return False  # not a key: the direct draw raises JAX's own error
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return str(jax.random.key_impl(key)) == "threefry2x32"
    return str(jax.config.jax_default_prng_impl) == "threefry2x32"


def _draw(sampler, key, shape, *args, **kwargs) -> np.ndarray:
    import jax

    shape = tuple(int(n) for n in shape)
    size = math.prod(shape)
    traced = any(isinstance(a, jax.core.Tracer) for a in (key, *args, *kwargs.values()))
    if traced:
        return sampler(key, shape, *args, **kwargs)
    arrays = any(np.ndim(a) for a in (*args, *kwargs.values()))  # bounds broadcast to shape
    if size == 0 or arrays or not _prefix_consistent(key):
        return np.asarray(sampler(key, shape, *args, **kwargs))
    flat = np.asarray(sampler(key, (bucket(size, _SMALLEST),), *args, **kwargs))
    # a copy, so that the returned array does not keep the whole bucket alive
    return flat[:size].reshape(shape).copy()


def draw_normal(key, shape, dtype=None) -> np.ndarray:
    """``jax.random.normal(key, shape, dtype)`` as a NumPy array (see the module)."""
    import jax

    kwargs = {} if dtype is None else {"dtype": dtype}
    return _draw(jax.random.normal, key, shape, **kwargs)


def draw_uniform(key, shape, minval=0.0, maxval=1.0) -> np.ndarray:
    """``jax.random.uniform(key, shape, minval=minval, maxval=maxval)`` as a NumPy array."""
    import jax

    return _draw(jax.random.uniform, key, shape, minval=minval, maxval=maxval)


def draw_randint(key, shape, minval: int, maxval: int) -> np.ndarray:
    """``jax.random.randint(key, shape, minval, maxval)`` as a NumPy array."""
    import jax

    return _draw(jax.random.randint, key, shape, minval, maxval)


def draw_choice(key, n: int, shape, p) -> np.ndarray:
    """``jax.random.choice(key, n, shape, p=p)`` (with replacement) as a NumPy array."""
    import jax

    def sampler(k, s):
        return jax.random.choice(k, n, s, p=p)

    if isinstance(p, jax.core.Tracer):  # (p is not an argument _draw sees)
        return sampler(key, tuple(shape))
    return _draw(sampler, key, shape)
