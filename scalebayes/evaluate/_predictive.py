"""Predictive distributions over the target points of one curve.

A method that extrapolates a scaling curve (a point fit, MCMC, a PFN, an NTK ensemble) hands
the evaluation layer one object per curve that satisfies :class:`PredictiveDistribution`.

Every predictive the package ships (the two here, a per-target Normal and an empirical one
built from posterior-predictive samples, and ``MCMCPredictive`` and ``PFNPrediction``) is a
:class:`Predictive`: one contract with numpyro's names where they exist (``log_prob``,
``icdf``, ``sample(key, sample_shape)``), plus ``quantile`` (the same as ``icdf``),
``median`` and ``interval``, and one check of probabilities and interval levels.

Everything in this module runs on the host in float64 numpy; JAX arrays are accepted as
input and converted.
"""

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Protocol, runtime_checkable

import numpy as np
from jaxtyping import ArrayLike, Float

from .._checks import check_key, is_integer
from .._random import draw_normal, draw_randint

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

#: How many targets a predictive's repr shows.
_REPR_TARGETS = 4


@runtime_checkable
class PredictiveDistribution(Protocol):
    r"""Predictive distribution over the ``n_targets`` target values of one curve.

    Any object with these three methods can be scored by
    [`scalebayes.evaluate.score_curve`][]; no inheritance is needed (this is a structural
    `typing.Protocol`, and ``isinstance(obj, PredictiveDistribution)`` checks that the methods
    exist). The contract every implementation must keep:

    - Only the per-target *marginals* are used. Target ``j`` has a univariate distribution
      with a density $p_j$ on the real line, in the same (normalised) y-space as the
      observed targets.
    - ``median()`` returns the per-target medians, shape ``(n_targets,)``; it is the point
      prediction scored by RMSLE.
    - ``log_prob(y)`` takes observed targets of shape ``(n_targets,)`` and returns
      $\log p_j(y_j)$ for each target, shape ``(n_targets,)``: a log *density* with respect
      to Lebesgue measure in y (no Jacobian for any change of variables). It may be
      ``-inf`` where a target lies outside the support, but never ``nan``.
    - ``interval(level)`` takes ``0 < level < 1`` and returns ``(lower, upper)``, each shape
      ``(n_targets,)``: the central interval between the $(1 - \mathrm{level})/2$ and
      $(1 + \mathrm{level})/2$ quantiles of each marginal, so ``lower <= median <= upper``.
    - All methods are pure: the same call returns the same arrays.
    """

    def median(self) -> Float[np.ndarray, " n_targets"]:
        """Per-target medians, shape ``(n_targets,)``."""
        ...

    def log_prob(self, y: Float[ArrayLike, " n_targets"]) -> Float[np.ndarray, " n_targets"]:
        """Per-target log density of the observed targets ``y``, shape ``(n_targets,)``."""
        ...

    def interval(
        self, level: float
    ) -> tuple[Float[np.ndarray, " n_targets"], Float[np.ndarray, " n_targets"]]:
        """Central interval ``(lower, upper)`` at probability ``level``, each ``(n_targets,)``."""
        ...


def _real_array(value: ArrayLike) -> np.ndarray:
    """``value`` as float64, if it holds integers or floats (not booleans, which are not
    losses or probabilities, nor strings, which NumPy would parse).

    Raises:
        TypeError: Otherwise (also for what NumPy cannot convert).
    """
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as error:  # e.g. ragged nested lists
        raise TypeError(str(error)) from error
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"dtype {raw.dtype}")
    return raw.astype(np.float64, copy=False)


def _as_finite_array(name: str, value: ArrayLike, ndim: int) -> np.ndarray:
    """Convert ``value`` to a non-empty, finite float64 array with ``ndim`` dimensions."""
    try:
        array = _real_array(value)
    except TypeError as error:
        raise TypeError(
            f"`{name}` must be an array of real numbers; got {type(value).__name__}."
        ) from error
    if array.ndim != ndim:
        expected = "(n_targets,)" if ndim == 1 else "(n_samples, n_targets)"
        raise ValueError(
            f"`{name}` must be a {ndim}-D array of shape {expected}; got shape {array.shape}."
        )
    if array.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {array.shape}.")
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{name}` must be finite; found {array[index]} at index "
            f"{index[0] if ndim == 1 else index} ({int(bad.sum())} non-finite values)."
        )
    return array


def _as_targets(name: str, value: ArrayLike, n_targets: int) -> np.ndarray:
    """Convert observed targets to a finite float64 vector of length ``n_targets``; a scalar
    is the same value at every target ("the density of loss 2.5 at each x asked")."""
    if np.ndim(value) == 0 and np.asarray(value).dtype.kind in "iuf":
        value = np.full(n_targets, value, dtype=np.float64)
    array = _as_finite_array(name, value, ndim=1)
    if array.shape != (n_targets,):
        raise ValueError(
            f"`{name}` must have shape ({n_targets},) to match the predictive distribution; "
            f"got shape {array.shape}."
        )
    return array


def x_of(pred: object, owner: str) -> np.ndarray:
    """The x of ``pred``'s targets, for a predictive ``owner`` built on it (a mixture, a
    stretch, a join of PFN answers, which carry theirs); AttributeError, naming ``owner``,
    where ``pred`` does not know them (a ``GaussianPredictive``, say)."""
    x = getattr(pred, "x", None)
    if x is None:
        raise AttributeError(
            f"{owner}.x: its part, a {type(pred).__name__}, does not know its targets' x"
        )
    return np.asarray(x)


def check_level(level: float) -> float:
    """``level`` as a float after checking that it is a real number with ``0 < level < 1``.

    The one check of an interval's probability mass (``level``) in the package.

    Raises:
        TypeError: If ``level`` is not a real number.
        ValueError: If it is not strictly between 0 and 1.
    """
    kind = np.asarray(level).dtype.kind
    if isinstance(level, bool) or np.ndim(level) != 0 or kind not in "iuf":
        raise TypeError(f"`level` must be a real number in (0, 1); got {level!r}.")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"`level` must lie strictly between 0 and 1; got {level}.")
    return level


def check_probabilities(q: float | ArrayLike) -> np.ndarray:
    """Quantile probabilities ``q`` (a scalar or 1-D) as float64, each strictly in (0, 1).

    Raises:
        ValueError: If ``q`` has more than one dimension or a value outside (0, 1).
    """
    try:
        qs = _real_array(q)
    except TypeError:
        raise TypeError(f"`q` must be a probability or a 1-D array of them; got {q!r}.") from None
    if qs.ndim > 1 or qs.size == 0 or not np.all((qs > 0.0) & (qs < 1.0)):
        raise ValueError(
            f"`q` must be a scalar or 1-D array of probabilities strictly between 0 and 1; "
            f"got {q!r}."
        )
    return qs


class Predictive:
    """Base class of the package's predictive distributions over one curve's targets.

    A subclass implements ``n_targets``, ``icdf(q)``, ``log_prob(y)`` and
    ``sample(key, sample_shape)``; this class derives ``quantile`` (the same as ``icdf``),
    ``median`` and ``interval`` from ``icdf``, so every predictive answers the same questions
    with the same shapes and the same argument checks:

    - ``icdf(q)`` / ``quantile(q)``: ``(n_targets,)`` for a scalar ``q``, ``(len(q),
      n_targets)`` for a 1-D one (levels lead, as in ``numpy.quantile``);
    - ``median()``: ``icdf(0.5)``;
    - ``interval(level=0.9)``: ``(icdf((1 - level) / 2), icdf((1 + level) / 2))``;
    - ``log_prob(y)``: per-target log density of ``y``, ``(n_targets,)`` (a scalar ``y`` is
      that value at every target);
    - ``cdf(y)``: per-target ``P(Y <= y)``, ``y`` broadcast against ``(n_targets,)`` (a
      scalar: ``(n_targets,)``; a column ``(m, 1)``: ``(m, n_targets)``);
    - ``sample(key, sample_shape)``: ``(*sample_shape, n_targets)`` draws (a JAX PRNG key,
      numpyro's convention).

    It satisfies [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution], the
    structural contract the metrics score.
    """

    @property
    def n_targets(self) -> int:  # pragma: no cover - every subclass defines it
        """Number of target points."""
        raise NotImplementedError

    @property
    def finite_mean(self) -> bool:
        """Whether y has a finite mean under this predictive (False for heavy tails such as a
        log-t, whose mean diverges); a mean computed from quantiles is refused without one."""
        return True

    def icdf(self, q: float | ArrayLike) -> np.ndarray:
        """Per-target quantiles (inverse CDF) at probabilities ``q``; see the class."""
        raise NotImplementedError

    def log_prob(self, y: ArrayLike) -> np.ndarray:
        """Per-target log density of ``y``, shape ``(n_targets,)``."""
        raise NotImplementedError

    def sample(self, key, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Draws of the targets, shape ``(*sample_shape, n_targets)``.

        Each target's draws follow its marginal; whether the targets of one draw are drawn
        together depends on the predictive (a PFN's and a Normal one's are independent
        across targets, so a question about several x at once, "below L at both 10x and
        100x?", needs joint draws: `MCMCResult.sample_paths`)."""
        raise NotImplementedError

    def cdf(self, y: ArrayLike) -> np.ndarray:
        """Per-target CDF ``P(Y_j <= y_j)``, ``y`` broadcast against ``(n_targets,)`` as numpy
        does: a scalar is one value at every target (answered ``(n_targets,)``), a column
        ``(m, 1)`` each of ``m`` values at every target (``(m, n_targets)``); or give
        ``(n_targets,)`` or ``(m, n_targets)`` values outright.

        The package's predictives compute it in closed form. This fallback, for a subclass
        that defines only ``icdf``, inverts ``icdf`` by bisection on the level (50 halvings,
        so to about 1e-15 in probability, at one ``icdf`` call per halving with one level
        per value).
        """
        y, squeeze = self._cdf_values(y)
        flat = y.reshape(-1)
        columns = np.tile(np.arange(self.n_targets), y.shape[0])
        lo = np.zeros(flat.size)
        hi = np.ones(flat.size)
        for _ in range(50):
            mid = np.clip(0.5 * (lo + hi), 1e-300, 1.0 - 1e-16)
            at = np.asarray(self.icdf(mid), np.float64)[np.arange(flat.size), columns]
            below = at <= flat
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        out = (0.5 * (lo + hi)).reshape(y.shape)
        return out[0] if squeeze else out

    def _cdf_values(self, y: ArrayLike) -> tuple[np.ndarray, bool]:
        """``y`` for ``cdf`` as ``(m, n_targets)`` float64 with no NaN, and whether it was 1-D
        after broadcasting against ``(n_targets,)`` as numpy does (a scalar is the same value
        at every target, a column ``(m, 1)`` asks each of its values at every target)."""
        try:
            arr = _real_array(y)
        except TypeError:
            raise TypeError(f"y must be an array of real numbers; got {type(y).__name__}") from None
        try:  # numpy's broadcasting against the targets: a scalar, (m, 1), ...
            shape = np.broadcast_shapes(arr.shape, (self.n_targets,))
        except ValueError:
            shape = None
        if shape is None or len(shape) > 2:
            raise ValueError(
                f"y must be a scalar, (n_targets,), (m, n_targets) or (m, 1) with n_targets = "
                f"{self.n_targets}; got shape {arr.shape}"
            )
        arr = np.array(np.broadcast_to(arr, shape))  # a writable copy
        if np.isnan(arr).any():
            where = tuple(int(i) for i in np.argwhere(np.isnan(arr))[0])
            raise ValueError(f"y holds NaN (first at index {where if arr.ndim == 2 else where[0]})")
        return np.atleast_2d(arr), arr.ndim == 1

    @staticmethod
    def _sample_shape(sample_shape: int | tuple[int, ...]) -> tuple[int, ...]:
        """``sample_shape`` as a tuple (an int ``n`` means ``(n,)``), for subclasses.

        Raises:
            ValueError: If it is not a non-negative integer or a tuple of them.
        """
        shape = (sample_shape,) if is_integer(sample_shape) else sample_shape
        try:
            shape = tuple(shape)
        except TypeError:
            shape = None
        if shape is None or not all(is_integer(n) and n >= 0 for n in shape):
            raise ValueError(
                f"sample_shape must be an integer >= 0 or a tuple of them; got {sample_shape!r}"
            )
        return tuple(int(n) for n in shape)

    def _targets(self, y: ArrayLike) -> np.ndarray:
        """``y`` as a finite float64 vector of length ``n_targets``, for subclasses."""
        return _as_targets("y", y, self.n_targets)

    def quantile(self, q: float | ArrayLike) -> np.ndarray:
        """The same as ``icdf``: ``(n_targets,)`` for a scalar ``q``, else ``(len(q), n)``."""
        return self.icdf(q)

    def median(self) -> np.ndarray:
        """Per-target medians, shape ``(n_targets,)``."""
        return self.icdf(0.5)

    def interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Central interval ``(lower, upper)`` at probability ``level`` (by default 90%, as the
        command line prints), each ``(n_targets,)``.

        Raises:
            TypeError, ValueError: If ``level`` is not a number strictly between 0 and 1.
        """
        level = check_level(level)
        lower, upper = self.icdf([0.5 - 0.5 * level, 0.5 + 0.5 * level])
        return lower, upper

    def _head(self, k: int) -> "Predictive":
        """The predictive of the first ``k`` targets alone, for a cheap summary; a subclass
        that can slice itself overrides this (the default is ``self``, all targets)."""
        return self

    def __repr__(self) -> str:
        """The answer in one line: the medians and 90% intervals of the first few targets
        (not the arrays behind them, which can run to thousands of numbers)."""
        name, n = type(self).__name__, self.n_targets
        shown = min(n, _REPR_TARGETS)
        try:
            head = self._head(shown) if n > shown else self
            lo, mid, hi = (np.asarray(a)[:shown] for a in head.icdf([0.05, 0.5, 0.95]))
        except Exception:  # a repr must not raise (a half-built object in a debugger)
            return f"{name}({n} targets)"
        cells = ", ".join(
            f"{m:.4g} [{a:.4g}, {b:.4g}]" for a, m, b in zip(lo, mid, hi, strict=True)
        )
        more = f", ... ({n - shown} more)" if n > shown else ""
        return f"{name}(median [90% interval]: {cells}{more})"


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """The standard Normal CDF elementwise (``erfc``, accurate deep in the lower tail)."""
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return (0.5 * erfc(-np.asarray(z, np.float64) / math.sqrt(2.0))).astype(np.float64)


def _read_only(array: np.ndarray) -> np.ndarray:
    """Return a read-only copy of ``array`` so a frozen container stays frozen."""
    array = np.array(array, dtype=np.float64, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False, repr=False, init=False)
class GaussianPredictive(Predictive):
    r"""Independent Normal predictive distribution per target.

    Target ``j`` is $\mathcal{N}(\mu_j, \sigma_j^2)$, so

    - median: $\mu_j$;
    - log density: $\log p_j(y) = -\tfrac12 ((y - \mu_j)/\sigma_j)^2 - \log\sigma_j
      - \tfrac12\log 2\pi$;
    - central interval at level $\ell$: $\mu_j \pm z\,\sigma_j$ with
      $z = \Phi^{-1}((1 + \ell)/2)$.

    Args:
        mean: Per-target means $\mu$, shape ``(n_targets,)``, finite (kept as ``loc``;
            ``mean()`` returns them, as every predictive's ``mean()`` does).
        std: Per-target standard deviations $\sigma$, shape ``(n_targets,)`` or a scalar
            broadcast to it; finite and strictly positive.

    Raises:
        ValueError: If a shape is wrong, a value is not finite, or a ``std`` is not > 0.
    """

    loc: Float[np.ndarray, " n_targets"]
    std: Float[np.ndarray, " n_targets"]

    def __init__(
        self, mean: ArrayLike | None = None, std: ArrayLike | None = None, *, loc=None
    ) -> None:
        if (mean is None) == (loc is None) or std is None:  # loc: dataclasses.replace's name
            raise TypeError("GaussianPredictive takes mean (or loc) and std")
        mean = _as_finite_array("mean", mean if loc is None else loc, ndim=1)
        std = np.asarray(std, dtype=np.float64)
        if std.ndim == 0:
            std = np.full_like(mean, std)
        std = _as_finite_array("std", std, ndim=1)
        if std.shape != mean.shape:
            raise ValueError(
                f"`std` must be a scalar or have the shape of `mean` {mean.shape}; "
                f"got shape {std.shape}."
            )
        if np.any(std <= 0.0):
            index = int(np.argmax(std <= 0.0))
            raise ValueError(f"`std` must be strictly positive; got {std[index]} at index {index}.")
        object.__setattr__(self, "loc", _read_only(mean))
        object.__setattr__(self, "std", _read_only(std))

    def mean(self) -> np.ndarray:
        r"""Per-target means $\mu$, shape ``(n_targets,)`` (a copy)."""
        return self.loc.copy()

    @property
    def n_targets(self) -> int:
        """Number of target points."""
        return self.loc.shape[0]

    def _head(self, k: int) -> "GaussianPredictive":
        return GaussianPredictive(self.loc[:k], self.std[:k])

    def icdf(self, q: float | ArrayLike) -> np.ndarray:
        r"""Per-target quantiles $\mu + \Phi^{-1}(q)\,\sigma$ (see `Predictive`)."""
        qs = check_probabilities(q)
        z = np.array([NormalDist().inv_cdf(p) for p in np.atleast_1d(qs)])
        out = self.loc[None, :] + z[:, None] * self.std[None, :]
        return out[0] if qs.ndim == 0 else out

    def cdf(self, y: ArrayLike) -> np.ndarray:
        r"""Per-target $\Phi((y - \mu) / \sigma)$; ``y``: ``(n_targets,)`` or ``(m, n_targets)``."""
        y, squeeze = self._cdf_values(y)
        with np.errstate(over="ignore"):  # y at float64's ends: z is +-inf, read as 1 or 0
            out = _normal_cdf((y - self.loc) / self.std)
        return out[0] if squeeze else out

    def sample(self, key, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Normal draws, shape ``(*sample_shape, n_targets)``; ``key`` is a JAX PRNG key."""
        shape = (*self._sample_shape(sample_shape), self.n_targets)
        z = np.asarray(draw_normal(check_key(key), shape), np.float64)
        return self.loc + z * self.std

    def log_prob(self, y: Float[ArrayLike, " n_targets"]) -> Float[np.ndarray, " n_targets"]:
        r"""Per-target Normal log density of ``y``.

        Args:
            y: Observed targets, shape ``(n_targets,)``, finite.

        Returns:
            $\log p_j(y_j)$, shape ``(n_targets,)``.
        """
        y = _as_targets("y", y, self.n_targets)
        with np.errstate(over="ignore"):  # -inf, not a warning, for a y beyond ~1e154 sd
            z = (y - self.loc) / self.std
            return -0.5 * z**2 - np.log(self.std) - _HALF_LOG_2PI


@dataclass(frozen=True, eq=False, repr=False)
class SamplePredictive(Predictive):
    r"""Empirical predictive distribution from draws, e.g. MCMC posterior-predictive samples.

    With draws $x_{1j}, \dots, x_{nj}$ for target ``j``:

    - median: the sample median (``np.median``);
    - central interval at level $\ell$: the empirical $(1 \mp \ell)/2$ quantiles
      (``np.quantile`` with its default linear interpolation);
    - log density: a Gaussian kernel density estimate per target with Scott's bandwidth
      $h_j = s_j\, n^{-1/5}$, where $s_j$ is the sample standard deviation (``ddof=1``).
      This is what `scipy.stats.gaussian_kde` does in 1-D. It is evaluated stably in
      log space with log-sum-exp, so targets far in the tails get a finite log density:

      $$\log p_j(y) = \operatorname{logsumexp}_i\Big(-\tfrac12\big((y - x_{ij})/h_j
      \big)^2\Big) - \log n - \log h_j - \tfrac12\log 2\pi.$$

    Args:
        samples: Draws, shape ``(n_samples, n_targets)`` with ``n_samples >= 2``; finite,
            and not all equal within any target (the bandwidth would be 0).

    Raises:
        ValueError: If the shape is wrong, a value is not finite, there are fewer than two
            samples, or a target's samples have zero spread.
    """

    samples: Float[np.ndarray, "n_samples n_targets"]
    bandwidth: Float[np.ndarray, " n_targets"] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        samples = _as_finite_array("samples", self.samples, ndim=2)
        n_samples = samples.shape[0]
        if n_samples < 2:
            raise ValueError(
                "`samples` needs at least 2 draws per target (rows) for a kernel density "
                f"estimate; got shape {samples.shape}."
            )
        # in units of each target's largest |draw|: np.std squares the deviations, which
        # underflow near 1e-170 (distinct draws read as equal) and overflow near 1e200
        unit = np.max(np.abs(samples), axis=0)
        unit = np.where(unit > 0, unit, 1.0)
        spread = np.std(samples / unit, axis=0, ddof=1) * unit
        if np.any(spread <= 0.0):
            index = int(np.argmax(spread <= 0.0))
            raise ValueError(
                f"`samples` for target {index} are all equal ({samples[0, index]}); a kernel "
                "density estimate needs a positive spread."
            )
        object.__setattr__(self, "samples", _read_only(samples))
        object.__setattr__(self, "bandwidth", _read_only(spread * n_samples ** (-0.2)))

    @property
    def n_targets(self) -> int:
        """Number of target points."""
        return self.samples.shape[1]

    def _head(self, k: int) -> "SamplePredictive":
        return SamplePredictive(self.samples[:, :k])

    def mean(self) -> np.ndarray:
        """Per-target mean of the draws, shape ``(n_targets,)`` (the kernel density estimate
        has the same mean: its kernels are symmetric)."""
        return self.samples.mean(axis=0)

    def icdf(self, q: float | ArrayLike) -> np.ndarray:
        """Per-target empirical quantiles (``np.quantile``, linear interpolation)."""
        qs = check_probabilities(q)
        return np.quantile(self.samples, qs, axis=0)

    def cdf(self, y: ArrayLike) -> np.ndarray:
        """The inverse of ``icdf`` (``np.quantile``'s linear interpolation between the sorted
        draws, at levels ``k / (n - 1)``); ``y`` is ``(n_targets,)`` or ``(m, n_targets)``."""
        y, squeeze = self._cdf_values(y)
        ranks = np.linspace(0.0, 1.0, self.samples.shape[0])
        ordered = np.sort(self.samples, axis=0)
        out = np.stack(
            [np.interp(y[:, j], ordered[:, j], ranks) for j in range(self.n_targets)], axis=1
        )
        return out[0] if squeeze else out

    def sample(self, key, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Draws resampled (with replacement) from the stored rows, ``(*sample_shape,
        n_targets)``: each draw is one row, so the targets keep their joint draws."""
        shape = self._sample_shape(sample_shape)
        return self.samples[draw_randint(check_key(key), shape, 0, self.samples.shape[0])]

    def log_prob(self, y: Float[ArrayLike, " n_targets"]) -> Float[np.ndarray, " n_targets"]:
        r"""Per-target Gaussian-KDE log density of ``y`` (Scott's bandwidth, log-sum-exp).

        Args:
            y: Observed targets, shape ``(n_targets,)``, finite.

        Returns:
            $\log p_j(y_j)$, shape ``(n_targets,)``.
        """
        y = _as_targets("y", y, self.n_targets)
        with np.errstate(over="ignore", invalid="ignore"):  # y so far out that kernels vanish
            log_kernel = -0.5 * ((y - self.samples) / self.bandwidth) ** 2
            peak = log_kernel.max(axis=0)
            log_sum = peak + np.log(np.exp(log_kernel - peak).sum(axis=0))
        log_sum = np.where(np.isfinite(peak), log_sum, -np.inf)
        n_samples = self.samples.shape[0]
        return log_sum - math.log(n_samples) - np.log(self.bandwidth) - _HALF_LOG_2PI
