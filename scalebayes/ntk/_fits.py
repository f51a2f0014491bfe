"""Power laws fitted to mu_L(N) and sigma_L(N) with bootstrap intervals; the eps_L plateau."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._checks import is_integer
from .._warnings import RisingCurveWarning
from ..evaluate import check_level

__all__ = ["Plateau", "PowerLawFit", "find_plateau", "fit_power_law"]


@dataclass(frozen=True)
class PowerLawFit:
    """``y = a * N**(-alpha)`` fitted in log space, with a residual-bootstrap interval.

    Attributes:
        a, alpha: the least-squares fit (the project's M1 point fit).
        alpha_lo, alpha_hi: the central ``level`` bootstrap interval of ``alpha``.
        alpha_se: bootstrap standard deviation of ``alpha``.
        level: the interval's probability mass.
        rms_log_residual: root mean squared residual of ``log y``.
    """

    a: float
    alpha: float
    alpha_lo: float
    alpha_hi: float
    alpha_se: float
    level: float
    rms_log_residual: float

    def predict(self, n) -> np.ndarray:
        """The fitted law at ``n``."""
        return self.a * np.asarray(n, dtype=np.float64) ** (-self.alpha)

    def __str__(self) -> str:
        return (
            f"alpha = {self.alpha:.3f} +- {self.alpha_se:.3f} "
            f"[{self.alpha_lo:.3f}, {self.alpha_hi:.3f}]"
        )


def fit_power_law(n, y, *, n_boot: int = 200, level: float = 0.9, seed: int = 0) -> PowerLawFit:
    """Fit ``y = a N^-alpha`` with a residual bootstrap for the uncertainty of ``alpha``.

    The point fit is the project's M1 fit (``fit_curves("m1", ...)``, least squares on
    ``log y``). The bootstrap resamples the log residuals with replacement, adds them to the
    fitted curve and refits all ``n_boot`` replicates in one batched call.

    Args:
        n: sizes, 1-D, > 0, at least 3 distinct.
        y: values at ``n``, > 0.
        n_boot: bootstrap replicates.
        level: probability mass of the reported interval.
        seed: NumPy seed of the bootstrap.

    Returns:
        The [`PowerLawFit`][scalebayes.ntk.PowerLawFit].
    """
    from ..inference import fit_curves

    n = np.asarray(n, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if n.ndim != 1 or n.shape != y.shape or np.unique(n).size < 3:
        raise ValueError(f"need 1-D n and y of one length with >= 3 distinct n, got {n.shape}")
    if not (np.all(np.isfinite(y)) and np.all(y > 0) and np.all(n > 0)):
        raise ValueError("n and y must be finite and > 0 for a power law")
    level = check_level(level)
    if not is_integer(n_boot) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2 (a spread needs two), got {n_boot!r}")
    with warnings.catch_warnings():  # a statistic may grow with N: a power law all the same
        warnings.simplefilter("ignore", RisingCurveWarning)
        (fit,) = fit_curves("m1", [n], [y])
        fitted = fit.predict(n)
        resid = np.log(y) - np.log(fitted)
        rng = np.random.default_rng(seed)
        # Resample residuals; rescale by sqrt(n / (n - 2)) for the two fitted parameters.
        boot = rng.choice(resid, size=(n_boot, n.size)) * np.sqrt(n.size / (n.size - 2))
        fits = fit_curves("m1", [n] * n_boot, list(fitted * np.exp(boot)))
    alphas = -np.array([f.params["c"] for f in fits])
    q = (1 - level) / 2
    return PowerLawFit(
        a=float(fit.params["beta"]),
        alpha=float(-fit.params["c"]),
        alpha_lo=float(np.quantile(alphas, q)),
        alpha_hi=float(np.quantile(alphas, 1 - q)),
        alpha_se=float(alphas.std(ddof=1)),
        level=level,
        rms_log_residual=float(np.sqrt(np.mean(resid**2))),
    )


@dataclass(frozen=True)
class Plateau:
    """Where ``eps_L`` stops changing.

    Attributes:
        n: the smallest size from which on ``eps_L`` stays within ``rtol``: its largest
            value there and beyond is less than ``1 + rtol`` times its smallest (the whole
            tail, not neighbouring steps), over sizes spanning at least ``min_span``;
            ``None`` if no such size (no plateau seen).
        value: mean ``eps_L`` from ``n`` on; ``None`` without a plateau (there is no value
            to report, and a NaN would pass for one in arithmetic).
        rtol: the tolerance used.
        min_span: the least ratio of the largest size to ``n`` that counts as a plateau.
    """

    n: float | None
    value: float | None
    rtol: float
    min_span: float = 2.0

    def __str__(self) -> str:
        if self.n is None:
            span = "" if self.min_span == 1 else f" over at least {self.min_span:g}x in N"
            return f"no plateau{span} (rtol {self.rtol:g})"
        return f"plateau from N = {self.n:g} at eps_L = {self.value:.4g} (rtol {self.rtol:g})"


def find_plateau(n, eps, *, rtol: float = 0.1, min_span: float = 2.0) -> Plateau:
    """The smallest size ``N`` from which on ``eps_L`` stays within ``rtol``: the largest
    ``eps_L`` at that size and beyond is less than ``1 + rtol`` times the smallest, over
    sizes that span at least ``min_span`` (the largest over ``N``).

    The whole tail is compared, not neighbouring sizes only, so the answer does not depend on
    how densely the sizes are spaced (a power law falling 4x over 20 sizes has no plateau,
    though each step changes it by 7%); and it must span a doubling of N by default, since
    over a short enough range any trend lies within ``rtol`` (a review: ``eps_L`` rising as
    ``N^0.17`` from N = 32 to 40 read as a plateau from N = 32).

    Args:
        n: increasing sizes, 1-D.
        eps: ``eps_L`` at each size (> 0).
        rtol: relative tolerance on ``max / min - 1`` of ``eps_L`` over the tail.
        min_span: the least ratio of the largest size to the plateau's first (>= 1; 1 takes
            any tail of two sizes).

    Returns:
        The [`Plateau`][scalebayes.ntk.Plateau]; it needs at least the last two sizes within
        tolerance.
    """
    n = np.asarray(n, dtype=np.float64)
    eps = np.asarray(eps, dtype=np.float64)
    if n.ndim != 1 or n.shape != eps.shape or n.size < 2:
        raise ValueError(f"need 1-D n and eps of one length >= 2, got {n.shape}, {eps.shape}")
    if np.any(np.diff(n) <= 0):
        raise ValueError("n must be strictly increasing")
    if not (np.all(np.isfinite(eps)) and np.all(eps > 0)):
        raise ValueError("eps must be finite and > 0")
    if not rtol > 0:
        raise ValueError(f"rtol must be > 0, got {rtol}")
    if not min_span >= 1:
        raise ValueError(f"min_span must be >= 1 (a ratio of sizes), got {min_span}")
    start = None
    for i in range(n.size - 2, -1, -1):  # the tail's spread only grows as it lengthens
        if not eps[i:].max() / eps[i:].min() - 1 < rtol:
            break
        if n[-1] / n[i] >= min_span:
            start = i
    if start is None:
        return Plateau(None, None, rtol, min_span)
    return Plateau(float(n[start]), float(eps[start:].mean()), rtol, min_span)
