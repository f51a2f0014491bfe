"""The result of an MCMC run over many curves, and the predictive moments of its draws."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_key, is_integer
from .._precision import float64
from .._random import draw_randint
from ._bayes_base import BayesModel, CurveData
from ._discrepancy import psd_sample
from ._mcmc_predictive import MCMCPredictive, _target_blocks
from ._nuts import _bucket_points


@dataclass(frozen=True, eq=False)
class MCMCResult:
    """Posterior draws of one family for a batch of curves (host numpy, float64).

    Attributes:
        family: ``"m3"``, ``"m4"`` or ``"bnsl"``.
        model: the [`BayesModel`][scalebayes.inference.BayesModel] sampled.
        names: curve names, in order.
        x: per-curve context x.
        y: per-curve context y.
        data: the curves' normalised data, each leaf with a leading ``n_curves`` axis (points
            padded to a common length; see ``CurveData.mask``).
        samples: ``{site: (n_curves, n_chains, n_draws, *site_shape)}`` latent draws.
        sample_stats: ``{name: (n_curves, n_chains, n_draws)}``: ``diverging``, ``n_steps``
            (leapfrog steps), ``tree_depth``, ``acceptance_rate``, ``energy`` and ``lp`` (log
            joint density in the latent space, i.e. minus the potential).
        step_size: adapted NUTS step size per chain, ``(n_curves, n_chains)``.
        n_breaks: BNSL: active breaks per curve, ``(n_curves,)``; else None.
        init: ``{site: (n_curves, n_chains, *site_shape)}`` starting latents of the chains.
        settings: the sampler settings (warm-up, samples, chains, tree depth, ...).
        seconds: wall time of the sampling call (including compilation if it compiled).
    """

    family: str
    model: BayesModel
    names: tuple[str, ...]
    x: tuple[np.ndarray, ...]
    y: tuple[np.ndarray, ...]
    data: CurveData
    samples: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    step_size: np.ndarray
    n_breaks: np.ndarray | None
    init: dict[str, np.ndarray]
    settings: dict = field(default_factory=dict)
    seconds: float = math.nan

    def __repr__(self) -> str:  # one line: the arrays would print thousands
        names = ", ".join(repr(n) for n in self.names[:3]) + (" ..." if self.n_curves > 3 else "")
        return (
            f"MCMCResult({self.family}, {self.n_curves} curve(s): {names}; {self.n_chains} "
            f"chains x {self.n_draws} draws, {int(self.divergences().sum())} divergences, "
            f"{self.seconds:.3g} s)"
        )

    @property
    def n_curves(self) -> int:
        """Number of curves."""
        return len(self.names)

    @property
    def n_chains(self) -> int:
        """Chains per curve."""
        return int(self.step_size.shape[1])

    @property
    def n_draws(self) -> int:
        """Draws per chain (after warm-up)."""
        return int(self.sample_stats["diverging"].shape[2])

    def divergences(self) -> np.ndarray:
        """Number of divergent transitions after warm-up, per curve, ``(n_curves,)``."""
        return self.sample_stats["diverging"].sum(axis=(1, 2)).astype(int)

    def curve_data(self, i: int) -> CurveData:
        """The normalised data of curve ``i``, padded to its own length bucket."""
        size = _bucket_points(self.x[i].size)
        return CurveData(
            *(
                a[i][:size] if name in ("v", "log_y", "mask") else a[i]
                for name, a in zip(CurveData._fields, self.data, strict=True)
            )
        )

    @float64
    def params(self) -> dict[str, np.ndarray]:
        """The family's natural parameters (raw x units), ``(n_curves, n_chains, n_draws)``.

        For BNSL the break parameters ``c_i, d_i, f_i`` run over the model's break slots; a
        switched-off slot reports ``c_i = 0`` (no break).
        """
        data = jax.tree.map(lambda a: jnp.asarray(a)[:, None, None], self.data)
        z = {k: jnp.asarray(v) for k, v in self.samples.items()}
        out = self.model.natural(z, data)
        return {k: np.asarray(v, np.float64) for k, v in out.items()}

    @float64
    def noise_scale(self) -> np.ndarray:
        """The (stationary) noise sd on log y, ``(n_curves, n_chains, n_draws)``."""
        z = {k: jnp.asarray(v) for k, v in self.samples.items()}
        return np.asarray(self.model.noise_scale(z), np.float64)

    @float64
    def posterior_predictive(self, key) -> np.ndarray:
        """Replicated y at the context points: one noise draw per posterior draw.

        Args:
            key: a JAX PRNG key (curve ``i`` uses ``fold_in(key, i)``).

        Returns:
            ``(n_curves, n_chains, n_draws, n_points)`` float64, ``nan`` where a curve has
            fewer than ``n_points`` context points (the padding of ``data``).
        """
        key = check_key(key)
        n_points = self.data.v.shape[1]
        out = np.full((self.n_curves, self.n_chains, self.n_draws, n_points), np.nan)
        for i in range(self.n_curves):
            z = {k: v[i].reshape(-1, *v.shape[3:]) for k, v in self.samples.items()}
            keys = jax.random.split(jax.random.fold_in(key, i), self.n_chains * self.n_draws)
            log_y = _replicate_draws(self.model, keys, _as_f64(z), _as_f64(self.curve_data(i)))
            y = np.exp(np.asarray(log_y, np.float64))[:, : self.x[i].size]
            out[i, :, :, : y.shape[1]] = y.reshape(self.n_chains, self.n_draws, -1)
        return out

    def to_datatree(self, *, key=None):
        """This result as an ArviZ ``DataTree``; see
        [`scalebayes.inference.to_datatree`][scalebayes.inference.to_datatree] (needs ArviZ)."""
        from ._diagnostics import to_datatree

        return to_datatree(self, key=key)

    def _check_targets(self, x_targets, caller: str) -> None:
        """One array of finite x > 0 per curve, or a one-line error naming ``caller``."""
        hint = f"for the same x on every curve pass [x] * {self.n_curves}"
        if (
            isinstance(x_targets, str | bytes)
            or np.isscalar(x_targets)
            or getattr(x_targets, "shape", None) == ()
        ):
            raise TypeError(
                f"{caller}: x_targets must be a list of arrays, one per curve; got "
                f"{x_targets!r} ({hint})"
            )
        array = isinstance(x_targets, np.ndarray | jax.Array)
        numbers_only = not array and all(np.ndim(v) == 0 for v in x_targets)
        if (array and np.ndim(x_targets) == 1) or (
            numbers_only and len(x_targets) != self.n_curves
        ):  # a flat list as long as the curves reads as one x per curve
            raise TypeError(
                f"{caller}: x_targets must be a list of arrays, one per curve; got one flat "
                f"{'array' if array else 'list'} ({hint})"
            )
        if len(x_targets) != self.n_curves:
            raise ValueError(
                f"{caller}: got {len(x_targets)} target arrays for {self.n_curves} curves"
            )
        for name, xt in zip(self.names, x_targets, strict=True):
            xt = np.asarray(xt, np.float64).ravel()
            if xt.size == 0 or not np.all(np.isfinite(xt)) or np.any(xt <= 0):
                raise ValueError(f"{caller}: x of curve {name!r} must be non-empty, finite, > 0")

    def predictive(self, x_targets: Sequence[np.ndarray]) -> list[MCMCPredictive]:
        """Posterior predictive distributions of y at new x, one per curve.

        Args:
            x_targets: per-curve x to predict at (1-D, > 0), in the curves' order.

        Returns:
            One [`MCMCPredictive`][scalebayes.inference.MCMCPredictive] per curve,
            over its draws pooled across chains.

        Raises:
            ValueError: if the number of arrays differs from the number of curves or an x is
                not finite and > 0.
        """
        self._check_targets(x_targets, "predictive")
        out = []
        for i, xt in enumerate(x_targets):
            xt = np.asarray(xt, np.float64).ravel()
            z = {k: v[i].reshape(-1, *v.shape[3:]) for k, v in self.samples.items()}
            loc, scale = moments_at(self.model, z, self.curve_data(i), xt)
            marginal = "student_t" if self.model.noise == "student_t" else "normal"
            out.append(MCMCPredictive(loc=loc, scale=scale, noise=marginal, df=self.model.df, x=xt))
        return out

    @float64
    def sample_paths(
        self, key, x_targets: Sequence[np.ndarray], n_paths: int = 100
    ) -> list[np.ndarray]:
        """Joint draws of y at new x from the posterior predictive: whole future paths.

        Each path takes a posterior draw (uniformly over chains and draws), then its residual
        process at all of a curve's x at once, conditioned on the context
        ([`BayesModel.predictive_joint`][scalebayes.inference.BayesModel.predictive_joint]), so
        a path keeps the correlation between targets that the per-target
        [`predictive`][scalebayes.inference.MCMCResult.predictive] leaves out. Each target's
        draws follow that predictive's marginal. Use them for questions about several x at
        once (is the loss below L at both 10x and 100x?) and as pseudo-truths that a
        calibrated forecaster's scores can be compared with.

        Args:
            key: a JAX PRNG key (curve ``i`` uses ``fold_in(key, i)``), or one key per
                curve, shape ``(n_curves,)`` (then a curve's paths do not depend on the batch).
            x_targets: per-curve x (1-D, > 0), in the curves' order.
            n_paths: paths per curve.

        Returns:
            One ``(n_paths, len(x))`` float64 array of y per curve.

        Raises:
            ValueError: for a bad ``n_paths``, or as ``predictive`` for bad ``x_targets``.
        """
        key = check_key(key)
        if not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):  # raw uint32 key data
            key = jax.random.wrap_key_data(key)
        if key.shape not in ((), (self.n_curves,)):
            raise ValueError(
                f"sample_paths: key must be one key or one per curve ({self.n_curves},); got "
                f"shape {key.shape}"
            )
        if not is_integer(n_paths) or n_paths < 1:
            raise ValueError(f"sample_paths: n_paths must be an int >= 1, got {n_paths!r}")
        n_paths = int(n_paths)
        self._check_targets(x_targets, "sample_paths")
        out = []
        for i, xt in enumerate(x_targets):
            xt = np.asarray(xt, np.float64).ravel()
            data = _as_f64(self.curve_data(i))
            z = {site: a[i].reshape(-1, *a.shape[3:]) for site, a in self.samples.items()}
            curve_key = key[i] if key.shape else jax.random.fold_in(key, i)
            key_draw, key_noise = jax.random.split(curve_key)
            idx = draw_randint(key_draw, (n_paths,), 0, self.n_chains * self.n_draws)
            chosen = _as_f64({k: a[idx] for k, a in z.items()})
            if self.model.noise == "student_t":
                loc, scale = moments_at(self.model, chosen, data, xt)
                eps = jax.random.t(key_noise, self.model.df, (n_paths, xt.size), jnp.float64)
                log_y = loc + scale * np.asarray(eps, np.float64)
            else:
                v = _normalised_x(data, xt)
                log_y = _joint_draws(self.model, key_noise, chosen, data, v)[:, : xt.size]
            out.append(np.exp(log_y))
        return out


def _as_f64(tree):
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), tree)


def _normalised_x(data: CurveData, x: np.ndarray) -> np.ndarray:
    """``v = (log x - u0) / s`` of new ``x`` in a curve's normalised coordinates."""
    return (np.log(x) - float(data.u0)) / float(data.s)


@functools.partial(jax.jit, static_argnames=("model",))
def _moments_draws(model: BayesModel, z, data: CurveData, v):
    return jax.vmap(lambda zd: model.predictive_moments(zd, v, data))(z)


_PATH_POINTS = 32  # targets are padded to a multiple of this (one compiled shape per bucket)
_PATH_BYTES = 1 << 26  # the (chunk, m, m) covariances of one compiled call: about 64 MiB


def _joint_draws(model: BayesModel, key, z, data: CurveData, v: np.ndarray) -> np.ndarray:
    """One joint draw of log y at ``v`` per draw of ``z`` (``(n, len(v) padded)``, float64).

    ``v`` is padded by repeating its last point up to a multiple of ``_PATH_POINTS`` (a
    repeated point only adds a zero eigenvalue) and the draws go in chunks of one size (the
    last padded by repetition), so a study compiles one program per bucket, not per curve.
    """
    size = -(-v.size // _PATH_POINTS) * _PATH_POINTS
    v = jnp.asarray(np.concatenate([v, np.repeat(v[-1:], size - v.size)]))
    n = len(jax.tree.leaves(z)[0])
    chunk = max(1, min(n, _PATH_BYTES // (8 * size * size)))
    n_chunks = -(-n // chunk)
    take = np.minimum(np.arange(n_chunks * chunk), n - 1)  # the last chunk padded
    keys = jax.random.split(key, n)[take]
    z = {k: a[take] for k, a in z.items()}
    parts = [
        _path_draws(
            model,
            keys[s : s + chunk],
            {k: a[s : s + chunk] for k, a in z.items()},
            data,
            v,
        )
        for s in range(0, n_chunks * chunk, chunk)
    ]
    return np.concatenate([np.asarray(p, np.float64) for p in parts])[:n]


@functools.partial(jax.jit, static_argnames=("model",))
def _path_draws(model: BayesModel, keys, z, data: CurveData, v):
    def one(k, zd):
        mean, cov = model.predictive_joint(zd, v, data)
        return psd_sample(k, mean, cov)

    return jax.vmap(one)(keys, z)


@functools.partial(jax.jit, static_argnames=("model",))
def _replicate_draws(model: BayesModel, keys, z, data: CurveData):
    return jax.vmap(lambda k, zd: model.replicate(k, zd, data))(keys, z)


@float64
def moments_at(model: BayesModel, z, data: CurveData, x: np.ndarray):
    """Predictive location and scale of log y at ``x`` for every draw of one curve.

    Args:
        model: the Bayesian model.
        z: latents of one curve, ``{site: (n_draws, *site_shape)}``.
        data: the curve's ``CurveData``.
        x: where to predict (1-D, > 0).

    Returns:
        ``(loc, scale)``, each ``(n_draws, len(x))`` float64 (see
        ``BayesModel.predictive_moments``).
    """
    x = np.asarray(x, np.float64).ravel()
    v = _normalised_x(data, x)
    z, data = _as_f64(z), _as_f64(data)
    blocks = [_moments_draws(model, z, data, jnp.asarray(b)) for b in _target_blocks(v)]
    loc = np.concatenate([np.asarray(b[0], np.float64) for b in blocks], axis=1)
    scale = np.concatenate([np.asarray(b[1], np.float64) for b in blocks], axis=1)
    return loc[:, : x.size], scale[:, : x.size]
