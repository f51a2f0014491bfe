r"""Bayesian M3, M4 and BNSL as NumPyro models in normalised units.

Every curve is modelled in its own normalised coordinates, so one set of weakly informative
priors fits curves whose x spans 1e3..1e9 as well as 1..100:

- ``v = (log x - u0) / s``, with ``u0`` and ``s`` the mean and (population) standard deviation
  of ``log x`` over the curve's context points, so the context spans roughly ``v in [-2, 2]``;
- ``y`` as the benchmark normalises it (IC and NLP losses in (0, 1); DD and Nano divided by
  the largest context y), and the likelihood on ``log y``:

  $$\log y_i \sim \mathcal{N}(\log f(x_i; \theta), \sigma) \quad\text{or}\quad
  \log y_i \sim t_\nu(\log f(x_i; \theta), \sigma)\ (\nu \text{ fixed}).$$

All latent sites are real-valued with Normal priors (so NUTS needs no constraining
transforms); the family's natural parameters are deterministic functions of them
(``BayesModel.natural``). ``y_min``, ``y_max`` and ``mean log y`` below are the curve's
context statistics. Priors (location, scale of a Normal):

| family | site | prior | meaning |
|---|---|---|---|
| all | ``log_sigma`` | N(-3.5, 1.5) | noise sd on log y; median 3 %, 95 % in 0.2 %..57 % |
| M3 | ``level`` | N(mean log y, 1) | log y at the centre of the context, ``v = 0`` |
| M3 | ``log_slope`` | N(-1.5, 1.5) | log of ``k = c s``: log-log slope per std of log x |
| M3 | ``saturation`` | N(2, 3) | where the curve flattens, in v: ``1/gamma = exp(u0 + s v_sat)`` |
| M4 | ``floor_logit`` | N(0, 1.5) | ``eps_inf = 1.1 y_min sigmoid(.)`` |
| M4 | ``log_span`` | N(log y_max, 1) | ``log(eps_0 - eps_inf)`` |
| M4 | ``log_alpha`` | N(0, 1) | ``log alpha`` |
| M4 | ``rhs_centre`` | N(0, 2.5) | ``log(w / (1-w)^alpha)`` at ``v = 0``; ``w`` in (floor, top) |
| M4 | ``log_slope`` | N(-1, 1.5) | log of ``-c s``: slope of that logit per std of log x |
| BNSL | ``floor_logit`` | N(0, 1.5) | ``a = 1.1 y_min sigmoid(.)`` |
| BNSL | ``level`` | N(mean log y, 2) | ``log(y - a)`` at ``v = 0`` |
| BNSL | ``slope0`` | N(0.5, 1.5) | ``k0 = c0 s``: first segment's log-log slope per std of log x |
| BNSL | ``break_loc`` | N(0, 1.5) | first break, in v: ``d_1 = exp(u0 + s delta_1)`` |
| BNSL | ``break_gap`` | N(0, 1) | ``log(delta_{i+1} - delta_i)``: ordered breaks, no label switch |
| BNSL | ``break_slope`` | N(0, 2) | ``k_i = c_i s``, change of slope at each break |
| BNSL | ``log_sharpness`` | N(-1, 1) | ``log phi_i``, ``f_i = s phi_i`` (small = sharp) |

M4 follows the exact implicit solve of [`scalebayes.families.m4`][]: with ``w`` the curve's
position between floor and plateau, ``log w - alpha log(1 - w) = rhs_centre - exp(log_slope) v``
(the family's ``log beta + c log x - (1 - alpha) log(eps_0 - eps_inf)``), solved by
[`scalebayes.families.m4_solve_logit`][] and differentiated implicitly.

BNSL, with ``phi``-softplus breaks recentred so that ``level`` is exactly ``log(y - a)`` at
``v = 0``: ``log(y - a) = level - k0 v - sum_i k_i phi_i [sp((v - delta_i)/phi_i) -
sp(-delta_i/phi_i)]``, the public [`scalebayes.families.bnsl`][] in normalised units. A batch
may mix curves with one and two breaks: ``CurveData.break_mask`` switches a break off, and the
parameters of a switched-off break are then draws from their prior.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import is_integer
from ..families import m4_solve_logit as solve_logit
from ._bayes_base import BayesModel, Prior

BAYES_FAMILIES = ("m3", "m4", "bnsl")
"""Families with a Bayesian model."""
MAX_BAYES_BREAKS = 2
"""The largest number of BNSL breaks the Bayesian model takes."""

_ALPHA_MAX = 50.0
# The floor (M4's eps_inf, BNSL's a) may lie up to 10 % above the smallest observed y: with
# noise, the data near a reached floor scatter on both sides of it.
_FLOOR_HEADROOM = 1.1


def _logit(p):
    return math.log(p) - math.log1p(-p)


def _sp(t):
    return jax.nn.softplus(t)


class _M3(BayesModel):
    def priors(self, data):
        return {
            "level": Prior(data.log_y_mean, 1.0),
            "log_slope": Prior(-1.5, 1.5),
            "saturation": Prior(2.0, 3.0),
        }

    def log_mean(self, z, v, data):
        c_s = jnp.exp(z["log_slope"])  # c * s
        g = -data.s * z["saturation"]
        c = c_s / data.s
        return z["level"] + c * (jnp.logaddexp(-data.s * v, g) - jnp.logaddexp(0.0, g))

    def natural(self, z, data):
        c = jnp.exp(z["log_slope"]) / data.s
        g = -data.s * z["saturation"]
        log_beta = z["level"] + c * data.u0 - c * jnp.logaddexp(0.0, g)
        return {
            "beta": jnp.exp(log_beta),
            "gamma": jnp.exp(-(data.u0 + data.s * z["saturation"])),
            "c": c,
        }

    def latents_from_params(self, params, data):
        s, u0 = float(data.s), float(data.u0)
        c = max(float(params["c"]), 1e-6)
        gamma = max(float(params["gamma"]), 1e-300)
        sat = (-math.log(gamma) - u0) / s
        g = -s * sat
        level = math.log(params["beta"]) - c * u0 + c * float(np.logaddexp(0.0, g))
        return {"level": level, "log_slope": math.log(c * s), "saturation": sat}


class _M4(BayesModel):
    def priors(self, data):
        return {
            "floor_logit": Prior(0.0, 1.5),
            "log_span": Prior(jnp.log(data.y_max), 1.0),
            "log_alpha": Prior(0.0, 1.0),
            "rhs_centre": Prior(0.0, 2.5),
            "log_slope": Prior(-1.0, 1.5),
        }

    def _parts(self, z, data):
        eps_inf = _FLOOR_HEADROOM * data.y_min * jax.nn.sigmoid(z["floor_logit"])
        alpha = jnp.clip(jnp.exp(z["log_alpha"]), 1e-3, _ALPHA_MAX)
        return eps_inf, z["log_span"], alpha

    def log_mean(self, z, v, data):
        eps_inf, log_span, alpha = self._parts(z, data)
        t = solve_logit(z["rhs_centre"] - jnp.exp(z["log_slope"]) * v, alpha)
        return jnp.logaddexp(jnp.log(eps_inf), log_span + jax.nn.log_sigmoid(t))

    def natural(self, z, data):
        eps_inf, log_span, alpha = self._parts(z, data)
        c = -jnp.exp(z["log_slope"]) / data.s
        # rhs = log beta + c log x - (1 - alpha) log span, and at v = 0 (log x = u0):
        log_beta = z["rhs_centre"] - c * data.u0 + (1.0 - alpha) * log_span
        return {
            "eps_inf": eps_inf,
            "eps_0": eps_inf + jnp.exp(log_span),
            "alpha": alpha,
            "beta": jnp.exp(log_beta),
            "c": c,
        }

    def latents_from_params(self, params, data):
        s, u0, y_min = float(data.s), float(data.u0), float(data.y_min)
        frac = min(max(float(params["eps_inf"]) / (_FLOOR_HEADROOM * y_min), 1e-3), 1 - 1e-3)
        span = max(float(params["eps_0"]) - float(params["eps_inf"]), 1e-6)
        alpha = max(float(params["alpha"]), 1e-3)
        c = float(params["c"])
        rhs_centre = math.log(params["beta"]) + c * u0 - (1.0 - alpha) * math.log(span)
        return {
            "floor_logit": _logit(frac),
            "log_span": math.log(span),
            "log_alpha": math.log(alpha),
            "rhs_centre": rhs_centre,
            "log_slope": math.log(max(-c * s, 1e-4)),
        }


class _BNSL(BayesModel):
    def priors(self, data):
        k = self.n_breaks
        out = {
            "floor_logit": Prior(0.0, 1.5),
            "level": Prior(data.log_y_mean, 2.0),
            "slope0": Prior(0.5, 1.5),
            "break_loc": Prior(0.0, 1.5),
        }
        if k > 1:
            out["break_gap"] = Prior(0.0, 1.0, (k - 1,))
        out["break_slope"] = Prior(0.0, 2.0, (k,))
        out["log_sharpness"] = Prior(-1.0, 1.0, (k,))
        return out

    def _breaks(self, z):
        delta = z["break_loc"][..., None]
        if self.n_breaks > 1:
            gaps = jnp.cumsum(jnp.exp(z["break_gap"]), axis=-1)
            delta = jnp.concatenate([delta, delta + gaps], axis=-1)
        return delta, z["break_slope"], jnp.exp(z["log_sharpness"])

    def log_mean(self, z, v, data):
        delta, k, phi = self._breaks(z)  # each (..., n_breaks)
        a = _FLOOR_HEADROOM * data.y_min * jax.nn.sigmoid(z["floor_logit"])
        vb = jnp.asarray(v)[..., None]
        bends = k * phi * (_sp((vb - delta) / phi) - _sp(-delta / phi))
        body = z["level"] - z["slope0"] * v - jnp.sum(data.break_mask * bends, axis=-1)
        return jnp.logaddexp(jnp.log(a), body)

    def natural(self, z, data):
        delta, k, phi = self._breaks(z)
        on = data.break_mask
        c0 = z["slope0"] / data.s
        log_b = z["level"] + c0 * data.u0 + jnp.sum(on * k * phi * _sp(-delta / phi), axis=-1)
        out = {
            "a": _FLOOR_HEADROOM * data.y_min * jax.nn.sigmoid(z["floor_logit"]),
            "b": jnp.exp(log_b),
            "c0": c0,
        }
        for i in range(self.n_breaks):
            # a switched-off break is reported as no break: c_i = 0 (d_i, f_i then irrelevant)
            out[f"c{i + 1}"] = on[..., i] * k[..., i] / data.s
            out[f"d{i + 1}"] = jnp.exp(data.u0 + data.s * delta[..., i])
            out[f"f{i + 1}"] = data.s * phi[..., i]
        return out

    def latents_from_params(self, params, data):
        s, u0, y_min = float(data.s), float(data.u0), float(data.y_min)
        n_fit = sum(1 for name in params if name.startswith("d"))
        order = sorted(range(1, n_fit + 1), key=lambda i: params[f"d{i}"])[: self.n_breaks]
        delta = [(math.log(params[f"d{i}"]) - u0) / s for i in order]
        k = [float(params[f"c{i}"]) * s for i in order]
        phi = [max(float(params[f"f{i}"]) / s, 1e-3) for i in order]
        c0 = float(params["c0"])
        log_b = math.log(params["b"])
        bends = sum(
            kk * pp * float(np.logaddexp(0.0, -dd / pp))
            for kk, pp, dd in zip(k, phi, delta, strict=True)
        )
        out = {
            "floor_logit": _logit(
                min(max(float(params["a"]) / (_FLOOR_HEADROOM * y_min), 1e-3), 1 - 1e-3)
            ),
            "level": log_b - c0 * u0 - bends,
            "slope0": c0 * s,
        }
        n = len(delta)
        # unused slots keep their prior locations (filled in by init_latents)
        pad = self.n_breaks - n
        if n:
            out["break_loc"] = delta[0]
        if self.n_breaks > 1:
            gaps = [math.log(max(b - a, 1e-2)) for a, b in itertools.pairwise(delta)]
            out["break_gap"] = np.array(gaps + [0.0] * (self.n_breaks - 1 - len(gaps)))
        out["break_slope"] = np.array(k + [0.0] * pad)
        out["log_sharpness"] = np.array([math.log(p) for p in phi] + [-1.0] * pad)
        return out


def bayes_model(
    family: str, *, n_breaks: int | None = None, noise: str = "normal", df: float = 5.0
) -> BayesModel:
    """The Bayesian model of a family.

    Args:
        family: ``"m3"``, ``"m4"`` or ``"bnsl"``.
        n_breaks: BNSL only: break slots, 1 or 2 (default 1; per-curve ``break_mask`` can
            switch the second off).
        noise: the noise model on log y: ``"normal"``, ``"student_t"``, ``"ou"``,
            ``"ou_irw"`` or ``"ou_walk"`` (see [`BayesModel`][scalebayes.inference.BayesModel]).
        df: degrees of freedom of the Student-t noise.

    Returns:
        The [`BayesModel`][scalebayes.inference.BayesModel].

    Raises:
        ValueError: for an unknown family, noise model or number of breaks.
    """
    family = str(family).lower()
    if family in ("m3", "m4") and n_breaks is not None:
        raise ValueError(f"n_breaks only applies to family 'bnsl', not {family!r}")
    if family == "m3":
        return _M3("m3", noise, df)
    if family == "m4":
        return _M4("m4", noise, df)
    if family == "bnsl":
        n_breaks = 1 if n_breaks is None else n_breaks
        if not (is_integer(n_breaks) and 1 <= n_breaks <= MAX_BAYES_BREAKS):
            raise ValueError(f"n_breaks must be 1 or {MAX_BAYES_BREAKS}, got {n_breaks!r}")
        return _BNSL("bnsl", noise, df, int(n_breaks))
    raise ValueError(f"no Bayesian model for family {family!r}; choose one of {BAYES_FAMILIES}")
