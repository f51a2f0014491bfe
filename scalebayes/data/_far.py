"""Far-extrapolation splits: a few log-spaced runs as context, targets 10-100x beyond them."""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types

import numpy as np
from jaxtyping import Float, Int

from .._checks import is_real
from ._benchmarks import load_benchmark
from ._curve import Curve

# Split name -> factor F: the context ends F times below the curve's largest x.
FAR_SPLITS = types.MappingProxyType({"far10": 10, "far100": 100})

MIN_CONTEXT = 3  # a far curve needs at least this many context points
_LOG_TOL = 1e-9  # decades: x exactly at x_max / F (up to rounding) counts as context
_FAR_NAME = re.compile(r"far(\d+)")


def _check_target_decades(target_decades: object) -> float:
    if not is_real(target_decades):
        raise TypeError(f"target_decades must be a real number > 0; got {target_decades!r}")
    td = float(target_decades)
    if not (math.isfinite(td) and td > 0):
        raise ValueError(f"target_decades must be finite and > 0; got {target_decades!r}")
    return td


def _check_factor(factor: object, target_decades: float) -> float:
    """Return `factor` as a float after checking it is a real number with room for targets."""
    if not is_real(factor):
        raise TypeError(f"factor must be a real number > 1; got {type(factor).__name__}")
    f = float(factor)
    if not (math.isfinite(f) and f > 1.0):
        raise ValueError(f"factor must be a finite number > 1; got {factor!r}")
    td = _check_target_decades(target_decades)
    # in log space (no overflow), with room for both masks' tolerance: disjoint by construction
    if math.log10(f) <= td + 2 * _LOG_TOL:
        raise ValueError(
            f"factor must exceed 10**target_decades (target_decades = {td:g}) so that every "
            f"target lies beyond the context; got factor={factor!r}"
        )
    return f


def thin_log_spaced(log_x: Float[np.ndarray, " m"], k: int) -> Int[np.ndarray, " k"]:
    """Indices of at most `k` points of sorted `log_x`, as evenly spaced as possible.

    The first and last points are always kept. The other `k - 2` are chosen greedily
    against the grid `linspace(log_x[0], log_x[-1], k)`: repeatedly the (grid node,
    point) pair at the smallest distance among unused nodes and points is matched (ties:
    lower node, then lower point), so no point is chosen twice.

    Args:
        log_x: Sorted, distinct positions (e.g. `log10(x)`), shape `(m,)`.
        k: Number of points to keep, `>= 2`.

    Returns:
        Sorted indices into `log_x`, shape `(min(m, k),)`.
    """
    m = log_x.size
    if m <= k:
        return np.arange(m)
    grid = np.linspace(log_x[0], log_x[-1], k)[1:-1]
    dist = np.abs(grid[:, None] - log_x[None, 1:-1])  # interior nodes x interior points
    chosen = [0, m - 1]
    for _ in range(grid.size):
        node, point = np.unravel_index(np.argmin(dist), dist.shape)
        chosen.append(int(point) + 1)
        dist[node, :] = np.inf
        dist[:, point] = np.inf
    return np.sort(np.array(chosen))


def far_split(
    curve: Curve, factor: float, *, max_context: int = 8, target_decades: float = 0.5
) -> Curve | None:
    """Re-split a curve for far extrapolation: a few runs, then targets `factor` times beyond.

    All points of `curve` are used (an existing split is ignored). With `x_max` the
    largest x:

    - context: the points with `x <= x_max / factor`, thinned to at most `max_context`
      points spaced as evenly as possible in log x (see `thin_log_spaced`; the smallest
      and the largest context x are always kept);
    - targets: the points with `x >= x_max / 10**target_decades` (the top half-decade by
      default), so each target lies at least `factor / 10**target_decades` times beyond
      the last context point and `x_max` at least `factor` times (far10: 3.2x-10x,
      far100: 31.6x-100x, when a point lies at `x_max / factor`; more after a gap);
    - the points in between, and context points removed by the thinning, are dropped.

    Comparisons allow 1e-9 decades of rounding, so a point at exactly `x_max / factor`
    is context. The largest point is always a target, so the curve spans enough when it
    has at least 3 points with `x <= x_max / factor`; otherwise the result is None.

    y is divided by `m = max(y_context)` of the new context, so the last-context-scale
    loss is at most 1 for every dataset; `y_scale` becomes `curve.y_scale * m`, so raw
    losses stay `y * y_scale`. `metadata` gains `far_factor`, `far_rule`,
    `far_n_dropped` (points of `curve` not in the result) and `far_n_thinned` (of
    those, context candidates removed by the thinning).

    Args:
        curve: The curve; its points need positive y (losses).
        factor: F > `10**target_decades`, e.g. 10 or 100 (see `FAR_SPLITS`).
        max_context: Most context points kept, `>= 3`.
        target_decades: Width of the target band below `x_max`, in decades, > 0.

    Returns:
        A new `Curve` with the same name and dataset and `is_context` set, or None when
        fewer than 3 points lie at or below `x_max / factor`.
    """
    if not isinstance(curve, Curve):
        raise TypeError(f"curve must be a Curve; got {type(curve).__name__}")
    if isinstance(max_context, bool) or not isinstance(max_context, numbers.Integral):
        raise TypeError(f"max_context must be an integer >= 3; got {max_context!r}")
    if max_context < MIN_CONTEXT:
        raise ValueError(f"max_context must be >= {MIN_CONTEXT}; got {max_context}")
    td = _check_target_decades(target_decades)
    f = _check_factor(factor, td)

    log_x = np.log10(curve.x)
    top = log_x[-1]
    candidates = np.flatnonzero(log_x <= top - math.log10(f) + _LOG_TOL)
    if candidates.size < MIN_CONTEXT:
        return None
    context = candidates[thin_log_spaced(log_x[candidates], int(max_context))]
    targets = np.flatnonzero(log_x >= top - td - _LOG_TOL)
    keep = np.concatenate([context, targets])  # disjoint, both sorted: log f > td + 2 tol
    is_context = np.arange(keep.size) < context.size
    m = float(curve.y[context].max())
    if not m > 0:
        raise ValueError(
            f"Curve {curve.name!r}: far_split divides y by max(y_context) and needs it > 0; "
            f"got {m!r} (shift the losses to be positive)"
        )
    metadata = {
        **curve.metadata,
        "far_factor": f,
        "far_rule": (
            f"context: x <= x_max/{f:g}, thinned to {max_context} log-spaced points; "
            f"targets: x >= x_max/10**{td:g}; y / max(y_context)"
        ),
        "far_n_dropped": curve.n - keep.size,
        "far_n_thinned": candidates.size - context.size,
    }
    return dataclasses.replace(
        curve,
        x=curve.x[keep],
        y=curve.y[keep] / m,
        is_context=is_context,
        y_scale=curve.y_scale * m,
        metadata=metadata,
    )


def parse_split(name: str) -> int | None:
    """Factor of a split name: None for `"default"`, F for `"far<F>"` (e.g. 10 for `"far10"`).

    Args:
        name: `"default"` (the benchmark's own split), a key of `FAR_SPLITS`, or `"far"`
            followed by an integer F >= 4 (case-insensitive).

    Returns:
        None for the default split, else the integer factor F.
    """
    if not isinstance(name, str):
        raise TypeError(f"split name must be a string; got {type(name).__name__}")
    key = name.strip().lower()
    if key == "default":
        return None
    if key in FAR_SPLITS:
        return FAR_SPLITS[key]
    match = _FAR_NAME.fullmatch(key)
    if match and int(match.group(1)) > 10**0.5:
        return int(match.group(1))
    raise ValueError(
        f"unknown split {name!r}; valid: default, {', '.join(FAR_SPLITS)} "
        "or far<F> with an integer F >= 4"
    )


def load_far_benchmark(
    name: str, factor: float, *, max_context: int = 8, target_decades: float = 0.5
) -> list[Curve]:
    """A bundled benchmark re-split by `far_split`, keeping the curves that span enough.

    Each curve of `load_benchmark(name)` is first restored to its raw losses (`y *
    y_scale`, all points, context and target together), then passed to `far_split`
    with `max_context` and `target_decades` (the far splits use the defaults, 8 and 0.5);
    so `y_scale` of a returned curve is the largest raw context loss for every dataset.

    Args:
        name: One of `BENCHMARKS` (case-insensitive).
        factor: F, e.g. 10 or 100 (see `FAR_SPLITS` and `parse_split`).
        max_context: see `far_split`.
        target_decades: see `far_split`.

    Returns:
        The surviving curves in benchmark order (possibly an empty list).
    """
    _check_factor(factor, target_decades)
    out = []
    for c in load_benchmark(name):
        raw = dataclasses.replace(c, y=c.y * c.y_scale, y_scale=1.0, is_context=None)
        far = far_split(raw, factor, max_context=max_context, target_decades=target_decades)
        if far is not None:
            out.append(far)
    return out
