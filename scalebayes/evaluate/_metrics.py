r"""The NSL-PFN evaluation metrics: RMSLE, log-likelihood and MSCE.

Each metric scores one curve over its target points, in the normalised y-space of the
evaluation protocol (NSL-PFN, section 4); [`summarise`][scalebayes.evaluate.summarise] then
takes the mean and standard deviation over the curves of a dataset. Everything runs on the
host in float64 numpy (the arrays are small); JAX arrays are accepted and converted.
"""

from collections.abc import Iterable, Sequence

import numpy as np
from jaxtyping import ArrayLike, Float

from ._predictive import PredictiveDistribution, _as_finite_array, _check_level

MSCE_LEVELS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
"""Central-interval levels averaged over by [`msce`][scalebayes.evaluate.msce] (NSL-PFN)."""


def _require_predictive(function: str, pred: object) -> PredictiveDistribution:
    """Raise a `TypeError` unless ``pred`` satisfies `PredictiveDistribution`."""
    if not isinstance(pred, PredictiveDistribution):
        raise TypeError(
            f"{function}: `pred` must implement PredictiveDistribution (methods median, "
            f"log_prob and interval); got {type(pred).__name__}."
        )
    return pred


def _check_output(function: str, method: str, value: ArrayLike, shape: tuple[int]) -> np.ndarray:
    """Check that a predictive distribution returned an array of the targets' shape."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(
            f"{function}: `pred.{method}` must return shape {shape} to match `y`; "
            f"got shape {array.shape}."
        )
    return array


def rmsle(median: Float[ArrayLike, " n_targets"], y: Float[ArrayLike, " n_targets"]) -> float:
    r"""Root mean squared log error of a point prediction over the targets of one curve.

    $$\mathrm{RMSLE} = \sqrt{\frac{1}{n}\sum_{j=1}^{n}\big(\log \hat y_j - \log y_j\big)^2}$$

    Args:
        median: Point prediction $\hat y$ (the predictive median), shape ``(n_targets,)``;
            finite and strictly positive.
        y: Observed targets, shape ``(n_targets,)``; finite and strictly positive.

    Returns:
        The RMSLE, a non-negative float (lower is better).

    Raises:
        ValueError: If a shape is not ``(n_targets,)``, the shapes differ, or a value is not
            finite or not strictly positive.
    """
    median = _as_finite_array("median", median, ndim=1)
    y = _as_finite_array("y", y, ndim=1)
    if median.shape != y.shape:
        raise ValueError(
            f"rmsle: `median` and `y` must have the same shape; got {median.shape} and {y.shape}."
        )
    for name, values in (("median", median), ("y", y)):
        if np.any(values <= 0.0):
            index = int(np.argmax(values <= 0.0))
            raise ValueError(
                f"rmsle: `{name}` must be strictly positive (its log is taken); "
                f"got {values[index]} at index {index}."
            )
    return float(np.sqrt(np.mean((np.log(median) - np.log(y)) ** 2)))


def log_likelihood(pred: PredictiveDistribution, y: Float[ArrayLike, " n_targets"]) -> float:
    r"""Mean log predictive density of the targets of one curve.

    $$\mathrm{LL} = \frac{1}{n}\sum_{j=1}^{n} \log p_j(y_j)$$

    where $p_j$ is the predictive density of target $j$ (no Jacobian for any normalisation
    of y).

    Args:
        pred: Predictive distribution over the ``n_targets`` targets.
        y: Observed targets, shape ``(n_targets,)``; finite.

    Returns:
        The mean log density (higher is better); ``-inf`` if a target has zero density.

    Raises:
        TypeError: If ``pred`` is not a `PredictiveDistribution`.
        ValueError: If ``y`` is not a finite vector, or ``pred.log_prob`` returns a different
            shape or a ``nan``.
    """
    pred = _require_predictive("log_likelihood", pred)
    y = _as_finite_array("y", y, ndim=1)
    log_p = _check_output("log_likelihood", "log_prob", pred.log_prob(y), y.shape)
    if np.any(np.isnan(log_p)) or np.any(log_p == np.inf):
        raise ValueError(
            "log_likelihood: `pred.log_prob` returned nan or +inf; a log density must be "
            "finite or -inf."
        )
    return float(np.mean(log_p))


def msce(
    pred: PredictiveDistribution,
    y: Float[ArrayLike, " n_targets"],
    levels: Sequence[float] = MSCE_LEVELS,
) -> float:
    r"""Mean squared calibration error of the central intervals over the targets of one curve.

    $$\mathrm{MSCE} = \frac{1}{|L|}\sum_{\ell \in L}\big(c_\ell - \ell\big)^2, \qquad
    c_\ell = \frac{1}{n}\sum_{j=1}^{n} \mathbf{1}\{a_{\ell j} \le y_j \le b_{\ell j}\}$$

    where $[a_{\ell j}, b_{\ell j}]$ is the central interval of target $j$ at level $\ell$
    (bounds included) and $L$ defaults to [`MSCE_LEVELS`][scalebayes.evaluate.MSCE_LEVELS]
    $= \{0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99\}$.

    Args:
        pred: Predictive distribution over the ``n_targets`` targets.
        y: Observed targets, shape ``(n_targets,)``; finite.
        levels: Interval levels $L$, each in ``(0, 1)``; non-empty.

    Returns:
        The MSCE, a float in ``[0, 1)`` (lower is better).

    Raises:
        TypeError: If ``pred`` is not a `PredictiveDistribution` or a level is not a number.
        ValueError: If ``y`` is not a finite vector, ``levels`` is empty or has a level
            outside ``(0, 1)``, or ``pred.interval`` returns a different shape.
    """
    pred = _require_predictive("msce", pred)
    y = _as_finite_array("y", y, ndim=1)
    levels = [_check_level(level) for level in levels]
    if not levels:
        raise ValueError("msce: `levels` must contain at least one level.")
    squared_errors = []
    for level in levels:
        lower, upper = pred.interval(level)
        lower = _check_output("msce", "interval", lower, y.shape)
        upper = _check_output("msce", "interval", upper, y.shape)
        coverage = np.mean((lower <= y) & (y <= upper))
        squared_errors.append((coverage - level) ** 2)
    return float(np.mean(squared_errors))


def score_curve(
    prediction: PredictiveDistribution | Float[ArrayLike, " n_targets"],
    y: Float[ArrayLike, " n_targets"],
) -> dict[str, float | None]:
    """Score one curve's prediction with all three NSL-PFN metrics that apply to it.

    A point prediction (a plain array of predicted targets) is scored by RMSLE only. A
    [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution] is scored by
    RMSLE of its median, [`log_likelihood`][scalebayes.evaluate.log_likelihood] and
    [`msce`][scalebayes.evaluate.msce] over [`MSCE_LEVELS`][scalebayes.evaluate.MSCE_LEVELS].

    Args:
        prediction: Either a point prediction of shape ``(n_targets,)`` (strictly positive)
            or a predictive distribution over the ``n_targets`` targets.
        y: Observed targets, shape ``(n_targets,)``; finite and strictly positive.

    Returns:
        ``{"rmsle": float, "ll": float | None, "msce": float | None}``; ``ll`` and ``msce``
        are ``None`` for a point prediction.

    Raises:
        TypeError: If ``prediction`` is neither an array of numbers nor a predictive
            distribution.
        ValueError: As raised by the individual metrics.
    """
    if isinstance(prediction, PredictiveDistribution):
        return {
            "rmsle": rmsle(prediction.median(), y),
            "ll": log_likelihood(prediction, y),
            "msce": msce(prediction, y),
        }
    return {"rmsle": rmsle(prediction, y), "ll": None, "msce": None}


def summarise(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    r"""Mean and population standard deviation of per-curve scores, ignoring ``None``.

    With the $m$ non-``None`` values $v_1, \dots, v_m$:
    $\bar v = \frac{1}{m}\sum_i v_i$ and
    $s = \sqrt{\frac{1}{m}\sum_i (v_i - \bar v)^2}$, the *population* standard deviation
    (``ddof=0``, as ``np.std``), so a single value has ``s = 0``.

    Args:
        values: One score per curve, e.g. the ``"ll"`` entries of
            [`score_curve`][scalebayes.evaluate.score_curve] results; ``None`` entries (a
            metric that does not apply) are skipped. Infinite values propagate.

    Returns:
        ``(mean, std)`` as floats, or ``(None, None)`` if no value is left.

    Raises:
        TypeError: If a value is neither ``None`` nor a real scalar.
    """
    kept = []
    for value in values:
        if value is None:
            continue
        if np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "iuf":
            raise TypeError(f"summarise: values must be real scalars or None; got {value!r}.")
        kept.append(float(value))
    if not kept:
        return None, None
    array = np.asarray(kept)
    with np.errstate(invalid="ignore"):
        return float(np.mean(array)), float(np.std(array))
