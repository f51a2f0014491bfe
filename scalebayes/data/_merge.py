"""Merge points that share an x (repeated rows in benchmark files and user CSVs)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Bool, Float, Int


class Merged(NamedTuple):
    """Points with unique, sorted x; per unique x, how its raw rows were combined.

    Attributes:
        x: Unique x values, sorted, shape `(u,)`.
        y: y per unique x: the common value if all its rows agree, else their mean.
        is_context: Context flag per unique x (from its first row), or None.
        inverse: Index into `x` of each raw row, shape `(n,)`.
        counts: Number of raw rows per unique x, shape `(u,)`.
        y_differs: True where rows sharing an x have different y, shape `(u,)`.
        split_differs: True where rows sharing an x disagree on `is_context`, shape `(u,)`.
    """

    x: Float[np.ndarray, " u"]
    y: Float[np.ndarray, " u"]
    is_context: Bool[np.ndarray, " u"] | None
    inverse: Int[np.ndarray, " n"]
    counts: Int[np.ndarray, " u"]
    y_differs: Bool[np.ndarray, " u"]
    split_differs: Bool[np.ndarray, " u"]


def merge_duplicate_x(
    x: Float[np.ndarray, " n"],
    y: Float[np.ndarray, " n"],
    is_context: Bool[np.ndarray, " n"] | None = None,
) -> Merged:
    """Group raw rows by x; keep exact repeats once and average y where repeats disagree.

    Args:
        x: Raw x values in any order, shape `(n,)`.
        y: Raw y values, shape `(n,)`.
        is_context: Optional raw context flags, shape `(n,)`.

    Returns:
        A `Merged` tuple; callers decide whether differing y or split labels are errors.

    Raises:
        ValueError: if ``x``, ``y`` (or ``is_context``) are not 1-D of one length, or hold a
            value that is not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    given = {"x": x, "y": y}
    if is_context is not None:
        given["is_context"] = np.asarray(is_context)
    for name, values in given.items():
        if values.ndim != 1:
            raise ValueError(f"merge_duplicate_x: {name} must be 1-D, got shape {values.shape}")
        if values.size != x.size:
            raise ValueError(
                f"merge_duplicate_x: {name} has {values.size} values but x has {x.size}"
            )
    for name in ("x", "y"):
        if not np.all(np.isfinite(given[name])):
            raise ValueError(f"merge_duplicate_x: {name} must be finite (found NaN or inf)")
    x_u, first, inverse, counts = np.unique(
        x, return_index=True, return_inverse=True, return_counts=True
    )
    y_lo = np.full(x_u.shape, np.inf)
    y_hi = np.full(x_u.shape, -np.inf)
    np.minimum.at(y_lo, inverse, y)
    np.maximum.at(y_hi, inverse, y)
    y_differs = y_lo != y_hi
    # divide before summing: the mean of finite values near the float64 limit stays finite
    y_mean = np.bincount(inverse, weights=y / counts[inverse], minlength=x_u.size)
    y_u = np.where(y_differs, y_mean, y[first])  # exact repeats keep their value bit-for-bit
    if is_context is None:
        ctx_u, split_differs = None, np.zeros(x_u.shape, dtype=np.bool_)
    else:
        ctx = np.asarray(is_context, dtype=np.bool_)
        n_ctx = np.bincount(inverse, weights=ctx, minlength=x_u.size)
        ctx_u, split_differs = ctx[first], (n_ctx > 0) & (n_ctx < counts)
    return Merged(x_u, y_u, ctx_u, inverse, counts, y_differs, split_differs)
