"""Fast multi-start least-squares fits of the scaling-law families.

All curves of a batch and all starting points are fitted at once: the data are padded into
``(n_curves, n_points)`` arrays with a mask, the per-curve fit (Levenberg-Marquardt from every
start, keep the best) is ``vmap``-ed over starts and curves, and the whole batch is one ``jit``
call. Shapes are bucketed to powers of two so a study compiles a handful of times, not once per
curve, and the smallest bucket (``_FIT_MIN_SHAPE``: 4 curves of 32 points) holds every fit of a
few runs, so that an interactive session compiles each family once: a fit costs about 5-7 s of
compilation and, once compiled, tens of milliseconds whatever its size below that bucket.

The objective is the reference estimators' space: log residuals,
``mean((log y_hat(x) - log y)^2)`` over the fitting points, plus a tiny ridge on the
(normalised, unconstrained) parameters that keeps unidentifiable directions finite.

A fit never returns a non-finite parameter or prediction: the parametrisations work in log y
relative to the curve's largest y (so magnitudes from 1e-300 to 1e308 fit alike, up to where a
natural parameter leaves float64: M4's ``beta`` scales as ``y^(1 - alpha)``, so a clean M4
curve with ``alpha = 8`` fits alike from 1e-30 to 1e70 times its y, 0.19988 at 100x beyond its
runs, and at 1e-100 or 1e78 times its y takes the retries' larger ridge, recorded in
``PointFit.ridge``, and 0.19675 there), every fit is
checked by evaluating the public family at its fitting points, a curve that fails is refitted
from other starts (shrunk towards the normalised origin, with larger ridges), and a curve that
still fails (e.g. y near 1e308, whose natural parameters are beyond float64) raises a
``ValueError`` that names it and says why.

[`predict_fits`][scalebayes.inference.predict_fits] evaluates many fits at once: fits are
grouped by family and number of breaks, padded to power-of-two buckets and evaluated by one
compiled call per group; ``PointFit.predict`` goes through the same compiled path.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from .._checks import (
    check_integer,
    holds_numbers,
    is_finite_real,
    is_integer,
    is_one_flat_array,
    is_real,
)
from .._precision import float64
from .._shapes import bucket
from .._warnings import rises, warn_at_caller, warn_if_rising
from ..families import get_family
from ._lm import levenberg_marquardt
from ._parametrise import Parametrisation, Stats, get_parametrisation

POINT_FAMILIES = ("m1", "m2", "m3", "m4", "bnsl")
"""Families with a point fit."""
MAX_BREAKS = 3
"""The largest number of BNSL breaks the automatic choice considers."""
# Fits run in two stages: every start gets _SCREEN_ITER iterations with a ridge on the
# normalised parameters (it keeps far-off starts finite), then the best _KEEP continue with
# the caller's ridge (default: too small to bias the estimate, 1e-12 |theta|^2 against mean
# squared log residuals).
_SCREEN_ITER = 15
_SCREEN_RIDGE = 3e-3
DEFAULT_RIDGE = 1e-6
_KEEP = 4
# The retries of a curve whose fit is not finite: starts shrunk by this factor towards the
# normalised origin (floor at the data's minimum, span and slope of order one), with the ridge
# raised to each of these in turn (a MAP fit that keeps poorly determined directions, e.g.
# M4's alpha running into its clip, where beta ~ y^(1 - alpha) overflows, near the origin).
_RETRY_SHRINK = 0.5
_RETRY_RIDGES = (_SCREEN_RIDGE, 3e-2, 1e-1)
# BNSL break selection: held-out mean squared log errors closer than this count as ties.
_BREAKS_REL_TOL = 0.5
_BREAKS_ABS_TOL = 1e-4


@dataclass(frozen=True)
class PointFit:
    """A fitted curve.

    Attributes:
        family: family name.
        params: the family's natural parameters (in raw x units), by name; for BNSL each
            break as ``c1, d1, f1, c2, ...`` rather than the arrays ``c, d, f`` that
            ``scalebayes.families.bnsl`` takes (evaluate a fit with ``predict``).
        loss: mean squared log residual over the fitting points.
        x, y: the fitting points.
        n_breaks: for BNSL, the number of breaks used (else ``None``).
        heldout_errors: for BNSL with automatic breaks, the held-out mean squared log error of
            each candidate number of breaks (``inf`` where a candidate had too few points).
        name: the curve's name when ``fit_curves`` was given names (used in error messages).
        ridge: the ridge weight of this fit: the one requested, or a larger one (up to 0.1, a
            MAP fit that shrinks poorly determined directions) when the first fit had no
            finite representation and a retry from other starts found one.
    """

    family: str
    params: dict[str, float]
    loss: float
    x: np.ndarray
    y: np.ndarray
    n_breaks: int | None = None
    heldout_errors: tuple[float, ...] | None = field(default=None)
    name: str | None = None
    ridge: float | None = None

    def __repr__(self) -> str:  # one line: the fitting points would print every value
        def show(v) -> str:
            a = np.asarray(v, np.float64)
            return (
                f"{a.item():.4g}"
                if a.ndim == 0
                else "[" + ", ".join(f"{e:.4g}" for e in a.ravel()) + "]"
            )

        params = ", ".join(f"{k}={show(v)}" for k, v in self.params.items())
        name = f"{self.name!r}, " if self.name is not None else ""
        return (
            f"PointFit({name}{self.family}, {self.x.size} points, loss {self.loss:.3g}; {params})"
        )

    def predict(self, x) -> np.ndarray:
        """The fitted curve at ``x`` (any shape, > 0), as float64.

        Compiled once per family and bucket of sizes (see
        [`predict_fits`][scalebayes.inference.predict_fits]), so repeated calls do not retrace.

        Raises:
            ValueError: for x that is not finite and > 0, or where the fitted curve grows
                beyond float64's range (a value below its smallest underflows to 0).
        """
        try:
            x = np.asarray(x, dtype=np.float64)
        except OverflowError:  # a Python int beyond float64, e.g. 10**400
            raise ValueError("predict: x must be finite and > 0; one is beyond float64") from None
        if np.any(~np.isfinite(x)) or np.any(x <= 0):
            raise ValueError("predict: x must be finite and > 0")
        return predict_fits([self], [x.ravel()])[0].reshape(x.shape)

    @property
    def fitted(self) -> np.ndarray:
        """The fitted curve at the fitting points."""
        return self.predict(self.x)


# The smallest (curves, points) bucket of a fit: fitting 1, 3 or 4 curves of 5, 12 or 30 points
# reuses one compiled program per family (measured, M4: compilation 6.4 s at (1, 8) and 6.9 s
# at (4, 32); a compiled call 5 ms and 69 ms).
_FIT_MIN_SHAPE = (4, 32)


def _stats(v_raw, w) -> Stats:
    """Statistics from raw log x (v_raw) and weights; v is centred and scaled afterwards."""
    sw = jnp.sum(w)
    u0 = jnp.sum(w * v_raw) / sw
    s = jnp.maximum(jnp.sqrt(jnp.sum(w * (v_raw - u0) ** 2) / sw), 1e-3)
    return u0, s


def _fit_one(par: Parametrisation, n_iter: int, log_x, log_y, w, ridge, shrink):
    """Fit one padded curve: returns (theta, loss, stats tuple).

    ``shrink`` multiplies the family's starts: 1.0 for the first attempt, ``_RETRY_SHRINK``
    (towards the origin) for the later attempts on a curve whose first fit is not finite,
    which also pass a larger ``ridge``. Both are traced, so a retry reuses the first
    attempt's compiled program.
    """
    u0, s = _stats(log_x, w)
    v = (log_x - u0) / s
    big = jnp.asarray(1e30, log_y.dtype)
    ly0 = jnp.max(jnp.where(w > 0, log_y, -big))
    log_y = log_y - ly0  # every family fits y / max(y): its magnitude only enters natural()
    log_y_min = jnp.min(jnp.where(w > 0, log_y, big))
    v_min = jnp.min(jnp.where(w > 0, v, big))
    v_max = jnp.max(jnp.where(w > 0, v, -big))
    st = Stats(u0, s, ly0, log_y_min, v_min, v_max)
    sqrt_w = jnp.sqrt(w / jnp.sum(w))

    def residual(theta, ridge):
        r = sqrt_w * (par.log_predict(theta, v, st) - log_y)
        return jnp.concatenate([r, ridge * theta])

    def solve(theta0, n, ridge, damping0=1e-2):
        return levenberg_marquardt(lambda t: residual(t, ridge), theta0, n, damping0)

    # Successive halving of the starts: a few iterations from every start, then the
    # remaining iterations from the most promising ones only.
    starts = par.starts(v, log_y, w, st)
    starts = shrink * starts  # exact for 1.0; a traced factor, so retries share the compile
    n_first = min(_SCREEN_ITER, n_iter // 2)
    screened = jax.vmap(lambda t0: solve(t0, n_first, _SCREEN_RIDGE))(starts)
    keep = jnp.argsort(screened.loss)[: min(_KEEP, starts.shape[0])]
    final = jax.vmap(lambda t0, d0: solve(t0, n_iter - n_first, ridge, d0))(
        screened.theta[keep], screened.damping[keep]
    )
    best = jnp.argmin(final.loss)
    theta = final.theta[best]
    r = sqrt_w * (par.log_predict(theta, v, st) - log_y)
    return theta, jnp.sum(r**2), st


@functools.partial(jax.jit, static_argnums=(0, 1))
def _fit_batch(par: Parametrisation, n_iter: int, log_x, log_y, w, ridge, shrink):
    def one(a, b, c):
        return _fit_one(par, n_iter, a, b, c, ridge, shrink)

    return jax.vmap(one)(log_x, log_y, w)


@functools.partial(jax.jit, static_argnums=(0,))
def _log_predict_batch(par: Parametrisation, theta, st: Stats, log_x):
    def one(th, st_one, lx):
        return par.log_predict(th, (lx - st_one.u0) / st_one.s, st_one) + st_one.ly0

    return jax.vmap(one)(theta, st, log_x)


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for n in shape if n != 1)


def _validate(
    xs, ys, min_points: int, names=None, *, distinct: bool = True
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    for what, value in (("xs", xs), ("ys", ys)):
        if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
            raise TypeError(f"{what} must be a list of arrays, one per curve")
        if is_one_flat_array(value):
            raise TypeError(
                f"{what} must be a list of arrays, one per curve; got one flat array (for one "
                "curve pass [x] and [y], or use fit_curve)"
            )
    if names is not None and (isinstance(names, str | bytes) or len(names) != len(xs)):
        given = "one string" if isinstance(names, str | bytes) else f"{len(names)} names"
        raise ValueError(f"names must give one name per curve; got {given} for {len(xs)} curves")
    if len(xs) != len(ys):
        raise ValueError(f"got {len(xs)} x arrays but {len(ys)} y arrays")
    if len(xs) == 0:
        raise ValueError("no curves to fit")
    out_x, out_y = [], []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        where = _label(i, names)
        try:
            x, y = np.asarray(x), np.asarray(y)
            if np.iscomplexobj(x) or np.iscomplexobj(y):
                raise TypeError("not complex ones")
            for a in (x, y):  # not bools, text or objects other than numbers
                if not holds_numbers(a):
                    raise TypeError(f"not {a.dtype} values")
            shapes = (x.shape, y.shape)
            x = x.astype(np.float64).ravel()
            y = y.astype(np.float64).ravel()
        except (TypeError, ValueError) as error:
            raise TypeError(f"{where}: x and y must be arrays of real numbers ({error})") from None
        except OverflowError:  # a Python int beyond float64, e.g. 10**400
            raise ValueError(f"{where}: x and y must be finite; one is beyond float64") from None
        if x.shape != y.shape:
            raise ValueError(f"{where}: x has {x.size} points but y has {y.size}")
        if _squeezed(shapes[0]) != _squeezed(shapes[1]):  # (2, 3), (3, 2) would mispair
            raise ValueError(
                f"{where}: x and y must have one shape, got {shapes[0]} and {shapes[1]}"
            )
        if len(_squeezed(shapes[0])) > 1:  # read flat, two curves would fit as one
            raise ValueError(
                f"{where}: x and y must each hold one curve (1-D), got shape {shapes[0]}; for "
                "several curves pass a list of 1-D arrays (fit_curves)"
            )
        if x.size < min_points:
            raise ValueError(f"{where}: needs at least {min_points} points, got {x.size}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError(f"{where}: x and y must be finite (found NaN or inf)")
        if np.any(x <= 0) or np.any(y <= 0):
            raise ValueError(f"{where}: x and y must be > 0 (fits are in log space)")
        if np.ptp(x) == 0:
            raise ValueError(f"{where}: x must hold at least two distinct values")
        if distinct and (n_x := np.unique(x).size) < min_points:  # repeats pin nothing more
            raise ValueError(
                f"{where}: needs at least {min_points} distinct x, got {n_x} (in {x.size} points)"
            )
        order = np.argsort(x, kind="stable")
        out_x.append(x[order])
        out_y.append(y[order])
    return out_x, out_y


def _label(i: int, names) -> str:
    return f"curve {i}" if names is None else f"curve {names[i]!r}"


def _pad(xs, ys, masks=None, pad=(1, 0)):
    """Pad curves into ``(n_curves, n_points)`` arrays: each size is the bucket of the larger
    of the data's and ``pad``'s (minimum rows, minimum points)."""
    n_curves = bucket(max(len(xs), pad[0]), 1)
    n_points = bucket(max(max(x.size for x in xs), pad[1]), 8)
    log_x = np.zeros((n_curves, n_points))
    log_y = np.zeros((n_curves, n_points))
    w = np.zeros((n_curves, n_points))
    for i in range(n_curves):
        j = i if i < len(xs) else 0  # pad the batch with copies of the first curve
        n = xs[j].size
        log_x[i, :n], log_y[i, :n] = np.log(xs[j]), np.log(ys[j])
        log_x[i, n:], log_y[i, n:] = log_x[i, n - 1], log_y[i, n - 1]
        w[i, :n] = 1.0 if masks is None else masks[j]
    return log_x, log_y, w


def _run(par, n_iter, ridge, log_x, log_y, w, retry=False):
    shrink = _RETRY_SHRINK if retry else 1.0
    arrays = (log_x, log_y, w, ridge, np.asarray(shrink, np.float64))
    theta, loss, st = _fit_batch(par, n_iter, *(jnp.asarray(a) for a in arrays))
    return np.asarray(theta), np.asarray(loss), st


def _stats_row(st: Stats, i: int) -> dict[str, float]:
    return {name: float(np.asarray(val)[i]) for name, val in st._asdict().items()}


@float64
def fit_curves(
    family: str,
    xs: Sequence[np.ndarray],
    ys: Sequence[np.ndarray],
    *,
    n_breaks: int | None = None,
    n_iter: int = 100,
    holdout_fraction: float = 0.2,
    ridge: float = DEFAULT_RIDGE,
    names: Sequence[str] | None = None,
    pad_to: int | None = None,
) -> list[PointFit]:
    """Fit one family to many curves at once (multi-start Levenberg-Marquardt, one jit call).

    The floors (``eps_inf`` of M2 and M4, ``a`` of BNSL) are fitted as a fraction of the
    lowest fitted y, so a fitted floor lies below every run: on runs that have levelled off
    with noise it sits at the lowest noisy run (a review: 0.5% noise about a floor of 2 gave
    floors within 1e-4 of the lowest run on 10-12 of 12 curves, answering 0.15% low 300x
    out). Runs within about 2% of their floor (the first run at most 2% above it) can stop
    short of the minimum at the default ``n_iter``: a noise-free M2 curve whose first run is
    1% above its floor came back with ``eps_inf`` 1.31 instead of 2, 0.7% low at 300x;
    ``n_iter=400`` recovers it.

    Args:
        family: one of ``m1``, ``m2``, ``m3``, ``m4``, ``bnsl``.
        xs: per-curve x of the fitting points (1-D, > 0); curves may have different lengths.
        ys: per-curve y of the fitting points, each the length of its x (> 0).
        n_breaks: BNSL only. ``None`` (default) chooses 0-3 breaks per curve by the held-out
            error on the last ``holdout_fraction`` of its points (at least one point; a
            candidate needs more remaining points than parameters), then refits all points
            with the chosen number.
        n_iter: Levenberg-Marquardt iterations per start: a fixed budget with no stopping
            test, so a fit can stop short of the least-squares minimum, which acts as early
            stopping. At the default, 59% of the M4 fits of the bundled benchmarks reach the
            lowest loss found with 16x the budget to 1e-6 and 74% to 1%; a larger budget
            extrapolates better on some datasets and worse on others (measured by
            ``benchmarks/point_fit_budget.py``, docs/results/baselines.md). Raise it for a
            fit that must be the minimiser.
        holdout_fraction: see ``n_breaks``.
        ridge: weight of a ridge ``ridge**2 * |theta|^2`` on the normalised, unconstrained
            parameters added to the mean squared log residual (a Gaussian prior, i.e. a MAP
            fit). The default is too small to bias a typical fit, but not every one: it keeps
            a floor of about ``1e-5 min(y)`` that a pure power law does not have, which
            matters only for curves that fall by orders of magnitude beyond the runs (a
            review: ``y = 3 (x / 1e6)^-3`` from 4 runs 5x apart, 1.2% off at 10x and 13x
            at 100x beyond them; at ``c = -1`` 0.01-0.03% at 10x and 0.1-0.3% at 100x); pass
            ``ridge=0`` for such a curve. On an exactly flat curve (no noise) M4's slope is
            not identified and the ridge chooses one: six runs at one y over two decades
            fall 0.02% / 3% / 17% / 29% at 10x / 100x / 1000x / 10^4x beyond them, where
            ``ridge=0`` (and M2, M3, BNSL) stay flat. Larger values (about 3e-3) shrink
            poorly determined directions, which helps some extrapolations (BNSL on DD) at the
            price of biased fits of clean data.
        names: optional curve names, used in error messages instead of the curve's index.
        pad_to: pad every curve to at least this many points inside the compiled call
            (default: the longest curve's; calls are padded to at least 4 curves of 32
            points in any case). The fits depend on it only through float rounding (the
            sums run over padded arrays): M1-M4 fits agree to about 1e-8 relative (a review
            measured up to 1.6e-8 in IC's RMSLE between study batch sizes), but a BNSL fit
            whose starts end in local minima of almost the same loss can land in another
            one (measured: a loss of 2.63e-6 against 2.68e-6 for one noisy 8-point curve
            with one break). Calls whose curves
            are shorter than ``pad_to`` share one compiled program (a study passes its
            dataset's longest context, so that every batch compiles once). Internal groups
            (BNSL's choice of breaks, retries) are padded to the whole call's size for the
            same reason.

    Returns:
        One [`PointFit`][scalebayes.inference.PointFit] per curve, in order.

    Warns:
        RisingCurveWarning: once per call, naming the first curve whose y rises with x (an
            accuracy or a score, which the families fit into nonsense: give
            1 - accuracy or the loss), see
            [`RisingCurveWarning`][scalebayes.data.RisingCurveWarning].
        UntestedBreakWarning: BNSL with automatic breaks on curves too short to test the
            break it takes (see [`untested_break`][scalebayes.inference.untested_break]).

    Raises:
        ValueError: for an unknown family or bad data, naming the curve; also for a curve
            whose fit has no finite representation even after a retry from other starts
            (e.g. a natural parameter beyond float64's range), naming the curve and why.
    """
    family = str(family).lower()
    if family not in POINT_FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {POINT_FAMILIES}")
    if family != "bnsl" and n_breaks is not None:
        raise ValueError("n_breaks only applies to family 'bnsl'")
    if n_breaks is not None and not (is_integer(n_breaks) and 0 <= n_breaks <= MAX_BREAKS):
        raise ValueError(
            f"n_breaks must be None or an integer in 0..{MAX_BREAKS}, got {n_breaks!r}"
        )
    n_breaks = None if n_breaks is None else int(n_breaks)
    n_iter = check_integer("n_iter", n_iter, 1)
    if not (is_finite_real(ridge) and ridge >= 0):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    if not (is_real(holdout_fraction) and 0 < holdout_fraction < 1):
        raise ValueError(f"holdout_fraction must be a number in (0, 1), got {holdout_fraction!r}")
    if pad_to is not None and (
        isinstance(pad_to, bool) or not isinstance(pad_to, int | np.integer) or pad_to < 1
    ):
        raise ValueError(f"pad_to must be None or a positive integer, got {pad_to!r}")
    xs, ys = _validate(xs, ys, min_points=min_fit_points(family), names=names)
    labels = [_label(i, names) for i in range(len(xs))]
    _warn_if_rising(xs, ys, labels)
    names = None if names is None else [str(n) for n in names]
    # Internal groups (BNSL's break choice, retries, the finiteness check) are padded to the
    # whole call's shape, and every call to at least _FIT_MIN_SHAPE.
    longest = max(max(x.size for x in xs), 0 if pad_to is None else int(pad_to))
    pad = (max(len(xs), _FIT_MIN_SHAPE[0]), max(longest, _FIT_MIN_SHAPE[1]))
    if family == "bnsl" and n_breaks is None:
        fits = _fit_bnsl_auto(xs, ys, n_iter, holdout_fraction, ridge, labels, names, pad)
        _warn_if_untested(fits, labels)
        return fits
    k = 1 if n_breaks is None else n_breaks
    return _fit_checked(family, k, xs, ys, n_iter, ridge, labels, names, pad)


def _to_fit(par, family, theta, loss, st, x, y, k) -> PointFit:
    with np.errstate(over="ignore", under="ignore"):  # checked by _failure
        params = par.natural(theta, st)
    return PointFit(
        family=family,
        params=params,
        loss=float(loss),
        x=x,
        y=y,
        n_breaks=k if family == "bnsl" else None,
    )


def _fit_group(family, k, xs, ys, n_iter, ridge, names, heldout, retry, pad) -> list[PointFit]:
    par = get_parametrisation(family, k)
    theta, loss, st = _run(par, n_iter, ridge, *_pad(xs, ys, pad=pad), retry=retry)
    fits = []
    for i in range(len(xs)):
        fit = _to_fit(par, family, theta[i], loss[i], _stats_row(st, i), xs[i], ys[i], k)
        extra = {
            "heldout_errors": None if heldout is None else heldout[i],
            "name": None if names is None else names[i],
            "ridge": float(ridge),
        }
        fits.append(dataclasses.replace(fit, **extra))
    return fits


def _failure(fit: PointFit, fitted: np.ndarray) -> str | None:
    """Why a fit is unusable (``None`` if it is fine): non-finite loss, parameter or fitted y."""
    if not np.isfinite(fit.loss):
        return "the least-squares loss is not finite from any start"
    bad = [f"{name} = {value}" for name, value in fit.params.items() if not np.isfinite(value)]
    if bad:
        return (
            f"the fitted parameter {', '.join(bad)} is outside float64's range (the curve's "
            "magnitude is too extreme for the family's natural parameters, or its runs span "
            "too little of x to pin them down); divide y by a constant (e.g. its maximum), "
            "rescale x, or add runs further apart"
        )
    wrong = ~(np.isfinite(fitted) & (fitted > 0))
    if wrong.any():
        i = int(np.argmax(wrong))
        return (
            f"its natural parameters {fit.params} evaluate to {fitted[i]} at x = {fit.x[i]:.6g} "
            "(they cannot represent the fitted curve in float64); divide y by a constant "
            "(e.g. its maximum) or rescale x"
        )
    return None


def _failures(fits: Sequence[PointFit], pad) -> dict[int, str]:
    fitted = _predict_raw(fits, [f.x for f in fits], pad)
    reasons = {i: _failure(f, y) for i, (f, y) in enumerate(zip(fits, fitted, strict=True))}
    return {i: r for i, r in reasons.items() if r is not None}


def _fit_checked(family, k, xs, ys, n_iter, ridge, labels, names, pad, heldout=None):
    """Fit a group; refit the curves that fail from other starts; raise if one still fails.

    Each retry fits only the curves still failing, from shrunk starts with a larger ridge
    (``_RETRY_RIDGES``; the ridge is a traced argument and every group is padded to ``pad``,
    so the retries share one compilation).
    """
    fits = _fit_group(family, k, xs, ys, n_iter, ridge, names, heldout, False, pad)
    failed = _failures(fits, pad)
    for retry_ridge in _RETRY_RIDGES:
        if not failed:
            return fits
        bad = sorted(failed)

        def pick(seq, bad=bad):
            return None if seq is None else [seq[i] for i in bad]

        sub = [pick(xs), pick(ys), n_iter, max(ridge, retry_ridge), pick(names), pick(heldout)]
        again = _fit_group(family, k, *sub, True, pad)
        for i, fit in zip(bad, again, strict=True):
            fits[i] = fit
        failed = {bad[j]: reason for j, reason in _failures(again, pad).items()}
    if failed:
        i = min(failed)
        raise ValueError(
            f"{labels[i]}: the {family} fit has no finite representation, also after "
            f"{len(_RETRY_RIDGES)} retries from other starts: {failed[i]}"
        )
    return fits


def _fit_bnsl_auto(xs, ys, n_iter, holdout_fraction, ridge, labels, names, pad):
    """Choose 0-3 breaks per curve by held-out error, then refit each group on all points.

    The groups are padded to the whole batch (``pad``), so the refits reuse the held-out fits'
    compiled programs instead of compiling one per group size.
    """
    n = np.array([x.size for x in xs])
    n_hold = np.maximum(1, np.round(holdout_fraction * n)).astype(int)
    train_masks = [np.arange(m) < m - h for m, h in zip(n, n_hold, strict=True)]
    padded = _pad(xs, ys, pad=pad)
    train_w = _pad(xs, ys, train_masks, pad=pad)[2]
    held_w = padded[2] - train_w
    errors = np.full((len(xs), MAX_BREAKS + 1), np.inf)
    for k in range(MAX_BREAKS + 1):
        par = get_parametrisation("bnsl", k)
        allowed = (n - n_hold) > par.n_params
        if not allowed.any():
            continue
        theta, _, st = _run(par, n_iter, ridge, padded[0], padded[1], train_w)
        log_x = jnp.asarray(padded[0])
        log_pred = np.asarray(_log_predict_batch(par, jnp.asarray(theta), st, log_x))
        sq = held_w * (log_pred - padded[1]) ** 2
        err = (sq.sum(1) / np.maximum(held_w.sum(1), 1))[: len(xs)]
        errors[:, k] = np.where(allowed & np.isfinite(err), err, np.inf)
    choice = _choose_breaks(errors, n)
    out: list[PointFit | None] = [None] * len(xs)
    for k in np.unique(choice):
        idx = np.flatnonzero(choice == k)

        def pick(seq, idx=idx):
            return None if seq is None else [seq[i] for i in idx]

        heldout = [tuple(float(e) for e in errors[i]) for i in idx]
        fits = _fit_checked(
            "bnsl",
            int(k),
            pick(xs),
            pick(ys),
            n_iter,
            ridge,
            pick(labels),
            pick(names),
            pad,
            heldout,
        )
        for i, fit in zip(idx, fits, strict=True):
            out[i] = fit
    return out


class UntestedBreakWarning(UserWarning):
    """A BNSL fit with automatic breaks took the published one-break form on a curve too short
    to test a break on held-out points (at most 8 points with the default hold-out): such a
    break can send the curve anywhere beyond the runs. Pass ``n_breaks=0`` for a far
    question (measured in docs/results/baselines.md, "BNSL's untested break")."""


def untested_break(fit: PointFit) -> bool:
    """Whether ``fit`` is a BNSL fit with automatic breaks whose break its points could not
    test (see [`UntestedBreakWarning`][scalebayes.inference.UntestedBreakWarning])."""
    errors = fit.heldout_errors
    return bool(fit.n_breaks) and errors is not None and not np.isfinite(errors[1:]).any()


def _warn_if_rising(xs, ys, labels: Sequence[str]) -> None:
    """One `RisingCurveWarning` for a call's curves whose y rises (an accuracy, a score): the
    families fall, so such a fit answers nonsense (a review: an accuracy fitted by M2 passed
    1 at 100x, by M4 lay below the last run at every x, without a word)."""
    rising = [i for i, (x, y) in enumerate(zip(xs, ys, strict=True)) if rises(x, y)]
    if rising:
        i = rising[0]
        reading = "which the scaling-law families are not made for (a fitted accuracy can pass 1)"
        label = f"{labels[i]}{_more(len(rising) - 1)}"
        warn_if_rising(xs[i], ys[i], label, stacklevel=None, reading=reading)


def _more(n: int) -> str:
    """`` (and n more curves)`` for a warning that names one curve of ``n + 1``."""
    return "" if n < 1 else f" (and {n} more curve{'s' if n > 1 else ''})"


def _warn_if_untested(fits: Sequence[PointFit], labels: Sequence[str]) -> None:
    untested = [i for i, fit in enumerate(fits) if untested_break(fit)]
    if not untested:
        return
    i = untested[0]
    more = _more(len(untested) - 1)
    warn_at_caller(
        f"{labels[i]}{more}: {fits[i].x.size} points are too few to test a break on held-out "
        "points, so bnsl takes the published one-break form; such a break can send the curve "
        "anywhere beyond the runs (on the far10 splits, curves of at most 8 runs: RMSLE 0.32 "
        "with it, 0.15 without on IC, docs/results/baselines.md): for a far question pass "
        "n_breaks=0 (command line: --breaks 0)",
        UntestedBreakWarning,
    )


def _choose_breaks(errors: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per curve, the fewest breaks whose held-out error ties with the best (within tolerance).

    A curve too short to compare any candidate with breaks gets the published one-break form
    when it has at least as many points as that form's six parameters (the ridge keeps the fit
    determined), else no break.
    """
    best = np.min(errors, axis=1, keepdims=True)
    within = errors <= best * (1.0 + _BREAKS_REL_TOL) + _BREAKS_ABS_TOL
    choice = np.argmax(within, axis=1)
    too_short = ~np.isfinite(errors[:, 1:]).any(axis=1)
    one_break_ok = n >= get_parametrisation("bnsl", 1).n_params
    choice = np.where(too_short, np.where(one_break_ok, 1, 0), choice)
    return choice


def min_fit_points(family: str) -> int:
    """The fewest distinct x a point fit of ``family`` takes: 2 for M1 (two parameters, a
    pure power law), 3 for the others (a floor, an offset or breaks beside the power law)."""
    return 2 if str(family).strip().lower() == "m1" else 3


def fit_curve(family: str, x, y, **kwargs) -> PointFit:
    """Fit one curve; see [`fit_curves`][scalebayes.inference.fit_curves] for the arguments."""
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, str | bytes) and np.ndim(value) == 0:
            raise TypeError(
                f"fit_curve: {name} is one curve's points, an array of them; got the single "
                f"value {value!r}"
            )
    return fit_curves(family, [x], [y], **kwargs)[0]


# ---------------------------------------------------------------------------------------------
# batched prediction


@functools.partial(jax.jit, static_argnums=(0, 1))
def _predict_batch(family: str, n_breaks: int | None, params: dict, x):
    """The family at padded x, vmapped over fits: params ``{name: (n,)}``, x ``(n, m)``."""
    fam = get_family(family, n_breaks=n_breaks)
    return jax.vmap(lambda p, xi: fam(xi, p))(params, x)


@float64
def _predict_raw(
    fits: Sequence[PointFit], xs: Sequence[np.ndarray], pad=(1, 0)
) -> list[np.ndarray]:
    """Predictions of each fit at its (validated, 1-D float64) x, one compiled call per group.

    Every group is padded to at least ``pad`` = (fits, points per fit) before bucketing.
    """
    out: list[np.ndarray] = [np.empty(0)] * len(fits)
    groups: dict[tuple[str, int | None], list[int]] = {}
    for i, fit in enumerate(fits):
        groups.setdefault((fit.family, fit.n_breaks), []).append(i)
    for (family, n_breaks), idx in groups.items():
        names = get_family(family, n_breaks=n_breaks).param_names
        n_fits = bucket(max(len(idx), pad[0]), 1)
        n_x = bucket(max(max(xs[i].size for i in idx), pad[1]), 8)
        rows = [idx[j] if j < len(idx) else idx[0] for j in range(n_fits)]
        params = {
            name: jnp.asarray(np.array([fits[i].params[name] for i in rows], np.float64))
            for name in names
        }
        x = np.ones((n_fits, n_x))
        for j, i in enumerate(rows):
            x[j, : xs[i].size] = xs[i]
        y = np.asarray(_predict_batch(family, n_breaks, params, jnp.asarray(x)), np.float64)
        for j, i in enumerate(idx):
            out[i] = y[j, : xs[i].size]
    return out


def predict_fits(
    fits: Sequence[PointFit], xs: Sequence[ArrayLike], *, pad_to: int | None = None
) -> list[np.ndarray]:
    """Evaluate many point fits at once, each at its own x (float64).

    Fits are grouped by ``(family, n_breaks)``; each group is padded to power-of-two buckets
    (number of fits, and points per fit, at least 8) and evaluated by one jitted, vmapped call
    of the public family function, so a study compiles a handful of shapes, not one per curve.

    Args:
        fits: [`PointFit`][scalebayes.inference.PointFit]s, e.g. from
            [`fit_curves`][scalebayes.inference.fit_curves]; families may be mixed.
        xs: per fit, the x to predict at (any shape; finite, > 0).
        pad_to: pad every fit's x to at least this many points inside the compiled call
            (default: the largest x's size); the values do not depend on it, and calls with
            fewer points share one compiled program.

    Returns:
        One float64 array per fit, with the shape of its x.

    Raises:
        TypeError: for an entry of ``fits`` that is not a ``PointFit``.
        ValueError: for mismatched lengths, x that is not finite and > 0, or a fit whose
            curve leaves float64's range at one of its x (naming the fit and the x).
    """
    if isinstance(fits, PointFit):
        raise TypeError("predict_fits: fits must be a list of PointFits; for one fit pass [fit]")
    if isinstance(xs, str | bytes) or np.isscalar(xs) or getattr(xs, "shape", None) == ():
        raise TypeError(f"predict_fits: xs must hold one array of x per fit; got {xs!r}")
    fits, xs = list(fits), list(xs)
    if len(fits) != len(xs):
        raise ValueError(f"predict_fits: got {len(fits)} fits but {len(xs)} x arrays")
    arrays, labels = [], []
    for i, (fit, x) in enumerate(zip(fits, xs, strict=True)):
        if not isinstance(fit, PointFit):
            raise TypeError(f"predict_fits: fits[{i}] is a {type(fit).__name__}, not a PointFit")
        labels.append(f"fit {i}" if fit.name is None else f"fit {i} (curve {fit.name!r})")
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"predict_fits: xs[{i}] is not an array of numbers") from error
        except OverflowError:  # a Python int beyond float64, e.g. 10**400
            raise ValueError(
                f"predict_fits: xs[{i}] ({labels[i]}) must be finite and > 0; one is beyond float64"
            ) from None
        if np.any(~np.isfinite(x)) or np.any(x <= 0):
            raise ValueError(f"predict_fits: xs[{i}] ({labels[i]}) must be finite and > 0")
        arrays.append(x)
    if pad_to is not None and (
        isinstance(pad_to, bool) or not isinstance(pad_to, int | np.integer) or pad_to < 1
    ):
        raise ValueError(f"pad_to must be None or a positive integer, got {pad_to!r}")
    flat = _predict_raw(fits, [x.ravel() for x in arrays], (1, pad_to or 0))
    out = []
    for fit, x, y, label in zip(fits, arrays, flat, labels, strict=True):
        bad = ~np.isfinite(y)
        if bad.any():
            where = x.ravel()[int(np.argmax(bad))]
            raise ValueError(
                f"predict: the {fit.family} {label} is {y[int(np.argmax(bad))]} at "
                f"x = {where:.6g} (the fitted curve leaves float64's range there)"
            )
        out.append(y.reshape(x.shape))
    return out
