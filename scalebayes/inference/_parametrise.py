"""Unconstrained, well-conditioned parametrisations of the families for fitting.

Fits work in ``v = (log x - u0) / s`` (centred and scaled log x of the fitting points) and in
``log y - ly0`` with ``ly0 = max log y`` (so the largest fitted y is 1 and a curve's magnitude,
1e-300 or 1e300, changes nothing but ``ly0``). Each family maps an unconstrained vector
``theta`` to ``log y_hat(v) - ly0``, proposes a grid of data-driven starting points, and maps
``theta`` back to the family's natural parameters (in raw x and raw y, computed in log space
so that no intermediate overflows), so that ``PointFit.predict`` evaluates the public family
function. Everything that depends on the data's y is computed from log y: no ``exp`` of a raw
log y, which overflows for y near 1e308 or leaves only a floor for y near 1e-300.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..families import m4_solve_logit as solve_logit

_ALPHA_MAX = 50.0


class Stats(NamedTuple):
    """Per-curve statistics of the fitting points (all scalars)."""

    u0: jax.Array  # mean of log x
    s: jax.Array  # std of log x (at least 1e-3)
    ly0: jax.Array  # max log y: the fit works in log y - ly0
    log_y_min: jax.Array  # min log y - ly0 (<= 0)
    v_min: jax.Array
    v_max: jax.Array


def _wls(v, z, w):
    """Weighted least-squares line ``z ~ a + k v``; returns ``(a, k)``."""
    sw = jnp.sum(w)
    vm = jnp.sum(w * v) / sw
    zm = jnp.sum(w * z) / sw
    var = jnp.sum(w * (v - vm) ** 2)
    k = jnp.where(var > 0, jnp.sum(w * (v - vm) * (z - zm)) / jnp.where(var > 0, var, 1.0), 0.0)
    return zm - k * vm, k


def _log_sigmoid(t):
    """``log(sigmoid(t))`` in numpy (the natural-parameter maps run on the host)."""
    return -np.logaddexp(0.0, -t)


def _log_minus(log_y, log_e):
    """``log(y - e)`` from ``log y`` and ``log e``, with y - e floored at 1e-12 y.

    Fitting points have ``e < y``; masked (held-out or padding) points may not, and must stay
    finite because they enter weighted sums with weight 0.
    """
    ratio = jnp.minimum(jnp.exp(log_e - log_y), 1.0 - 1e-12)
    return log_y + jnp.log1p(-ratio)


@dataclass(frozen=True)
class Parametrisation:
    """How one family is fitted. Subclasses define ``log_predict``, ``starts``, ``natural``."""

    name: str
    n_params: int

    def log_predict(self, theta, v, st: Stats):  # pragma: no cover - interface
        raise NotImplementedError

    def starts(self, v, log_y, w, st: Stats):  # pragma: no cover - interface
        raise NotImplementedError

    def natural(self, theta: np.ndarray, st: dict) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError


class _M1(Parametrisation):
    # log y = b + k v;  c = k / s, log beta = b - k u0 / s
    def log_predict(self, theta, v, st):
        return theta[0] + theta[1] * v

    def starts(self, v, log_y, w, st):
        a, k = _wls(v, log_y, w)
        return jnp.stack([a, k])[None]

    def natural(self, theta, st):
        c = theta[1] / st["s"]
        return {"beta": float(np.exp(theta[0] - c * st["u0"] + st["ly0"])), "c": float(c)}


_FLOOR_FRACTIONS = (-4.0, -1.0, 0.5, 2.0, 4.0)


class _M2(Parametrisation):
    # y = e + exp(b + k v), e = y_min * sigmoid(t_e)
    def log_predict(self, theta, v, st):
        log_e = st.log_y_min + jax.nn.log_sigmoid(theta[0])
        return jnp.logaddexp(log_e, theta[1] + theta[2] * v)

    def starts(self, v, log_y, w, st):
        out = []
        for te in _FLOOR_FRACTIONS:
            z = _log_minus(log_y, st.log_y_min + jax.nn.log_sigmoid(te))
            a, k = _wls(v, z, w)
            out.append(jnp.stack([jnp.asarray(te, a.dtype), a, k]))
        return jnp.stack(out)

    def natural(self, theta, st):
        c = theta[2] / st["s"]
        return {
            "eps_inf": float(np.exp(st["ly0"] + st["log_y_min"] + _log_sigmoid(theta[0]))),
            "beta": float(np.exp(theta[1] - c * st["u0"] + st["ly0"])),
            "c": float(c),
        }


class _M3(Parametrisation):
    # log y = b + c * logaddexp(-s v, g), c = exp(t_c); g = log gamma + u0; b = log beta - c u0
    def log_predict(self, theta, v, st):
        c = jnp.exp(theta[1])
        return theta[0] + c * jnp.logaddexp(-st.s * v, theta[2])

    def starts(self, v, log_y, w, st):
        _, k = _wls(v, log_y, w)
        c_hat = jnp.maximum(-k / st.s, 1e-3)
        out = []
        for v_star, scale in itertools.product((-1.0, 0.0, 1.0, 2.0, 4.0), (0.5, 1.0, 2.0)):
            g = -st.s * (st.v_min + (v_star + 1.0) * (st.v_max - st.v_min) / 2.0)
            c = c_hat * scale
            b = jnp.sum(w * (log_y - c * jnp.logaddexp(-st.s * v, g))) / jnp.sum(w)
            out.append(jnp.stack([b, jnp.log(c), g]))
        return jnp.stack(out)

    def natural(self, theta, st):
        c = float(np.exp(theta[1]))
        return {
            "beta": float(np.exp(theta[0] + c * st["u0"] + st["ly0"])),
            "gamma": float(np.exp(theta[2] - st["u0"])),
            "c": c,
        }


def _m4_parts(theta, st):
    log_e_inf = st.log_y_min + jax.nn.log_sigmoid(theta[0])
    alpha = jnp.clip(jnp.exp(theta[2]), 1e-3, _ALPHA_MAX)
    k = -jnp.exp(theta[4])
    return log_e_inf, theta[1], alpha, theta[3], k


class _M4(Parametrisation):
    # in units of max y: e_inf = y_min sigmoid(t0), eps_0 = e_inf + exp(t1), alpha = exp(t2),
    # log beta + c log x = b + k v with k = -exp(t4) (falling curves)
    def log_predict(self, theta, v, st):
        log_e_inf, log_span, alpha, b, k = _m4_parts(theta, st)
        rhs = b + k * v - (1.0 - alpha) * log_span
        t = solve_logit(rhs, alpha)
        return jnp.logaddexp(log_e_inf, log_span + jax.nn.log_sigmoid(t))

    def starts(self, v, log_y, w, st):
        y = jnp.exp(log_y)  # <= 1: log y is relative to its maximum
        grid = itertools.product((-3.0, 0.0, 3.0), (1.002, 1.05, 1.5), (0.5, 1.0, 2.0))
        te, top, alpha = (jnp.asarray(a, log_y.dtype) for a in zip(*grid, strict=True))

        def one(te, top, alpha):
            e_inf = jnp.exp(st.log_y_min) * jax.nn.sigmoid(te)
            span = top - e_inf
            wv = jnp.clip((y - e_inf) / span, 1e-6, 1 - 1e-6)
            z = jnp.log(wv) - alpha * jnp.log1p(-wv) + (1.0 - alpha) * jnp.log(span)
            b, k = _wls(v, z, w)
            return jnp.stack([te, jnp.log(span), jnp.log(alpha), b, jnp.log(jnp.maximum(-k, 1e-3))])

        # one vectorised program over the 27 starts (written out one by one, the starts alone
        # took 1.4 s of a first M4 fit's compilation)
        return jax.vmap(one)(te, top, alpha)

    def natural(self, theta, st):
        # raw y = exp(ly0) y_fit: (y - e) / (e0 - y)^alpha scales by exp((1 - alpha) ly0)
        log_e_inf = st["ly0"] + st["log_y_min"] + _log_sigmoid(theta[0])
        alpha = float(np.clip(np.exp(theta[2]), 1e-3, _ALPHA_MAX))
        c = -float(np.exp(theta[4])) / st["s"]
        return {
            "eps_inf": float(np.exp(log_e_inf)),
            "eps_0": float(np.exp(np.logaddexp(log_e_inf, st["ly0"] + theta[1]))),
            "alpha": alpha,
            "beta": float(np.exp(theta[3] - c * st["u0"] + (1.0 - alpha) * st["ly0"])),
            "c": c,
        }


# Starting grid of a BNSL break: position as a fraction of the fitted log-x range (1.1 is just
# beyond the data), slope change in units of the overall log-log slope.
_BNSL_POSITIONS = (0.2, 0.4, 0.6, 0.8, 1.1)
_BNSL_SLOPES = (-0.5, 0.5)


@dataclass(frozen=True)
class _BNSL(Parametrisation):
    # log(y - a) = B - k0 v + sum_i -k_i phi_i softplus((v - delta_i) / phi_i)
    # theta = [t_a, B, k0, (delta_i, k_i, log phi_i) * n]
    n_breaks: int = 1
    max_starts: int = 64

    def log_predict(self, theta, v, st):
        log_a = st.log_y_min + jax.nn.log_sigmoid(theta[0])
        body = theta[1] - theta[2] * v
        for i in range(self.n_breaks):
            delta, k, phi = theta[3 + 3 * i], theta[4 + 3 * i], jnp.exp(theta[5 + 3 * i])
            body = body - k * phi * jax.nn.softplus((v - delta) / phi)
        return jnp.logaddexp(log_a, body)

    def starts(self, v, log_y, w, st):
        n = self.n_breaks
        te_values = (-3.0, 0.0, 3.0)  # plateau starts: a = y_min sigmoid(te)
        positions = _BNSL_POSITIONS
        slopes = _BNSL_SLOPES
        combos = [
            (te, pos, sl)
            for te in te_values
            for pos in itertools.combinations(positions, n)
            for sl in itertools.product(slopes, repeat=n)
        ]
        if len(combos) > self.max_starts:
            idx = np.linspace(0, len(combos) - 1, self.max_starts).round().astype(int)
            combos = [combos[i] for i in idx]
        # one vectorised program (written out start by start, the starts were 64 copies of
        # the same few operations): the line through log(y - a) for each plateau start, then
        # the breaks of each combination
        te = jnp.asarray(te_values, log_y.dtype)

        def line(te):
            return _wls(v, _log_minus(log_y, st.log_y_min + jax.nn.log_sigmoid(te)), w)

        b0, k = jax.vmap(line)(te)
        which = np.array([te_values.index(c[0]) for c in combos])
        pos = jnp.asarray(np.array([c[1] for c in combos]).reshape(len(combos), n), log_y.dtype)
        slope = jnp.asarray(np.array([c[2] for c in combos]).reshape(len(combos), n), log_y.dtype)
        b0, k = b0[which], k[which]
        scale = jnp.abs(k) + 0.1
        breaks = jnp.stack(
            [
                st.v_min + pos * (st.v_max - st.v_min),
                slope * scale[:, None],
                jnp.broadcast_to(jnp.log(jnp.asarray(0.3, b0.dtype)), pos.shape),
            ],
            axis=-1,
        ).reshape(len(combos), 3 * n)
        head = jnp.stack([te[which], b0, -k], axis=-1)
        return jnp.concatenate([head, breaks], axis=-1)

    def natural(self, theta, st):
        s, u0 = st["s"], st["u0"]
        c0 = float(theta[2] / s)
        out = {
            "a": float(np.exp(st["ly0"] + st["log_y_min"] + _log_sigmoid(theta[0]))),
            "b": float(np.exp(theta[1] + c0 * u0 + st["ly0"])),
            "c0": c0,
        }
        for i in range(self.n_breaks):
            delta, k, log_phi = theta[3 + 3 * i : 6 + 3 * i]
            out[f"c{i + 1}"] = float(k / s)
            out[f"d{i + 1}"] = float(np.exp(u0 + s * delta))
            out[f"f{i + 1}"] = float(s * np.exp(log_phi))
        return out


def get_parametrisation(family: str, n_breaks: int = 1) -> Parametrisation:
    """The fitting parametrisation of a family (``n_breaks`` for BNSL)."""
    if family == "m1":
        return _M1("m1", 2)
    if family == "m2":
        return _M2("m2", 3)
    if family == "m3":
        return _M3("m3", 3)
    if family == "m4":
        return _M4("m4", 5)
    if family == "bnsl":
        return _BNSL("bnsl", 3 + 3 * n_breaks, n_breaks=n_breaks)
    raise ValueError(f"no point fit for family {family!r}; choose one of m1, m2, m3, m4, bnsl")
