"""ArviZ conversion of MCMC results and per-curve convergence diagnostics.

[`to_datatree`][scalebayes.inference.to_datatree] turns an
[`MCMCResult`][scalebayes.inference.MCMCResult] into an ArviZ ``DataTree`` (arviz 1.x,
xarray) with one ``curve`` dimension across every group, so ArviZ's diagnostics, summaries and
plots work per curve. [`check_convergence`][scalebayes.inference.check_convergence]
computes rank-normalised split R-hat, bulk and tail ESS (``arviz_stats``) and the divergences
of every curve, and warns with a [`ConvergenceWarning`][scalebayes.inference.ConvergenceWarning]
naming the curves that fail.

ArviZ is imported inside the functions that need it: ``import scalebayes`` and the sampler
itself work without it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._warnings import ConvergenceWarning

if TYPE_CHECKING:
    from ._mcmc_result import MCMCResult

__all__ = ["ConvergenceReport", "ConvergenceWarning", "check_convergence", "to_datatree"]

_INSTALL_HINT = (
    "this needs ArviZ 1.x (arviz_base, arviz_stats); install it with `pip install 'arviz>=1.0'`"
)


def _import(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(f"{name} is missing: {_INSTALL_HINT}") from error


def _chain_draw_first(a: np.ndarray) -> np.ndarray:
    """``(curve, chain, draw, ...)`` -> ``(chain, draw, curve, ...)``."""
    return np.moveaxis(np.asarray(a), 0, 2)


def to_datatree(result: MCMCResult, *, key: Any = None):
    """Convert an MCMC result to an ArviZ ``DataTree``.

    Groups (``curve`` coordinates are the curve names, ``point`` indexes context points, padded
    with ``nan`` where a curve has fewer):

    - ``posterior``: every latent site (dims ``chain, draw, curve`` plus ``break`` / ``gap``
      for BNSL's per-break sites) and the family's natural parameters plus ``sigma``; the
      attribute ``latent_variables`` lists the latent sites (comma-separated).
    - ``posterior_predictive``: ``y``, replicated context y (``chain, draw, curve, point``).
    - ``observed_data``: ``y``, the context y (``curve, point``).
    - ``constant_data``: ``x``, the context x (``curve, point``).
    - ``sample_stats``: ``diverging``, ``n_steps``, ``tree_depth``, ``acceptance_rate``,
      ``energy``, ``lp`` and ``step_size`` (``chain, draw, curve``).

    Args:
        result: the MCMC result.
        key: JAX PRNG key for the replicated data; default ``jax.random.key(0)``.

    Returns:
        An ``xarray.DataTree`` in ArviZ's conventions.

    Raises:
        ImportError: if ArviZ 1.x is not installed.
    """
    import jax

    azb = _import("arviz_base")
    key = jax.random.key(0) if key is None else key
    n_points = result.data.v.shape[1]
    mask = result.data.mask > 0

    posterior, dims = {}, {}
    for name, values in result.samples.items():
        posterior[name] = _chain_draw_first(values)
        extra = values.ndim - 3
        dims[name] = ["curve"] + (["gap" if name == "break_gap" else "break"] if extra else [])
    for name, values in result.params().items():
        posterior[name] = _chain_draw_first(values)
        dims[name] = ["curve"]
    posterior["sigma"] = _chain_draw_first(result.noise_scale())
    dims["sigma"] = ["curve"]

    stats = {k: _chain_draw_first(v) for k, v in result.sample_stats.items()}
    stats["step_size"] = np.broadcast_to(
        result.step_size.T[:, None, :], stats["diverging"].shape
    ).copy()
    for name in stats:
        dims[name] = ["curve"]

    def padded(values):
        out = np.full((result.n_curves, n_points), np.nan)
        for i, v in enumerate(values):
            out[i, : v.size] = v
        return out

    observed = padded(result.y)
    predictive = _chain_draw_first(result.posterior_predictive(key))
    predictive = np.where(mask[None, None], predictive, np.nan)
    dims["y"] = ["curve", "point"]
    dims["x"] = ["curve", "point"]
    coords = {"curve": list(result.names), "point": np.arange(n_points)}
    if result.family == "bnsl":
        slots = result.model.n_breaks
        coords["break"] = np.arange(1, slots + 1)
        coords["gap"] = np.arange(1, slots)
    tree = azb.from_dict(
        {
            "posterior": posterior,
            "posterior_predictive": {"y": predictive},
            "observed_data": {"y": observed},
            "constant_data": {"x": padded(result.x)},
            "sample_stats": stats,
        },
        dims=dims,
        coords=coords,
        attrs={
            "posterior": {
                "latent_variables": ",".join(result.samples),
                "family": result.family,
                "noise": result.model.noise,
            },
            "/": {"family": result.family, "settings": repr(result.settings)},
        },
    )
    return tree


@dataclass(frozen=True)
class ConvergenceReport:
    """Per-curve convergence diagnostics of an MCMC run.

    Attributes:
        names: curve names.
        r_hat: largest rank-normalised split R-hat over the checked variables, per curve.
        ess_bulk: smallest bulk ESS over the checked variables, per curve.
        ess_tail: smallest tail ESS over the checked variables, per curve.
        divergences: divergent transitions after warm-up, per curve.
        failed: names of the curves that fail any threshold.
        reasons: for each failed curve, what failed (e.g. ``"r_hat 1.034 > 1.01"``).
    """

    names: tuple[str, ...]
    r_hat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    divergences: np.ndarray
    failed: tuple[str, ...]
    reasons: dict[str, str]

    @property
    def ok(self) -> bool:
        """Whether every curve passed."""
        return not self.failed


def _per_curve(tree, var_names, reduce) -> np.ndarray:
    """Reduce a diagnostic DataTree to one value per curve (ignoring nan entries)."""
    columns = []
    for name in var_names:
        da = tree[name]
        other = [d for d in da.dims if d != "curve"]
        values = np.asarray(da.transpose("curve", *other).values, np.float64)
        columns.append(values.reshape(values.shape[0], -1))
    stacked = np.concatenate(columns, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan rows stay nan
        return reduce(stacked, axis=1)


def check_convergence(
    data,
    *,
    r_hat_max: float = 1.01,
    ess_bulk_min: float | None = None,
    ess_tail_min: float | None = None,
    max_divergences: int = 0,
    var_names: list[str] | None = None,
    warn: bool = True,
) -> ConvergenceReport:
    """Check every curve's chains; warn naming the curves that fail.

    A curve fails if any checked variable has R-hat above ``r_hat_max`` or bulk/tail ESS
    below the minimum, or if it has more than ``max_divergences`` divergent transitions. The
    defaults follow Vehtari et al. (2021), "Rank-normalization, folding, and localization: an
    improved R-hat": R-hat < 1.01 and ESS > 100 per chain (400 for four chains).

    Args:
        data: an [`MCMCResult`][scalebayes.inference.MCMCResult] or the ``DataTree`` of
            [`to_datatree`][scalebayes.inference.to_datatree].
        r_hat_max: largest acceptable rank-normalised split R-hat.
        ess_bulk_min: smallest acceptable bulk ESS; default 100 times the number of chains.
        ess_tail_min: smallest acceptable tail ESS; default 100 times the number of chains.
        max_divergences: largest acceptable number of divergent transitions per curve.
        var_names: posterior variables to check; default the latent sites (the natural
            parameters are functions of them; a BNSL curve's switched-off break is constant).
        warn: emit a ``ConvergenceWarning`` naming the failed curves.

    Returns:
        A [`ConvergenceReport`][scalebayes.inference.ConvergenceReport].

    Raises:
        ImportError: if ArviZ 1.x is not installed.
        TypeError: if ``data`` is neither an MCMC result nor a DataTree with a posterior.
    """
    azs = _import("arviz_stats")
    tree = data
    if hasattr(data, "samples") and hasattr(data, "sample_stats"):
        tree = to_datatree(data)
    if not hasattr(tree, "children") or "posterior" not in tree.children:
        raise TypeError(
            "check_convergence: data must be an MCMCResult or an ArviZ DataTree with a "
            f"posterior group; got {type(data).__name__}"
        )
    posterior = tree["posterior"]
    if var_names is None:
        latent = posterior.attrs.get("latent_variables")
        var_names = latent.split(",") if latent else list(posterior.data_vars)
    n_chains = posterior.sizes["chain"]
    ess_bulk_min = 100.0 * n_chains if ess_bulk_min is None else float(ess_bulk_min)
    ess_tail_min = 100.0 * n_chains if ess_tail_min is None else float(ess_tail_min)

    r_hat = _per_curve(azs.rhat(tree, var_names=var_names), var_names, np.nanmax)
    ess_bulk = _per_curve(azs.ess(tree, var_names=var_names), var_names, np.nanmin)
    ess_tail = _per_curve(azs.ess(tree, var_names=var_names, method="tail"), var_names, np.nanmin)
    names = tuple(str(c) for c in posterior.coords["curve"].values)
    if "sample_stats" in tree.children and "diverging" in tree["sample_stats"].data_vars:
        div = tree["sample_stats"]["diverging"].transpose("curve", ...).values
        divergences = div.reshape(len(names), -1).sum(axis=1).astype(int)
    else:
        divergences = np.zeros(len(names), int)

    reasons: dict[str, str] = {}
    for i, name in enumerate(names):
        why = []
        if not r_hat[i] <= r_hat_max:
            why.append(f"r_hat {r_hat[i]:.3f} > {r_hat_max}")
        if not ess_bulk[i] >= ess_bulk_min:
            why.append(f"ess_bulk {ess_bulk[i]:.0f} < {ess_bulk_min:.0f}")
        if not ess_tail[i] >= ess_tail_min:
            why.append(f"ess_tail {ess_tail[i]:.0f} < {ess_tail_min:.0f}")
        if divergences[i] > max_divergences:
            why.append(f"{divergences[i]} divergences > {max_divergences}")
        if why:
            reasons[name] = ", ".join(why)
    report = ConvergenceReport(
        names=names,
        r_hat=r_hat,
        ess_bulk=ess_bulk,
        ess_tail=ess_tail,
        divergences=divergences,
        failed=tuple(reasons),
        reasons=reasons,
    )
    if warn and reasons:
        listed = "; ".join(f"{name!r}: {why}" for name, why in reasons.items())
        warnings.warn(
            f"{len(reasons)} of {len(names)} curves did not converge: {listed}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return report
