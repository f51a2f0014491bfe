"""The NSL-PFN prior over scaling curves as NumPyro models with named sample sites.

Each model draws one curve: the grid (unless given), the context size, the family's
segments, the noise level, and ``y ~ Normal(y_clean, sigma)`` per point. Run it under
``numpyro.handlers.seed`` and ``trace`` to inspect every draw, condition it with
``numpyro.handlers.condition``, or pass it to [`sample_curves`][scalebayes.priors.sample_curves]
for fast, batched, rejection-sampled synthetic data.

Sample sites (those of a family the model cannot produce are absent; in the mixture
[`nslpfn_prior`][scalebayes.priors.nslpfn_prior] every site is present and the ones the drawn
family does not use are masked out of the log density with ``numpyro.handlers.mask``):

| site | distribution | shape |
|---|---|---|
| ``family`` | ``Categorical(family_probs)`` (mixture only) | ``()`` |
| ``length_index``, ``x_inner`` | grid, only when ``x`` is not given | ``()``, ``(L-2,)`` |
| ``context_size`` | ``max(2, randint(int(0.1 L), int(0.9 L) + 1))`` | ``()`` |
| ``n_breaks`` | ``DiscreteUniform(1, 2)`` (Down-Down) | ``()`` |
| ``piece_length`` | ``U(min(max(cutoff - 0.05, 0), 0.2), 0.4)``, plate ``piece`` | ``(P,)`` |
| ``kind`` | ``Bernoulli(0.5)``: 0 = M3, 1 = M4, plate ``segment`` | ``(K,)`` |
| ``m3_beta``, ``m3_c``, ``m3_gamma`` | LogN(-1, .5), LogN(-2, 1), LogN(0, 1) | ``(K,)`` |
| ``m4_alpha``, ``m4_beta``, ``m4_minus_c`` | LogN(0, .5), LogN(-1, .5), LogN(0, .5) | ``(K,)`` |
| ``y0``, ``y1`` | ``U(0.2, 1.2)``, ``U(0, y0)`` (the Norm) | ``(K,)`` |
| ``up_log_b``, ``up_g``, ``up_slope`` | U(0.5, 1), LogN(0, .1), U(0.01, .7) | ``()`` |
| ``noise_log_sigma`` | ``Normal(-4, 1)`` | ``()`` |
| ``y`` | ``Normal(y_clean, exp(noise_log_sigma))`` per valid point | ``(L,)`` |

``y_clean``, ``segment_starts`` (the first grid index of segments ``1 .. K-1``; ``length``
for an empty one), M4's exponent ``m4_c = -m4_minus_c``, the Up segment's
``up_b = exp(up_log_b)`` and, when drawn, ``x`` are ``numpyro.deterministic`` sites.
``K`` is the number of segments (1 for Down, ``max_breaks + 1`` for Down-Down, 3 for
Down-Up-Down and the mixture) and ``P`` the number of segment lengths drawn.

The release rejects a curve whose noisy ``y`` has a negative or non-finite value, or, for
Down-Up-Down, a value above ``y[0]``, and redraws it with the same grid, context size and
family. A model cannot loop, so it returns the verdict as ``valid``; the loop is
[`sample_curves`][scalebayes.priors.sample_curves], which draws each curve's grid, context
size and family itself and re-runs that family's model on them (grid and context size as
the arguments ``x``, ``length`` and ``context_size``) until ``valid``. ``valid`` is not a
factor of the model's density: the accepted curves follow
``p(curve | family, grid, context, valid)``, whose normaliser depends on the family and the
grid, so the family frequencies stay 0.7 / 0.2 / 0.1 after rejection. The same loop over
``nslpfn_prior`` conditioned on ``family`` (``numpyro.handlers.condition``) gives the same
distribution; the tests check it.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jaxtyping import Array, ArrayLike
from numpyro.distributions import constraints

from ._config import PriorConfig
from ._segments import UP, SegmentTable, assemble_curve, break_positions, break_starts
from ._special import FAST_ALPHA_RANGE, beta_series_terms

DOWN = 0
"""Family id of Down curves (one M3 or M4 segment)."""
DOWN_DOWN = 1
"""Family id of Down-Down curves (1 or 2 breaks before the cutoff)."""
DOWN_UP_DOWN = 2
"""Family id of Down-Up-Down curves (a BetaCDF rise between two M3/M4 segments)."""
FAMILY_NAMES = ("down", "down_down", "down_up_down")
"""Family names, indexed by family id."""


class ContextSize(dist.Distribution):
    """The number of context points: ``max(minimum, randint(low, high + 1))``.

    A discrete distribution in NumPyro's ``Distribution`` contract (``sample``,
    ``log_prob``, ``support``); the draws below ``minimum`` pile up at ``minimum``.

    Args:
        low: smallest draw before clipping, ``int(0.1 L)`` in NSL-PFN.
        high: largest draw, ``int(0.9 L)`` in NSL-PFN (``high >= low``).
        minimum: the floor, 2 in NSL-PFN.
        validate_args: NumPyro's argument validation switch.
    """

    arg_constraints = {}  # noqa: RUF012  (NumPyro's class-level contract)
    support = constraints.nonnegative_integer
    pytree_data_fields = ("low", "high")
    pytree_aux_fields = ("minimum",)

    def __init__(self, low: ArrayLike, high: ArrayLike, minimum: int = 2, validate_args=None):
        self.low, self.high = jnp.broadcast_arrays(
            jnp.asarray(low, jnp.int32), jnp.asarray(high, jnp.int32)
        )
        self.minimum = int(minimum)
        super().__init__(batch_shape=jnp.shape(self.low), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        """Uniform integers on ``[low, high]``, those below ``minimum`` raised to it."""
        shape = tuple(sample_shape) + self.batch_shape
        draw = jax.random.randint(key, shape, self.low, self.high + 1)
        return jnp.maximum(draw, self.minimum)

    def log_prob(self, value):
        """Log probability of ``value`` (``minimum`` carries the mass piled on it)."""
        n = self.high - self.low + 1
        piled = jnp.clip(self.minimum - self.low + 1, 0, n)
        inside = (value >= self.low) & (value <= self.high) & (value > self.minimum)
        count = jnp.where(value == self.minimum, piled, inside.astype(n.dtype))
        return jnp.log(count) - jnp.log(n)


def context_bounds(length, n_points: int, config: PriorConfig):
    """The range ``(int(p L), min(int(q L), L - 1))`` of the context-size draw.

    ``int(p L)`` exactly as the release computes it (float64), tabulated on the host for
    every length up to ``n_points`` and looked up, so ``length`` may be traced.
    """
    lengths = np.arange(n_points + 1)
    p, q = config.context_fraction
    low = np.floor(lengths * p).astype(np.int32)
    high = np.minimum(np.floor(lengths * q), lengths - 1).astype(np.int32)
    return jnp.asarray(low)[length], jnp.asarray(high)[length]


def _grid_sites(config: PriorConfig):
    values = config.length_values()
    index = numpyro.sample("length_index", dist.DiscreteUniform(0, values.size - 1))
    try:
        length = int(values[int(index)])
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError):
        raise TypeError(
            "a prior model called with x=None draws the curve length, which sets array "
            "shapes, so it runs only outside jit/vmap; pass a grid x (padded to a fixed size) "
            "and its length instead, as sample_curves does"
        ) from None
    lo, hi = config.x_range
    inner = numpyro.sample("x_inner", dist.Uniform(lo, hi).expand([length - 2]).to_event(1))
    x = jnp.sort(jnp.concatenate([jnp.asarray([lo, hi], inner.dtype), inner]))
    return numpyro.deterministic("x", x), length


def _pick(family, options):
    # The per-family value; a traced family selects elementwise.
    if isinstance(family, int):
        return options[family]
    out = options[DOWN]
    for k in (DOWN_DOWN, DOWN_UP_DOWN):
        out = jnp.where(family == k, options[k], out)
    return out


def _pad_inf(positions, size: int):
    return jnp.concatenate([positions, jnp.full((size - positions.shape[-1],), jnp.inf)])


def _fast_m4(config: PriorConfig) -> bool:
    # The fast M4 solve is verified on FAST_ALPHA_RANGE; use it when alpha's LogNormal puts
    # less than ~1e-15 of its mass outside (8 standard deviations).
    mu, s = config.m4_alpha
    lo, hi = FAST_ALPHA_RANGE
    return math.log(lo) <= mu - 8 * s and mu + 8 * s <= math.log(hi)


def _segment_sites(family, x, length, cutoff, config: PriorConfig) -> SegmentTable:
    """Draw the segments of one curve of ``family`` (an int, or a traced id for the mixture)."""
    static = isinstance(family, int)
    is_down, is_dd, is_dud = (family == k for k in (DOWN, DOWN_DOWN, DOWN_UP_DOWN))
    dd_lo, dd_hi = config.dd_breaks
    maybe_dd = not (static and not is_dd)
    maybe_dud = not (static and not is_dud)
    n_seg = max(1, dd_hi + 1 if maybe_dd else 0, 3 if maybe_dud else 0)
    n_pieces = max(dd_hi if maybe_dd else 0, 2 if maybe_dud else 0)
    margin = config.cutoff_margin

    n_breaks = jnp.zeros((), jnp.int32)
    if maybe_dd:
        with numpyro.handlers.mask(mask=is_dd):
            n_breaks = numpyro.sample("n_breaks", dist.DiscreteUniform(dd_lo, dd_hi))

    pieces = None
    if n_pieces:
        i = jnp.arange(n_pieces)
        used = (is_dd & (i < n_breaks)) | (is_dud & (i < 2))
        low = jnp.minimum(jnp.maximum(cutoff - margin, 0.0), config.piece_min_cap)
        with numpyro.plate("piece", n_pieces), numpyro.handlers.mask(mask=used):
            pieces = numpyro.sample("piece_length", dist.Uniform(low, config.piece_max))

    k = jnp.arange(n_seg)
    # Down-Up-Down uses its segments 0 and 2 (1 is the Up); a mixture whose Down-Down curves
    # may have more than 2 breaks has further segments, which no Down-Up-Down curve uses
    used = (is_down & (k == 0)) | (is_dd & (k <= n_breaks)) | (is_dud & ((k == 0) | (k == 2)))
    with numpyro.plate("segment", n_seg):
        with numpyro.handlers.mask(mask=used):
            kind = numpyro.sample("kind", dist.Bernoulli(probs=config.m4_prob))
        with numpyro.handlers.mask(mask=used & (kind == 0)):
            numpyro.sample("m3_beta", dist.LogNormal(*config.m3_beta))  # cancels in the Norm
            m3_c = numpyro.sample("m3_c", dist.LogNormal(*config.m3_c))
            m3_gamma = numpyro.sample("m3_gamma", dist.LogNormal(*config.m3_gamma))
        with numpyro.handlers.mask(mask=used & (kind == 1)):
            m4_alpha = numpyro.sample("m4_alpha", dist.LogNormal(*config.m4_alpha))
            m4_beta = numpyro.sample("m4_beta", dist.LogNormal(*config.m4_beta))
            minus_c = numpyro.sample("m4_minus_c", dist.LogNormal(*config.m4_minus_c))
        with numpyro.handlers.mask(mask=used):
            y0 = numpyro.sample("y0", dist.Uniform(*config.y0_range))
            y1 = numpyro.sample("y1", dist.Uniform(0.0, y0))

    up_b = up_g = up_slope = jnp.ones(())
    if maybe_dud:
        with numpyro.handlers.mask(mask=is_dud):
            up_b = jnp.exp(numpyro.sample("up_log_b", dist.Uniform(*config.up_log_b)))
            up_g = numpyro.sample("up_g", dist.LogNormal(*config.up_g))
            up_slope = numpyro.sample("up_slope", dist.Uniform(*config.up_slope))

    starts = {DOWN: jnp.full((n_seg - 1,), length, jnp.int32)}
    if maybe_dd:
        pos = break_positions(pieces[:dd_hi], n_breaks, cutoff, anchor="last", margin=margin)
        starts[DOWN_DOWN] = break_starts(x, length, _pad_inf(pos, n_seg - 1))
    if maybe_dud:
        pos = break_positions(pieces[:2], 2, cutoff, anchor="first", margin=margin)
        starts[DOWN_UP_DOWN] = break_starts(x, length, _pad_inf(pos, n_seg - 1))
    m4_c = numpyro.deterministic("m4_c", -minus_c)
    if maybe_dud:
        up_b = numpyro.deterministic("up_b", up_b)
    kind = jnp.where(is_dud & (k == 1), UP, kind).astype(jnp.int32)
    return SegmentTable(
        kind=kind,
        starts=_pick(family, starts),
        m3_gamma=m3_gamma,
        m3_c=m3_c,
        m4_alpha=m4_alpha,
        m4_beta=m4_beta,
        m4_c=m4_c,
        y0=y0,
        y1=y1,
        up_b=up_b,
        up_g=up_g,
        up_slope=up_slope,
    )


def _curve_model(family, x, length, context_size, y, config: PriorConfig | None):
    config = PriorConfig() if config is None else config
    if not isinstance(config, PriorConfig):  # e.g. a ScaleFreePriorConfig
        raise TypeError(f"config must be a PriorConfig or None, got {type(config).__name__}")
    if x is None:
        if length is not None:
            raise ValueError("length describes a given grid x; it needs x")
        x, length = _grid_sites(config)
    else:
        x = jnp.asarray(x, dtype=jnp.result_type(float))
        if x.ndim != 1:
            raise ValueError(
                f"x must be one curve's grid, shape (L,), got shape {x.shape}; "
                "use sample_curves (or jax.vmap) for batches"
            )
        length = x.shape[-1] if length is None else length
    n_points = x.shape[-1]
    if not isinstance(length, jax.core.Tracer) and not 3 <= int(length) <= n_points:
        raise ValueError(
            f"length must be between 3 and len(x) = {n_points} (the valid points of the grid); "
            f"got {int(length)}"
        )
    if context_size is None:
        if not isinstance(length, jax.core.Tracer) and int(length) <= config.min_context:
            raise ValueError(
                f"PriorConfig.min_context = {config.min_context} needs curves of at least "
                f"min_context + 1 = {config.min_context + 1} points; this one has {int(length)} "
                "(a longer grid, or a smaller min_context)"
            )
        low, high = context_bounds(length, n_points, config)
        context_size = numpyro.sample("context_size", ContextSize(low, high, config.min_context))
    elif not isinstance(context_size, jax.core.Tracer) and not isinstance(length, jax.core.Tracer):
        size = np.asarray(context_size)
        if size.ndim != 0 or not 1 <= int(size) < int(length):
            raise ValueError(
                f"context_size must be one integer from 1 to length - 1 = {int(length) - 1} (the "
                f"points before the cutoff x[context_size]); got {context_size!r}"
            )
    cutoff = x[context_size]

    table = _segment_sites(family, x, length, cutoff, config)
    numpyro.deterministic("segment_starts", table.starts)
    up_terms = 0
    if not (isinstance(family, int) and family != DOWN_UP_DOWN):
        up_terms = beta_series_terms(math.exp(config.up_log_b[1]), x.dtype)
    y_clean = assemble_curve(x, length, table, up_terms=up_terms, fast_m4=_fast_m4(config))
    y_clean = numpyro.deterministic("y_clean", y_clean)
    sigma = jnp.exp(numpyro.sample("noise_log_sigma", dist.Normal(*config.noise_log_sigma)))
    mask = jnp.arange(n_points) < length
    y = numpyro.sample("y", dist.Normal(y_clean, sigma).mask(mask).to_event(1), obs=y)
    y = jnp.where(mask, y, 0.0)

    ok = ~mask | ((y >= 0) & jnp.isfinite(y) & jnp.isfinite(y_clean))
    below_start = ~mask | (y <= y[0])
    valid = jnp.all(ok) & ((family != DOWN_UP_DOWN) | jnp.all(below_start))
    return {
        "x": jnp.where(mask, x, 0.0),
        "length": jnp.asarray(length, jnp.int32),
        "context_size": jnp.asarray(context_size, jnp.int32),
        "family": jnp.asarray(family, jnp.int32),
        "y": y,
        "y_clean": y_clean,
        "sigma": sigma,
        "valid": valid,
    }


def down_prior(
    x: ArrayLike | None = None,
    *,
    length: ArrayLike | None = None,
    context_size: ArrayLike | None = None,
    y: ArrayLike | None = None,
    config: PriorConfig | None = None,
) -> dict[str, Array]:
    """Down: one M3 or M4 curve (probability 1/2 each) through the Norm, plus noise.

    Args:
        x: the grid, shape ``(L,)``, sorted over its first ``length`` entries (padding after
            them is ignored); ``None`` draws it as NSL-PFN does (``length_index`` and
            ``x_inner`` sites), which sets shapes from a draw and so runs only eagerly.
        length: number of valid points of ``x``, an int or int array, ``>= 3``; default
            ``x.shape[-1]``.
        context_size: the number of context points (the cutoff is ``x[context_size]``);
            ``None`` draws it (site ``context_size``).
        y: observed noisy values, shape ``(L,)``, to condition on; ``None`` draws them.
        config: hyperparameters; ``None`` is the NSL-PFN default
            [`PriorConfig`][scalebayes.priors.PriorConfig].

    Returns:
        A dict with ``x``, ``y`` (noisy), ``y_clean`` (shape ``(L,)``, 0 past ``length``),
        ``length``, ``context_size``, ``family`` (0 Down, 1 Down-Down, 2 Down-Up-Down),
        ``sigma`` (the noise standard deviation) and ``valid`` (False where the release
        would reject the curve: a negative or non-finite ``y``, or, for Down-Up-Down, a
        ``y`` above ``y[0]``).
    """
    return _curve_model(DOWN, x, length, context_size, y, config)


def down_down_prior(
    x: ArrayLike | None = None,
    *,
    length: ArrayLike | None = None,
    context_size: ArrayLike | None = None,
    y: ArrayLike | None = None,
    config: PriorConfig | None = None,
) -> dict[str, Array]:
    """Down-Down: 1 or 2 breaks, all before ``cutoff - 0.05``; a fresh M3/M4 per segment.

    Segment lengths ``l_i ~ U(min(max(cutoff - 0.05, 0), 0.2), 0.4)``; the break positions
    are the release's cumulative products ``l_0, l_0 l_1`` (sorted), rescaled so that the
    last is at most ``cutoff - 0.05``: the cutoff always lies in the final segment. Each
    segment is an M3/M4 curve normalised over the whole grid, shifted in y to continue the
    previous one.

    Args:
        x: the grid, shape ``(L,)``, sorted over its first ``length`` entries (padding after
            them is ignored); ``None`` draws it as NSL-PFN does (``length_index`` and
            ``x_inner`` sites), which sets shapes from a draw and so runs only eagerly.
        length: number of valid points of ``x``, an int or int array, ``>= 3``; default
            ``x.shape[-1]``.
        context_size: the number of context points (the cutoff is ``x[context_size]``);
            ``None`` draws it (site ``context_size``).
        y: observed noisy values, shape ``(L,)``, to condition on; ``None`` draws them.
        config: hyperparameters; ``None`` is the NSL-PFN default
            [`PriorConfig`][scalebayes.priors.PriorConfig].

    Returns:
        A dict with ``x``, ``y`` (noisy), ``y_clean`` (shape ``(L,)``, 0 past ``length``),
        ``length``, ``context_size``, ``family`` (0 Down, 1 Down-Down, 2 Down-Up-Down),
        ``sigma`` (the noise standard deviation) and ``valid`` (False where the release
        would reject the curve: a negative or non-finite ``y``, or, for Down-Up-Down, a
        ``y`` above ``y[0]``).
    """
    return _curve_model(DOWN_DOWN, x, length, context_size, y, config)


def down_up_down_prior(
    x: ArrayLike | None = None,
    *,
    length: ArrayLike | None = None,
    context_size: ArrayLike | None = None,
    y: ArrayLike | None = None,
    config: PriorConfig | None = None,
) -> dict[str, Array]:
    """Down-Up-Down: M3/M4, then a BetaCDF rise, then M3/M4; exactly 2 breaks.

    The breaks are built as for Down-Down but rescaled so that only the *first* is at most
    ``cutoff - 0.05``: the cutoff falls in the Up segment or the last one. The Up segment
    rises by ``slope * dx`` (``dx`` its x-width) along ``BetaCDF(x~; b, b)^g`` with
    ``x~ = (x - x_prev) / x_end`` (the release's scaling). ``valid`` is also False when
    ``y`` ever exceeds ``y[0]``.

    Args:
        x: the grid, shape ``(L,)``, sorted over its first ``length`` entries (padding after
            them is ignored); ``None`` draws it as NSL-PFN does (``length_index`` and
            ``x_inner`` sites), which sets shapes from a draw and so runs only eagerly.
        length: number of valid points of ``x``, an int or int array, ``>= 3``; default
            ``x.shape[-1]``.
        context_size: the number of context points (the cutoff is ``x[context_size]``);
            ``None`` draws it (site ``context_size``).
        y: observed noisy values, shape ``(L,)``, to condition on; ``None`` draws them.
        config: hyperparameters; ``None`` is the NSL-PFN default
            [`PriorConfig`][scalebayes.priors.PriorConfig].

    Returns:
        A dict with ``x``, ``y`` (noisy), ``y_clean`` (shape ``(L,)``, 0 past ``length``),
        ``length``, ``context_size``, ``family`` (0 Down, 1 Down-Down, 2 Down-Up-Down),
        ``sigma`` (the noise standard deviation) and ``valid`` (False where the release
        would reject the curve: a negative or non-finite ``y``, or, for Down-Up-Down, a
        ``y`` above ``y[0]``).
    """
    return _curve_model(DOWN_UP_DOWN, x, length, context_size, y, config)


def nslpfn_prior(
    x: ArrayLike | None = None,
    *,
    length: ArrayLike | None = None,
    context_size: ArrayLike | None = None,
    y: ArrayLike | None = None,
    config: PriorConfig | None = None,
) -> dict[str, Array]:
    """The NSL-PFN prior: Down, Down-Down or Down-Up-Down with probabilities 0.7, 0.2, 0.1.

    The ``family`` site picks the family; every family's sites are drawn and those the
    family does not use are masked out of the log density, so the model has one static
    structure and runs under ``jit``/``vmap``. Conditioned on ``family`` it has the
    distribution of that family's model (conditioning on a Python int gives exactly that
    model's sites). For batches with the release's rejection loop, which keeps each
    curve's family through its redraws, use [`sample_curves`][scalebayes.priors.sample_curves].

    Args:
        x: the grid, shape ``(L,)``, sorted over its first ``length`` entries (padding after
            them is ignored); ``None`` draws it as NSL-PFN does (``length_index`` and
            ``x_inner`` sites), which sets shapes from a draw and so runs only eagerly.
        length: number of valid points of ``x``, an int or int array, ``>= 3``; default
            ``x.shape[-1]``.
        context_size: the number of context points (the cutoff is ``x[context_size]``);
            ``None`` draws it (site ``context_size``).
        y: observed noisy values, shape ``(L,)``, to condition on; ``None`` draws them.
        config: hyperparameters; ``None`` is the NSL-PFN default
            [`PriorConfig`][scalebayes.priors.PriorConfig].

    Returns:
        A dict with ``x``, ``y`` (noisy), ``y_clean`` (shape ``(L,)``, 0 past ``length``),
        ``length``, ``context_size``, ``family`` (0 Down, 1 Down-Down, 2 Down-Up-Down),
        ``sigma`` (the noise standard deviation) and ``valid`` (False where the release
        would reject the curve: a negative or non-finite ``y``, or, for Down-Up-Down, a
        ``y`` above ``y[0]``).
    """
    config = PriorConfig() if config is None else config
    if not isinstance(config, PriorConfig):
        raise TypeError(f"config must be a PriorConfig or None, got {type(config).__name__}")
    family = numpyro.sample("family", dist.Categorical(probs=jnp.asarray(config.family_probs)))
    return _curve_model(family, x, length, context_size, y, config)


FAMILY_MODELS = (down_prior, down_down_prior, down_up_down_prior)
"""The per-family models, indexed by family id."""
