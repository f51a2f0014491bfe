"""The curves of the NSL-PFN prior as pure JAX functions of one curve on a fixed-size grid.

A prior curve is up to ``K`` consecutive segments on a sorted grid ``x`` of ``length`` valid
points (entries past ``length`` are padding and are ignored). Segment ``k`` covers the grid
indices ``starts[k - 1] <= i < starts[k]`` and is one of

- M3, ``beta (1/x + gamma)^c``, or M4, the root ``w`` of ``w / (1 - w)^alpha = beta x^c``
  (solved exactly, by four Halley steps from a closed-form start; see ``_special``), each evaluated
  on the *whole* grid and put through the Norm: ``(y - y[-1]) / (y[0] - y[-1])``, then
  ``y1 + (y0 - y1) *`` that;
- Up, ``slope * dx * BetaCDF(x~; b, b)^g`` over the segment, with ``dx`` its x-width and
  ``x~ = (x - x_prev) / x_end`` (the release divides by ``x_end``, not by the width).

Each segment after the first is shifted in y to start from where the previous one ended: with
``p = starts[k - 1] - 1`` the last point of the previous segment, segment ``k`` contributes
``y[i] = y[p] + f_k(x[i]) - f_k(x[p])``, exactly the release's concatenation.

The Norm is computed without cancellation: ``expm1`` of differences of ``c log(1/x + gamma)``
for M3 and ``sigmoid(t) expm1(t_L - t)`` in ``t = logit(w)`` for M4, so flat curves and M4
curves close to ``w = 1`` keep their shape in float32.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int

from ..families import m4_solve_logit
from ._special import beta_cdf_symmetric, m4_logit_fast

M3, M4, UP = 0, 1, 2
"""Segment kinds."""


class SegmentTable(NamedTuple):
    """The ``K`` segments of one curve: per-segment parameters, shape ``(K,)`` each.

    Attributes:
        kind: ``M3`` (0), ``M4`` (1) or ``UP`` (2) per segment.
        starts: shape ``(K - 1,)``: the first grid index of segments ``1 .. K-1``,
            non-decreasing, at least 1; an index equal to ``length`` leaves the segment empty.
        m3_gamma: M3's ``gamma``.
        m3_c: M3's exponent ``c > 0``.
        m4_alpha: M4's ``alpha``.
        m4_beta: M4's ``beta``.
        m4_c: M4's exponent ``c < 0``.
        y0: the Norm's start value of an M3/M4 segment.
        y1: the Norm's end value of an M3/M4 segment.
        up_b: the Up segments' BetaCDF parameter ``b`` (both shapes), a scalar.
        up_g: the Up segments' exponent ``g``, a scalar.
        up_slope: the Up segments' rise per unit of x, a scalar.
    """

    kind: Int[Array, " K"]
    starts: Int[Array, " K-1"]
    m3_gamma: Float[Array, " K"]
    m3_c: Float[Array, " K"]
    m4_alpha: Float[Array, " K"]
    m4_beta: Float[Array, " K"]
    m4_c: Float[Array, " K"]
    y0: Float[Array, " K"]
    y1: Float[Array, " K"]
    up_b: Float[Array, ""]
    up_g: Float[Array, ""]
    up_slope: Float[Array, ""]


def _m3_log(x, gamma):
    # M3 is beta * exp(c * log(1/x + gamma)).
    return jnp.log(1.0 / x + gamma)


def _m4_logit(x, alpha, beta, c, fast=True):
    # M4 with eps_inf = 0, eps_0 = 1: w / (1 - w)^alpha = beta x^c, solved for t = logit(w).
    solve = m4_logit_fast if fast else m4_solve_logit
    return solve(jnp.log(beta) + c * jnp.log(x), alpha)


def _m3_unit(lg, lg_first, lg_last, c):
    # (e^{c lg} - e^{c lg_last}) / (e^{c lg_first} - e^{c lg_last}) without cancellation.
    return jnp.expm1(c * (lg - lg_last)) / jnp.expm1(c * (lg_first - lg_last))


def _m4_unit(t, t_first, t_last):
    # (sigmoid(t) - sigmoid(t_L)) / (sigmoid(t_0) - sigmoid(t_L)), using
    # sigmoid(a) - sigmoid(b) = -sigmoid(a) sigmoid(-b) expm1(b - a).
    return (
        jax.nn.sigmoid(t)
        * jnp.expm1(t_last - t)
        / (jax.nn.sigmoid(t_first) * jnp.expm1(t_last - t_first))
    )


def break_positions(
    pieces: Float[Array, " P"],
    n_breaks: ArrayLike,
    cutoff: ArrayLike,
    *,
    anchor: str,
    margin: float,
) -> Float[Array, " P"]:
    """Break positions in x: the release's cumulative products of segment lengths, rescaled.

    ``q_i = pieces[0] * ... * pieces[i]`` for ``i < n_breaks``, sorted ascending; all are
    multiplied by ``min(q_a, cutoff - margin) / q_a`` where ``q_a`` is the last break
    (``anchor="last"``, Down-Down: every break ends up at most ``cutoff - margin``) or the
    first (``anchor="first"``, Down-Up-Down). Unused entries are ``+inf``.

    Args:
        pieces: segment lengths, shape ``(P,)``, ``P >= n_breaks``.
        n_breaks: number of breaks, ``1 <= n_breaks <= P``.
        cutoff: the x of the first target point.
        anchor: ``"last"`` or ``"first"``.
        margin: the gap kept before the cutoff.

    Returns:
        Sorted break positions, shape ``(P,)``, ``+inf`` past ``n_breaks``.
    """
    n_pieces = pieces.shape[-1]
    active = jnp.arange(n_pieces) < n_breaks
    q = jnp.sort(jnp.where(active, jnp.cumprod(pieces), jnp.inf))
    if anchor == "last":
        ref = q[jnp.maximum(n_breaks - 1, 0)]
    elif anchor == "first":
        ref = q[0]
    else:
        raise ValueError(f"anchor must be 'first' or 'last', got {anchor!r}")
    scale = jnp.minimum(ref, cutoff - margin) / ref
    return jnp.where(active, q * scale, jnp.inf)


def break_starts(
    x: Float[Array, " L"], length: ArrayLike, positions: Float[Array, " P"]
) -> Int[Array, " P"]:
    """Grid index where each break's segment starts: ``searchsorted(x, b)``, at least 1.

    ``+inf`` positions (no break) give ``length``, an empty segment.

    Args:
        x: the grid, sorted over its first ``length`` entries.
        length: number of valid grid points.
        positions: break positions in x, shape ``(P,)``.

    Returns:
        Start indices, shape ``(P,)``.
    """
    valid = jnp.arange(x.shape[-1]) < length
    below = (x[None, :] < positions[:, None]) & valid[None, :]
    idx = jnp.maximum(jnp.sum(below, axis=-1), 1)
    return jnp.where(jnp.isfinite(positions), idx, length).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("up_terms", "fast_m4"))
def assemble_curve(
    x: Float[Array, " L"],
    length: ArrayLike,
    table: SegmentTable,
    *,
    up_terms: int = 0,
    fast_m4: bool = True,
) -> Float[Array, " L"]:
    """The noise-free curve of one prior draw, ``0`` past ``length``.

    Every grid point is evaluated once, by the segment that owns it, plus one point per break
    (the previous point, evaluated by the new segment, to join the two); each M3/M4 segment
    is normalised over the whole valid grid (``x[0]`` to ``x[length - 1]``) as in the
    release.

    Args:
        x: the grid, shape ``(L,)``, sorted over its first ``length`` entries.
        length: number of valid points, ``2 <= length <= L``.
        table: the segments.
        up_terms: series terms of the Up segment's BetaCDF
            (``_special.beta_series_terms``); 0 when
            no segment can be Up (the BetaCDF is skipped).
        fast_m4: solve M4 with ``_special.m4_logit_fast``
            (exact for ``alpha`` in ``_special.FAST_ALPHA_RANGE``) rather than ``m4_solve_logit``.

    Returns:
        ``y_clean``, shape ``(L,)``.

    Jit-compiled (one program per shape and static option), so that eager use of a model
    does not dispatch its few hundred operations one by one.
    """
    n_points = x.shape[-1]
    n_seg = table.kind.shape[-1]
    idx = jnp.arange(n_points)
    valid = idx < length
    last = length - 1
    x = jnp.where(valid, x, x[last])
    x_first, x_last = x[0], x[last]

    # Ends of the Norm, per segment.
    lg_first = _m3_log(x_first, table.m3_gamma)
    lg_last = _m3_log(x_last, table.m3_gamma)
    t_first = _m4_logit(x_first, table.m4_alpha, table.m4_beta, table.m4_c, fast_m4)
    t_last = _m4_logit(x_last, table.m4_alpha, table.m4_beta, table.m4_c, fast_m4)

    starts = table.starts
    if n_seg == 1:
        pts, seg = x, jnp.zeros((n_points,), jnp.int32)

        def at(a):
            return a[0]

    else:
        seg = jnp.sum(idx[:, None] >= starts[None, :], axis=-1)
        # Grid points, each in its own segment, then the point before each break in the new one.
        pts = jnp.concatenate([x, x[jnp.maximum(starts - 1, 0)]])
        pseg = jnp.concatenate([seg, jnp.arange(1, n_seg)])

        def at(a):
            # Per-point parameter of the owning segment (selects: cheaper than a gather).
            out = a[n_seg - 1]
            for k in range(n_seg - 2, -1, -1):
                out = jnp.where(pseg == k, a[k], out)
            return out

    kind = at(table.kind)
    u3 = _m3_unit(_m3_log(pts, at(table.m3_gamma)), at(lg_first), at(lg_last), at(table.m3_c))
    t = _m4_logit(pts, at(table.m4_alpha), at(table.m4_beta), at(table.m4_c), fast_m4)
    u4 = _m4_unit(t, at(t_first), at(t_last))
    y0, y1 = at(table.y0), at(table.y1)
    value = y1 + (y0 - y1) * jnp.where(kind == M4, u4, u3)

    if up_terms:
        seg_start = jnp.concatenate([jnp.zeros((1,), starts.dtype), starts])
        seg_end = jnp.concatenate([starts, jnp.full((1,), length, starts.dtype)])
        xp = at(x[jnp.maximum(seg_start - 1, 0)])
        xe = at(x[jnp.maximum(seg_end - 1, 0)])
        is_up = kind == UP
        x_tilde = jnp.where(is_up, (pts - xp) / xe, 0.0)
        cdf = beta_cdf_symmetric(x_tilde, table.up_b, up_terms)
        value = jnp.where(is_up, table.up_slope * (xe - xp) * cdf**table.up_g, value)
    if n_seg == 1:
        return jnp.where(valid, value, 0.0)

    own, joined = value[:n_points], value[n_points:]
    # Shift each segment to start where the previous one ended.
    offsets = [jnp.zeros((), value.dtype)]
    for k in range(1, n_seg):
        p = jnp.maximum(starts[k - 1] - 1, 0)
        y_p = own[p] + jnp.stack(offsets)[jnp.minimum(seg[p], k - 1)]
        offsets.append(y_p - joined[k - 1])
    offsets = jnp.stack(offsets)
    shift = offsets[n_seg - 1]
    for k in range(n_seg - 2, -1, -1):
        shift = jnp.where(seg == k, offsets[k], shift)
    return jnp.where(valid, own + shift, 0.0)


def grid_from_spacings(
    spacings: Float[Array, " Lm1"], length: ArrayLike, x_range: tuple[float, float]
) -> Float[Array, " L"]:
    """A sorted uniform grid with both ends, from exponential spacings (no sort needed).

    ``x = [x_min, sorted(U(x_min, x_max) for length - 2 points), x_max]`` in distribution:
    with ``E_1 .. E_{length-1}`` i.i.d. Exp(1) and ``S_j`` their partial sums,
    ``S_j / S_{length-1}`` (``j < length - 1``) are the order statistics of ``length - 2``
    uniforms (Renyi's representation). Padding past ``length`` is 0.

    Args:
        spacings: i.i.d. Exp(1) draws, shape ``(L - 1,)``; the first ``length - 1`` are used.
        length: number of grid points, ``2 <= length <= L``.
        x_range: ``(x_min, x_max)``.

    Returns:
        The grid, shape ``(L,)``.
    """
    x_min, x_max = x_range
    n_points = spacings.shape[-1] + 1
    used = jnp.arange(n_points - 1) < length - 1
    s = jnp.cumsum(jnp.where(used, spacings, 0.0))
    u = s / s[length - 2]
    x = jnp.concatenate([jnp.full((1,), x_min, s.dtype), x_min + (x_max - x_min) * u])
    idx = jnp.arange(n_points)
    x = jnp.where(idx == length - 1, x_max, x)
    return jnp.where(idx < length, x, 0.0)
