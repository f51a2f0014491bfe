"""Convergence diagnostics (one set of checks for every sampler) and ArviZ conversion.

[`diagnose`][scalebayes.inference.diagnose] computes rank-normalised split R-hat, bulk and
tail ESS of one posterior's draws (``arviz_stats``) and
[`Diagnostics.problems`][scalebayes.inference.Diagnostics.problems] lists the checks that
fail; [`check_convergence`][scalebayes.inference.check_convergence] applies the same
thresholds (``R_HAT_MAX``, ``ESS_PER_CHAIN``) and the same wording curve by curve.

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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._checks import MissingDependencyError, check_integer, is_finite_real
from .._warnings import ConvergenceWarning, warn_at_caller

if TYPE_CHECKING:
    from ._mcmc_result import MCMCResult

__all__ = [
    "ESS_PER_CHAIN",
    "MIXING",
    "R_HAT_MAX",
    "ConvergenceReport",
    "ConvergenceWarning",
    "CurveCheck",
    "Diagnostics",
    "check_convergence",
    "check_mixing",
    "diagnose",
    "to_datatree",
]

R_HAT_MAX = 1.01
"""Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021)."""
ESS_PER_CHAIN = 100
"""Smallest acceptable bulk and tail ESS per chain (Vehtari et al. 2021: 400 for 4 chains)."""
TAIL_PROB = (0.05, 0.95)
"""Tail ESS: the smaller of the ESS of these two quantiles."""
MIXING = MappingProxyType({"r_hat_max": 1.05, "ess_min": 100.0, "divergent_share": 0.01})
"""[`check_mixing`][scalebayes.inference.check_mixing]'s thresholds: R-hat, bulk and tail ESS
over all chains, and the share of divergent draws."""

_INSTALL_HINT = (
    "this needs ArviZ 1.x (arviz_base, arviz_stats); install it with `pip install 'arviz>=1.0'`"
)


def _import(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(f"{name} is missing: {_INSTALL_HINT}") from error


def _failed_checks(
    r_hat: float,
    ess_bulk: float,
    ess_tail: float,
    divergences: int,
    *,
    r_hat_max: float,
    ess_bulk_min: float,
    ess_tail_min: float,
    max_divergences: int = 0,
    worst: tuple[str, str, str] = ("", "", ""),
) -> list[str]:
    """The failed checks of one posterior (or one curve), as short phrases; NaN fails.

    ``worst`` names the parameters the three values belong to (shown as ``r_hat of alpha``).
    """
    found = []
    where = [f" of {name}" if name else "" for name in worst]
    # rounded away from the threshold: "99 < 100" for 99.6, not "100 < 100"
    if not r_hat <= r_hat_max:
        found.append(f"r_hat{where[0]} {np.ceil(r_hat * 1000) / 1000:.3f} > {r_hat_max}")
    if not ess_bulk >= ess_bulk_min:
        found.append(f"ess_bulk{where[1]} {np.floor(ess_bulk):.0f} < {ess_bulk_min:.0f}")
    if not ess_tail >= ess_tail_min:
        found.append(f"ess_tail{where[2]} {np.floor(ess_tail):.0f} < {ess_tail_min:.0f}")
    if divergences > max_divergences:
        found.append(f"{divergences} divergences > {max_divergences}")
    return found


def _nan_to(value: float, replacement: float) -> float:
    return replacement if math.isnan(value) else value


class Diagnostics(NamedTuple):
    """Convergence diagnostics of one posterior, per parameter.

    Attributes:
        r_hat: rank-normalised split R-hat per parameter.
        ess_bulk: bulk effective sample size per parameter.
        ess_tail: tail effective sample size (the 5% and 95% quantiles) per parameter.
        n_divergent: divergent transitions after warm-up, over all chains.
        n_chains: number of chains.
        n_draws: draws per chain.
    """

    r_hat: dict[str, float]
    ess_bulk: dict[str, float]
    ess_tail: dict[str, float]
    n_divergent: int
    n_chains: int
    n_draws: int

    def problems(self, max_r_hat: float = R_HAT_MAX, min_ess: float | None = None) -> list[str]:
        """The failed checks, as short phrases (empty if all pass).

        Args:
            max_r_hat: largest acceptable R-hat.
            min_ess: smallest acceptable bulk and tail ESS; default ``ESS_PER_CHAIN`` times
                the number of chains.
        """
        min_ess = ESS_PER_CHAIN * self.n_chains if min_ess is None else float(min_ess)
        # the worst parameter of each check; NaN counts as worst
        r_name = max(self.r_hat, key=lambda k: _nan_to(self.r_hat[k], math.inf))
        b_name = min(self.ess_bulk, key=lambda k: _nan_to(self.ess_bulk[k], -math.inf))
        t_name = min(self.ess_tail, key=lambda k: _nan_to(self.ess_tail[k], -math.inf))
        return _failed_checks(
            self.r_hat[r_name],
            self.ess_bulk[b_name],
            self.ess_tail[t_name],
            self.n_divergent,
            r_hat_max=max_r_hat,
            ess_bulk_min=min_ess,
            ess_tail_min=min_ess,
            worst=(r_name, b_name, t_name),
        )

    @property
    def line(self) -> str:
        """A one-line summary: chains, draws, worst R-hat and ESS, divergences."""

        def worst(values, pick) -> float:  # a NaN (a failed diagnostic) is the worst value
            values = np.asarray(list(values), np.float64)
            return float("nan") if np.isnan(values).any() else float(pick(values))

        return (
            f"{self.n_chains} chains x {self.n_draws} draws; max r-hat "
            f"{worst(self.r_hat.values(), np.max):.3f}, min bulk ESS "
            f"{np.floor(worst(self.ess_bulk.values(), np.min)):.0f}, min tail ESS "
            f"{np.floor(worst(self.ess_tail.values(), np.min)):.0f}, {self.n_divergent} "
            "divergences"  # ESS floored, as the failed checks print it
        )


def diagnose(samples: Mapping[str, np.ndarray], n_divergent: int = 0) -> Diagnostics:
    """R-hat and bulk/tail ESS (``arviz_stats``) of draws shaped ``(n_chains, n_draws, ...)``.

    A parameter with trailing axes is summarised by its worst element (largest R-hat,
    smallest ESS).

    Args:
        samples: draws per parameter, each of shape ``(n_chains, n_draws, ...)``.
        n_divergent: the number of divergent transitions to record.

    Returns:
        The [`Diagnostics`][scalebayes.inference.Diagnostics]; a constant or non-finite
        chain gives NaN (which fails every check).

    Raises:
        ValueError: for draws with fewer than two axes, or no draws at all.
        ImportError: if ArviZ 1.x is not installed.
    """
    azs = _import("arviz_stats")
    r_hat, bulk, tail = {}, {}, {}
    shape = None
    for name, draws in samples.items():
        draws = np.asarray(draws, dtype=np.float64)
        if draws.ndim < 2:
            raise ValueError(f"{name}: expected (n_chains, n_draws, ...) draws, got {draws.shape}")
        shape = draws.shape
        flat = draws.reshape(*draws.shape[:2], -1)  # every element of the site at once
        if np.any(np.ptp(flat, axis=(0, 1)) == 0) or not np.all(np.isfinite(flat)):
            r_hat[name] = bulk[name] = tail[name] = math.nan
            continue
        axes = {"chain_axis": 0, "draw_axis": 1}
        with np.errstate(all="ignore"):
            r_hat[name] = float(np.max(azs.rhat(flat, **axes)))
            bulk[name] = float(np.min(azs.ess(flat, method="bulk", **axes)))
            tail[name] = float(np.min(azs.ess(flat, method="tail", prob=TAIL_PROB, **axes)))
    if shape is None:
        raise ValueError("no samples to diagnose")
    return Diagnostics(r_hat, bulk, tail, int(n_divergent), int(shape[0]), int(shape[1]))


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


class CurveCheck(NamedTuple):
    """One curve's line of a [`ConvergenceReport`][scalebayes.inference.ConvergenceReport].

    Attributes:
        name: the curve's name.
        r_hat: largest R-hat over its checked variables.
        ess_bulk: smallest bulk ESS over them.
        ess_tail: smallest tail ESS over them.
        divergences: divergent transitions after warm-up.
        passed: whether it met the report's thresholds.
        reason: what failed (``""`` when it passed).
    """

    name: str
    r_hat: float
    ess_bulk: float
    ess_tail: float
    divergences: int
    passed: bool
    reason: str


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

    def curves(self) -> tuple[CurveCheck, ...]:
        """One [`CurveCheck`][scalebayes.inference.CurveCheck] per curve, in the report's
        order."""
        return tuple(
            CurveCheck(
                name=name,
                r_hat=float(self.r_hat[i]),
                ess_bulk=float(self.ess_bulk[i]),
                ess_tail=float(self.ess_tail[i]),
                divergences=int(self.divergences[i]),
                passed=name not in self.reasons,
                reason=self.reasons.get(name, ""),
            )
            for i, name in enumerate(self.names)
        )


def _per_curve(tree, var_names, reduce) -> np.ndarray:
    """Reduce a diagnostic DataTree to one value per curve: its worst entry, NaN where any
    entry is NaN (a constant or non-finite chain), which then fails every check, as in
    `diagnose`."""
    columns = []
    for name in var_names:
        da = tree[name]
        other = [d for d in da.dims if d != "curve"]
        values = np.asarray(da.transpose("curve", *other).values, np.float64)
        columns.append(values.reshape(values.shape[0], -1))
    return reduce(np.concatenate(columns, axis=1), axis=1)  # np.max / np.min keep a NaN


def _threshold(name: str, value: object, minimum: float) -> float:
    """``value`` as a float after checking that it is a finite number ``>= minimum`` (a NaN
    threshold would fail every curve, an infinite one pass every curve)."""
    if not (is_finite_real(value) and value >= minimum):
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, got {value!r}")
    return float(value)


def check_convergence(
    data,
    *,
    r_hat_max: float = R_HAT_MAX,
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
        ValueError: for ``r_hat_max`` not a finite number >= 1, an ESS minimum not a finite
            number >= 0, or ``max_divergences`` not an integer >= 0.
    """
    r_hat_max = _threshold("r_hat_max", r_hat_max, 1.0)
    if ess_bulk_min is not None:
        ess_bulk_min = _threshold("ess_bulk_min", ess_bulk_min, 0.0)
    if ess_tail_min is not None:
        ess_tail_min = _threshold("ess_tail_min", ess_tail_min, 0.0)
    max_divergences = check_integer("max_divergences", max_divergences, minimum=0)
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
    ess_bulk_min = ESS_PER_CHAIN * n_chains if ess_bulk_min is None else float(ess_bulk_min)
    ess_tail_min = ESS_PER_CHAIN * n_chains if ess_tail_min is None else float(ess_tail_min)

    with np.errstate(all="ignore"):  # a constant chain's diagnostic is NaN, which fails
        r_hat = _per_curve(azs.rhat(tree, var_names=var_names), var_names, np.max)
        ess_bulk = _per_curve(azs.ess(tree, var_names=var_names), var_names, np.min)
        tail = azs.ess(tree, var_names=var_names, method="tail", prob=TAIL_PROB)  # as `diagnose`
        ess_tail = _per_curve(tail, var_names, np.min)
    names = tuple(str(c) for c in posterior.coords["curve"].values)
    if "sample_stats" in tree.children and "diverging" in tree["sample_stats"].data_vars:
        div = tree["sample_stats"]["diverging"].transpose("curve", ...).values
        divergences = div.reshape(len(names), -1).sum(axis=1).astype(int)
    else:
        divergences = np.zeros(len(names), int)

    reasons: dict[str, str] = {}
    for i, name in enumerate(names):
        why = _failed_checks(
            r_hat[i],
            ess_bulk[i],
            ess_tail[i],
            int(divergences[i]),
            r_hat_max=r_hat_max,
            ess_bulk_min=ess_bulk_min,
            ess_tail_min=ess_tail_min,
            max_divergences=max_divergences,
        )
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
        warn_at_caller(
            f"{len(reasons)} of {len(names)} curves did not converge: {listed}", ConvergenceWarning
        )
    return report


def check_mixing(data, *, warn: bool = True) -> ConvergenceReport:
    """Did each curve's chains mix? `check_convergence` with the looser thresholds of `MIXING`.

    A curve fails if any latent has R-hat above 1.05 or bulk or tail ESS below 100 (over all
    chains), or if more than 1% of its draws diverged. `check_convergence`'s defaults (R-hat
    1.01, ESS 100 per chain) ask whether posterior summaries are precise; these ask whether the
    chains agree at all, so that a predictive does not mix modes in proportions the posterior
    does not have. The command line's MCMC answers and `suggest_next(method="mcmc-*")` warn on
    them. With a few runs most curves fail (see "Are the chains converged?" in the docs'
    calibration results).

    Args:
        data: an [`MCMCResult`][scalebayes.inference.MCMCResult] or the ``DataTree`` of
            [`to_datatree`][scalebayes.inference.to_datatree].
        warn: emit a ``ConvergenceWarning`` naming the curves that fail.

    Returns:
        A [`ConvergenceReport`][scalebayes.inference.ConvergenceReport].
    """
    if hasattr(data, "n_chains") and hasattr(data, "n_draws"):
        n_draws = data.n_chains * data.n_draws
    else:
        has_posterior = hasattr(data, "children") and "posterior" in data.children
        posterior = data["posterior"] if has_posterior else None
        if posterior is None:
            raise TypeError(
                "check_mixing: data must be an MCMCResult or an ArviZ DataTree with a "
                f"posterior group; got {type(data).__name__}"
            )
        n_draws = posterior.sizes["chain"] * posterior.sizes["draw"]
    return check_convergence(
        data,
        r_hat_max=MIXING["r_hat_max"],
        ess_bulk_min=MIXING["ess_min"],
        ess_tail_min=MIXING["ess_min"],
        max_divergences=int(MIXING["divergent_share"] * n_draws),
        warn=warn,
    )
