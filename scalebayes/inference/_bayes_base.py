r"""The shared part of the Bayesian curve models: normalised data, priors and noise on log y.

Every curve is modelled in its own normalised coordinates, so one set of weakly informative
priors fits curves whose x spans 1e3..1e9 as well as 1..100:

- ``v = (log x - u0) / s``, with ``u0`` and ``s`` the mean and (population) standard deviation
  of ``log x`` over the curve's context points, so the context spans roughly ``v in [-2, 2]``;
- ``y`` as the benchmark normalises it (IC and NLP losses in (0, 1); DD and Nano divided by
  the largest context y), and the likelihood on ``log y`` (i.i.d. Normal, i.i.d. Student-t or
  Ornstein-Uhlenbeck residuals; see [`BayesModel`][scalebayes.inference.BayesModel]).

The families themselves (M3, M4, BNSL) and their priors are in ``_bayes_models.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from .._checks import is_finite_real, is_integer
from ._discrepancy import OU_VAR_FLOOR as _OU_VAR_FLOOR
from ._discrepancy import (
    irw_conditional,
    irw_joint_conditional,
    irw_log_likelihood,
    irw_sample,
    walk_covariance,
)

OU_NOISE_MODELS = ("ou", "ou_irw", "ou_walk")
"""The noise models with Ornstein-Uhlenbeck residuals (one path in log x)."""
NOISE_MODELS = ("normal", "student_t", *OU_NOISE_MODELS)
"""Noise models on log y: i.i.d. Normal, i.i.d. Student-t, Ornstein-Uhlenbeck residuals, OU
residuals plus a random walk of the log-log slope from the first context point (``"ou_irw"``),
and OU residuals plus such a walk beyond the last context point only (``"ou_walk"``)."""

_SIGMA_PRIOR = (-3.5, 1.5)
_LENGTH_PRIOR = (math.log(0.3), 1.5)
_DIFFUSION_PRIOR = (-2.6, 1.5)
_DRIFT_PRIOR = (-3.5, 1.5)  # as sigma's: the slope drifts by ~3 % per unit v^(1/2)
_INIT_CLIP = 3.0  # initial latents are clipped to prior location +- this many prior scales


class CurveData(NamedTuple):
    """One curve's context data in normalised units (a pytree; batch it by stacking).

    Attributes:
        v: centred, scaled log x of the context points, ``(log x - u0) / s``, shape
            ``(n_points,)`` padded to the batch length.
        log_y: log y of the context points, shape ``(n_points,)`` (padding repeats the last).
        mask: 1.0 for a real point, 0.0 for padding, shape ``(n_points,)``.
        u0: mean of log x over the context points.
        s: population standard deviation of log x over the context points (at least 1e-3).
        y_min: smallest context y.
        y_max: largest context y.
        log_y_mean: mean of log y over the context points.
        break_mask: BNSL only: 1.0 for an active break, shape ``(max_breaks,)`` (else empty).
    """

    v: jax.Array
    log_y: jax.Array
    mask: jax.Array
    u0: jax.Array
    s: jax.Array
    y_min: jax.Array
    y_max: jax.Array
    log_y_mean: jax.Array
    break_mask: jax.Array


def curve_data(
    x: np.ndarray, y: np.ndarray, n_points: int | None = None, break_mask=()
) -> CurveData:
    """Normalise one curve's context points (a [`CurveData`][scalebayes.inference.CurveData]).

    The leaves are float64 numpy arrays. The points are sorted by x here: the correlated
    noise models read them in order (their likelihood of unsorted points was garbage).

    Args:
        x: context x, 1-D, > 0, in any order.
        y: context y, 1-D, > 0, the length of ``x``.
        n_points: pad to this many points (at least ``len(x)``); default ``len(x)``.
        break_mask: BNSL only: 1/0 per break slot.

    Returns:
        The curve's ``CurveData``.

    Raises:
        ValueError: if ``x`` and ``y`` are not 1-D of one length with finite values > 0, or
            ``n_points`` is below their length.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 1 or y.shape != x.shape or x.size == 0:
        raise ValueError(
            f"curve_data: x and y must be 1-D of one length, got shapes {x.shape} and {y.shape}"
        )
    if not (np.all(np.isfinite(x) & (x > 0)) and np.all(np.isfinite(y) & (y > 0))):
        raise ValueError("curve_data: x and y must be finite and > 0 (the model is in log space)")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    n = x.size
    n_points = n if n_points is None else n_points
    if not is_integer(n_points) or n_points < n:
        raise ValueError(f"curve_data: n_points must be an integer >= len(x) = {n}, got {n_points}")
    lx, ly = np.log(x), np.log(y)
    u0 = lx.mean()
    s = max(float(lx.std()), 1e-3)
    pad = n_points - n
    return CurveData(
        v=np.concatenate([(lx - u0) / s, np.full(pad, (lx[-1] - u0) / s)]),
        log_y=np.concatenate([ly, np.full(pad, ly[-1])]),
        mask=np.concatenate([np.ones(n), np.zeros(pad)]),
        u0=np.float64(u0),
        s=np.float64(s),
        y_min=np.float64(np.exp(ly.min())),
        y_max=np.float64(np.exp(ly.max())),
        log_y_mean=np.float64(ly.mean()),
        break_mask=np.asarray(break_mask, np.float64),
    )


class Prior(NamedTuple):
    """Normal prior of one real latent site: location, scale and shape (``()`` for scalars)."""

    loc: jax.Array | float
    scale: float
    shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class BayesModel:
    """A Bayesian scaling-law family: a NumPyro model over one curve's ``CurveData``.

    Call it as a NumPyro model, ``model(data)``; the observed site is ``"log_y"`` (masked to
    the real points). Subclasses define the latent sites (``priors``), the mean curve
    (``log_mean``), the map to natural parameters and the initial latents from a point fit.

    Noise models on the residual ``e = log y - log f(x)``:

    - ``"normal"``: i.i.d. ``N(0, sigma)``;
    - ``"student_t"``: i.i.d. Student-t with ``df`` degrees of freedom and scale ``sigma``;
    - ``"ou"``: an Ornstein-Uhlenbeck process in ``v`` with stationary sd ``sigma`` and
      correlation length ``ell`` (site ``log_corr_length``, prior N(log 0.3, 1.5)):
      ``corr(e_i, e_j) = exp(-|v_i - v_j| / ell)``. Systematic misfit makes residuals of
      neighbouring points alike; i.i.d. noise then overstates how much the data pin the curve
      down. The OU likelihood is exact and O(n) (the process is Markov), and the predictive at
      a new x conditions on the residuals of the neighbouring context points.
    - ``"ou_irw"``: the OU residuals plus ``delta(v)``, a random walk of the log-log slope
      from the first context point ``v_1`` (an integrated Brownian motion with diffusion
      ``tau``, site ``log_drift``, prior N(-3.5, 1.5)):
      ``Cov(delta(v), delta(w)) = tau^2 a^2 (3 b - a) / 6`` with ``a, b`` the smaller and
      larger of ``v - v_1, w - v_1``. A shape misfit of the family that grows with the
      distance from the context: beyond it the predictive variance does not saturate
      (about ``tau^2 h^3 / 3`` more at a distance ``h``). Exact O(n) likelihood by a Kalman
      filter; see ``_discrepancy.py``.
    - ``"ou_walk"``: the OU residuals, and beyond the last context point ``v_n`` a random walk
      of the log-log slope started there with value and slope 0 (diffusion ``tau``, site
      ``log_drift``, the same prior): inside the context the model is the OU model, so the
      data do not inform ``tau`` (its posterior is its prior) and the walk cannot take the
      place of the family's own bend; a target at ``h = v - v_n > 0`` gets ``tau^2 h^3 / 3``
      more variance in log y. As cheap as ``"ou"``.

    Attributes:
        family: ``"m3"``, ``"m4"`` or ``"bnsl"``.
        noise: ``"normal"``, ``"student_t"``, ``"ou"``, ``"ou_irw"`` or ``"ou_walk"``.
        df: degrees of freedom of the Student-t noise (fixed; ignored otherwise).
        n_breaks: BNSL only: the number of break slots (1 or 2).
    """

    family: str
    noise: str = "normal"
    df: float = 5.0
    n_breaks: int = 0

    def __post_init__(self):
        if self.noise not in NOISE_MODELS:
            raise ValueError(f"noise must be one of {NOISE_MODELS}, got {self.noise!r}")
        if not (is_finite_real(self.df) and self.df > 0):
            raise ValueError(f"df must be a finite number > 0, got {self.df!r}")
        # a plain float: the model is a static (hashed) argument of the compiled sampler, and
        # a 0-d array, which passes the check above, is not hashable
        object.__setattr__(self, "df", float(self.df))

    # -- interface -------------------------------------------------------------------------
    def priors(self, data: CurveData) -> dict[str, Prior]:  # pragma: no cover - interface
        """The Normal prior of every latent site except ``log_sigma``, in sampling order."""
        raise NotImplementedError

    def log_mean(self, z: Mapping[str, jax.Array], v, data: CurveData):  # pragma: no cover
        """``log f`` at normalised ``v`` (any shape) for latents ``z`` of one curve."""
        raise NotImplementedError

    def natural(self, z: Mapping[str, jax.Array], data: CurveData) -> dict[str, jax.Array]:
        """The family's natural parameters (raw x units) from latents ``z`` (broadcasting)."""
        raise NotImplementedError  # pragma: no cover - interface

    def latents_from_params(self, params: Mapping[str, float], data) -> dict[str, float]:
        """Latents from the family's natural parameters (e.g. a point fit); unclipped."""
        raise NotImplementedError  # pragma: no cover - interface

    # -- shared ----------------------------------------------------------------------------
    @property
    def _ou(self) -> bool:
        """Whether the residuals have an OU part (``"ou"``, ``"ou_irw"``, ``"ou_walk"``)."""
        return self.noise in OU_NOISE_MODELS

    def all_priors(self, data: CurveData) -> dict[str, Prior]:
        """Priors of every latent site: the family's, then ``log_sigma`` (for OU noise
        ``log_diffusion`` and ``log_corr_length`` instead, and ``log_drift`` for
        ``"ou_irw"`` and ``"ou_walk"``)."""
        out = self.priors(data)
        if self._ou:
            out["log_diffusion"] = Prior(*_DIFFUSION_PRIOR)
            out["log_corr_length"] = Prior(*_LENGTH_PRIOR)
            if self.noise in ("ou_irw", "ou_walk"):
                out["log_drift"] = Prior(*_DRIFT_PRIOR)
        else:
            out["log_sigma"] = Prior(*_SIGMA_PRIOR)
        return out

    def noise_scale(self, z):
        """The (stationary) noise sd on log y, ``sigma``, of latents ``z``.

        For OU residuals ``sigma = kappa sqrt(ell / 2)`` from the diffusion ``kappa`` (the sd
        of the residual's change per unit v while ``|dv| << ell``) and the correlation length
        ``ell``: sampling ``(log kappa, log ell)`` rather than ``(log sigma, log ell)``
        straightens the posterior when the residuals move like a random walk (``ell`` large),
        where the data inform ``kappa`` alone.
        """
        if self._ou:
            return jnp.exp(z["log_diffusion"] + 0.5 * z["log_corr_length"] - 0.5 * math.log(2.0))
        return jnp.exp(z["log_sigma"])

    def noise_dist(self, loc, scale) -> dist.Distribution:
        """The marginal noise distribution of log y around ``loc`` with scale ``scale``."""
        if self.noise == "student_t":
            return dist.StudentT(self.df, loc, scale)
        return dist.Normal(loc, scale)

    def predictive_moments(self, z, v, data: CurveData):
        """Location and scale of log y at new ``v`` (1-D) given one draw ``z`` of one curve.

        For i.i.d. noise: ``(log f(v), sigma)``. For OU residuals, conditioned on the
        residuals ``e_a, e_b`` of the context points just below and above ``v`` (the process
        is Markov, so the others add nothing), with ``r_a = exp(-(v - v_a)/ell)``,
        ``r_b = exp(-(v_b - v)/ell)`` (``0`` for a missing neighbour): mean
        ``log f(v) + (r_a (1 - r_b^2) e_a + r_b (1 - r_a^2) e_b) / (1 - r_a^2 r_b^2)`` and
        variance ``sigma^2 (1 - r_a^2)(1 - r_b^2) / (1 - r_a^2 r_b^2)``; beyond the last
        context point this is ``log f(v) + r_a e_a`` and ``sigma^2 (1 - r_a^2)``. For
        ``"ou_irw"``: Gaussian-process conditioning on every context residual ``r``,
        ``log f(v) + K_vc K_cc^{-1} r`` and ``k(v, v) - K_vc K_cc^{-1} K_cv`` (the covariance
        ``k`` of ``_discrepancy.irw_covariance``; compute in float64). For ``"ou_walk"``: the
        OU moments, with ``tau^2 h^3 / 3`` added to the variance at ``h = v - v_n > 0`` beyond
        the last context point ``v_n``.

        Returns:
            ``(loc, scale)``, each shaped like ``v``.
        """
        mu = self.log_mean(z, v, data)
        sigma = self.noise_scale(z)
        if not self._ou:
            return mu, jnp.broadcast_to(sigma, mu.shape)
        ell = jnp.exp(z["log_corr_length"])
        real = data.mask > 0
        resid = jnp.where(real, data.log_y - self.log_mean(z, data.v, data), 0.0)
        if self.noise == "ou_irw":
            tau = jnp.exp(z["log_drift"])
            mean, sd = irw_conditional(resid, data.v, data.mask, v, sigma, ell, tau)
            return mu + mean, sd
        v_ctx = jnp.where(real, data.v, jnp.inf)
        n_real = jnp.sum(real)
        below = jnp.sum(v_ctx[None, :] <= v[:, None], axis=1) - 1  # index of v_a, -1 if none
        has_a = below >= 0
        has_b = below + 1 < n_real
        ia = jnp.clip(below, 0, v_ctx.size - 1)
        ib = jnp.clip(below + 1, 0, v_ctx.size - 1)
        ra = jnp.where(has_a, jnp.exp(-jnp.abs(v - data.v[ia]) / ell), 0.0)
        rb = jnp.where(has_b, jnp.exp(-jnp.abs(data.v[ib] - v) / ell), 0.0)
        denom = 1.0 - (ra * rb) ** 2
        safe = jnp.maximum(denom, 1e-12)
        mean = (ra * (1 - rb**2) * resid[ia] + rb * (1 - ra**2) * resid[ib]) / safe
        var = (1 - ra**2) * (1 - rb**2) / safe
        sd = sigma * jnp.sqrt(jnp.maximum(var, _OU_VAR_FLOOR))
        if self.noise == "ou_walk":  # the slope walk beyond the last context point
            h = jnp.maximum(v - jnp.max(jnp.where(real, data.v, -jnp.inf)), 0.0)
            sd = jnp.sqrt(sd**2 + jnp.exp(2.0 * z["log_drift"]) * h**3 / 3.0)
        return mu + mean, sd

    def predictive_joint(self, z, v, data: CurveData):
        """Joint Gaussian law of log y at all of ``v`` (1-D) given one draw ``z`` of one curve.

        The joint form of [`predictive_moments`][scalebayes.inference.BayesModel.predictive_moments]
        (its diagonal is their ``scale**2``, up to rounding and the variance floor): for
        ``"ou"`` and ``"ou_irw"`` Gaussian-process conditioning of the residual process on every
        context residual (the covariance of ``_discrepancy.irw_covariance``, with ``tau = 0``
        for ``"ou"``); for ``"ou_walk"`` the OU part so conditioned plus the slope walk's
        covariance ``tau^2 a^2 (3 b - a) / 6`` from the last context point (``a <= b`` the
        distances beyond it, 0 before it); for ``"normal"`` a diagonal ``sigma^2``. Compute in
        float64.

        Returns:
            ``(mean, cov)``: ``(len(v),)`` and ``(len(v), len(v))``.

        Raises:
            ValueError: for ``"student_t"`` noise, whose joint law is not Gaussian.
        """
        mu = self.log_mean(z, v, data)
        sigma = self.noise_scale(z)
        if self.noise == "student_t":
            raise ValueError("predictive_joint: Student-t noise has no Gaussian joint law")
        if not self._ou:
            return mu, jnp.eye(v.size, dtype=mu.dtype) * sigma**2
        ell = jnp.exp(z["log_corr_length"])
        real = data.mask > 0
        resid = jnp.where(real, data.log_y - self.log_mean(z, data.v, data), 0.0)
        tau = jnp.exp(z["log_drift"]) if self.noise == "ou_irw" else jnp.zeros_like(sigma)
        mean, cov = irw_joint_conditional(resid, data.v, data.mask, v, sigma, ell, tau)
        if self.noise == "ou_walk":
            v_last = jnp.max(jnp.where(real, data.v, -jnp.inf))
            walk_tau = jnp.exp(z["log_drift"])
            cov = cov + walk_covariance(v[:, None], v[None, :], v_last, walk_tau)
        return mu + mean, cov

    def replicate(self, key, z, data: CurveData):
        """Replicated log y at the context points ``data.v`` for one draw ``z``.

        A fresh noise draw (for OU residuals, a fresh OU path; for ``"ou_irw"`` a fresh path
        of the OU plus slope random walk) around ``log f(v)``.
        """
        mu = self.log_mean(z, data.v, data)
        sigma = self.noise_scale(z)
        if not self._ou:
            return mu + sigma * self.noise_dist(0.0, 1.0).sample(key, mu.shape)
        if self.noise == "ou_irw":
            ell, tau = jnp.exp(z["log_corr_length"]), jnp.exp(z["log_drift"])
            return mu + irw_sample(key, data.v, data.mask, sigma, ell, tau)
        gap = jnp.diff(data.v)
        ell = jnp.exp(z["log_corr_length"])
        rho = jnp.exp(-gap / ell)
        sd = jnp.sqrt(jnp.maximum(-jnp.expm1(-2.0 * gap / ell), _OU_VAR_FLOOR))
        eta = jax.random.normal(key, mu.shape, mu.dtype)

        def step(prev, inputs):
            r, s, n = inputs
            e = r * prev + s * n
            return e, e

        _, rest = jax.lax.scan(step, eta[0], (rho, sd, eta[1:]))
        return mu + sigma * jnp.concatenate([eta[:1], rest])

    def _ou_log_likelihood(self, resid, z, data: CurveData):
        """Exact log density of the residuals at the real points: OU (Markov factorisation),
        or OU plus slope random walk (Kalman filter, ``_discrepancy.irw_log_likelihood``)."""
        sigma = self.noise_scale(z)
        ell = jnp.exp(z["log_corr_length"])
        if self.noise == "ou_irw":
            tau = jnp.exp(z["log_drift"])
            return irw_log_likelihood(resid, data.v, data.mask, sigma, ell, tau)
        real = data.mask > 0
        gap = jnp.diff(data.v)
        rho = jnp.exp(-gap / ell)
        cond_sd = sigma * jnp.sqrt(jnp.maximum(-jnp.expm1(-2.0 * gap / ell), _OU_VAR_FLOOR))
        first = dist.Normal(0.0, sigma).log_prob(resid[0])
        steps = dist.Normal(rho * resid[:-1], cond_sd).log_prob(resid[1:])
        return first + jnp.sum(jnp.where(real[1:], steps, 0.0))

    def __call__(self, data: CurveData, log_y=None):
        """The NumPyro model of one curve; ``log_y`` defaults to ``data.log_y`` (observed)."""
        z = {}
        for name, prior in self.all_priors(data).items():
            d = dist.Normal(prior.loc, prior.scale)
            if prior.shape:
                d = d.expand(prior.shape).to_event(len(prior.shape))
            z[name] = numpyro.sample(name, d)
        mu = self.log_mean(z, data.v, data)
        obs = data.log_y if log_y is None else log_y
        if self._ou:
            numpyro.factor("log_y", self._ou_log_likelihood(obs - mu, z, data))
            return
        with (
            numpyro.plate("point", data.v.shape[-1]),
            numpyro.handlers.mask(mask=data.mask > 0),
        ):
            numpyro.sample("log_y", self.noise_dist(mu, self.noise_scale(z)), obs=obs)

    def init_latents(
        self, params: Mapping[str, float] | None, sigma: float | None, data
    ) -> dict[str, np.ndarray]:
        """Initial latents: from natural ``params`` (a point fit), else the prior locations.

        Each latent is clipped to its prior location +- 3 prior scales, so a point fit at an
        extreme (or a failed one) still starts the chains inside the typical set of the prior.

        Args:
            params: natural parameters, or None.
            sigma: the noise sd on log y to start from (e.g. the fit's RMS log residual).
            data: the curve's ``CurveData`` (numpy leaves).

        Returns:
            ``{site: float64 array}`` with each prior's shape.
        """
        priors = self.all_priors(data)
        raw = {} if params is None else self.latents_from_params(params, data)
        if sigma is not None and np.isfinite(sigma) and sigma > 0:
            if self._ou:  # start at the prior's correlation length
                raw["log_diffusion"] = math.log(sigma) - 0.5 * (_LENGTH_PRIOR[0] - math.log(2))
            else:
                raw["log_sigma"] = math.log(sigma)
        out = {}
        for name, prior in priors.items():
            loc = np.broadcast_to(np.asarray(prior.loc, np.float64), prior.shape)
            value = np.asarray(raw.get(name, loc), np.float64)
            value = np.where(np.isfinite(value), value, loc)
            lim = _INIT_CLIP * prior.scale
            out[name] = np.clip(value, loc - lim, loc + lim).reshape(prior.shape)
        return out
