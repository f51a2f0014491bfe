r"""The posterior predictive of an MCMC run: an equal-weight mixture over draws in log y."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_key, is_finite_real
from .._precision import float64
from .._random import draw_normal, draw_randint
from ..evaluate import MSCE_LEVELS, Predictive, check_probabilities
from ._diagnostics import CurveCheck

_STANDARD_Q = (0.5, *(0.5 + sign * 0.5 * lv for lv in MSCE_LEVELS for sign in (-1, 1)))
_Q_BLOCK = 16
_T_BLOCK = 128  # targets per compiled block
_T_SMALL = 8  # ... or this many for short target lists (e.g. one Nano target)
_D_BLOCK = 40  # draws summed per step of the quantile solver's inner scan


def _target_blocks(values: np.ndarray) -> list[np.ndarray]:
    """Split a 1-D array into blocks of ``_T_BLOCK`` (the last padded by repetition), so the
    per-target computations compile for one shape only (a smaller one for short inputs)."""
    size = _T_BLOCK if values.size > _T_SMALL else _T_SMALL
    n_blocks = -(-values.size // size)
    padded = np.concatenate([values, np.repeat(values[-1:], n_blocks * size - values.size)])
    return list(padded.reshape(n_blocks, size))


@functools.cache
@float64
def _bracket_width(noise: str, df: float, tail: float = 1e-12) -> float:
    """``w`` with ``P(noise < -w) < tail`` for a unit-scale noise distribution."""
    import numpyro.distributions as dist

    unit = dist.Normal() if noise == "normal" else dist.StudentT(df)
    w = 7.5 if noise == "normal" else 8.0
    while float(jnp.exp(_log_cdf(unit, noise, jnp.asarray(-w)))) >= tail:
        w *= 1.25 if noise == "normal" else 2.0
    return w


def _log_cdf(unit, noise: str, z):
    """``log P(noise <= z)``, accurate far into the lower tail (``log_ndtr`` for the normal)."""
    if noise == "normal":
        return jax.scipy.special.log_ndtr(z)
    return jnp.log(unit.cdf(z))


def _tail(q: np.ndarray) -> float:
    """A power of ten below every level's smaller tail and 1e-12 (few brackets, few compiles)."""
    smallest = float(np.min(np.minimum(q, 1.0 - q)))
    return 10.0 ** math.floor(math.log10(min(1e-12, smallest / 10.0)))


def _noise(noise: str, df: float, loc, scale):
    import numpyro.distributions as dist

    return dist.Normal(loc, scale) if noise == "normal" else dist.StudentT(df, loc, scale)


@functools.partial(jax.jit, static_argnames=("noise", "df", "width"))
def _mixture_quantiles(loc, scale, weight, q, *, noise: str, df: float, width: float):
    """Quantiles ``q`` (Q,) of the mixture over draws of the noise on log y.

    ``loc``, ``scale`` and ``weight`` are ``(D, T)``; each column of ``weight`` sums to 1.
    Safeguarded Newton on the mixture CDF ``F(t) = sum_d w_d P(noise_d <= t)`` inside a
    bracket that provably holds the root (a step that leaves it is replaced by bisection),
    started from the empirical quantile of one predictive draw per posterior draw; stops once
    ``|F - q| < 1e-10 q`` everywhere (levels above 1/2 are solved as ``1 - q`` on the
    reflected mixture, so the tolerance is relative in both tails). Returns ``(Q, T)``.
    """
    n_draws = loc.shape[0]
    n_blocks = -(-n_draws // _D_BLOCK)
    pad = n_blocks * _D_BLOCK - n_draws
    # Sum over draws in blocks (a scan): the (Q, T, block) intermediates stay in cache, which
    # is 2-3x faster than one (Q, T, D) reduction. Padding draws get weight 0.
    weight = jnp.concatenate([weight, jnp.zeros((pad, weight.shape[1]))])
    weight = weight.reshape(n_blocks, _D_BLOCK, -1)
    loc_b = jnp.concatenate([loc, jnp.repeat(loc[-1:], pad, 0)]).reshape(n_blocks, _D_BLOCK, -1)
    inv_b = (1.0 / jnp.concatenate([scale, jnp.repeat(scale[-1:], pad, 0)])).reshape(loc_b.shape)
    unit = _noise(noise, df, 0.0, 1.0)

    def terms(z, inv):
        if noise == "normal":
            # Phi via erfc: relative accuracy deep into the lower tail, which is the only tail
            # solved (upper levels are solved as lower ones of the reflected mixture, below)
            cdf = 0.5 * jax.lax.erfc(z * (-1.0 / math.sqrt(2.0)))
            return cdf, jnp.exp(-0.5 * z * z) * (inv / math.sqrt(2.0 * math.pi))
        return unit.cdf(z), jnp.exp(unit.log_prob(z)) * inv

    # Levels above 1/2 are solved as 1 - q on the mixture of -y (the noise is symmetric), so
    # every root is a lower-tail one and the tolerance can be relative to the level.
    sign = jnp.where(q > 0.5, -1.0, 1.0)
    target = jnp.minimum(q, 1.0 - q)[:, None]

    def cdf_pdf(t):
        def block(carry, xs):
            lb, ib, wb = xs
            z = (t[..., None] - sign[:, None, None] * lb.T) * ib.T
            cdf, pdf = terms(z, ib.T)
            return (carry[0] + jnp.sum(wb.T * cdf, -1), carry[1] + jnp.sum(wb.T * pdf, -1)), None

        zero = jnp.zeros_like(t)
        (f, p), _ = jax.lax.scan(block, (zero, zero), (loc_b, inv_b, weight))
        return f, p

    shape = (q.size, loc.shape[1])
    low = jnp.where(sign[:, None] > 0, jnp.min(loc, 0), -jnp.max(loc, 0))
    high = jnp.where(sign[:, None] > 0, jnp.max(loc, 0), -jnp.min(loc, 0))
    lo = jnp.broadcast_to(low - width * jnp.max(scale), shape)
    hi = jnp.broadcast_to(high + width * jnp.max(scale), shape)
    # A deterministic predictive draw per posterior draw: its quantiles start Newton close.
    eps = _noise(noise, df, 0.0, 1.0).sample(jax.random.key(0), scale.shape[:1])
    draws = loc + scale * eps[:, None]
    t0 = jnp.where(
        sign[:, None] > 0,
        jnp.quantile(draws, target[:, 0], axis=0),
        -jnp.quantile(draws, 1.0 - target[:, 0], axis=0),
    )
    t0 = jnp.clip(t0, lo, hi)

    def cond(state):
        i, _, _, _, done = state
        return (i < 100) & ~jnp.all(done)

    def body(state):
        i, t, lo, hi, done = state
        f, p = cdf_pdf(t)
        below = f < target
        lo = jnp.where(below, t, lo)
        hi = jnp.where(below, hi, t)
        # Newton on log F: in a far tail (q ~ 1e-100) log F is near quadratic in t, where a
        # step on F itself advanced only ~1/|z| and stopped short of the root (a review)
        live = (p > 0) & (f > 0)
        safe_f = jnp.where(live, f, 1.0)
        newton = t - (jnp.log(safe_f) - jnp.log(target)) * safe_f / jnp.where(live, p, 1.0)
        ok = live & (newton > lo) & (newton < hi)
        converged = done | (jnp.abs(f - target) < 1e-10 * target) | (hi - lo < 1e-12)
        t = jnp.where(converged, t, jnp.where(ok, newton, 0.5 * (lo + hi)))
        return i + 1, t, lo, hi, converged

    state = (0, t0, lo, hi, jnp.zeros(shape, bool))
    n_iter, t, *_ = jax.lax.while_loop(cond, body, state)
    return sign[:, None] * t, n_iter


@functools.partial(jax.jit, static_argnames=("noise", "df"))
def _mixture_log_prob(loc, scale, log_weight, log_y, *, noise: str, df: float):
    """``log sum_d w_d p_noise(log_y; loc_d, scale_d)`` per target (density in log y)."""
    lp = _noise(noise, df, loc, scale).log_prob(log_y)
    return jax.scipy.special.logsumexp(lp + log_weight, axis=0)


@functools.partial(jax.jit, static_argnames=("noise", "df"))
def _mixture_cdf(loc, scale, weight, log_y, *, noise: str, df: float):
    """``sum_d w_d P(noise_d <= log_y)`` per target; ``log_y`` ``(m, T)``, the rest ``(D, T)``."""

    def row(t):
        z = (t - loc) / scale
        if noise == "normal":
            cdf = 0.5 * jax.lax.erfc(z * (-1.0 / math.sqrt(2.0)))
        else:
            cdf = _noise(noise, df, 0.0, 1.0).cdf(z)
        return jnp.sum(weight * cdf, axis=0)

    return jax.lax.map(row, log_y)


@dataclass(frozen=True, eq=False, repr=False)
class MCMCPredictive(Predictive):
    r"""Posterior predictive of one curve's targets: a mixture over posterior draws.

    Draw ``d`` says ``log y_j ~ noise(loc[d, j], scale[d, j])`` (Normal, or Student-t with ``df``
    degrees of freedom); the predictive of target ``j`` is the mixture over the ``D`` draws
    with weights ``w_dj`` (equal, ``1/D``, unless ``weights`` is given: an importance-weighted
    posterior, e.g. after a fantasised observation). In y (the change of variables adds the
    Jacobian ``1/y``):

    $$p_j(y) = \sum_{d=1}^{D} w_{dj}\, \frac{1}{y}\, p_\text{noise}\big(\log y;\,
    \mathrm{loc}_{dj}, \mathrm{scale}_{dj}\big), \quad y > 0.$$

    Quantiles are exact (to about 1e-12 in log y) roots of the mixture CDF, found by
    safeguarded Newton; quantiles in y are the exponentials of those in log y (a monotone
    map), so ``median``, ``interval`` and ``log_prob`` describe one distribution. A
    [`Predictive`][scalebayes.evaluate.Predictive].

    Attributes:
        loc: ``(n_draws, n_targets)`` mean of log y per draw (``log f(x_j; theta_d)``).
        scale: ``(n_draws, n_targets)`` noise scale on log y per draw and target (a
            ``(n_draws,)`` array is broadcast over targets).
        noise: ``"normal"`` or ``"student_t"``.
        df: Student-t degrees of freedom (ignored for Normal noise).
        weights: ``None`` (equal weights) or non-negative weights of the draws, ``(n_draws,)``
            or ``(n_draws, n_targets)``; each target's weights are normalised to sum to 1.
        mixing: ``None`` or the verdict of [`check_mixing`][scalebayes.inference.check_mixing]
            on the chains the draws came from (the study's ``mcmc-*`` methods set it, and a
            study records it per curve); it does not change the distribution.
        msce_null: ``None`` or the MSCE this predictive scores against each of a sample of
            its own joint paths ([`calibrated_msce`][scalebayes.evaluate.calibrated_msce]
            on [`sample_paths`][scalebayes.inference.MCMCResult.sample_paths]): what it
            would score if it were right; the study's ``mcmc-*`` methods set it, and a study
            records its mean and 95th percentile per curve.
        x: ``None`` or the targets' x, ``(n_targets,)``
            ([`MCMCResult.predictive`][scalebayes.inference.MCMCResult.predictive] sets it,
            as every shipped PFN answer carries its own).
    """

    loc: np.ndarray
    scale: np.ndarray
    noise: str = "normal"
    df: float = 5.0
    weights: np.ndarray | None = None
    mixing: CurveCheck | None = None
    msce_null: np.ndarray | None = None
    x: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        loc = np.array(self.loc, dtype=np.float64, copy=True)
        scale = np.array(self.scale, dtype=np.float64, copy=True)
        if scale.ndim == 1 and loc.ndim == 2 and scale.shape[0] == loc.shape[0]:
            scale = np.repeat(scale[:, None], loc.shape[1], axis=1)
        if loc.ndim != 2 or scale.shape != loc.shape or loc.size == 0:
            raise ValueError(
                "loc must be (n_draws, n_targets) and scale (n_draws,) or (n_draws, n_targets);"
                f" got {loc.shape} and {scale.shape}"
            )
        if not (np.all(np.isfinite(loc)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError("loc must be finite and scale finite and > 0")
        if self.mixing is not None and not isinstance(self.mixing, CurveCheck):
            raise TypeError(
                f"mixing must be a CurveCheck or None, got {type(self.mixing).__name__}"
            )
        if self.msce_null is not None:
            null = np.array(self.msce_null, dtype=np.float64, copy=True)
            if null.ndim != 1 or null.size == 0 or not np.all((null >= 0) & (null <= 1)):
                raise ValueError("msce_null must be a non-empty 1-D array of values in [0, 1]")
            null.setflags(write=False)
            object.__setattr__(self, "msce_null", null)
        if self.x is not None:
            x = np.array(self.x, dtype=np.float64, copy=True)
            if x.shape != (loc.shape[1],):
                raise ValueError(
                    f"x must be one value per target, ({loc.shape[1]},); got {x.shape}"
                )
            x.setflags(write=False)
            object.__setattr__(self, "x", x)
        if self.noise not in ("normal", "student_t"):
            raise ValueError(f"noise must be 'normal' or 'student_t', got {self.noise!r}")
        if self.noise == "student_t" and not (is_finite_real(self.df) and self.df > 0):
            raise ValueError(f"df must be a finite number > 0, got {self.df!r}")
        if self.weights is not None:
            w = np.array(self.weights, dtype=np.float64, copy=True)
            if w.ndim == 1 and w.shape[0] == loc.shape[0]:
                w = np.repeat(w[:, None], loc.shape[1], axis=1)
            if w.shape != loc.shape:
                raise ValueError(
                    f"weights must be (n_draws,) or (n_draws, n_targets) = {loc.shape}; "
                    f"got {w.shape}"
                )
            if not (np.all(np.isfinite(w)) and np.all(w >= 0) and np.all(w.max(0) > 0)):
                raise ValueError("weights must be finite, >= 0 and not all 0 for any target")
            w = w / w.max(0, keepdims=True)  # first by the largest: the sum cannot overflow
            w = w / w.sum(0, keepdims=True)
            w.setflags(write=False)
            object.__setattr__(self, "weights", w)
        loc.setflags(write=False)
        scale.setflags(write=False)
        object.__setattr__(self, "loc", loc)
        object.__setattr__(self, "scale", scale)

    def _weight(self) -> np.ndarray:
        """The ``(n_draws, n_targets)`` weights, each column summing to 1."""
        if self.weights is None:
            return np.full(self.loc.shape, 1.0 / self.n_draws)
        return self.weights

    @property
    def n_targets(self) -> int:
        """Number of target points."""
        return int(self.loc.shape[1])

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.mixing is not None and not self.mixing.passed:
            text = f"{text[:-1]}; chains did not mix: {self.mixing.reason})"
        return text

    def _head(self, k: int) -> "MCMCPredictive":
        w = self.weights
        return MCMCPredictive(
            self.loc[:, :k],
            self.scale[:, :k],
            self.noise,
            self.df,
            None if w is None else (w[:, :k] if w.ndim == 2 else w),
            x=None if self.x is None else self.x[:k],
        )

    @property
    def n_draws(self) -> int:
        """Number of posterior draws in the mixture."""
        return int(self.loc.shape[0])

    @property
    def finite_mean(self) -> bool:
        """Normal noise on log y has a (log-normal) mean; Student-t noise has none."""
        return self.noise == "normal"

    def mean(self) -> np.ndarray:
        """Per-target mean of y, ``sum_d w_dj exp(loc_dj + scale_dj^2 / 2)`` (each draw's
        log-normal mean), shape ``(n_targets,)``.

        Raises:
            TypeError: for Student-t noise, whose log-t distribution of y has no finite mean
                (use ``median()``).
        """
        if not self.finite_mean:
            raise TypeError(
                f"y has no finite mean under {self.noise} noise on log y (a log-t "
                "distribution's mean diverges); use median() or quantile()"
            )
        with np.errstate(over="ignore"):  # a draw beyond float64 makes the mean inf, as it is
            return np.sum(self._weight() * np.exp(self.loc + 0.5 * self.scale**2), axis=0)

    def icdf(self, q) -> np.ndarray:
        """Per-target quantiles of y (see [`Predictive`][scalebayes.evaluate.Predictive]).

        Args:
            q: probabilities, scalar or 1-D, each strictly between 0 and 1.

        Returns:
            ``(len(q), n_targets)`` (``(n_targets,)`` for a scalar ``q``).
        """
        q_arr = check_probabilities(q)
        flat = np.atleast_1d(q_arr)
        missing = [p for p in flat.tolist() if p not in self._cache]
        if missing:
            # Solve the scoring levels along with the first request: one compiled call.
            missing = list(
                dict.fromkeys([*missing, *(p for p in _STANDARD_Q if p not in self._cache)])
            )
            for start in range(0, len(missing), _Q_BLOCK):
                self._solve(missing[start : start + _Q_BLOCK])
        out = np.stack([self._cache[p] for p in flat.tolist()])
        return out[0].copy() if q_arr.ndim == 0 else out

    @float64
    def _solve(self, qs: list[float]) -> None:
        n_t = self.n_targets
        q_pad = np.asarray(qs + [qs[-1]] * (_Q_BLOCK - len(qs)), np.float64)
        columns = np.arange(n_t)
        rows = []
        weight = self._weight()
        for block in _target_blocks(columns):
            t, _ = _mixture_quantiles(
                jnp.asarray(self.loc[:, block]),
                jnp.asarray(self.scale[:, block]),
                jnp.asarray(weight[:, block]),
                jnp.asarray(q_pad),
                noise=self.noise,
                df=float(self.df),
                width=_bracket_width(self.noise, float(self.df), _tail(q_pad)),
            )
            rows.append(np.asarray(t, np.float64))
        t = np.concatenate(rows, axis=1)
        for p, row in zip(qs, t, strict=False):
            row = np.exp(row[:n_t])
            row.setflags(write=False)
            self._cache[p] = row

    @float64
    def log_prob(self, y) -> np.ndarray:
        """Per-target log density of y (Lebesgue measure in y; ``-inf`` for y <= 0).

        Args:
            y: observed targets, ``(n_targets,)``.

        Returns:
            ``(n_targets,)`` float64.
        """
        y = self._targets(y)
        positive = y > 0
        log_y = np.log(np.where(positive, y, 1.0))
        with np.errstate(divide="ignore"):  # a weight of 0 is a log weight of -inf
            log_weight = np.log(self._weight())
        lp = self._by_target_block(_mixture_log_prob, log_weight, log_y) - log_y
        return np.where(positive, lp, -np.inf)

    def _by_target_block(self, fn, weight: np.ndarray, log_y: np.ndarray) -> np.ndarray:
        """``fn(loc, scale, weight, log_y)`` over blocks of targets (the last axis), so that
        every call compiles for one shape; ``log_y`` is ``(..., n_targets)``."""
        blocks = [
            np.asarray(
                fn(
                    jnp.asarray(self.loc[:, block]),
                    jnp.asarray(self.scale[:, block]),
                    jnp.asarray(weight[:, block]),
                    jnp.asarray(log_y[..., block]),
                    noise=self.noise,
                    df=float(self.df),
                ),
                np.float64,
            )
            for block in _target_blocks(np.arange(self.n_targets))
        ]
        return np.concatenate(blocks, axis=-1)[..., : self.n_targets]

    @float64
    def cdf(self, y) -> np.ndarray:
        """Per-target CDF of y, the mixture's ``sum_d w_dj P(noise_dj <= log y_j)`` (0 for
        ``y <= 0``).

        Args:
            y: values, ``(n_targets,)`` or ``(m, n_targets)``.

        Returns:
            The same shape, float64.
        """
        y, squeeze = self._cdf_values(y)
        positive = y > 0
        log_y = np.log(np.where(positive, y, 1.0))
        out = np.where(positive, self._by_target_block(_mixture_cdf, self._weight(), log_y), 0.0)
        out = np.clip(out, 0.0, 1.0)
        return out[0] if squeeze else out

    @float64
    def draw_log_prob(self, y) -> np.ndarray:
        """Log density of y under each posterior draw (density in log y): the likelihood of an
        observation per draw, which importance-weights the draws (``weights``) after it.

        Args:
            y: values ``> 0``, shape ``(..., n_targets)``.

        Returns:
            ``(..., n_draws, n_targets)`` float64.
        """
        y = np.asarray(y, np.float64)
        if y.shape[-1:] != (self.n_targets,) or not np.all(y > 0):
            raise ValueError(f"y must be > 0 with a last axis of {self.n_targets}, got {y.shape}")
        log_y = jnp.asarray(np.log(y))[..., None, :]
        lp = _noise(self.noise, float(self.df), self.loc, self.scale).log_prob(log_y)
        return np.asarray(lp, np.float64)

    @float64
    def sample(self, key, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Draws of y from the predictive: a posterior draw, then its noise.

        Each target's draws follow its predictive, but given the posterior draw the targets'
        noise is drawn independently, so a row is not a path of the curve: for joint draws
        (the residual process's correlation between targets) use
        [`MCMCResult.sample_paths`][scalebayes.inference.MCMCResult.sample_paths].

        Args:
            key: a JAX PRNG key.
            sample_shape: leading shape of the draws.

        Returns:
            ``(*sample_shape, n_targets)`` float64.
        """
        key_draw, key_noise = jax.random.split(check_key(key))
        shape = self._sample_shape(sample_shape)
        if self.weights is None:
            idx = draw_randint(key_draw, shape, 0, self.n_draws)
            loc, scale = self.loc[idx], self.scale[idx]
        else:  # a draw per target, by its weights
            with np.errstate(divide="ignore"):
                logits = jnp.asarray(np.log(self.weights).T)  # (n_targets, n_draws)
            idx = jax.random.categorical(key_draw, logits, shape=(*shape, self.n_targets))
            columns = jnp.arange(self.n_targets)
            loc = jnp.asarray(self.loc)[idx, columns]
            scale = jnp.asarray(self.scale)[idx, columns]
        if self.noise == "normal":  # numpyro's Normal.sample: loc + eps * scale
            log_y = loc + draw_normal(key_noise, np.shape(loc), np.float64) * scale
        else:
            log_y = _noise(self.noise, float(self.df), loc, scale).sample(key_noise)
        return np.exp(np.asarray(log_y, np.float64))
