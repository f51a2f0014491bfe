r"""Recalibration any predictive can wear: one scale on log y around the median, fitted by
split-conformal prediction.

[`ScaledPredictive`][scalebayes.evaluate.ScaledPredictive] widens (``scale > 1``) or narrows
a predictive around its median in log y: its quantiles are

$$Q'(q) = m \left(\frac{Q(q)}{m}\right)^{s}, \qquad m = Q(1/2),$$

so the median stays and every central interval stretches by the same factor in log y.
[`conformal_scale`][scalebayes.evaluate.conformal_scale] picks ``s`` on reference curves:
each target's score is the ``s`` that just puts it on the edge of its ``level`` interval,
``|log(y / m)| / |log(b / m)|`` with ``b`` the interval's bound on the target's side, and the
scale is the split-conformal quantile of the scores (weighted so that every reference curve
counts the same, by default), so that on new curves exchangeable with the reference ones the
``level`` interval covers at least ``level`` of each curve's targets on average.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from jaxtyping import ArrayLike

from ._predictive import (
    Predictive,
    PredictiveDistribution,
    _as_finite_array,
    _normal_cdf,
    check_level,
    x_of,
)

__all__ = ["WEIGHTINGS", "ScaledPredictive", "conformal_scale"]


_TINY = np.finfo(np.float64).tiny
_LOG_TINY = float(np.log(_TINY))
_LOG_HUGE = float(np.log(np.finfo(np.float64).max))
# ScaledPredictive.mean: Gauss-Legendre panels over z in [-12, 12] (levels Phi(z) down to
# ~1e-33), each _MEAN_PANEL wide with _MEAN_NODES nodes: 576 levels
_MEAN_PANEL, _MEAN_NODES, _MEAN_HALF = 0.25, 6, 12.0


class ScaledPredictive(Predictive):
    """A predictive stretched by ``scale`` around its median in log y (see the module).

    Args:
        base: a [`Predictive`][scalebayes.evaluate.Predictive] with positive medians (any
            medians for ``scale`` 1, which hands every call to ``base`` unchanged).
        scale: the factor ``s > 0`` on log-distances from the median.

    Raises:
        ValueError: for a scale that is not finite and > 0, or a median that is not > 0
            with a scale other than 1.
    """

    #: whether a target whose median is not > 0 is refused (else it is left unstretched)
    _positive_medians_only = True

    def __init__(self, base: Predictive, scale: float):
        if not isinstance(base, Predictive):
            raise TypeError(f"base must be a Predictive, got {type(base).__name__}")
        try:
            value = math.nan if isinstance(scale, bool | str | bytes) else float(scale)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
        scale = value
        self.base = base
        self.scale = scale
        self._median = np.asarray(base.median(), np.float64)
        positive = self._median > 0
        if scale != 1.0 and self._positive_medians_only and not np.all(positive):
            raise ValueError("ScaledPredictive needs a base predictive with medians > 0")
        # per target: the stretch, 1 (the base as it is) where there is no log-distance
        self._s = np.where(positive, scale, 1.0)
        self._m = np.where(positive, self._median, 1.0)

    @property
    def x(self) -> np.ndarray:
        """The targets' x, where the base knows them (PFN answers do)."""
        return x_of(self.base, type(self).__name__)

    @property
    def n_targets(self) -> int:
        """The number of targets (the base's)."""
        return int(self._median.size)

    def _head(self, k: int) -> "ScaledPredictive":
        return type(self)(self.base._head(k), self.scale)

    def _log_stretch(self, y: np.ndarray, inverse: bool = False) -> np.ndarray:
        """``log m + s log(y / m)`` per target (``1 / s`` if ``inverse``), for y > 0, clipped
        to float64's range, so that a finite y never maps to inf or 0."""
        power = 1.0 / self._s if inverse else self._s
        log_m = np.log(self._m)
        log_y = np.log(np.maximum(y, _TINY))
        return np.clip(log_m + power * (log_y - log_m), _LOG_TINY, _LOG_HUGE)

    def _stretch(self, y: np.ndarray, inverse: bool = False) -> np.ndarray:
        """``m (y / m) ** s`` per target (``1 / s`` if ``inverse``); a stretched target's
        y at or below 0 (a point mass) maps to 0; an unstretched target's y is kept."""
        stretched = np.where(y > 0, np.exp(self._log_stretch(y, inverse)), 0.0)
        return np.where(self._s == 1.0, y, stretched)

    @property
    def finite_mean(self) -> bool:
        """The base's (for the package's predictives, whose tails in log y are normal, log-t
        or bounded, a stretch in log y keeps a mean finite or infinite; a stretch of a
        power-law tail in y could make a finite mean infinite)."""
        return bool(getattr(self.base, "finite_mean", True))

    def icdf(self, q: float | ArrayLike) -> np.ndarray:
        """The base's quantiles stretched by ``scale`` in log y around the median."""
        return self._stretch(np.asarray(self.base.icdf(q), np.float64))

    def log_prob(self, y: ArrayLike) -> np.ndarray:
        """Change of variables: ``log p(y0) + log(y0 / y) - log s`` with ``y0`` the base's
        value that maps to ``y`` (``-inf`` for a stretched target's ``y <= 0``)."""
        y = self._targets(y)
        kept = self._s == 1.0
        live = kept | (y > 0)
        y_safe = np.where(live, y, 1.0)  # > 0 wherever the stretch applies
        log_y0 = self._log_stretch(y_safe, inverse=True)
        y0 = np.where(kept, y_safe, np.exp(log_y0))
        lp = np.asarray(self.base.log_prob(y0), np.float64)
        # log(y0 / y), from the logs: y0 alone may sit at the clip for a y near float64's ends
        log_ratio = log_y0 - np.log(np.maximum(y_safe, _TINY))
        jacobian = np.where(kept, 0.0, log_ratio) - np.log(self._s)
        return np.where(live, lp + jacobian, -np.inf)

    def cdf(self, y: ArrayLike) -> np.ndarray:
        """The base's CDF at the value the stretch maps to ``y``; for a stretched target 0
        below 0, since the stretch (like `icdf` and `sample`) puts the base's mass at or
        below 0 on 0."""
        y, squeeze = self._cdf_values(y)
        kept = self._s == 1.0
        live = kept | (y > 0)
        y0 = np.where(live, self._stretch(np.where(live, y, 1.0), inverse=True), 0.0)
        out = np.where((y < 0) & ~kept, 0.0, np.asarray(self.base.cdf(y0), np.float64))
        return out[0] if squeeze else out

    def sample(self, key, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """The base's draws stretched by ``scale`` in log y around the median."""
        return self._stretch(np.asarray(self.base.sample(key, sample_shape)))

    def mean(self) -> np.ndarray:
        """Per-target mean ``E[Q(Phi(Z))]`` for a standard normal ``Z`` (``Q`` the quantile
        function), by Gauss-Legendre panels in ``z`` over [-12, 12] (576 levels, down to
        about 1e-33). The stretch has no closed-form mean. Measured: on a log-normal base
        exact to 1e-11 relative up to a stretched log-sd of 2 (the midpoint rule over 512
        equal-mass levels it replaced missed the upper tail: -1.8% at 1.5); on a base of
        two narrow peaks (N(1, 0.01) and N(3, 0.01), weights 0.3 / 0.7 or 0.1 / 0.9),
        whose quantile function steps between them, within 0.12% (that rule: 0.06%). At
        scale 1 the base's own mean, where it has one."""
        if not self.finite_mean:  # a stretch does not give a log-t predictive a mean
            raise TypeError(
                f"this {type(self.base).__name__} has no finite mean (a heavy-tailed member, "
                "such as Student-t noise on log y); use median() or quantile()"
            )
        if np.all(self._s == 1.0) and callable(getattr(self.base, "mean", None)):
            return np.asarray(self.base.mean(), np.float64)
        x, w = np.polynomial.legendre.leggauss(_MEAN_NODES)
        edges = np.arange(-_MEAN_HALF, _MEAN_HALF, _MEAN_PANEL)
        z = (edges[:, None] + 0.5 * _MEAN_PANEL * (1 + x)).ravel()
        weights = np.tile(0.5 * _MEAN_PANEL * w, edges.size) * np.exp(-0.5 * z**2)
        levels = np.where(z < 0, _normal_cdf(z), 1 - _normal_cdf(-z))
        inside = (levels > 0) & (levels < 1)  # rounded to 1 beyond z ~ 8: weight ~1e-15
        values = np.asarray(self.icdf(levels[inside]), np.float64)
        return (weights[inside] / weights[inside].sum()) @ values


WEIGHTINGS = ("curve", "target", "group")
"""How ``conformal_scale`` weighs its reference targets (see there)."""


def conformal_scale(
    predictions: Sequence[PredictiveDistribution],
    ys: Sequence[ArrayLike],
    level: float = 0.9,
    *,
    weight: str = "curve",
    groups: Sequence[object] | None = None,
) -> float:
    """The split-conformal scale that makes the ``level`` interval cover on the references.

    Each reference target's score is the scale that just puts it on the edge of its
    ``level`` interval. The scale returned is the weighted quantile of the scores at
    ``level (N + 1) / N`` (capped at 1), with ``N`` the number of weighted units:

    - ``weight="curve"`` (default): every curve weighs the same, its targets sharing its
      weight; ``N`` curves. Coverage is then what the studies report, a mean over curves, and
      a curve with many targets (an IC curve has up to 710) does not set the scale alone.
    - ``weight="target"``: every target weighs the same (classic split conformal, the
      ``ceil((n + 1) level)``-th smallest of ``n`` scores).
    - ``weight="group"``: every group (``groups``, one label per prediction, e.g. its
      dataset) weighs the same, and every curve within its group; ``N`` curves still (the
      exchangeable units are the curves; with a handful of groups, ``N`` groups would ask for
      the largest score).

    Args:
        predictions: predictives of reference curves (any
            [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution]).
        ys: their observed targets, one array per prediction.
        level: the central interval to calibrate.
        weight: ``"curve"``, ``"target"`` or ``"group"``.
        groups: one label per prediction; required by (and only used for) ``"group"``.

    Returns:
        ``s``: wear it as ``ScaledPredictive(pred, s)``.

    Raises:
        ValueError: for mismatched inputs, no targets, an unknown weighting, or no finite
            scale.
    """
    level = check_level(level)
    if len(predictions) != len(ys) or not predictions:
        raise ValueError("conformal_scale: give one array of targets per prediction (>= 1)")
    if weight not in WEIGHTINGS:
        raise ValueError(f"conformal_scale: weight must be one of {WEIGHTINGS}, got {weight!r}")
    if weight == "group":
        if groups is None or len(groups) != len(predictions):
            raise ValueError("conformal_scale: weight='group' needs one group label per prediction")
        sizes = Counter(groups)
    scores, weights = [], []
    for i, (pred, y) in enumerate(zip(predictions, ys, strict=True)):
        if not all(callable(getattr(pred, m, None)) for m in ("median", "interval")):
            raise TypeError(
                f"conformal_scale: prediction {i} is a {type(pred).__name__}, not a predictive "
                "distribution (it needs median() and interval(level))"
            )
        try:
            y = _as_finite_array("y", y, ndim=1)
        except ValueError as error:  # name the curve among the reference's many
            raise ValueError(f"conformal_scale: curve {i}: {error}") from None
        median = np.asarray(pred.median(), np.float64)
        if y.shape != median.shape:
            raise ValueError(
                f"conformal_scale: curve {i} has {y.size} targets but its prediction {median.size}"
            )
        if np.any(y <= 0):
            raise ValueError(f"conformal_scale: curve {i} has a target <= 0 (scores are in log y)")
        if not np.all(np.isfinite(median) & (median > 0)):
            raise ValueError(
                f"conformal_scale: curve {i}'s prediction has a median that is not finite and "
                "> 0 (scores are in log y)"
            )
        lower, upper = (np.asarray(b, np.float64) for b in pred.interval(level))
        # a lower bound <= 0 stays at 0 under every stretch, so it covers every y > 0 below
        # the median: score 0, as for a bound of exactly 0
        bound = np.where(y >= median, upper, np.maximum(lower, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            num = np.abs(np.log(y / median))
            den = np.abs(np.log(bound / median))
            score = np.where(num == 0, 0.0, num / den)  # a zero-width side needs s = inf
        scores.append(np.where(np.isnan(score), np.inf, score))
        unit = 1.0 if weight == "target" else 1.0 / y.size
        if weight == "group":
            unit /= sizes[groups[i]]
        weights.append(np.full(y.size, unit))
    scores, weights = np.concatenate(scores), np.concatenate(weights)
    n_units = scores.size if weight == "target" else len(predictions)
    order = np.argsort(scores, kind="stable")
    scores, cumulative = scores[order], np.cumsum(weights[order]) / np.sum(weights)
    target = min(1.0, level * (n_units + 1) / n_units)
    k = min(int(np.searchsorted(cumulative, target - 1e-12)), scores.size - 1)
    scale = float(scores[k])
    if scale == 0:
        raise ValueError(
            f"conformal_scale: {level:.0%} of the targets are covered at any scale (at their "
            "predicted medians, or below them with a lower bound <= 0); there is nothing to "
            "calibrate on these references"
        )
    if not math.isfinite(scale):
        raise ValueError(
            f"conformal_scale: no finite scale covers {level:.0%} of the {scores.size} targets "
            "(intervals of zero width on a target's side)"
        )
    if level * (n_units + 1) / n_units > 1.0:
        warnings.warn(
            f"conformal_scale: {n_units} reference {'targets' if weight == 'target' else 'curves'}"
            f" are too few for a {level:.0%} guarantee (split conformal needs at least "
            f"{math.ceil(level / (1 - level) - 1e-9)}); the largest score is used, so a new "
            f"curve is covered with probability about {n_units / (n_units + 1):.0%}",
            stacklevel=2,
        )
    return scale
