"""Fast multi-start least-squares fits of the scaling-law families.

All curves of a batch and all starting points are fitted at once: the data are padded into
``(n_curves, n_points)`` arrays with a mask, the per-curve fit (Levenberg-Marquardt from every
start, keep the best) is ``vmap``-ed over starts and curves, and the whole batch is one ``jit``
call. Shapes are bucketed to powers of two so a study compiles a handful of times, not once per
curve.

The objective is the reference estimators' space: log residuals,
``mean((log y_hat(x) - log y)^2)`` over the fitting points, plus a tiny ridge on the
(normalised, unconstrained) parameters that keeps unidentifiable directions finite.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from ..families import get_family
from ._lm import levenberg_marquardt
from ._parametrise import Parametrisation, Stats, get_parametrisation
from ._x64 import x64

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
# BNSL break selection: held-out mean squared log errors closer than this count as ties.
_BREAKS_REL_TOL = 0.5
_BREAKS_ABS_TOL = 1e-4


@dataclass(frozen=True)
class PointFit:
    """A fitted curve.

    Attributes:
        family: family name.
        params: the family's natural parameters (in raw x units), by name.
        loss: mean squared log residual over the fitting points.
        x, y: the fitting points.
        n_breaks: for BNSL, the number of breaks used (else ``None``).
        heldout_errors: for BNSL with automatic breaks, the held-out mean squared log error of
            each candidate number of breaks (``inf`` where a candidate had too few points).
    """

    family: str
    params: dict[str, float]
    loss: float
    x: np.ndarray
    y: np.ndarray
    n_breaks: int | None = None
    heldout_errors: tuple[float, ...] | None = field(default=None)

    def predict(self, x) -> np.ndarray:
        """The fitted curve at ``x`` (any shape, > 0), as float64."""
        x = np.asarray(x, dtype=np.float64)
        if np.any(~np.isfinite(x)) or np.any(x <= 0):
            raise ValueError("predict: x must be finite and > 0")
        fam = get_family(self.family, n_breaks=self.n_breaks)
        with x64():
            return np.asarray(fam(jnp.asarray(x), self.params), dtype=np.float64)

    @property
    def fitted(self) -> np.ndarray:
        """The fitted curve at the fitting points."""
        return self.predict(self.x)


def _bucket(n: int, minimum: int = 8) -> int:
    return max(minimum, 1 << (int(n) - 1).bit_length())


def _stats(v_raw, w) -> Stats:
    """Statistics from raw log x (v_raw) and weights; v is centred and scaled afterwards."""
    sw = jnp.sum(w)
    u0 = jnp.sum(w * v_raw) / sw
    s = jnp.maximum(jnp.sqrt(jnp.sum(w * (v_raw - u0) ** 2) / sw), 1e-3)
    return u0, s


def _fit_one(par: Parametrisation, n_iter: int, log_x, log_y, w, ridge):
    """Fit one padded curve: returns (theta, loss, stats tuple)."""
    u0, s = _stats(log_x, w)
    v = (log_x - u0) / s
    big = jnp.asarray(1e30, log_y.dtype)
    y_min = jnp.exp(jnp.min(jnp.where(w > 0, log_y, big)))
    y_max = jnp.exp(jnp.max(jnp.where(w > 0, log_y, -big)))
    v_min = jnp.min(jnp.where(w > 0, v, big))
    v_max = jnp.max(jnp.where(w > 0, v, -big))
    st = Stats(u0, s, y_min, y_max, v_min, v_max)
    sqrt_w = jnp.sqrt(w / jnp.sum(w))

    def residual(theta, ridge):
        r = sqrt_w * (par.log_predict(theta, v, st) - log_y)
        return jnp.concatenate([r, ridge * theta])

    def solve(theta0, n, ridge, damping0=1e-2):
        return levenberg_marquardt(lambda t: residual(t, ridge), theta0, n, damping0)

    # Successive halving of the starts: a few iterations from every start, then the
    # remaining iterations from the most promising ones only.
    starts = par.starts(v, log_y, w, st)
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
def _fit_batch(par: Parametrisation, n_iter: int, log_x, log_y, w, ridge):
    return jax.vmap(lambda a, b, c: _fit_one(par, n_iter, a, b, c, ridge))(log_x, log_y, w)


@functools.partial(jax.jit, static_argnums=(0,))
def _log_predict_batch(par: Parametrisation, theta, st: Stats, log_x):
    def one(th, st_one, lx):
        return par.log_predict(th, (lx - st_one.u0) / st_one.s, st_one)

    return jax.vmap(one)(theta, st, log_x)


def _validate(xs, ys, min_points: int, names=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if names is not None and len(names) != len(xs):
        raise ValueError(f"got {len(names)} names for {len(xs)} curves")
    if len(xs) != len(ys):
        raise ValueError(f"got {len(xs)} x arrays but {len(ys)} y arrays")
    if len(xs) == 0:
        raise ValueError("no curves to fit")
    out_x, out_y = [], []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        where = f"curve {i}" if names is None else f"curve {names[i]!r}"
        if x.shape != y.shape:
            raise ValueError(f"{where}: x has {x.size} points but y has {y.size}")
        if x.size < min_points:
            raise ValueError(f"{where}: needs at least {min_points} points, got {x.size}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError(f"{where}: x and y must be finite (found NaN or inf)")
        if np.any(x <= 0) or np.any(y <= 0):
            raise ValueError(f"{where}: x and y must be > 0 (fits are in log space)")
        order = np.argsort(x, kind="stable")
        out_x.append(x[order])
        out_y.append(y[order])
    return out_x, out_y


def _pad(xs, ys, masks=None):
    n_curves = _bucket(len(xs), minimum=1)
    n_points = _bucket(max(x.size for x in xs))
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


def _run(par, n_iter, ridge, log_x, log_y, w):
    arrays = (jnp.asarray(log_x), jnp.asarray(log_y), jnp.asarray(w), jnp.asarray(ridge))
    theta, loss, st = _fit_batch(par, n_iter, *arrays)
    return np.asarray(theta), np.asarray(loss), st


def _stats_row(st: Stats, i: int) -> dict[str, float]:
    return {name: float(np.asarray(val)[i]) for name, val in st._asdict().items()}


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
) -> list[PointFit]:
    """Fit one family to many curves at once (multi-start Levenberg-Marquardt, one jit call).

    Args:
        family: one of ``m1``, ``m2``, ``m3``, ``m4``, ``bnsl``.
        xs: per-curve x of the fitting points (1-D, > 0); curves may have different lengths.
        ys: per-curve y of the fitting points, each the length of its x (> 0).
        n_breaks: BNSL only. ``None`` (default) chooses 0-3 breaks per curve by the held-out
            error on the last ``holdout_fraction`` of its points (at least one point; a
            candidate needs more remaining points than parameters), then refits all points
            with the chosen number.
        n_iter: Levenberg-Marquardt iterations per start.
        holdout_fraction: see ``n_breaks``.
        ridge: weight of a ridge ``ridge**2 * |theta|^2`` on the normalised, unconstrained
            parameters added to the mean squared log residual (a Gaussian prior, i.e. a MAP
            fit). The default is too small to bias a fit; larger values (about 3e-3) shrink
            poorly determined directions, which helps some extrapolations (BNSL on DD) at the
            price of biased fits of clean data.
        names: optional curve names, used in error messages instead of the curve's index.

    Returns:
        One [`PointFit`][scalebayes.inference.PointFit] per curve, in order.

    Raises:
        ValueError: for an unknown family or bad data, naming the curve.
    """
    family = str(family).lower()
    if family not in POINT_FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {POINT_FAMILIES}")
    if family != "bnsl" and n_breaks is not None:
        raise ValueError("n_breaks only applies to family 'bnsl'")
    if n_breaks is not None and not (isinstance(n_breaks, int) and 0 <= n_breaks <= MAX_BREAKS):
        raise ValueError(
            f"n_breaks must be None or an integer in 0..{MAX_BREAKS}, got {n_breaks!r}"
        )
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge must be finite and >= 0, got {ridge}")
    if not 0 < holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    xs, ys = _validate(xs, ys, min_points=2 if family == "m1" else 3, names=names)
    with x64():
        if family == "bnsl" and n_breaks is None:
            return _fit_bnsl_auto(xs, ys, n_iter, holdout_fraction, ridge)
        k = 1 if n_breaks is None else n_breaks
        par = get_parametrisation(family, k)
        theta, loss, st = _run(par, n_iter, ridge, *_pad(xs, ys))
        return [
            _to_fit(par, family, theta[i], loss[i], _stats_row(st, i), xs[i], ys[i], k)
            for i in range(len(xs))
        ]


def _to_fit(par, family, theta, loss, st, x, y, k, heldout=None) -> PointFit:
    return PointFit(
        family=family,
        params=par.natural(theta, st),
        loss=float(loss),
        x=x,
        y=y,
        n_breaks=k if family == "bnsl" else None,
        heldout_errors=heldout,
    )


def _fit_bnsl_auto(xs, ys, n_iter, holdout_fraction, ridge):
    n = np.array([x.size for x in xs])
    n_hold = np.maximum(1, np.round(holdout_fraction * n)).astype(int)
    train_masks = [np.arange(m) < m - h for m, h in zip(n, n_hold, strict=True)]
    padded = _pad(xs, ys)
    train_w = _pad(xs, ys, train_masks)[2]
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
        par = get_parametrisation("bnsl", int(k))
        sub_x, sub_y = [xs[i] for i in idx], [ys[i] for i in idx]
        theta, loss, st = _run(par, n_iter, ridge, *_pad(sub_x, sub_y))
        for j, i in enumerate(idx):
            heldout = tuple(float(e) for e in errors[i])
            row = _stats_row(st, j)
            out[i] = _to_fit(par, "bnsl", theta[j], loss[j], row, xs[i], ys[i], int(k), heldout)
    return out


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


def fit_curve(family: str, x, y, **kwargs) -> PointFit:
    """Fit one curve; see [`fit_curves`][scalebayes.inference.fit_curves] for the arguments."""
    return fit_curves(family, [x], [y], **kwargs)[0]
