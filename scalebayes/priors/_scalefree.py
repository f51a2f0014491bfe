"""A scale-free prior over log-spaced scaling curves, as NumPyro models with named sites.

Real scaling studies fit 3-10 runs spaced by factors of 2-10 and ask about a run 10-1000x
beyond the largest one; their curves are power laws in ``x`` that bend to a floor, sometimes
after a flat start (a knee), rarely with a break or a bump. This prior draws such curves with
everything written in ``u = log10(x / x_c)``, decades relative to the last context point
``x_c``, so a power law stays a power law whatever the units of ``x``, and knees, floors,
breaks and bumps fall anywhere: before, inside or after the context, or beyond the last point.

Grid (fixed shapes: ``n_points`` slots, the first ``length`` valid, the rest zero padding):
``L`` points, ``L = floor(exp(U(log 3, log 129)))`` (log-uniform on 3..128); a span
``S ~ U(0.5, 6)`` decades from the first point to the last; a reach ``d ~ U(0.05, min(3,
0.8 S))`` decades from the last context point to the last point. The last context point is
pinned at ``S - d``: context ``u`` runs from ``-(S - d)`` to exactly 0 (so the largest context
``x`` is exactly 1) and targets lie in ``(0, d]``, the last exactly at ``d``. Half the grids are
sorted uniform draws over the span (each of the ``L - 3`` free points falls in the context with
probability ``(S - d) / S``; within each part the points are sorted uniforms), half are
log-spaced (the ``L`` points split between the parts in proportion to their lengths, equal
steps within each part) with each free point moved by ``U(-j/2, j/2)`` steps,
``j ~ U(0, 0.3)`` per curve (``j = 0``: exactly log-spaced). Consecutive points are at least
``min(min_gap, half the part's mean gap)`` decades apart, so ``x`` is strictly increasing.

Curve, in natural-log units ``v = u ln 10`` (the BNSL form of Caballero et al. 2023 written
with ``softplus``, normalised at ``u = 0``):

    log r(u) = -a_0 v - sum_i c_i f_i [softplus((v - v_i) / f_i) - softplus(-v_i / f_i)]
    y_clean(u) = y_end * (phi + (1 - phi) r(u)) * 10^(h B(u) - h B(0))

with segment exponents ``a_k`` (the local log-log slope is ``-a_k`` between breaks),
``c_i = a_i - a_{i-1}`` the change at break ``i`` (at ``u = b_i`` decades, ``v_i = b_i ln 10``,
sharpness ``f_i``: small = sharp), ``phi`` the floor as a fraction of ``y_clean(0) = y_end``
(the floor ``E = phi y_end`` sets in where ``(1 - phi) r = phi``; on a Down-Up-Down curve the
bump's normalisation at ``u = 0`` scales it by ``10^(-h B(0))``, so ``E = phi y_end
10^(-h B(0))``: a median 0.94 of ``phi y_end``, as low as 0.2), and ``B(u) =
exp(-(u - m)^2 / (2 w^2))`` a bump of ``h`` decades in y (Down-Up-Down only; ``h = 0`` else).
Every ``a_k > 0``, so every segment decays; the changes ``c_i`` have either sign (slower or
faster decay). The value at the last context point is ``y_end ~ U(0.3, 1)``: a PFN sees y
relative to the context, so the scale is a nuisance drawn over a modest range.

Families: Down (0 or 1 break), Down-Down (1 or 2 breaks), Down-Up-Down (a Down curve times
the bump). A curve with a break has a knee with probability ``knee_prob``: a nearly flat first
segment, ``a_0 ~ U(0, 0.05)``. Breaks are drawn in ``[u_first - 0.5, d + 1]``, bump centres in
``[u_first, d]``.

Valid by construction: the draws are bounded (exponents truncated to ``[0.02, 2]``, so the
local slope lies in ``[-2 a_max, a_max]`` and ``|log y_clean|`` stays below 60 over 6
decades), ``y_clean > 0`` by the form, and there is no rejection step.

Noise (per curve): ``sigma = exp(N(-4, 1))``; multiplicative,
``y = y_clean exp(sigma eps)``, ``eps ~ N(0, 1)`` (``y ~ LogNormal(log y_clean, sigma)``),
because the prior is scale-free: the noise is a fixed fraction of the value at every x. With
probability ``additive_noise_prob`` a curve has additive noise instead, of standard deviation
``s = sigma * min(y_clean)`` (an evaluation-noise floor) truncated to ``y > 0``.

Sample sites of [`scalefree_prior`][scalebayes.priors.scalefree_prior] (``N = n_points``;
sites a family model cannot use are absent from it; in the mixture unused draws are masked
out of the log density with ``numpyro.handlers.mask``):

| site | distribution | shape |
|---|---|---|
| ``family`` | ``Categorical(family_probs)`` (mixture only) | ``()`` |
| ``log_length`` | ``U(log L_min, log(L_max + 1))``; ``length = floor(exp(.))`` | ``()`` |
| ``span``, ``reach`` | ``U(0.5, 6)``, ``U(0.05, min(3, 0.8 span))`` decades | ``()`` |
| ``regular_grid`` | ``Bernoulli(0.5)``: 1 = log-spaced with jitter | ``()`` |
| ``in_context`` | ``Bernoulli((span - reach) / span)``, uniform grids, plate ``point`` | ``(N,)`` |
| ``gap_weight`` | ``Exponential(1)``, uniform grids, plate ``point`` | ``(N,)`` |
| ``jitter_scale``, ``jitter`` | ``U(0, 0.3)``, ``U(-1/2, 1/2)`` per point (regular grids) | |
| ``n_breaks`` | ``Categorical``: Down / Down-Up-Down ``(.5, .5, 0)``, Down-Down ``(0, .5, .5)`` | |
| ``knee``, ``knee_exponent`` | ``Bernoulli(0.3)`` (with a break), ``U(0, 0.05)`` | ``()`` |
| ``log_exponent`` | ``TruncatedNormal(log .3, .6)`` on ``[log .02, log 2]`` | ``(3,)`` |
| ``break_position`` | ``U(u_first - 0.5, reach + 1)`` decades, plate ``break`` | ``(2,)`` |
| ``break_sharpness`` | ``LogUniform(0.1, 3)``, plate ``break`` | ``(2,)`` |
| ``y_end``, ``floor_fraction`` | ``U(0.3, 1)``, ``Beta(0.7, 1)`` | ``()`` |
| ``bump_center``, ``bump_width`` | ``U(u_first, reach)``, ``LogUniform(0.1, 1)`` | ``()`` |
| ``bump_height`` | ``U(0.05, 0.7)`` decades of y | ``()`` |
| ``noise_log_sigma``, ``additive_noise`` | ``Normal(-4, 1)``, ``Bernoulli(0.1)`` | ``()`` |
| ``y`` | the noise above, per valid point | ``(N,)`` |

Deterministic sites: ``length``, ``context_size``, ``u``, ``x`` (``10^u``, 0 past ``length``),
``exponents`` (``a_k``, the knee applied), ``breaks`` (sorted ``b_i``), ``y_clean``, ``sigma``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import log_ndtr, ndtr
from jaxtyping import Array, ArrayLike, Float, Int
from numpyro.distributions import constraints

from .._checks import is_integer
from ._config import _check as _config_check
from ._config import _field as _config_field
from ._curve_prior import DOWN, DOWN_DOWN, DOWN_UP_DOWN

LN10 = math.log(10.0)

# ---------------------------------------------------------------------------------------------
# Configuration


_OWNER = "ScaleFreePriorConfig"
_field = functools.partial(_config_field, owner=_OWNER)
_check = functools.partial(_config_check, owner=_OWNER)


class ScaleFreePriorConfig(eqx.Module):
    """Hyperparameters of the scale-free prior over log-spaced scaling curves.

    A frozen, hashable configuration (all fields static: it passes through ``jax.jit`` as part
    of the compiled program). Positions and widths are in decades of ``x``; ``(a, b)`` is a
    ``U(a, b)`` unless stated.

    Attributes:
        family_probs: probabilities of Down, Down-Down and Down-Up-Down, summing to 1.
        length_range: ``(L_min, L_max)``, ints, ``3 <= L_min <= L_max``; ``L`` is log-uniform.
        span: decades from the first point to the last.
        reach: decades from the last context point to the last point (``d``), drawn from
            ``U(a, min(b, max_reach_fraction * span))``.
        max_reach_fraction: the reach is at most this fraction of the span, in (0, 1).
        regular_grid_prob: probability of a log-spaced (jittered) grid rather than sorted
            uniform draws.
        max_jitter: the per-curve jitter ``j ~ U(0, max_jitter)`` in steps, in [0, 1).
        min_gap: smallest gap between consecutive points in decades (capped at half the
            mean gap of the part), > 0.
        exponent: ``(mu, s)``: segment exponents are ``LogNormal(mu, s)`` truncated to
            ``exponent_bounds`` (``mu = log 0.3``: real exponents are 0.05-1).
        exponent_bounds: ``(lo, hi)`` with ``0 < lo < hi <= 3``.
        break_prob: probability of one break for Down and Down-Up-Down (else none).
        second_break_prob: probability of two breaks for Down-Down (else one).
        knee_prob: probability that a curve with a break starts nearly flat.
        knee_exponent_max: a knee's first exponent is ``U(0, knee_exponent_max)``.
        break_margin: ``(before, after)``: breaks are drawn in
            ``[u_first - before, reach + after]``.
        sharpness: ``(lo, hi)`` of the ``LogUniform`` break sharpness ``f`` (natural-log units
            of x, BNSL's ``f``: the bend takes about ``4 f / ln 10`` decades).
        y_end: ``y_clean`` at the last context point.
        floor_beta: ``(a, b)`` of the ``Beta`` of the floor fraction ``phi = E / y_end``.
        bump_height: height ``h`` of the Down-Up-Down bump in decades of y.
        bump_width: ``(lo, hi)`` of the ``LogUniform`` bump width ``w`` in decades of x.
        noise_log_sigma: ``(mu, s)``: the noise level is ``sigma = exp(N(mu, s^2))``.
        additive_noise_prob: probability of additive rather than multiplicative noise.
    """

    family_probs: tuple[float, float, float] = _field("family_probs", (0.6, 0.3, 0.1), 3)
    length_range: tuple[int, int] = _field("length_range", (3, 128), 2, int)
    span: tuple[float, float] = _field("span", (0.5, 6.0))
    reach: tuple[float, float] = _field("reach", (0.05, 3.0))
    max_reach_fraction: float = _field("max_reach_fraction", 0.8, None)
    regular_grid_prob: float = _field("regular_grid_prob", 0.5, None)
    max_jitter: float = _field("max_jitter", 0.3, None)
    min_gap: float = _field("min_gap", 1e-3, None)
    exponent: tuple[float, float] = _field("exponent", (math.log(0.3), 0.6))
    exponent_bounds: tuple[float, float] = _field("exponent_bounds", (0.02, 2.0))
    break_prob: float = _field("break_prob", 0.5, None)
    second_break_prob: float = _field("second_break_prob", 0.5, None)
    knee_prob: float = _field("knee_prob", 0.3, None)
    knee_exponent_max: float = _field("knee_exponent_max", 0.05, None)
    break_margin: tuple[float, float] = _field("break_margin", (0.5, 1.0))
    sharpness: tuple[float, float] = _field("sharpness", (0.1, 3.0))
    y_end: tuple[float, float] = _field("y_end", (0.3, 1.0))
    floor_beta: tuple[float, float] = _field("floor_beta", (0.7, 1.0))
    bump_height: tuple[float, float] = _field("bump_height", (0.05, 0.7))
    bump_width: tuple[float, float] = _field("bump_width", (0.1, 1.0))
    noise_log_sigma: tuple[float, float] = _field("noise_log_sigma", (-4.0, 1.0))
    additive_noise_prob: float = _field("additive_noise_prob", 0.1, None)

    def __check_init__(self):
        probs = self.family_probs
        _check(
            min(probs) >= 0 and abs(sum(probs) - 1) <= 1e-6,
            "family_probs",
            "be three probabilities summing to 1",
            probs,
        )
        lo, hi = self.length_range
        _check(3 <= lo <= hi, "length_range", "be ints (lo, hi) with 3 <= lo <= hi", (lo, hi))
        lo, hi = self.span
        _check(0 < lo <= hi <= 12, "span", "be (lo, hi) with 0 < lo <= hi <= 12", self.span)
        frac = self.max_reach_fraction
        _check(0 < frac < 1, "max_reach_fraction", "lie in (0, 1)", frac)
        lo, hi = self.reach
        _check(
            0 < lo <= hi and lo < frac * self.span[0],
            "reach",
            f"be (lo, hi) with 0 < lo <= hi and lo < max_reach_fraction * span[0] "
            f"= {frac * self.span[0]:g}",
            self.reach,
        )
        for name in (
            "regular_grid_prob",
            "break_prob",
            "second_break_prob",
            "knee_prob",
            "additive_noise_prob",
        ):
            value = getattr(self, name)
            _check(0 <= value <= 1, name, "lie in [0, 1]", value)
        _check(0 <= self.max_jitter < 1, "max_jitter", "lie in [0, 1)", self.max_jitter)
        _check(self.min_gap > 0, "min_gap", "be > 0", self.min_gap)
        for name in ("exponent", "noise_log_sigma"):
            value = getattr(self, name)
            _check(value[1] > 0, name, "be (mu, s) with s > 0", value)
        lo, hi = self.exponent_bounds
        _check(
            0 < lo < hi <= 3,
            "exponent_bounds",
            "be (lo, hi) with 0 < lo < hi <= 3",
            self.exponent_bounds,
        )
        _check(self.knee_exponent_max > 0, "knee_exponent_max", "be > 0", self.knee_exponent_max)
        _check(
            min(self.break_margin) >= 0,
            "break_margin",
            "be (before, after) with both >= 0",
            self.break_margin,
        )
        for name in ("sharpness", "bump_width"):
            value = getattr(self, name)
            _check(0 < value[0] < value[1], name, "be (lo, hi) with 0 < lo < hi", value)
        lo, hi = self.y_end
        _check(0 < lo < hi, "y_end", "be (lo, hi) with 0 < lo < hi", self.y_end)
        _check(min(self.floor_beta) > 0, "floor_beta", "be (a, b) with a, b > 0", self.floor_beta)
        lo, hi = self.bump_height
        _check(
            0 <= lo < hi <= 3,
            "bump_height",
            "be (lo, hi) with 0 <= lo < hi <= 3",
            self.bump_height,
        )

    def break_probs(self) -> tuple[tuple[float, float, float], ...]:
        """Per family (rows: Down, Down-Down, Down-Up-Down): P(0, 1, 2 breaks)."""
        p, q = self.break_prob, self.second_break_prob
        return ((1 - p, p, 0.0), (0.0, 1 - q, q), (1 - p, p, 0.0))


# ---------------------------------------------------------------------------------------------
# The curve


class ScaleFreeCurve(NamedTuple):
    """The shape parameters of one noise-free curve (a batch of them under ``vmap``).

    Attributes:
        y_end: ``y_clean`` at the last context point (``u = 0``).
        floor_fraction: the floor ``E`` as a fraction ``phi`` of ``y_end``, in ``[0, 1]``
            (of ``y_end 10^(-h B(0))`` on a Down-Up-Down curve: see the module).
        exponents: segment exponents ``a_0, a_1, a_2 > 0``, shape ``(3,)``; those after
            ``n_breaks`` are unused.
        n_breaks: number of breaks, 0, 1 or 2.
        breaks: break positions ``b_i`` in decades of ``u``, sorted over the used ones, ``(2,)``.
        sharpness: BNSL sharpness ``f_i`` of each break, shape ``(2,)``.
        bump_height: bump height ``h`` in decades of y (0: no bump).
        bump_center: bump centre ``m`` in decades of ``u``.
        bump_width: bump width ``w`` in decades.
    """

    y_end: Float[Array, ""]
    floor_fraction: Float[Array, ""]
    exponents: Float[Array, " 3"]
    n_breaks: Int[Array, ""]
    breaks: Float[Array, " 2"]
    sharpness: Float[Array, " 2"]
    bump_height: Float[Array, ""]
    bump_center: Float[Array, ""]
    bump_width: Float[Array, ""]


def scalefree_log_curve(curve: ScaleFreeCurve, u: ArrayLike) -> Array:
    """The natural log of ``y_clean`` at ``u = log10(x / x_c)`` for one curve.

    ``log y_end + log(phi + (1 - phi) r(u)) + ln 10 * h (B(u) - B(0))`` with ``r`` the BNSL
    power law normalised to ``r(0) = 1`` (see the module docstring).

    Args:
        curve: one curve's parameters (unbatched; ``vmap`` for a batch).
        u: positions in decades relative to the last context point, any shape.

    Returns:
        ``log y_clean``, the shape of ``u``.
    """
    u = jnp.asarray(u, dtype=jnp.result_type(float))
    a = curve.exponents
    change = jnp.where(jnp.arange(2) < curve.n_breaks, a[1:] - a[:-1], 0.0)
    f = curve.sharpness

    def bends(w):
        return f * jax.nn.softplus((w[..., None] - curve.breaks) * LN10 / f)

    zero = jnp.zeros((), u.dtype)
    log_r = -a[0] * u * LN10 - jnp.sum(change * (bends(u) - bends(zero)), axis=-1)
    phi = curve.floor_fraction
    log_base = jnp.logaddexp(jnp.log(phi), jnp.log1p(-phi) + log_r)

    def bump(w):
        return curve.bump_height * jnp.exp(-0.5 * ((w - curve.bump_center) / curve.bump_width) ** 2)

    return jnp.log(curve.y_end) + log_base + LN10 * (bump(u) - bump(zero))


def scalefree_slope(curve: ScaleFreeCurve, u: ArrayLike) -> Array:
    """The local log-log slope ``d log10 y_clean / d log10 x`` of one curve at ``u``.

    Args:
        curve: one curve's parameters (unbatched).
        u: positions in decades relative to the last context point, any shape.

    Returns:
        The slope, the shape of ``u`` (``-a_0`` on a pure power law).
    """
    u = jnp.asarray(u, dtype=jnp.result_type(float))
    grad = jax.grad(lambda w: scalefree_log_curve(curve, w))
    return jnp.vectorize(grad)(u) / LN10


# ---------------------------------------------------------------------------------------------
# The noise


class _CurveNoise(dist.Distribution):
    """Per-point noise around ``y_clean``: multiplicative LogNormal, or truncated additive.

    ``additive`` False: ``LogNormal(log y_clean, sigma)``. True: ``Normal(y_clean, scale)``
    truncated to ``y > 0`` (sampled by the inverse CDF, floored at the smallest positive
    float so rounding at the bound never gives 0).
    """

    arg_constraints = {}  # noqa: RUF012  (NumPyro's class-level contract)
    support = constraints.positive
    pytree_data_fields = ("y_clean", "sigma", "additive", "scale")

    def __init__(self, y_clean, sigma, additive, scale, validate_args=None):
        self.y_clean = jnp.asarray(y_clean)
        self.sigma, self.additive, self.scale = sigma, additive, scale
        super().__init__(batch_shape=jnp.shape(self.y_clean), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        # One uniform q in (-1, 1) and one erfinv per point for either kind (as
        # jax.random.normal: z = sqrt(2) erfinv(q)); the truncated normal maps q onto the
        # part of (-1, 1) above the truncation point 2 Phi(-y_clean / scale) - 1.
        shape = tuple(sample_shape) + self.batch_shape
        dtype = self.y_clean.dtype
        q = jax.random.uniform(key, shape, dtype, jnp.nextafter(dtype.type(-1), 0), 1.0)
        low = 2 * ndtr(-self.y_clean / self.scale) - 1
        q = jnp.where(self.additive, low + (1 - low) * (q + 1) / 2, q)
        z = math.sqrt(2) * jax.scipy.special.erfinv(q)
        add = jnp.maximum(self.y_clean + self.scale * z, jnp.finfo(dtype).tiny)
        return jnp.where(self.additive, add, self.y_clean * jnp.exp(self.sigma * z))

    def log_prob(self, value):
        log_mult = dist.LogNormal(jnp.log(self.y_clean), self.sigma).log_prob(value)
        log_add = dist.Normal(self.y_clean, self.scale).log_prob(value)
        log_add = log_add - log_ndtr(self.y_clean / self.scale)
        return jnp.where(self.additive, log_add, log_mult)


# ---------------------------------------------------------------------------------------------
# The model


def _uniform_site(name: str, lo, hi):
    """``U(lo, hi)``, or the constant ``lo`` where the config gives the range no width (a
    zero-width Uniform's density is infinite; ``max_jitter=0`` means an exact grid)."""
    if isinstance(hi, int | float) and lo == hi:
        return numpyro.deterministic(name, jnp.asarray(float(lo)))
    return numpyro.sample(name, dist.Uniform(lo, hi))


def _grid_sites(n_points: int, config: ScaleFreePriorConfig):
    """The grid: length, context size and ``u`` (padded to ``n_points`` with zeros)."""
    lo, hi = config.length_range
    log_length = numpyro.sample("log_length", dist.Uniform(math.log(lo), math.log(hi + 1)))
    length = jnp.clip(jnp.floor(jnp.exp(log_length)).astype(jnp.int32), lo, hi)
    length = numpyro.deterministic("length", length)
    span = _uniform_site("span", *config.span)
    r_lo, r_hi = config.reach
    # validated r_lo < max_reach_fraction * span: the range is empty only where r_lo == r_hi
    r_top = r_hi if r_lo == r_hi else jnp.minimum(r_hi, config.max_reach_fraction * span)
    reach = _uniform_site("reach", r_lo, r_top)
    regular = numpyro.sample("regular_grid", dist.Bernoulli(probs=config.regular_grid_prob))
    regular = regular.astype(bool)
    ctx_len = span - reach
    i = jnp.arange(n_points)

    # How many points the context gets: binomial for uniform grids, proportional for regular.
    free = i < length - 3
    with numpyro.plate("point", n_points):
        with numpyro.handlers.mask(mask=free & ~regular):
            side = numpyro.sample("in_context", dist.Bernoulli(probs=ctx_len / span))
        with numpyro.handlers.mask(mask=(i < length - 1) & ~regular):
            weight = numpyro.sample("gap_weight", dist.Exponential(1.0))
    c_uniform = 2 + jnp.sum(jnp.where(free, side, 0))
    c_regular = 1 + jnp.clip(jnp.round((length - 1) * ctx_len / span), 1, length - 2)
    context = jnp.where(regular, c_regular, c_uniform).astype(jnp.int32)
    context = numpyro.deterministic("context_size", context)

    pinned = (i == 0) | (i == context - 1) | (i >= length - 1)
    with numpyro.handlers.mask(mask=regular):
        scale = _uniform_site("jitter_scale", 0.0, config.max_jitter)
    with numpyro.plate("point", n_points), numpyro.handlers.mask(mask=regular & ~pinned):
        jitter = numpyro.sample("jitter", dist.Uniform(-0.5, 0.5))
    z = jnp.where(pinned, 0.0, scale * jitter)

    # Gap k joins points k and k+1: context gaps k < context - 1 sum to span - reach, target
    # gaps to reach; within a part, gap = g + (part - n g) * weight / sum(weights).
    e = jnp.where(regular, 1.0 + z[1:] - z[:-1], jnp.maximum(weight[:-1], 1e-30))
    k = i[:-1]
    valid = k < length - 1
    in_ctx = k < context - 1
    spacing = jnp.zeros_like(e)
    for part, n_gaps, total in (
        (in_ctx, context - 1, ctx_len),
        (valid & ~in_ctx, length - context, reach),
    ):
        gap = jnp.minimum(config.min_gap, 0.5 * total / n_gaps)
        share = e / jnp.sum(jnp.where(part, e, 0.0))
        spacing = jnp.where(part, gap + (total - n_gaps * gap) * share, spacing)
    t = jnp.concatenate([jnp.zeros((1,), spacing.dtype), jnp.cumsum(spacing)])
    u = jnp.where(i < length, t - t[context - 1], 0.0)
    u = numpyro.deterministic("u", u)
    x = numpyro.deterministic("x", jnp.where(i < length, jnp.exp(u * LN10), 0.0))
    return length, context, u, x


def _curve_sites(family, u_first, u_last, config: ScaleFreePriorConfig) -> ScaleFreeCurve:
    """The shape parameters of one curve of ``family`` (an int, or traced in the mixture)."""
    static = isinstance(family, int)
    is_dud = family == DOWN_UP_DOWN
    n_breaks = numpyro.sample(
        "n_breaks", dist.Categorical(probs=jnp.asarray(config.break_probs())[family])
    )
    has_break = n_breaks >= 1
    with numpyro.handlers.mask(mask=has_break):
        knee = numpyro.sample("knee", dist.Bernoulli(probs=config.knee_prob)).astype(bool)
    knee = knee & has_break
    with numpyro.handlers.mask(mask=knee):
        knee_exponent = numpyro.sample("knee_exponent", dist.Uniform(0.0, config.knee_exponent_max))

    seg = jnp.arange(3)
    lo, hi = (math.log(b) for b in config.exponent_bounds)
    with numpyro.plate("segment", 3):
        with numpyro.handlers.mask(mask=(seg <= n_breaks) & ~((seg == 0) & knee)):
            log_a = numpyro.sample(
                "log_exponent", dist.TruncatedNormal(*config.exponent, low=lo, high=hi)
            )
    a = jnp.exp(log_a)
    a = numpyro.deterministic("exponents", a.at[0].set(jnp.where(knee, knee_exponent, a[0])))

    before, after = config.break_margin
    with numpyro.plate("break", 2), numpyro.handlers.mask(mask=jnp.arange(2) < n_breaks):
        b = numpyro.sample("break_position", dist.Uniform(u_first - before, u_last + after))
        f = numpyro.sample("break_sharpness", dist.LogUniform(*config.sharpness))
    b = numpyro.deterministic("breaks", jnp.where(n_breaks == 2, jnp.sort(b), b))

    y_end = numpyro.sample("y_end", dist.Uniform(*config.y_end))
    phi = numpyro.sample("floor_fraction", dist.Beta(*config.floor_beta))
    height = jnp.zeros_like(y_end)
    center, width = jnp.zeros_like(y_end), jnp.ones_like(y_end)
    if not (static and not is_dud):
        with numpyro.handlers.mask(mask=is_dud):
            center = numpyro.sample("bump_center", dist.Uniform(u_first, u_last))
            width = numpyro.sample("bump_width", dist.LogUniform(*config.bump_width))
            height = numpyro.sample("bump_height", dist.Uniform(*config.bump_height))
        height = jnp.where(is_dud, height, 0.0)
    return ScaleFreeCurve(
        y_end=y_end,
        floor_fraction=phi,
        exponents=a,
        n_breaks=jnp.asarray(n_breaks, jnp.int32),
        breaks=b,
        sharpness=f,
        bump_height=height,
        bump_center=center,
        bump_width=width,
    )


def _check_n_points(n_points, config: ScaleFreePriorConfig) -> int:
    longest = config.length_range[1]
    if n_points is None:
        return longest
    if not is_integer(n_points):
        raise TypeError(f"n_points must be an int, got {type(n_points).__name__} {n_points!r}")
    n_points = int(n_points)
    if n_points < longest:
        raise ValueError(
            f"n_points must be >= config.length_range[1] = {longest} (the longest curve), "
            f"got {n_points}"
        )
    return n_points


def _model(family, n_points, y, config: ScaleFreePriorConfig | None) -> dict:
    config = ScaleFreePriorConfig() if config is None else config
    if not isinstance(config, ScaleFreePriorConfig):
        raise TypeError(f"config must be a ScaleFreePriorConfig, got {type(config).__name__}")
    n_points = _check_n_points(n_points, config)
    length, context, u, x = _grid_sites(n_points, config)
    mask = jnp.arange(n_points) < length
    curve = _curve_sites(family, u[0], u[length - 1], config)
    y_clean = jnp.where(mask, jnp.exp(scalefree_log_curve(curve, u)), 0.0)
    y_clean = numpyro.deterministic("y_clean", y_clean)

    sigma = jnp.exp(numpyro.sample("noise_log_sigma", dist.Normal(*config.noise_log_sigma)))
    sigma = numpyro.deterministic("sigma", sigma)
    additive = numpyro.sample("additive_noise", dist.Bernoulli(probs=config.additive_noise_prob))
    scale = sigma * jnp.min(jnp.where(mask, y_clean, jnp.inf))
    noise = _CurveNoise(jnp.where(mask, y_clean, 1.0), sigma, additive.astype(bool), scale)
    y = numpyro.sample("y", noise.mask(mask).to_event(1), obs=y)
    return {
        "x": x,
        "u": u,
        "y": jnp.where(mask, y, 0.0),
        "y_clean": y_clean,
        "length": length,
        "context_size": context,
        "family": jnp.asarray(family, jnp.int32),
        "sigma": sigma,
        "curve": curve,
    }


def scalefree_down_prior(
    n_points: int | None = None,
    *,
    y: ArrayLike | None = None,
    config: ScaleFreePriorConfig | None = None,
) -> dict[str, Array]:
    """Down: a power law with 0 or 1 break (possibly a knee) bending to a floor, plus noise.

    Args:
        n_points: the padded size ``N`` of the arrays, a static int ``>= length_range[1]``;
            ``None`` is ``config.length_range[1]`` (128).
        y: observed noisy values, shape ``(N,)`` (padding ignored), to condition on; ``None``
            draws them.
        config: hyperparameters; ``None`` is
            [`ScaleFreePriorConfig()`][scalebayes.priors.ScaleFreePriorConfig].

    Returns:
        A dict with ``x`` (``10^u``: the largest context x is exactly 1; 0 past ``length``),
        ``u`` (``log10 x``), ``y`` (noisy, > 0), ``y_clean`` (shape ``(N,)``, 0 past
        ``length``), ``length``, ``context_size`` (the context is the first
        ``context_size`` points), ``family`` (0 Down, 1 Down-Down, 2 Down-Up-Down), ``sigma``
        and ``curve`` (the [`ScaleFreeCurve`][scalebayes.priors.ScaleFreeCurve]).

    Raises:
        TypeError: if ``config`` is not a ``ScaleFreePriorConfig`` or ``n_points`` not an int.
        ValueError: if ``n_points < config.length_range[1]``.
    """
    return _model(DOWN, n_points, y, config)


def scalefree_down_down_prior(
    n_points: int | None = None,
    *,
    y: ArrayLike | None = None,
    config: ScaleFreePriorConfig | None = None,
) -> dict[str, Array]:
    """Down-Down: a power law with 1 or 2 breaks of either sign and a floor, plus noise.

    Args:
        n_points: the padded size ``N`` of the arrays, a static int ``>= length_range[1]``;
            ``None`` is ``config.length_range[1]`` (128).
        y: observed noisy values, shape ``(N,)`` (padding ignored), to condition on; ``None``
            draws them.
        config: hyperparameters; ``None`` is
            [`ScaleFreePriorConfig()`][scalebayes.priors.ScaleFreePriorConfig].

    Returns:
        A dict with ``x`` (``10^u``: the largest context x is exactly 1; 0 past ``length``),
        ``u`` (``log10 x``), ``y`` (noisy, > 0), ``y_clean`` (shape ``(N,)``, 0 past
        ``length``), ``length``, ``context_size`` (the context is the first
        ``context_size`` points), ``family`` (0 Down, 1 Down-Down, 2 Down-Up-Down), ``sigma``
        and ``curve`` (the [`ScaleFreeCurve`][scalebayes.priors.ScaleFreeCurve]).

    Raises:
        TypeError: if ``config`` is not a ``ScaleFreePriorConfig`` or ``n_points`` not an int.
        ValueError: if ``n_points < config.length_range[1]``.
    """
    return _model(DOWN_DOWN, n_points, y, config)


def scalefree_down_up_down_prior(
    n_points: int | None = None,
    *,
    y: ArrayLike | None = None,
    config: ScaleFreePriorConfig | None = None,
) -> dict[str, Array]:
    """Down-Up-Down: a Down curve times a Gaussian bump in log x (double descent), plus noise.

    Args:
        n_points: the padded size ``N`` of the arrays, a static int ``>= length_range[1]``;
            ``None`` is ``config.length_range[1]`` (128).
        y: observed noisy values, shape ``(N,)`` (padding ignored), to condition on; ``None``
            draws them.
        config: hyperparameters; ``None`` is
            [`ScaleFreePriorConfig()`][scalebayes.priors.ScaleFreePriorConfig].

    Returns:
        A dict with ``x`` (``10^u``: the largest context x is exactly 1; 0 past ``length``),
        ``u`` (``log10 x``), ``y`` (noisy, > 0), ``y_clean`` (shape ``(N,)``, 0 past
        ``length``), ``length``, ``context_size`` (the context is the first
        ``context_size`` points), ``family`` (0 Down, 1 Down-Down, 2 Down-Up-Down), ``sigma``
        and ``curve`` (the [`ScaleFreeCurve`][scalebayes.priors.ScaleFreeCurve]).

    Raises:
        TypeError: if ``config`` is not a ``ScaleFreePriorConfig`` or ``n_points`` not an int.
        ValueError: if ``n_points < config.length_range[1]``.
    """
    return _model(DOWN_UP_DOWN, n_points, y, config)


def scalefree_prior(
    n_points: int | None = None,
    *,
    y: ArrayLike | None = None,
    config: ScaleFreePriorConfig | None = None,
) -> dict[str, Array]:
    """The scale-free prior: Down, Down-Down or Down-Up-Down with ``config.family_probs``.

    The ``family`` site picks the family; every family's sites are drawn and those the family
    does not use are masked out of the log density, so the model has one static structure and
    runs under ``jit``/``vmap`` (the batched generator
    [`sample_scalefree_curves`][scalebayes.priors.sample_scalefree_curves] is this model,
    seeded and vmapped). Conditioned on ``family`` it is that family's model.

    Args:
        n_points: the padded size ``N`` of the arrays, a static int ``>= length_range[1]``;
            ``None`` is ``config.length_range[1]`` (128).
        y: observed noisy values, shape ``(N,)`` (padding ignored), to condition on; ``None``
            draws them.
        config: hyperparameters; ``None`` is
            [`ScaleFreePriorConfig()`][scalebayes.priors.ScaleFreePriorConfig].

    Returns:
        A dict with ``x`` (``10^u``: the largest context x is exactly 1; 0 past ``length``),
        ``u`` (``log10 x``), ``y`` (noisy, > 0), ``y_clean`` (shape ``(N,)``, 0 past
        ``length``), ``length``, ``context_size`` (the context is the first
        ``context_size`` points), ``family`` (0 Down, 1 Down-Down, 2 Down-Up-Down), ``sigma``
        and ``curve`` (the [`ScaleFreeCurve`][scalebayes.priors.ScaleFreeCurve]).

    Raises:
        TypeError: if ``config`` is not a ``ScaleFreePriorConfig`` or ``n_points`` not an int.
        ValueError: if ``n_points < config.length_range[1]``.
    """
    config = ScaleFreePriorConfig() if config is None else config
    if not isinstance(config, ScaleFreePriorConfig):
        raise TypeError(f"config must be a ScaleFreePriorConfig, got {type(config).__name__}")
    family = numpyro.sample("family", dist.Categorical(probs=jnp.asarray(config.family_probs)))
    return _model(family, n_points, y, config)


SCALEFREE_FAMILY_MODELS = (
    scalefree_down_prior,
    scalefree_down_down_prior,
    scalefree_down_up_down_prior,
)
"""The per-family scale-free models, indexed by family id."""
