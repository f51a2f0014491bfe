"""The compiled NUTS kernel: every curve of a chunk sampled in one call.

Each curve gets its own NUTS chains with their own step size and (dense) mass-matrix
adaptation: NumPyro's functional NUTS kernel (``numpyro.infer.hmc.hmc``) is built from a
per-curve potential (``potential_fn_gen(data)``), its ``init`` / ``sample`` functions run in a
``lax.scan`` (warm-up, then sampling), ``vmap``-ed over every (curve, chain) pair of a chunk,
and the curves are processed in chunks. Under ``vmap`` a NUTS step lasts
as long as the longest trajectory of the lanes it holds, so on a CPU small chunks (a few curves)
waste least; on a GPU one chunk of all curves fills the device.

Before sampling, every curve's posterior mode is found from its point fit
([`fit_curves`][scalebayes.inference.fit_curves]) by a few damped Newton steps on the
potential; the Laplace covariance at the mode is the initial inverse mass matrix, and the
chains start at the mode plus ``init_jitter`` times a draw from that Laplace approximation
(clipped to the prior's central +- 3 scales). This removes the costly early warm-up phase in
which an identity mass matrix forces tiny steps on a badly scaled posterior.
The flat latent vector of a model (its sites in order, ``_layout``) is what the kernel
samples; ``_unflatten`` turns draws back into ``{site: array}``.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .._shapes import bucket
from ._bayes_base import BayesModel, CurveData

_NEWTON_ITER = 25
_LAPLACE_EIG_MIN = 0.1  # curvature floor: no Laplace sd above ~3.2 latent units
_LAPLACE_EIG_MAX = 1e10
_LAPLACE_EIG_MAX_F32 = 1e6  # keeps the covariance's condition number within float32's reach


def _bucket_points(n: int) -> int:
    """Points a curve is padded to: the next power of two, at least 8 (few compiled shapes)."""
    return bucket(n, 8)


# -- layout of the flat latent vector --------------------------------------------------------
@functools.cache
def _layout(model: BayesModel) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """``(site, shape)`` of every latent, in the model's order (the flat vector's layout)."""
    dummy = CurveData(*(np.zeros(()) for _ in range(8)), np.ones(model.n_breaks))
    return tuple((name, tuple(p.shape)) for name, p in model.all_priors(dummy).items())


def _unflatten(model: BayesModel, flat):
    """Split the trailing axis of ``flat`` into ``{site: array}`` (leading axes kept)."""
    out, i = {}, 0
    for name, shape in _layout(model):
        size = math.prod(shape)
        part = flat[..., i : i + size]
        out[name] = part.reshape(*flat.shape[:-1], *shape)
        i += size
    return out


def _flatten(model: BayesModel, z) -> np.ndarray:
    parts = [np.reshape(np.asarray(z[name], np.float64), (-1,)) for name, _ in _layout(model)]
    return np.concatenate(parts)


def _prior_box(model: BayesModel, data: CurveData) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (prior location +- 3 scales) of the flat latent vector."""
    locs, scales = [], []
    for prior in model.all_priors(data).values():
        loc = np.broadcast_to(np.asarray(prior.loc, np.float64), prior.shape).ravel()
        locs.append(loc)
        scales.append(np.full(loc.shape, prior.scale))
    loc, scale = np.concatenate(locs), np.concatenate(scales)
    return loc - 3.0 * scale, loc + 3.0 * scale


def _potential(model: BayesModel, data: CurveData, flat):
    from numpyro.infer.util import potential_energy

    return potential_energy(model, (data,), {}, _unflatten(model, flat))


# -- the compiled sampler ---------------------------------------------------------------------
def _mode_and_laplace(pot, z0, prior_sd):
    """Damped Newton from ``z0`` to a mode of ``pot``; the Laplace covariance there.

    Each step solves with ``|H| + lam I`` (absolute eigenvalues, so saddles repel), is
    shortened to a norm of at most 2, and is kept only if the potential falls (else ``lam``
    grows four-fold; after a success it shrinks three-fold). Should anything come out
    non-finite, the start ``z0`` and the prior's diagonal covariance are returned instead.
    """
    grad_fn = jax.grad(pot)
    hess_fn = jax.hessian(pot)
    dim = z0.shape[-1]

    def body(_, state):
        z, f, lam = state
        g, h = grad_fn(z), hess_fn(z)
        w, vec = jnp.linalg.eigh(0.5 * (h + h.T))
        w = jnp.abs(w) + lam
        step = -vec @ ((vec.T @ g) / w)
        norm = jnp.linalg.norm(step)
        step = step * jnp.minimum(1.0, 2.0 / jnp.maximum(norm, 1e-30))
        z_new = z + step
        f_new = pot(z_new)
        ok = jnp.isfinite(f_new) & (f_new < f) & jnp.all(jnp.isfinite(z_new))
        return (
            jnp.where(ok, z_new, z),
            jnp.where(ok, f_new, f),
            jnp.where(ok, lam / 3.0, lam * 4.0),
        )

    lam0 = jnp.asarray(1e-3, z0.dtype)
    z, _, _ = jax.lax.fori_loop(0, _NEWTON_ITER, body, (z0, pot(z0), lam0))
    h = hess_fn(z)
    w, vec = jnp.linalg.eigh(0.5 * (h + h.T))
    eig_max = _LAPLACE_EIG_MAX if z.dtype == jnp.float64 else _LAPLACE_EIG_MAX_F32
    w = jnp.clip(jnp.where(jnp.isfinite(w), w, 1.0), _LAPLACE_EIG_MIN, eig_max)
    cov = (vec / w) @ vec.T
    cov = 0.5 * (cov + cov.T) + 1e-12 * jnp.eye(dim, dtype=z.dtype)
    ok = jnp.all(jnp.isfinite(cov)) & jnp.all(jnp.isfinite(z))
    cov = jnp.where(ok, cov, jnp.diag(prior_sd**2))
    z = jnp.where(ok, z, z0)
    return z, cov


# -- one NUTS chain: the package's one MCMC driver --------------------------------------------
def nuts_chain(
    potential_gen,
    key,
    start,
    inverse_mass,
    model_args: tuple = (),
    *,
    num_warmup: int,
    num_samples: int,
    max_tree_depth: int | tuple[int, int],
    target_accept_prob: float,
    dense_mass: bool,
):
    """One NUTS chain (NumPyro's functional ``hmc`` kernel): warm-up, then ``num_samples`` draws.

    Pure JAX: ``vmap`` it over chains (and curves) and call it under ``jit``. Both samplers of
    the package run through it: [`sample_posterior`][scalebayes.inference.sample_posterior]
    (every curve of a dataset) and [`sample_model`][scalebayes.inference.sample_model] (one
    NumPyro model, e.g. a compute-optimal joint law).

    Args:
        potential_gen: ``potential_gen(*model_args)`` is the potential (negative log density
            of the unconstrained latents, a pytree like ``start``).
        key: the chain's PRNG key.
        start: the chain's initial unconstrained latents.
        inverse_mass: initial inverse mass matrix (``None``: identity), adapted in warm-up.
        model_args: arguments of ``potential_gen`` (batched data under ``vmap``).
        num_warmup, num_samples, max_tree_depth, target_accept_prob, dense_mass: NUTS.

    Returns:
        ``(draws, stats, step_size)``: the latents with a leading draw axis; ``(diverging,
        num_steps, accept_prob, energy, potential_energy)`` per draw; the adapted step size.
    """
    from numpyro.infer.hmc import hmc

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")
    state = init_kernel(
        start,
        num_warmup,
        inverse_mass_matrix=inverse_mass,
        dense_mass=dense_mass,
        target_accept_prob=target_accept_prob,
        max_tree_depth=max_tree_depth,
        model_args=model_args,
        rng_key=key,
    )

    # One scan over warm-up and sampling (the kernel stops adapting after ``num_warmup``
    # steps by itself): the NUTS step is traced and batched once, not twice.
    def step(s, _):
        s = sample_kernel(s, model_args=model_args)
        stats = (s.diverging, s.num_steps, s.accept_prob, s.energy, s.potential_energy)
        return s, (s.z, stats)

    state, (zs, stats) = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
    zs, stats = jax.tree.map(lambda a: a[num_warmup:], (zs, stats))
    return zs, stats, state.adapt_state.step_size


@functools.partial(
    jax.jit,
    static_argnames=(
        "model",
        "num_chains",
        "num_warmup",
        "num_samples",
        "max_tree_depth",
        "target_accept_prob",
        "dense_mass",
    ),
)
def _sample_chunk(
    keys,
    z_start,
    box_lo,
    box_hi,
    init_jitter,
    data: CurveData,
    *,
    model: BayesModel,
    num_chains: int,
    num_warmup: int,
    num_samples: int,
    max_tree_depth: tuple[int, int],
    target_accept_prob: float,
    dense_mass: bool,
):
    """Sample every curve of a chunk (``vmap`` over curves and chains); see `sample_posterior`.

    Leading axis of every argument: the chunk's curves.
    """

    def potential_gen(d):
        return functools.partial(_potential, model, d)

    def one_curve(args):
        key, z0, lo, hi, d = args
        key_init, key_chains = jax.random.split(key)
        mode, cov = _mode_and_laplace(potential_gen(d), z0, (hi - lo) / 6.0)
        chol = jnp.linalg.cholesky(cov)
        # an ill-conditioned Laplace covariance (float32) falls back to its diagonal
        chol_ok = jnp.all(jnp.isfinite(chol))
        cov = jnp.where(chol_ok, cov, jnp.diag(jnp.diag(cov)))
        chol = jnp.where(chol_ok, chol, jnp.diag(jnp.sqrt(jnp.diag(cov))))
        eps = jax.random.normal(key_init, (num_chains, z0.shape[-1]), z0.dtype)
        starts = jnp.clip(mode + init_jitter * eps @ chol.T, lo, hi)
        starts = jnp.where(jnp.isfinite(starts), starts, z0)
        inverse_mass = cov if dense_mass else jnp.diag(cov)
        return jax.random.split(key_chains, num_chains), starts, inverse_mass, mode

    chain_keys, starts, inverse_mass, modes = jax.vmap(one_curve)(
        (keys, z_start, box_lo, box_hi, data)
    )
    # One vmap over the (curve, chain) pairs rather than a vmap of vmaps: batching NUTS's
    # while loops dominates tracing time, and each nesting level repeats it.
    n_curves = keys.shape[0]

    def flat(a):
        return a.reshape((n_curves * num_chains, *a.shape[2:]))

    def per_chain(a):
        return jnp.repeat(a, num_chains, axis=0)

    chain = functools.partial(
        nuts_chain,
        potential_gen,
        num_warmup=num_warmup,
        num_samples=num_samples,
        max_tree_depth=max_tree_depth,
        target_accept_prob=target_accept_prob,
        dense_mass=dense_mass,
    )
    zs, stats, step_size = jax.vmap(lambda k, z, m, d: chain(k, z, m, (d,)))(
        flat(chain_keys),
        flat(starts),
        per_chain(inverse_mass),
        jax.tree.map(per_chain, data),
    )

    def unflat(a):
        return a.reshape((n_curves, num_chains, *a.shape[1:]))

    zs, stats, step_size = jax.tree.map(unflat, (zs, stats, step_size))
    return zs, stats, step_size, starts, modes
