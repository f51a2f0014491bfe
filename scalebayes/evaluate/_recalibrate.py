r"""Recalibration any predictive can wear: one scale on log y around the median, fitted by
split-conformal prediction.

[`ScaledPredictive`][scalebayes.evaluate.ScaledPredictive] widens (``scale > 1``) or narrows
a predictive around its median in log y: its quantiles are

$$Q'(q) = m \left(\frac{Q(q)}{m}\right)^{s}, \qquad m = Q(1/2),$$

so the median stays and every central interval stretches by the same factor in log y.
[`conformal_scale`][scalebayes.evaluate.conformal_scale] picks ``s`` on reference curves:
each target's score is the ``s`` that just puts it on the edge of its ``level`` interval,
``|log(y / m)| / |log(b / m)|`` with ``b`` the interval's bound on the target's side, and the
scale is the split-conformal quantile of the scores (the ``ceil((n + 1) level)``-th smallest),
so that on new curves exchangeable with the reference ones the ``level`` interval covers at
least ``level`` of the targets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from jaxtyping import ArrayLike

from ._predictive import Predictive, PredictiveDistribution, _as_finite_array, check_level

__all__ = ["ScaledPredictive", "conformal_scale"]


class ScaledPredictive(Predictive):
    """A predictive stretched by ``scale`` around its median in log y (see the module).

    Args:
        base: a [`Predictive`][scalebayes.evaluate.Predictive] with positive medians.
        scale: the factor ``s > 0`` on log-distances from the median.

    Raises:
        ValueError: for a scale that is not finite and > 0.
    """

    def __init__(self, base: Predictive, scale: float):
        if not isinstance(base, Predictive):
            raise TypeError(f"base must be a Predictive, got {type(base).__name__}")
        scale = float(scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be finite and > 0, got {scale}")
        self.base = base
        self.scale = scale
        self._median = np.asarray(base.median(), np.float64)
        if not np.all(self._median > 0):
            raise ValueError("ScaledPredictive needs a base predictive with medians > 0")

    @property
    def n_targets(self) -> int:
        return int(self._median.size)

    def _stretch(self, y: np.ndarray, power: float) -> np.ndarray:
        with np.errstate(divide="ignore"):  # a quantile at 0 (a point mass) stays at 0
            return np.where(
                y > 0, self._median * (np.maximum(y, 1e-300) / self._median) ** power, 0
            )

    def icdf(self, q: float | ArrayLike) -> np.ndarray:
        return self._stretch(np.asarray(self.base.icdf(q), np.float64), self.scale)

    def log_prob(self, y: ArrayLike) -> np.ndarray:
        """Change of variables: ``log p(y0) + log(y0 / y) - log s`` with ``y0`` the base's
        value that maps to ``y``."""
        y = np.asarray(y, np.float64)
        positive = y > 0
        y0 = self._stretch(np.where(positive, y, 1.0), 1.0 / self.scale)
        lp = np.asarray(self.base.log_prob(y0), np.float64)
        out = lp + np.log(y0) - np.log(np.where(positive, y, 1.0)) - math.log(self.scale)
        return np.where(positive, out, -np.inf)

    def sample(self, key, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        return self._stretch(np.asarray(self.base.sample(key, sample_shape)), self.scale)


def conformal_scale(
    predictions: Sequence[PredictiveDistribution],
    ys: Sequence[ArrayLike],
    level: float = 0.9,
) -> float:
    """The split-conformal scale that makes the ``level`` interval cover on the references.

    Args:
        predictions: predictives of reference curves (any
            [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution]).
        ys: their observed targets, one array per prediction.
        level: the central interval to calibrate.

    Returns:
        ``s``: wear it as ``ScaledPredictive(pred, s)``.

    Raises:
        ValueError: for mismatched inputs or no targets.
    """
    level = check_level(level)
    if len(predictions) != len(ys) or not predictions:
        raise ValueError("conformal_scale: give one array of targets per prediction (>= 1)")
    scores = []
    for pred, y in zip(predictions, ys, strict=True):
        y = _as_finite_array("y", y, ndim=1)
        median = np.asarray(pred.median(), np.float64)
        lower, upper = (np.asarray(b, np.float64) for b in pred.interval(level))
        bound = np.where(y >= median, upper, lower)
        with np.errstate(divide="ignore", invalid="ignore"):
            num = np.abs(np.log(y / median))
            den = np.abs(np.log(bound / median))
            score = np.where(num == 0, 0.0, num / den)  # a zero-width side needs s = inf
        scores.append(np.where(np.isnan(score), np.inf, score))
    scores = np.sort(np.concatenate(scores))
    n = scores.size
    k = min(n, math.ceil((n + 1) * level))
    scale = float(scores[k - 1])
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(
            f"conformal_scale: no finite scale covers {level:.0%} of the {n} targets (intervals "
            "of zero width on a target's side)"
        )
    return scale
