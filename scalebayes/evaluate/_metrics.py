r"""Evaluation metrics: NSL-PFN's RMSLE, log-likelihood and MSCE; interval coverage and CRPS.

Each metric scores one curve over its target points, in the normalised y-space of the
evaluation protocol (NSL-PFN, section 4); [`summarise`][scalebayes.evaluate.summarise] then
takes the mean and standard deviation over the curves of a dataset. Everything runs on the
host in float64 numpy (the arrays are small); JAX arrays are accepted and converted.
"""

from collections.abc import Iterable, Sequence

import numpy as np
from jaxtyping import ArrayLike, Float

from .._checks import is_integer
from ._predictive import Predictive, PredictiveDistribution, _as_finite_array, check_level

MSCE_LEVELS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
"""Central-interval levels averaged over by [`msce`][scalebayes.evaluate.msce] (NSL-PFN)."""
INTERVAL_SCORES: tuple[str, ...] = (
    "rmsle",
    "ll",
    "msce",
    "cov50",
    "cov90",
    "width50",
    "width90",
    "crps",
    "pit",
)
"""The keys of [`score_curve`][scalebayes.evaluate.score_curve]'s result, in order."""
PIT_BINS = 20
"""Bins of [`pit_histogram`][scalebayes.evaluate.pit_histogram] (and of the study's ``pit``
column): the predictive's quantiles at the levels ``k / 20``."""


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
            f"{function}: `y` has shape {shape} but `pred.{method}` returned shape "
            f"{array.shape}: is `y` the targets this predictive was made for?"
        )
    return array


def _check_bounds(function: str, lower: ArrayLike, upper: ArrayLike, shape: tuple[int]):
    """``pred.interval``'s bounds checked: the targets' shape, no NaN, ``lower <= upper``."""
    lower = _check_output(function, "interval", lower, shape)
    upper = _check_output(function, "interval", upper, shape)
    if np.isnan(lower).any() or np.isnan(upper).any():
        raise ValueError(f"{function}: `pred.interval` returned NaN bounds; nothing to score")
    if np.any(lower > upper):
        j = int(np.argmax(lower > upper))
        raise ValueError(
            f"{function}: `pred.interval` returned a lower bound above the upper one at target "
            f"{j} ({lower[j]:g} > {upper[j]:g})"
        )
    return lower, upper


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
    return float(_msce_rows("msce", pred, y[None, :], levels)[0])


def _msce_rows(caller: str, pred, ys: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """MSCE of ``pred`` against each row of ``ys`` ``(k, n_targets)``: ``(k,)``."""
    if isinstance(levels, str) or not hasattr(levels, "__iter__"):
        raise TypeError(f"{caller}: `levels` must be a sequence of levels, got {levels!r}")
    levels = [check_level(level) for level in levels]
    if not levels:
        raise ValueError(f"{caller}: `levels` must contain at least one level.")
    squared_errors = []
    for level in levels:
        lower, upper = pred.interval(level)
        lower, upper = _check_bounds(caller, lower, upper, ys.shape[1:])
        coverage = np.mean((lower <= ys) & (ys <= upper), axis=1)
        squared_errors.append((coverage - level) ** 2)
    return np.mean(squared_errors, axis=0)


def calibrated_msce(
    pred: PredictiveDistribution,
    paths: Float[ArrayLike, "n_paths n_targets"],
    levels: Sequence[float] = MSCE_LEVELS,
) -> np.ndarray:
    r"""The MSCE ``pred`` scores when the truth is drawn from ``pred`` itself: what a
    perfectly calibrated forecaster scores on these targets.

    [`msce`][scalebayes.evaluate.msce] is not zero for a calibrated forecaster: a curve's
    targets are correlated, so their coverage at a level is one random share, not the level.
    If every target of a curve moved together, a calibrated forecaster would score
    $\frac{1}{|L|}\sum_\ell \ell (1 - \ell)$ (0.144 over the default levels) on average,
    while intervals wide enough to cover every target score
    $\frac{1}{|L|}\sum_\ell (1 - \ell)^2$ (0.079): with correlated targets, MSCE rewards
    intervals that are too wide. This gives the reference to read an observed MSCE against:
    its distribution when the targets are ``paths``, joint draws from the same predictive
    (e.g. [`MCMCResult.sample_paths`][scalebayes.inference.MCMCResult.sample_paths]), whose
    correlation between targets is the model's.

    Args:
        pred: Predictive distribution over the ``n_targets`` targets.
        paths: ``(n_paths, n_targets)`` joint draws of the targets from ``pred``; finite.
        levels: Interval levels, as for `msce`.

    Returns:
        ``(n_paths,)``: the MSCE against each path.

    Raises:
        TypeError: If ``pred`` is not a `PredictiveDistribution`.
        ValueError: If ``paths`` is not a finite ``(n_paths, n_targets)`` array, or as `msce`.
    """
    pred = _require_predictive("calibrated_msce", pred)
    paths = _as_finite_array("paths", paths, ndim=2)
    n_targets = np.shape(pred.median())
    if paths.shape[1:] != n_targets:
        raise ValueError(
            f"calibrated_msce: `paths` must be (n_paths, {n_targets[0]}) for this predictive; "
            f"got shape {paths.shape}."
        )
    return _msce_rows("calibrated_msce", pred, paths, levels)


CRPS_QUANTILES = 20
"""Quantile levels of the CRPS estimator: the midpoints ``(i - 1/2) / 20``, i = 1..20."""


def _crps_taus(n_quantiles: int) -> list[float]:
    """The lower quantile levels of the CRPS grid, ``(i + 1/2) / K`` for ``i < K / 2``."""
    return [(i + 0.5) / n_quantiles for i in range(n_quantiles // 2)]


def _pit_levels(n_bins: int) -> list[float]:
    """The central-interval levels whose bounds cut the PIT bins, ``1 - 2k / K``."""
    return [1.0 - 2.0 * k / n_bins for k in range(1, n_bins // 2)]


def interval_coverage(
    pred: PredictiveDistribution, y: Float[ArrayLike, " n_targets"], level: float
) -> tuple[float, float]:
    """Empirical coverage and mean width of the central ``level`` interval over the targets.

    Args:
        pred: Predictive distribution over the ``n_targets`` targets.
        y: Observed targets, shape ``(n_targets,)``; finite.
        level: Central-interval level in ``(0, 1)``, e.g. 0.9.

    Returns:
        ``(coverage, width)``: the fraction of targets inside their interval (bounds
        included) and the mean of ``upper - lower`` (in the units of ``y``).

    Raises:
        TypeError: If ``pred`` is not a `PredictiveDistribution` or ``level`` not a number.
        ValueError: For a bad ``y`` or ``level``, or intervals of the wrong shape.
    """
    pred = _require_predictive("interval_coverage", pred)
    y = _as_finite_array("y", y, ndim=1)
    level = check_level(level)
    lower, upper = pred.interval(level)
    lower, upper = _check_bounds("interval_coverage", lower, upper, y.shape)
    return float(np.mean((lower <= y) & (y <= upper))), float(np.mean(upper - lower))


def crps(
    pred: PredictiveDistribution,
    y: Float[ArrayLike, " n_targets"],
    n_quantiles: int = CRPS_QUANTILES,
) -> float:
    r"""Continuous ranked probability score, averaged over the targets (lower is better).

    The quantile (pinball-loss) form of the CRPS, evaluated on a midpoint grid of levels:

    $$\mathrm{CRPS}(F, y) = 2\int_0^1 \rho_\tau\big(y - F^{-1}(\tau)\big)\,d\tau
    \approx \frac{2}{K}\sum_{i=1}^{K} \rho_{\tau_i}\big(y - F^{-1}(\tau_i)\big),
    \quad \tau_i = \frac{i - 1/2}{K},$$

    with $\rho_\tau(u) = u(\tau - \mathbf{1}\{u < 0\})$. The quantiles come from the
    predictive's central intervals (``interval(1 - 2 tau)`` gives the ``tau`` and ``1 - tau``
    quantiles), so every method is scored by the same estimator; with $K = 20$ it leaves out
    the outer 2.5% of each tail, which matters only for very heavy-tailed predictives. In the
    units of ``y`` (for the study: the normalised y-space); for a point mass it is the
    absolute error.

    Args:
        pred: Predictive distribution over the ``n_targets`` targets.
        y: Observed targets, shape ``(n_targets,)``; finite.
        n_quantiles: $K$, an even number >= 2.

    Returns:
        The mean CRPS over the targets.

    Raises:
        TypeError: If ``pred`` is not a `PredictiveDistribution`.
        ValueError: For a bad ``y`` or ``n_quantiles``, or intervals of the wrong shape.
    """
    pred = _require_predictive("crps", pred)
    y = _as_finite_array("y", y, ndim=1)
    if not is_integer(n_quantiles) or n_quantiles < 2:
        raise ValueError(f"crps: n_quantiles must be an even integer >= 2, got {n_quantiles!r}")
    if n_quantiles % 2:
        raise ValueError(f"crps: n_quantiles must be even (symmetric levels), got {n_quantiles}")
    total = np.zeros_like(y)
    for tau in _crps_taus(n_quantiles):  # below 1/2; its mirror 1 - tau is the upper bound
        lower, upper = pred.interval(1.0 - 2.0 * tau)
        lower, upper = _check_bounds("crps", lower, upper, y.shape)
        for q, level in ((lower, tau), (upper, 1.0 - tau)):
            u = y - q
            total += u * (level - (u < 0))
    return float(np.mean(2.0 * total / n_quantiles))


def pit_histogram(
    pred: PredictiveDistribution, y: Float[ArrayLike, " n_targets"], n_bins: int = PIT_BINS
) -> np.ndarray:
    r"""Counts of the targets per bin of their probability integral transform ``F(y)``.

    The bins are cut at the predictive's quantiles at the levels $k / K$, $k = 1 \dots K - 1$
    ($K$ = ``n_bins``), read from its central intervals (``interval(1 - 2k/K)`` gives the
    ``k/K`` and ``1 - k/K`` quantiles) and its median, so every method is binned by the same
    rule: a target lands in bin $j$ if exactly $j$ of those quantiles lie below it, where a
    target on a lower bound counts as above it and one on an upper bound as below it (both
    bounds inside their interval, as in
    [`interval_coverage`][scalebayes.evaluate.interval_coverage]). For a
    calibrated predictive every bin expects ``n_targets / K``; summed over many curves the
    counts are the PIT histogram, and the share of targets in the bins
    ``j .. K - 1 - j`` is the empirical coverage of the central ``1 - 2j/K`` interval (the
    reliability diagram).

    Args:
        pred: Predictive distribution over the ``n_targets`` targets.
        y: Observed targets, shape ``(n_targets,)``; finite.
        n_bins: $K$, an even number >= 2.

    Returns:
        ``(n_bins,)`` integer counts summing to ``n_targets``.

    Raises:
        TypeError: If ``pred`` is not a `PredictiveDistribution`.
        ValueError: For a bad ``y`` or ``n_bins``, or intervals of the wrong shape.
    """
    pred = _require_predictive("pit_histogram", pred)
    y = _as_finite_array("y", y, ndim=1)
    if not is_integer(n_bins) or n_bins < 2 or n_bins % 2:
        raise ValueError(f"pit_histogram: n_bins must be an even integer >= 2, got {n_bins!r}")
    below = (_check_output("pit_histogram", "median", pred.median(), y.shape) < y).astype(int)
    for level in _pit_levels(n_bins):
        lower, upper = _check_bounds("pit_histogram", *pred.interval(level), y.shape)
        below += lower <= y  # a target on the lower bound is inside the interval
        below += upper < y
    return np.bincount(below, minlength=n_bins).astype(np.int64)


def coverage_from_pit(counts: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Nominal and empirical coverage of the central intervals a PIT histogram resolves.

    Args:
        counts: PIT counts from [`pit_histogram`][scalebayes.evaluate.pit_histogram] (summed
            over curves as you like), ``(n_bins,)`` with ``n_bins`` even.

    Returns:
        ``(nominal, empirical)``: the levels ``1 - 2j / n_bins`` for ``j = n_bins/2 - 1 ..
        0`` (increasing, ending at 1) and the share of the targets inside each.

    Raises:
        ValueError: For counts that are not a 1-D even-length array with a positive sum.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.size
    if counts.ndim != 1 or n < 2 or n % 2 or not counts.sum() > 0 or np.any(counts < 0):
        raise ValueError(
            "coverage_from_pit: counts must be 1-D, of even length, >= 0 and summing to > 0"
        )
    js = np.arange(n // 2 - 1, -1, -1)
    nominal = 1.0 - 2.0 * js / n
    empirical = np.array([counts[j : n - j].sum() for j in js]) / counts.sum()
    return nominal, empirical


class _AskedOnce:
    """A predictive that computes its median and each central interval once (the metrics
    share them).

    For a [`Predictive`][scalebayes.evaluate.Predictive] whose intervals come from its
    ``icdf`` (the base class's ``interval``), the intervals at ``levels`` are read in one
    ``icdf`` call over all their bounds: one batched evaluation (a PFN's bar distribution, an
    MCMC predictive's root solve) instead of one per level.
    """

    def __init__(self, pred: PredictiveDistribution, levels: Sequence[float] = ()):
        self._pred = pred
        self._intervals: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._median = None
        levels = sorted({check_level(level) for level in levels})
        if levels and isinstance(pred, Predictive) and type(pred).interval is Predictive.interval:
            bounds = [b for level in levels for b in (0.5 - 0.5 * level, 0.5 + 0.5 * level)]
            quantiles = np.asarray(pred.icdf(bounds))
            if quantiles.shape[:1] == (len(bounds),):  # else leave the shape error to a metric
                for i, level in enumerate(levels):
                    self._intervals[level] = (quantiles[2 * i], quantiles[2 * i + 1])

    def median(self):
        if self._median is None:
            self._median = self._pred.median()
        return self._median

    def log_prob(self, y):
        return self._pred.log_prob(y)

    def interval(self, level: float):
        if level not in self._intervals:
            self._intervals[level] = self._pred.interval(level)
        return self._intervals[level]


_SCORED_LEVELS = (
    *MSCE_LEVELS,
    0.5,
    0.9,
    *_pit_levels(PIT_BINS),
    *(1.0 - 2.0 * tau for tau in _crps_taus(CRPS_QUANTILES)),
)
"""Every central-interval level `score_curve`'s metrics ask for (repeats are read once)."""


def score_curve(
    prediction: PredictiveDistribution | Float[ArrayLike, " n_targets"],
    y: Float[ArrayLike, " n_targets"],
) -> dict[str, float | None]:
    """Score one curve's prediction with every metric that applies to it.

    A point prediction (a plain array of predicted targets) is scored by RMSLE only. A
    [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution] is scored by
    RMSLE of its median, [`log_likelihood`][scalebayes.evaluate.log_likelihood],
    [`msce`][scalebayes.evaluate.msce] over [`MSCE_LEVELS`][scalebayes.evaluate.MSCE_LEVELS],
    the coverage and width of its 50% and 90% intervals, and the CRPS.

    Args:
        prediction: Either a point prediction of shape ``(n_targets,)`` (strictly positive)
            or a predictive distribution over the ``n_targets`` targets.
        y: Observed targets, shape ``(n_targets,)``; finite and strictly positive.

    Returns:
        ``{"rmsle", "ll", "msce", "cov50", "cov90", "width50", "width90", "crps", "pit"}``
        (see `INTERVAL_SCORES`): the empirical coverage and mean width of the 50% and 90%
        central intervals ([`interval_coverage`][scalebayes.evaluate.interval_coverage]),
        the [`crps`][scalebayes.evaluate.crps] and the PIT counts
        ([`pit_histogram`][scalebayes.evaluate.pit_histogram], a tuple of ints); all but
        ``rmsle`` are ``None`` for a point prediction.

    Raises:
        TypeError: If ``prediction`` is neither an array of numbers nor a predictive
            distribution.
        ValueError: As raised by the individual metrics.
    """
    if isinstance(prediction, PredictiveDistribution):
        prediction = _AskedOnce(prediction, _SCORED_LEVELS)  # every interval asked, at once
        scores = {
            "rmsle": rmsle(prediction.median(), y),
            "ll": log_likelihood(prediction, y),
            "msce": msce(prediction, y),
        }
        cov50, width50 = interval_coverage(prediction, y, 0.5)
        cov90, width90 = interval_coverage(prediction, y, 0.9)
        return {
            **scores,
            "cov50": cov50,
            "cov90": cov90,
            "width50": width50,
            "width90": width90,
            "crps": crps(prediction, y),
            "pit": tuple(int(c) for c in pit_histogram(prediction, y)),
        }
    kind = np.asarray(prediction).dtype.kind if prediction is not None else "O"
    if kind not in "biuf":  # None, text, an object that is not a predictive
        raise TypeError(
            "prediction must be an array of numbers (a point prediction at the targets) or a "
            f"predictive distribution; got {type(prediction).__name__}"
        )
    return {"rmsle": rmsle(prediction, y), **dict.fromkeys(INTERVAL_SCORES[1:], None)}


def summarise(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    r"""Mean and population standard deviation of per-curve scores, ignoring ``None``.

    With the $m$ non-``None`` values $v_1, \dots, v_m$:
    $\bar v = \frac{1}{m}\sum_i v_i$ and
    $s = \sqrt{\frac{1}{m}\sum_i (v_i - \bar v)^2}$, the *population* standard deviation
    (``ddof=0``, as ``np.std``), so a single value has ``s = 0``.

    Args:
        values: One score per curve, e.g. the ``"ll"`` entries of
            [`score_curve`][scalebayes.evaluate.score_curve] results; ``None`` entries (a
            metric that does not apply) are skipped. Infinite values propagate to the mean
            (the spread is then inf, or 0 for a single value); NaN to both, and so do
            infinities of both signs together (their mean is undefined).

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
    if np.isnan(array).any():  # an undefined score leaves both undefined
        return float("nan"), float("nan")
    if array.size == 1:  # one value: no spread, whatever the value (-inf is a valid LL)
        return float(array[0]), 0.0
    if not np.all(np.isfinite(array)):  # infinities propagate to the mean; no finite spread
        with np.errstate(invalid="ignore"):
            mean = float(np.mean(array))  # NaN for infinities of both signs
        return mean, float("nan") if np.isnan(mean) else float("inf")
    scale = float(np.max(np.abs(array)))  # scaled first: 1.7e308 + 1.7e308 does not overflow
    if scale == 0:
        return 0.0, 0.0
    unit = array / scale
    return float(np.mean(unit) * scale), float(np.std(unit) * scale)
