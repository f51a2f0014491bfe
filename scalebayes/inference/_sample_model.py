"""NUTS for one NumPyro model, through the package's one MCMC driver.

[`sample_model`][scalebayes.inference.sample_model] samples any NumPyro model (the
compute-optimal joint laws use it) with the same chain function as
[`sample_posterior`][scalebayes.inference.sample_posterior] (``_nuts.nuts_chain``: NumPyro's
functional NUTS kernel in one ``lax.scan`` over warm-up and sampling, ``vmap``-ed over
chains) and is checked by the same [`diagnose`][scalebayes.inference.diagnose] thresholds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from .._checks import check_integer, check_key, is_integer, is_real
from .._precision import precision_scope
from ._diagnostics import Diagnostics, diagnose
from ._nuts import nuts_chain

__all__ = ["ModelPosterior", "sample_model"]


@dataclass(frozen=True)
class ModelPosterior:
    """NUTS draws of one NumPyro model.

    Attributes:
        samples: constrained draws of every latent and deterministic site, each of shape
            ``(n_chains, n_draws, *site_shape)`` (float64 NumPy arrays).
        latent: the names of the latent (sampled) sites.
        sample_stats: ``diverging``, ``n_steps``, ``acceptance_rate``, ``energy`` and ``lp``,
            each ``(n_chains, n_draws)``.
        step_size: the adapted step size per chain.
        seconds: wall time of sampling (compilation included).
    """

    samples: dict[str, np.ndarray]
    latent: tuple[str, ...]
    sample_stats: dict[str, np.ndarray]
    step_size: np.ndarray
    seconds: float

    @property
    def n_divergent(self) -> int:
        """Divergent transitions after warm-up, over all chains."""
        return int(self.sample_stats["diverging"].sum())

    def diagnostics(self) -> Diagnostics:
        """R-hat and bulk/tail ESS of the latent sites, and the divergences (needs ArviZ)."""
        return diagnose({k: self.samples[k] for k in self.latent}, self.n_divergent)


def sample_model(
    key: jax.Array,
    model: Callable,
    *model_args: Any,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    target_accept_prob: float = 0.8,
    dense_mass: bool = False,
    max_tree_depth: int | tuple[int, int] = 10,
    init_strategy: Callable | None = None,
    precision: str | None = None,
    **model_kwargs: Any,
) -> ModelPosterior:
    """Sample the posterior of a NumPyro model with NUTS, chains vectorised in one call.

    Every chain starts from its own draw of ``init_strategy`` (default
    ``init_to_median(num_samples=15)``) with an identity mass matrix, adapts step size and
    (dense or diagonal) mass matrix during warm-up, and the whole run (all chains, warm-up and
    sampling) is one compiled function. Draws are mapped back to the constrained space by the
    model's own transforms. Check them with
    [`ModelPosterior.diagnostics`][scalebayes.inference.ModelPosterior.diagnostics].

    Args:
        key: a JAX PRNG key.
        model: a NumPyro model.
        *model_args: positional arguments of the model.
        num_warmup: warm-up (adaptation) iterations per chain.
        num_samples: draws kept per chain.
        num_chains: chains (at least 2: the convergence checks compare them), run under
            ``vmap``.
        target_accept_prob: the step-size adaptation's target acceptance probability.
        dense_mass: adapt a dense mass matrix (for strongly correlated parameters).
        max_tree_depth: NUTS tree depth cap, or ``(warm-up cap, sampling cap)``.
        init_strategy: a NumPyro init strategy.
        precision: ``"float64"`` or ``"float32"``; ``None`` uses the package's precision
            policy ([`precision`][scalebayes.precision]).
        **model_kwargs: keyword arguments of the model.

    Returns:
        A [`ModelPosterior`][scalebayes.inference.ModelPosterior].

    Raises:
        ValueError: for bad settings, naming the argument.
    """
    from numpyro.infer import init_to_median
    from numpyro.infer.util import initialize_model

    key = check_key(key)
    num_warmup = check_integer("num_warmup", num_warmup, 0)
    num_samples = check_integer("num_samples", num_samples, 1)
    num_chains = check_integer("num_chains", num_chains, 2)  # R-hat compares chains
    if not (is_real(target_accept_prob) and 0 < target_accept_prob < 1):
        raise ValueError(
            f"target_accept_prob must be a number in (0, 1), got {target_accept_prob!r}"
        )
    depth = max_tree_depth if isinstance(max_tree_depth, tuple) else (max_tree_depth,) * 2
    if len(depth) != 2 or not all(is_integer(d) and 1 <= d <= 15 for d in depth):
        raise ValueError(f"max_tree_depth must be an int in 1..15 or a pair, got {depth!r}")
    depth = tuple(int(d) for d in depth)
    init_strategy = init_to_median(num_samples=15) if init_strategy is None else init_strategy

    tic = time.perf_counter()
    with precision_scope(precision):
        if jax.dtypes.issubdtype(jax.numpy.asarray(key).dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        init_keys = jax.random.split(jax.random.fold_in(key, 0), num_chains)
        chain_keys = jax.random.split(jax.random.fold_in(key, 1), num_chains)
        info = initialize_model(
            init_keys,
            model,
            init_strategy=init_strategy,
            model_args=model_args,
            model_kwargs=model_kwargs,
        )
        starts = info.param_info.z  # {site: (num_chains, ...)} unconstrained
        chain = functools.partial(
            nuts_chain,
            lambda: info.potential_fn,
            num_warmup=num_warmup,
            num_samples=num_samples,
            max_tree_depth=tuple(depth),
            target_accept_prob=float(target_accept_prob),
            dense_mass=bool(dense_mass),
        )

        @jax.jit
        def run(keys, starts):
            zs, stats, step_size = jax.vmap(lambda k, z: chain(k, z, None))(keys, starts)
            constrained = jax.vmap(jax.vmap(info.postprocess_fn))(zs)
            return constrained, stats, step_size

        samples, stats, step_size = run(chain_keys, starts)
        samples = {k: np.asarray(v, np.float64) for k, v in samples.items()}
        diverging, n_steps, accept, energy, potential = (np.asarray(a) for a in stats)
    return ModelPosterior(
        samples=samples,
        latent=tuple(starts),
        sample_stats={
            "diverging": diverging.astype(bool),
            "n_steps": n_steps.astype(np.int64),
            "acceptance_rate": accept.astype(np.float64),
            "energy": energy.astype(np.float64),
            "lp": -potential.astype(np.float64),
        },
        step_size=np.asarray(step_size, np.float64),
        seconds=time.perf_counter() - tic,
    )
