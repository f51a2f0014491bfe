"""Study methods ``mcmc-m3``, ``mcmc-m4`` and ``mcmc-bnsl``: NUTS posterior predictives.

``scalebayes.studies`` registers one method per Bayesian family (``probabilistic=True``,
so studies score RMSLE, LL and MSCE) that calls [`mcmc_method`][scalebayes.inference.mcmc_method]
on first use: it samples the context points of a batch of curves with
[`sample_posterior`][scalebayes.inference.sample_posterior] (default settings: OU residuals,
4 chains, 300 warm-up and 300 kept draws) and returns one
[`MCMCPredictive`][scalebayes.inference.MCMCPredictive] per curve for its targets, carrying
in ``mixing`` the verdict of [`check_mixing`][scalebayes.inference.check_mixing] on its chains
(a study writes it to ``per_curve.csv``).

A curve's PRNG key is derived from its name (CRC-32 folded into a base key), so its draws do
not depend on which batch the study puts it in (on an accelerator, up to the chunk width; see
[`sample_posterior`][scalebayes.inference.sample_posterior]).

The method's ``settings()`` string (the family, the seed and every sampler setting, defaults
included) is part of the fingerprint a study stores with each row, so a rerun with other
settings recomputes rather than reuses the old scores.
"""

from __future__ import annotations

import dataclasses
import inspect
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from ._bayes_models import BAYES_FAMILIES

if TYPE_CHECKING:
    from ..data import Curve
    from ._mcmc_predictive import MCMCPredictive


def curve_keys(seed: int, names: Sequence[str]) -> jax.Array:
    """One PRNG key per curve: ``fold_in(key(seed), crc32(name) & 0x7FFFFFFF)`` (the CRC-32
    of the name's UTF-8 bytes, its top bit cleared).

    Args:
        seed: base seed.
        names: curve names.

    Returns:
        Typed PRNG keys, shape ``(len(names),)``.
    """
    base = jax.random.key(seed)
    hashes = [zlib.crc32(str(name).encode()) & 0x7FFFFFFF for name in names]
    return jax.vmap(lambda h: jax.random.fold_in(base, h))(jnp.asarray(hashes, jnp.uint32))


NULL_PATHS = 200
"""Joint paths per curve behind a study predictive's ``msce_null``."""
# The paths' key is ``fold_in(curve key, _PATHS_TAG)``. Not a small integer: with JAX's
# partitionable threefry, ``fold_in(k, i)`` equals ``split(k, n)[i]``, and the sampler splits
# each curve's key in two (initial points, chains), so ``fold_in(k, 1)`` would replay the
# chains' key.
_PATHS_TAG = 0x70617468


def paths_keys(keys: jax.Array) -> jax.Array:
    """The keys of the ``msce_null`` paths from the sampler's per-curve ``keys``: independent
    of every key the sampler draws from them."""
    return jax.vmap(lambda k: jax.random.fold_in(k, _PATHS_TAG))(keys)


def _with_null(result, predictives, targets, keys: jax.Array) -> list:
    """The predictives with ``msce_null``: their MSCE against ``NULL_PATHS`` of their own
    joint paths per curve (keys `paths_keys` of the sampler's per-curve ``keys``, so
    independent of the batch and of the chains)."""
    from ..evaluate import calibrated_msce

    paths = result.sample_paths(paths_keys(keys), targets, n_paths=NULL_PATHS)
    out = []
    for pred, path in zip(predictives, paths, strict=True):
        path = path[np.all(np.isfinite(path) & (path > 0), axis=1)]  # overflowed draws dropped
        null = calibrated_msce(pred, path) if path.shape[0] else None
        out.append(dataclasses.replace(pred, msce_null=null))
    return out


@dataclass(frozen=True, eq=False)
class MCMCMethod:
    """A study method of NUTS on one family, as
    [`mcmc_method`][scalebayes.inference.mcmc_method] returns it: called on a batch of
    curves, it samples each curve's posterior from its context points and returns its
    predictive at the targets. Its fields are `mcmc_method`'s arguments."""

    family: str
    seed: int
    check: bool
    sampler_kwargs: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int = 16  # NUTS is slow: small batches keep progress visible
    pad_batches: bool = False  # on CPU each curve runs alone (chunk 1): padding only costs

    def __call__(self, curves: Sequence[Curve]) -> list[MCMCPredictive]:
        from ._mcmc import sample_posterior

        names = [c.name for c in curves]
        keys = curve_keys(self.seed, names)
        result = sample_posterior(
            keys,
            self.family,
            [c.x_context for c in curves],
            [c.y_context for c in curves],
            names=names,
            **self.sampler_kwargs,
        )
        from ._diagnostics import check_convergence, check_mixing

        if self.check:
            check_convergence(result)
        targets = [c.x_target for c in curves]
        predictives = _with_null(result, result.predictive(targets), targets, keys)
        try:
            checks = check_mixing(result, warn=False).curves()
        except ImportError:  # no ArviZ: the predictions stand, their chains go unchecked
            return predictives
        return [dataclasses.replace(p, mixing=c) for p, c in zip(predictives, checks, strict=True)]

    def settings(self) -> str:
        """The family, seed and every ``sample_posterior`` setting (defaults filled in), and
        how the ``msce_null`` paths are drawn.

        ``chunk_size=None`` is written as the width it resolves to on this backend, since the
        draws depend on it; ``precision=None`` inside a
        [`scalebayes.precision("float64")`][scalebayes.precision] block as the
        ``"float64"`` it resolves to (outside one it means float32, as it always has, so
        rows stored before this was recorded still resume).
        """
        from .._precision import current_precision
        from ._mcmc import _default_chunk, sample_posterior

        options = {
            name: p.default
            for name, p in inspect.signature(sample_posterior).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "names"
        }
        options.update(self.sampler_kwargs)
        if options.get("chunk_size") is None:
            options["chunk_size"] = _default_chunk()
        resolved = current_precision("float32")
        if options.get("precision") is None and resolved != "float32":
            options["precision"] = resolved  # the draws depend on it
        listed = ", ".join(f"{name}={value!r}" for name, value in sorted(options.items()))
        # the msce_null paths' key: rows drawn with another key are not resumed
        paths = f"null paths fold_in({_PATHS_TAG:#x}) x {NULL_PATHS}"
        return f"sample_posterior(family={self.family!r}, seed={self.seed!r}, {listed}); {paths}"

    def validate(self, curve: Curve) -> None:
        """Reject a curve with fewer than 3 context points (the sampler's minimum)."""
        if curve.n_context < 3:
            raise ValueError(
                f"NUTS needs at least 3 context points, it has {curve.n_context}; give it "
                "more points or drop it"
            )


def mcmc_method(family: str, *, seed: int = 0, check: bool = False, **sampler_kwargs) -> MCMCMethod:
    """A study method: NUTS on each curve's context points, predictive at its targets.

    Args:
        family: ``"m3"``, ``"m4"`` or ``"bnsl"``.
        seed: base PRNG seed; each curve's key folds in a hash of its name.
        check: run [`check_convergence`][scalebayes.inference.check_convergence] (needs
            ArviZ) on every batch, warning with a ``ConvergenceWarning`` that names the
            curves that fail.
        **sampler_kwargs: passed on to
            [`sample_posterior`][scalebayes.inference.sample_posterior] (e.g. ``num_warmup``,
            ``noise``).

    Returns:
        A callable from a batch of split curves (``scalebayes.data.Curve``) to one
        predictive per curve for its target x, with ``msce_null`` set (its MSCE against 200
        of its own joint paths) and ``mixing`` (when ArviZ is there). Its
        ``settings()`` names the family, seed and every sampler setting (for the study's
        fingerprints), ``validate(curve)`` rejects a curve with fewer than 3 context points,
        and ``batch_size`` is 16.

    Raises:
        ValueError: for a family without a Bayesian model.
        TypeError: for a keyword ``sample_posterior`` does not take.
    """
    if family not in BAYES_FAMILIES:
        raise ValueError(f"no Bayesian model for family {family!r}; choose one of {BAYES_FAMILIES}")
    from ._mcmc import sample_posterior

    accepted = inspect.signature(sample_posterior).parameters
    unknown = [k for k in sampler_kwargs if k not in accepted or k in ("key", "family", "names")]
    if unknown:
        raise TypeError(
            f"mcmc_method got unknown sampler setting(s) {unknown}; see sample_posterior for "
            "the valid ones"
        )
    return MCMCMethod(family, seed, check, MappingProxyType(dict(sampler_kwargs)))
