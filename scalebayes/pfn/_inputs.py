"""How a curve enters the network: the input encodings of a PFN.

A PFN's [`PFNConfig.input`][scalebayes.pfn.PFNConfig] names one of:

- ``"nslpfn"`` (NSL-PFN's, what the first shipped models use): x is mapped linearly into
  [0.01, 1] by the smallest and largest x of the context *and the queries*, y enters as it
  is (the caller divides it by a scale). The prior's grid is uniform in linear x on
  [0.01, 1]; log-spaced runs and a far query put every context point near 0.01, and a
  prediction depends on the furthest query asked.
- ``"log-relative"`` (scale-free): x enters as ``log10(x / x_ref)`` with ``x_ref`` the
  context's largest x, and y as ``y / y_ref`` with ``y_ref`` the context's largest y (1
  when the context is all zeros). Both references come from the context alone, so a
  prediction at one x never depends on which other queries are asked, and multiplying all
  x (or all y) by a constant changes nothing (y's predictive scales with it). The bar
  distribution lives in the ``y / y_ref`` space.

One function, ``encode``, is the one implementation, used by training (on prior batches,
inside the compiled step, in JAX) and by the predictor (on real curves, in NumPy on the
host), so the two can never disagree.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

INPUTS: tuple[str, ...] = ("nslpfn", "log-relative", "log-log")
"""The input encodings a PFN can be trained with."""

#: ``log10(x / x_ref)`` is divided by this inside the model, so that the usual span of a
#: study (context 0.5-6 decades below ``x_ref``, queries up to 3 decades above) is O(1).
LOG_X_SCALE = 2.0

#: ``"log-log"`` floors ``y / y_ref`` here before its logarithm (a y of 0 stays finite).
LOG_Y_FLOOR = 1e-4


def y_features(name: str) -> int:
    """How many features each context y gives the network under the encoding ``name``."""
    return 2 if check_input(name) == "log-log" else 1


def check_input(name: str) -> str:
    """``name`` if it is a known input encoding, else a ValueError listing them."""
    if name not in INPUTS:
        raise ValueError(f"unknown PFN input encoding {name!r}; choose one of {INPUTS}")
    return name


def encode(
    name: str,
    x: Float[Array, " T"],
    y: Float[Array, " T"],
    is_context: Bool[Array, " T"],
    valid: Bool[Array, " T"],
    xp=jnp,
) -> tuple[Float[Array, " T"], Float[Array, " T"], Float[Array, ""]]:
    """One curve's slots as the network sees them.

    Args:
        name: the encoding, one of ``INPUTS``.
        x: x of every slot, shape ``(T,)``; for ``"nslpfn"`` already in [0.01, 1], for
            the scale-free encodings (``"log-relative"``, ``"log-log"``) > 0 in any units.
        y: y of every slot (only context slots are read), shape ``(T,)``, >= 0.
        is_context: context slots.
        valid: used slots (padding is False).
        xp: the array module, ``jax.numpy`` (training, under ``jit``) or ``numpy`` (one
            curve's prediction on the host: the same formula, and no compilation for every
            new number of slots).

    Returns:
        ``(x_enc, y_enc, y_ref)``: encoded x and y (targets in ``y / y_ref``) and the y
        reference that the bar distribution's outputs are multiplied by (1 for
        ``"nslpfn"``). ``"log-log"`` encodes as ``"log-relative"``; its log feature is added
        by `normalise`.
    """
    if name == "nslpfn":
        return x, y, xp.ones((), y.dtype)
    check_input(name)
    ctx = is_context & valid
    zero = xp.zeros((), x.dtype)  # keeps NumPy's float32 float32, as JAX's is
    x_ref = xp.max(xp.where(ctx, x, zero))
    y_ref = xp.max(xp.where(ctx, y, zero))
    y_ref = xp.where(y_ref > 0, y_ref, xp.ones((), y.dtype))
    x_safe = xp.where(valid & (x > 0), x, x_ref)
    x_enc = xp.where(valid, xp.log10(x_safe / x_ref), zero)
    return x_enc, y / y_ref, y_ref


def normalise(name: str, x_enc: Array, y_enc: Array) -> tuple[Array, Array]:
    """The model's features of encoded inputs (roughly zero mean, unit scale), ``(T, 1)`` for
    x and ``(T, y_features(name))`` for y.

    ``"nslpfn"``: ``(v - 0.5) / sqrt(1/12)`` for x and y, as NSL-PFN (uniform on [0, 1]
    becomes unit variance). ``"log-relative"``: ``x / LOG_X_SCALE`` for x and the same
    standardisation as NSL-PFN for ``y / y_ref`` (which lies in [0, 1] on the context).
    ``"log-log"``: as ``"log-relative"``, and ``ln(max(y / y_ref, LOG_Y_FLOOR))`` as a
    second y feature.
    """
    scale = (1.0 / 12.0) ** 0.5
    yn = ((y_enc - 0.5) / scale)[:, None]
    if name == "nslpfn":
        return ((x_enc - 0.5) / scale)[:, None], yn
    xn = (x_enc / LOG_X_SCALE)[:, None]
    if name == "log-log":
        log_y = jnp.log(jnp.maximum(y_enc, LOG_Y_FLOOR))[:, None]
        return xn, jnp.concatenate([yn, log_y], axis=-1)
    return xn, yn
