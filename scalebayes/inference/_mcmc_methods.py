"""Study methods ``mcmc-m3``, ``mcmc-m4`` and ``mcmc-bnsl``: NUTS posterior predictives.

``scalebayes.evaluate`` registers one method per Bayesian family (``probabilistic=True``,
so studies score RMSLE, LL and MSCE) that calls [`mcmc_method`][scalebayes.inference.mcmc_method]
on first use: it samples the context points of a batch of curves with
[`sample_posterior`][scalebayes.inference.sample_posterior] (default settings: OU residuals,
4 chains, 300 warm-up and 300 kept draws) and returns one
[`MCMCPredictive`][scalebayes.inference.MCMCPredictive] per curve for its targets.

A curve's PRNG key is derived from its name (CRC-32 folded into a base key), so its draws do
not depend on which batch the study puts it in (on an accelerator, up to the chunk width; see
[`sample_posterior`][scalebayes.inference.sample_posterior]).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from ._bayes_models import BAYES_FAMILIES

if TYPE_CHECKING:
    from ..data import Curve
    from ._mcmc_predictive import MCMCPredictive


def curve_keys(seed: int, names: Sequence[str]) -> jax.Array:
    """One PRNG key per curve: ``fold_in(key(seed), crc32(name))``.

    Args:
        seed: base seed.
        names: curve names.

    Returns:
        Typed PRNG keys, shape ``(len(names),)``.
    """
    base = jax.random.key(seed)
    hashes = [zlib.crc32(str(name).encode()) & 0x7FFFFFFF for name in names]
    return jax.vmap(lambda h: jax.random.fold_in(base, h))(jnp.asarray(hashes, jnp.uint32))


def mcmc_method(
    family: str, *, seed: int = 0, check: bool = False, **sampler_kwargs
) -> Callable[[Sequence[Curve]], list[MCMCPredictive]]:
    """A study method: NUTS on each curve's context points, predictive at its targets.

    Args:
        family: ``"m3"``, ``"m4"`` or ``"bnsl"``.
        seed: base PRNG seed; each curve's key folds in a hash of its name.
        check: run [`check_convergence`][scalebayes.evaluate.check_convergence] (needs
            ArviZ) on every batch, warning with a ``ConvergenceWarning`` that names the
            curves that fail.
        **sampler_kwargs: passed on to
            [`sample_posterior`][scalebayes.inference.sample_posterior] (e.g. ``num_warmup``,
            ``noise``).

    Returns:
        A function from a batch of split curves (``scalebayes.data.Curve``) to one
        predictive per curve for its target x.

    Raises:
        ValueError: for a family without a Bayesian model.
    """
    if family not in BAYES_FAMILIES:
        raise ValueError(f"no Bayesian model for family {family!r}; choose one of {BAYES_FAMILIES}")

    def predict(curves: Sequence[Curve]) -> list[MCMCPredictive]:
        from ._mcmc import sample_posterior

        names = [c.name for c in curves]
        result = sample_posterior(
            curve_keys(seed, names),
            family,
            [c.x_context for c in curves],
            [c.y_context for c in curves],
            names=names,
            **sampler_kwargs,
        )
        if check:
            from ..evaluate._arviz import check_convergence

            check_convergence(result)
        return result.predictive([c.x_target for c in curves])

    predict.__name__ = f"mcmc_{family}"
    return predict
