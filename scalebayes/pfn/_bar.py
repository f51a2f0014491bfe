"""The bar (Riemann) distribution with half-normal tails: the PFN's output distribution.

A bar distribution over ``K`` buckets with borders ``b_0 < b_1 < ... < b_K`` puts the mass
``p_k = softmax(logits)_k`` on bucket ``k``:

- inner buckets ``0 < k < K - 1``: uniform density ``p_k / (b_{k+1} - b_k)`` on
  ``[b_k, b_{k+1})``;
- the first bucket: a half-normal extending to ``-inf`` from ``b_1``, with mass ``p_0`` and scale
  ``s_0 = (b_1 - b_0) / m``, where ``m = sqrt(2) erfinv(1/2) = 0.6745`` is the median of a unit
  half-normal, so half of the tail's mass lies inside the original bucket;
- the last bucket likewise, extending to ``+inf`` from ``b_{K-1}``.

Those tail scales follow the outer buckets' widths, and the outer borders are the smallest
and largest prior samples, so a long-tailed sample makes a wide tail. A model can carry
``tail_scales`` fitted to the prior's own values beyond ``b_1`` and ``b_{K-1}`` instead
([`fit_tail_scales`][scalebayes.pfn.fit_tail_scales]). Either way the network only learns
each bucket's mass: how the outer masses spread is a choice at prediction time (the NLL's
gradient with respect to the logits does not depend on it).

This is the "full support" bar distribution of PFNs and NSL-PFN: any real ``y`` has a positive,
finite density, so the training NLL never meets ``-inf``. Every function here is pure and
broadcasts over leading axes of ``logits`` (shape ``(..., K)``) against ``y`` or ``q`` (shape
``(...)``). Work is in float32 log space: ``log_softmax`` for the masses.

[`make_borders`][scalebayes.pfn.make_borders] computes borders as equal-mass quantiles of
samples from the prior, as NSL-PFN does.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf, erfc, erfinv
from jaxtyping import Array, ArrayLike, Float

_HALF_NORMAL_MEDIAN = math.sqrt(2.0) * 0.4769362762044699  # sqrt(2) * erfinv(0.5)
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2_OVER_PI = 0.5 * math.log(2.0 / math.pi)
_TINY = 1e-30


def make_borders(samples: ArrayLike, n_buckets: int) -> np.ndarray:
    """Bucket borders as equal-mass quantiles of prior samples.

    Args:
        samples: any array of samples of the quantity the bars cover (e.g. noisy prior y
            values); non-finite entries are dropped.
        n_buckets: the number of buckets ``K`` (>= 3).

    Returns:
        ``K + 1`` strictly increasing float64 borders: the quantiles at ``linspace(0, 1, K + 1)``
        of the samples (the first and last are the sample minimum and maximum).

    Raises:
        ValueError: if ``n_buckets < 3``, fewer than ``2 * n_buckets`` finite samples are
            given, or the samples take too few distinct values for strictly increasing borders.
    """
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, int | np.integer) or n_buckets < 3:
        raise ValueError(f"n_buckets must be an int >= 3, got {n_buckets!r}")
    values = np.asarray(samples, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size < 2 * n_buckets:
        raise ValueError(
            f"need at least {2 * n_buckets} finite samples for {n_buckets} buckets, "
            f"got {values.size}"
        )
    borders = np.quantile(values, np.linspace(0.0, 1.0, n_buckets + 1))
    if not np.all(np.diff(borders) > 0):
        raise ValueError(
            "the samples have too many ties for strictly increasing borders; "
            "use fewer buckets or continuous samples"
        )
    return borders


MIN_TAIL_SAMPLES = 20
"""Fewest samples beyond an outer border for `fit_tail_scales` to fit that tail."""


def fit_tail_scales(samples: ArrayLike, borders: ArrayLike) -> tuple[float, float]:
    """Half-normal tail scales fitted to the samples beyond the inner outer borders.

    The maximum-likelihood scale of a half-normal from ``b_{K-1}`` (and, mirrored, to
    ``b_1``): ``sqrt(mean((y - b_{K-1})^2))`` over the samples ``y > b_{K-1}``. A tail with
    fewer than `MIN_TAIL_SAMPLES` such samples keeps the width rule of
    [`BarDistribution`][scalebayes.pfn.BarDistribution].

    Args:
        samples: prior samples of what the bars cover (as for
            [`make_borders`][scalebayes.pfn.make_borders]); non-finite entries are dropped.
        borders: the bar borders.

    Returns:
        ``(s_left, s_right)``, for ``BarDistribution(borders, tail_scales=...)``.
    """
    b = np.asarray(borders, dtype=np.float64)
    values = np.asarray(samples, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    out = []
    for beyond, width in ((b[1] - values, b[1] - b[0]), (values - b[-2], b[-1] - b[-2])):
        d = beyond[beyond > 0]
        scale = math.sqrt(float(np.mean(d**2))) if d.size >= MIN_TAIL_SAMPLES else 0.0
        out.append(scale if scale > 0 else width / _HALF_NORMAL_MEDIAN)
    return out[0], out[1]


class BarDistribution(eqx.Module):
    """Bar distribution with half-normal tails over fixed borders.

    The methods take ``logits`` of shape ``(..., K)`` (unnormalised log masses of the ``K``
    buckets) and evaluate the distribution they define. See the module docstring for the
    density.

    Args:
        borders: ``K + 1`` strictly increasing finite borders (``K >= 3``).
        tail_scales: ``(s_left, s_right)``, the half-normal scales of the two tails (finite,
            > 0); ``None`` for the outer buckets' widths over 0.6745 (see the module).
    """

    borders: Float[Array, " K1"]
    scales: Float[Array, "2"]

    def __init__(self, borders: ArrayLike, tail_scales: ArrayLike | None = None):
        b = np.asarray(borders, dtype=np.float64)
        if b.ndim != 1 or b.size < 4:
            raise ValueError(f"borders must be a 1-D array of >= 4 values, got shape {b.shape}")
        if not (np.all(np.isfinite(b)) and np.all(np.diff(b) > 0)):
            raise ValueError("borders must be finite and strictly increasing")
        if tail_scales is None:
            scales = np.array([b[1] - b[0], b[-1] - b[-2]]) / _HALF_NORMAL_MEDIAN
        else:
            scales = np.asarray(tail_scales, dtype=np.float64)
            if scales.shape != (2,) or not (np.all(np.isfinite(scales)) and np.all(scales > 0)):
                raise ValueError(
                    f"tail_scales must be two finite numbers > 0, got {np.asarray(tail_scales)}"
                )
        self.borders = jnp.asarray(b, jnp.float32)
        self.scales = jnp.asarray(scales, jnp.float32)

    @property
    def n_buckets(self) -> int:
        """The number of buckets (one fewer than the borders)."""
        return int(self.borders.shape[0]) - 1

    def _broadcast(self, logits, value):
        """Broadcast ``logits`` (..., K) and ``value`` (...) to a common batch shape."""
        logits = jnp.asarray(logits, jnp.float32)
        value = jnp.asarray(value, jnp.float32)
        shape = jnp.broadcast_shapes(logits.shape[:-1], value.shape)
        return jnp.broadcast_to(logits, (*shape, logits.shape[-1])), jnp.broadcast_to(value, shape)

    def _parts(self):
        b = self.borders
        w = jnp.diff(b)
        return b, w, self.scales[0], self.scales[1]

    def log_masses(self, logits: Float[Array, "... K"]) -> Float[Array, "... K"]:
        """Log bucket masses ``log p_k``."""
        return jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)

    def _masses(self, logits: Float[Array, "... K"]) -> Float[Array, "... K"]:
        # bucket masses renormalised: float32 softmax sums to 1 only within a few ulp, and the
        # CDF must reach 1 exactly (its right tail is written as 1 minus the tail's mass)
        p = jnp.exp(self.log_masses(logits))
        return p / jnp.sum(p, axis=-1, keepdims=True)

    def log_prob(self, logits: Float[Array, "... K"], y: Float[ArrayLike, "..."]) -> Array:
        """Log density at ``y`` (broadcast against ``logits.shape[:-1]``)."""
        b, w, s_left, s_right = self._parts()
        logits, y = self._broadcast(logits, y)
        logp = self.log_masses(logits)
        k = jnp.clip(jnp.searchsorted(b, y, side="right") - 1, 0, self.n_buckets - 1)
        logp_k = jnp.take_along_axis(logp, k[..., None], axis=-1)[..., 0]
        inner = logp_k - jnp.log(w[k])
        d_left = jnp.maximum(b[1] - y, 0.0) / s_left
        d_right = jnp.maximum(y - b[-2], 0.0) / s_right
        left = logp[..., 0] + _LOG_SQRT_2_OVER_PI - jnp.log(s_left) - 0.5 * d_left**2
        right = logp[..., -1] + _LOG_SQRT_2_OVER_PI - jnp.log(s_right) - 0.5 * d_right**2
        return jnp.where(k == 0, left, jnp.where(k == self.n_buckets - 1, right, inner))

    def cdf(self, logits: Float[Array, "... K"], y: Float[ArrayLike, "..."]) -> Array:
        """Cumulative distribution function at ``y``."""
        logits, y = self._broadcast(logits, y)
        return self._cdf_from_masses(jnp, erfc, *self.cdf_table(logits), y)

    def _cdf_from_masses(self, xp, erfc_fn, p, below, y):
        """The CDF at ``y`` from the bucket masses ``p`` and the mass ``below`` each, both
        ``(..., K)`` over ``y``'s shape: one formula for ``cdf`` (``xp`` = ``jax.numpy``) and
        ``cdf_from_table`` (NumPy on the host), both in float32."""
        b = xp.asarray(self.borders)
        w = xp.diff(b)
        s_left, s_right = xp.asarray(self.scales) * xp.asarray(_SQRT2, dtype=b.dtype)
        k = xp.clip(xp.searchsorted(b, y, side="right") - 1, 0, self.n_buckets - 1)
        kk = k[..., None]
        p_k = xp.take_along_axis(p, kk, axis=-1)[..., 0]
        below_k = xp.take_along_axis(below, kk, axis=-1)[..., 0]
        # the inner buckets stop where the right tail starts (their float32 cumsum can pass
        # 1 - p_last by a few ulp), so the CDF is monotone, and within [0, 1] exactly
        inner = xp.minimum(below_k + p_k * xp.clip((y - b[k]) / w[k], 0.0, 1.0), 1.0 - p[..., -1])
        left = p[..., 0] * erfc_fn(xp.maximum(b[1] - y, 0.0) / s_left)
        right = 1.0 - p[..., -1] * erfc_fn(xp.maximum(y - b[-2], 0.0) / s_right)
        out = xp.where(k == 0, left, xp.where(k == self.n_buckets - 1, right, inner))
        return xp.clip(out, 0.0, 1.0)

    def cdf_table(self, logits: Float[Array, "... K"]) -> tuple[Array, Array]:
        """What [`cdf_from_table`][scalebayes.pfn.BarDistribution.cdf_from_table] reads.

        Args:
            logits: bucket logits, ``(..., K)``.

        Returns:
            ``(masses, below)``, ``(..., K)`` each: the bucket masses and the mass of the
            buckets before each, as ``cdf`` computes them.
        """
        p = self._masses(logits)
        return p, jnp.cumsum(p, axis=-1) - p

    def cdf_from_table(self, table: tuple[ArrayLike, ArrayLike], y: ArrayLike) -> np.ndarray:
        """``cdf`` evaluated on the host (NumPy, float32 as ``cdf``) from ``cdf_table``'s
        arrays: many ``y`` against the same rows (a quantile solve asks dozens of times)
        without normalising the logits again (the same formula as ``cdf``).

        Args:
            table: ``cdf_table(logits)``, as JAX or NumPy arrays.
            y: values, broadcast against the rows' batch shape ``logits.shape[:-1]``.

        Returns:
            The CDF at ``y``, float32, of the broadcast shape.
        """
        from scipy.special import erfc as np_erfc

        p, below = (np.asarray(a, np.float32) for a in table)
        y = np.asarray(y, np.float32)
        shape = np.broadcast_shapes(p.shape[:-1], y.shape)
        p, below = (np.broadcast_to(a, (*shape, a.shape[-1])) for a in (p, below))
        with np.errstate(over="ignore"):  # y far in a tail: inf in float32, read as the end
            out = self._cdf_from_masses(np, np_erfc, p, below, np.broadcast_to(y, shape))
        return np.asarray(out, np.float32)

    def icdf(self, logits: Float[Array, "... K"], q: Float[ArrayLike, "..."]) -> Array:
        """Quantile function: the ``y`` with ``cdf(y) = q`` for ``0 < q < 1``."""
        b, w, s_left, s_right = self._parts()
        logits, qb = self._broadcast(logits, q)
        p = self._masses(logits)
        cum = jnp.cumsum(p, axis=-1)
        below = cum - p
        k = jnp.clip(jnp.sum(cum < qb[..., None], axis=-1), 0, self.n_buckets - 1)
        kk = k[..., None]
        p_k = jnp.maximum(jnp.take_along_axis(p, kk, axis=-1)[..., 0], _TINY)
        below_k = jnp.take_along_axis(below, kk, axis=-1)[..., 0]
        inner = b[k] + jnp.clip((qb - below_k) / p_k, 0.0, 1.0) * w[k]
        p0 = jnp.maximum(p[..., 0], _TINY)
        pl = jnp.maximum(p[..., -1], _TINY)
        u_left = jnp.clip(1.0 - qb / p0, 0.0, 1.0 - 1e-7)
        u_right = jnp.clip((qb - (1.0 - p[..., -1])) / pl, 0.0, 1.0 - 1e-7)  # as cdf's tail
        left = b[1] - s_left * _SQRT2 * erfinv(u_left)
        right = b[-2] + s_right * _SQRT2 * erfinv(u_right)
        return jnp.where(k == 0, left, jnp.where(k == self.n_buckets - 1, right, inner))

    def median(self, logits: Float[Array, "... K"]) -> Array:
        """The median, ``icdf(0.5)``: the PFN's point prediction."""
        return self.icdf(logits, 0.5)

    def quantiles(self, logits: Float[Array, "... K"], qs: Float[ArrayLike, " Q"]) -> Array:
        """Several quantiles at once, shape ``logits.shape[:-1] + (Q,)``."""
        qs = jnp.asarray(qs, jnp.float32)
        return jax.vmap(lambda q: self.icdf(logits, q), out_axes=-1)(qs)

    def mean(self, logits: Float[Array, "... K"]) -> Array:
        """The mean: bucket midpoints inside, ``b_1 - s_0 sqrt(2/pi)`` and its mirror outside."""
        b, w, s_left, s_right = self._parts()
        p = jnp.exp(self.log_masses(logits))
        mid = b[:-1] + 0.5 * w
        tail = math.sqrt(2.0 / math.pi)
        mid = mid.at[0].set(b[1] - s_left * tail).at[-1].set(b[-2] + s_right * tail)
        return jnp.sum(p * mid, axis=-1)

    def clipped_mean(self, logits: Float[Array, "... K"], low: float = 0.0) -> Array:
        """The mean of ``max(Y, low)``: the distribution with its mass below ``low`` moved to it.

        Per bucket, in closed form: an inner bucket ``[b_k, b_{k+1})`` gives its midpoint if
        ``b_k >= low``, ``low`` if ``b_{k+1} <= low``, and ``low + (b_{k+1} - low)^2 / (2 w_k)``
        if it straddles ``low``. With ``H`` a unit half-normal and ``d = b_1 - low > 0``, the
        left tail ``b_1 - s_0 H`` gives ``low + d erf(d / (s_0 sqrt 2)) -
        s_0 sqrt(2/pi) (1 - exp(-d^2 / (2 s_0^2)))`` (``low`` if ``d <= 0``); with
        ``a = (low - b_{K-1}) / s_{K-1} > 0`` the right tail ``b_{K-1} + s_{K-1} H`` gives
        ``low + (b_{K-1} - low) erfc(a / sqrt 2) + s_{K-1} sqrt(2/pi) exp(-a^2 / 2)`` (its mean
        if ``a <= 0``). Equals [`mean`][scalebayes.pfn.BarDistribution.mean] when no mass lies
        below ``low``.
        """
        b, w, s_left, s_right = self._parts()
        p = jnp.exp(self.log_masses(logits))
        tail = math.sqrt(2.0 / math.pi)
        lo, hi = b[:-1], b[1:]
        straddle = low + jnp.square(jnp.maximum(hi - low, 0.0)) / (2.0 * w)
        part = jnp.where(lo >= low, lo + 0.5 * w, jnp.where(hi <= low, low, straddle))
        d = jnp.maximum(b[1] - low, 0.0)
        left = (
            low
            + d * erf(d / (s_left * _SQRT2))
            + s_left * tail * jnp.expm1(-0.5 * jnp.square(d / s_left))
        )
        a = (low - b[-2]) / s_right
        right = jnp.where(
            a > 0,
            low + (b[-2] - low) * erfc(a / _SQRT2) + s_right * tail * jnp.exp(-0.5 * a**2),
            b[-2] + s_right * tail,
        )
        part = part.at[0].set(left).at[-1].set(right)
        return jnp.sum(p * part, axis=-1)

    def sample(self, key: Array, logits: Float[Array, "... K"], n: int) -> Array:
        """``n`` draws by inverse-CDF sampling, shape ``(n,) + logits.shape[:-1]``."""
        u = jax.random.uniform(key, (n, *logits.shape[:-1]), minval=1e-7, maxval=1.0 - 1e-7)
        return jax.vmap(lambda ui: self.icdf(logits, ui))(u)

    def nll(self, logits: Float[Array, "... K"], y: Float[ArrayLike, "..."]) -> Array:
        """Negative log density: the training loss per position."""
        return -self.log_prob(logits, y)
