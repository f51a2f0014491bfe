"""A fast, batched, jit-compiled generator of synthetic curves from NumPyro prior models.

``sample_curves`` draws each curve's *frame* the way the NSL-PFN release does (its length,
its grid, its context size and its family), then draws the curve from that family's NumPyro
model under ``numpyro.handlers.seed`` (vmapped over curves), and redraws every curve the
model marks invalid with the same frame: the release's ``while True`` rejection loop, done
for the whole batch inside JAX, with no Python loop over curves.

The loop works in passes. A pass collects, family by family, the indices of the pending
curves (``jnp.nonzero`` with a static size) and runs that family's model on them
``chunk_size`` at a time inside a ``lax.while_loop`` whose trip count is the number of
pending chunks; accepted draws are scattered back. The first pass has every curve pending.
A chunk with fewer pending curves than slots fills its spare slots with further candidates
of the same curves (slot ``j`` of ``m`` pending curves draws candidate ``j // m`` of curve
``j % m``) and keeps each curve's first valid candidate: the chunk costs the same, and a
rarely accepted family (Down-Up-Down accepts about a third of its candidates, 0.35-0.39,
some frames far fewer) needs a few passes rather than dozens, which is what a training step on an
accelerator waits for.
Grouping by family lets a Down curve run the cheap one-segment Down model rather than the
masked three-family mixture; on CPU the chunks also keep the working set in cache. Each
candidate is an independent draw given the frame, so an accepted curve follows the model's
distribution given its frame and validity, exactly as in the release; in particular the
family frequencies are those of the mixture weights.

Prior contract. A prior model is a NumPyro model called as
``model(x, length=length, context_size=context_size, config=config)`` for one curve, with
``x`` its sorted grid, shape ``(L,)``, padded after ``length`` valid points (padding is 0), and
``context_size`` the number of context points; it returns a dict with ``y`` (shape
``(L,)``) and optionally ``y_clean``, ``sigma``, ``valid`` (a bool: False asks for a
redraw) and ``family``. A curve is also redrawn when ``y`` or ``y_clean`` is not finite on
the valid points. ``sample_curves`` takes a single model or a mixture given as
``(probability, model)`` pairs; the NSL-PFN prior is the mixture
``zip(config.family_probs, FAMILY_MODELS)``. It has the distribution of
[`nslpfn_prior`][scalebayes.priors.nslpfn_prior] conditioned on a family drawn with those
probabilities (tested) and runs about 20% faster (a Down curve runs the one-segment Down
model), at the price of compiling three models (about 14 s on CPU rather than 8 s). A
single model is redrawn whole: one that draws its own family, like ``nslpfn_prior``, would
have its family redrawn with the rest, shifting the family frequencies towards the
families rejected less, so give such a prior as pairs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from jaxtyping import Array, Bool, Float, Int
from numpyro import handlers

from .._checks import check_key
from ._config import PriorConfig
from ._curve_prior import FAMILY_MODELS, ContextSize, context_bounds
from ._segments import grid_from_spacings

_CPU_CHUNK_POINTS = 2**15  # points per chunk on CPU: the working set of a chunk fits in cache


class PriorBatch(NamedTuple):
    """A batch of synthetic curves, padded to a common length.

    Attributes:
        x: grid, shape ``(n, L)``, sorted over the first ``length`` entries, 0 after.
        y: noisy values (the training targets), shape ``(n, L)``, 0 after ``length``.
        y_clean: noise-free values, shape ``(n, L)``, 0 after ``length``.
        mask: valid points, shape ``(n, L)``.
        length: number of valid points per curve, shape ``(n,)``.
        context_size: number of context points per curve (the cutoff is
            ``x[context_size]``), shape ``(n,)``.
        family: family id per curve (0 Down, 1 Down-Down, 2 Down-Up-Down), shape ``(n,)``.
        sigma: noise standard deviation per curve, shape ``(n,)``.
        n_tries: candidates up to and including the accepted one (1 = the first was valid;
            the rejection loop's count of draws), or all drawn if none was, shape ``(n,)``.
        accepted: whether the curve passed the prior's checks (False only if
            ``max_rounds`` passes ran out), shape ``(n,)``.
    """

    x: Float[Array, "n L"]
    y: Float[Array, "n L"]
    y_clean: Float[Array, "n L"]
    mask: Bool[Array, "n L"]
    length: Int[Array, " n"]
    context_size: Int[Array, " n"]
    family: Int[Array, " n"]
    sigma: Float[Array, " n"]
    n_tries: Int[Array, " n"]
    accepted: Bool[Array, " n"]

    @property
    def context_mask(self) -> Bool[Array, "n L"]:
        """Context points: the first ``context_size`` points of each curve."""
        idx = jnp.arange(self.x.shape[-1])
        return idx[None, :] < self.context_size[:, None]

    @property
    def target_mask(self) -> Bool[Array, "n L"]:
        """Target points: valid points from index ``context_size`` on."""
        return self.mask & ~self.context_mask


def _draw_one(model, config, key, x, length, context_size):
    """One candidate for one curve: the model's outputs and whether it is acceptable."""
    out = handlers.seed(model, rng_seed=key)(
        x, length=length, context_size=context_size, config=config
    )
    mask = jnp.arange(x.shape[-1]) < length
    y = jnp.asarray(out["y"])
    y_clean = jnp.asarray(out.get("y_clean", y))
    finite = jnp.all(~mask | (jnp.isfinite(y) & jnp.isfinite(y_clean)))
    result = {
        "y": jnp.where(mask, y, 0.0),
        "y_clean": jnp.where(mask, y_clean, 0.0),
        "sigma": jnp.asarray(out.get("sigma", jnp.nan), y.dtype),
        "family": jnp.asarray(out.get("family", 0), jnp.int32),
    }
    return result, jnp.asarray(out.get("valid", True), bool) & finite


@functools.partial(
    jax.jit,
    static_argnames=("n", "length", "n_points", "config", "components", "chunk", "max_rounds"),
)
def _sample(key, *, n, length, n_points, config, components, chunk, max_rounds):
    k_len, k_grid, k_ctx, k_fam, k_loop = jax.random.split(key, 5)
    if length is None:
        values = jnp.asarray(config.length_values(), jnp.int32)
        lengths = values[jax.random.randint(k_len, (n,), 0, values.shape[0])]
    else:
        lengths = jnp.full((n,), length, jnp.int32)

    def grid(args):
        key, length = args
        spacings = jax.random.exponential(key, (n_points - 1,))
        return grid_from_spacings(spacings, length, config.x_range)

    # Chunked, like the draws: random numbers for the whole batch at once are memory-bound.
    x = jax.lax.map(grid, (jax.random.split(k_grid, n), lengths), batch_size=chunk)
    low, high = context_bounds(lengths, n_points, config)
    context = ContextSize(low, high, config.min_context).sample(k_ctx)
    component = jnp.zeros((n,), jnp.int32)
    if len(components) > 1:  # the family of each curve: its mixture component
        probs = jnp.asarray([p for p, _ in components])
        component = dist.Categorical(probs=probs).sample(k_fam, (n,))

    res = {
        "y": jnp.zeros((n, n_points)),
        "y_clean": jnp.zeros((n, n_points)),
        "sigma": jnp.zeros((n,)),
        "family": jnp.zeros((n,), jnp.int32),
    }
    accepted = jnp.zeros((n,), bool)
    tries = jnp.zeros((n,), jnp.int32)

    def chunk_step(draw, n_pending, state):
        res, accepted, tries, slots_all, c, counter = state
        slots = jax.lax.dynamic_slice_in_dim(slots_all, c * chunk, chunk)
        # The chunk's m pending curves share its `chunk` candidate slots: slot j draws
        # candidate j // m of curve j % m, so a part-full chunk (the last one of a pass, and
        # every chunk once few curves are left) spends its spare slots on further candidates
        # instead of on copies that are thrown away. Candidates are independent given the
        # frame, so the first valid one in rank order is the rejection loop's draw.
        m = jnp.clip(n_pending - c * chunk, 1, chunk)
        j = jnp.arange(chunk)
        owner, rank = j % m, j // m
        source = jnp.minimum(slots[owner], n - 1)
        keys = jax.random.split(jax.random.fold_in(k_loop, counter), chunk)
        new, take = draw(keys, x[source], lengths[source], context[source])
        best = jax.ops.segment_min(jnp.where(take, rank, chunk), owner, num_segments=chunk)
        best = jnp.minimum(best, chunk)  # curves without candidates get the dtype's max
        drawn = jax.ops.segment_sum(jnp.ones_like(rank), owner, num_segments=chunk)
        ok = best < chunk
        pick = jnp.minimum(best * m + j, chunk - 1)
        live = jnp.where(j < m, slots, n)  # only the m owners write back (slot j is curve j)

        def put(old, value):
            cond = ok.reshape(ok.shape + (1,) * (value.ndim - 1))
            return old.at[live].set(jnp.where(cond, value[pick], old[source]), mode="drop")

        res = {name: put(res[name], new[name]) for name in res}
        accepted = accepted.at[live].set(ok, mode="drop")
        tries = tries.at[live].add(jnp.where(ok, best + 1, drawn), mode="drop")
        return res, accepted, tries, slots_all, c + 1, counter + 1

    def one_pass(state):
        res, accepted, tries, rounds, counter = state
        for f, (_, model) in enumerate(components):
            draw = jax.vmap(functools.partial(_draw_one, model, config))
            pending = ~accepted & (component == f)
            n_pending = jnp.sum(pending, dtype=jnp.int32)
            n_chunks = (n_pending + chunk - 1) // chunk
            (slots_all,) = jnp.nonzero(pending, size=n + chunk, fill_value=n)
            inner = (res, accepted, tries, slots_all, jnp.zeros((), jnp.int32), counter)
            res, accepted, tries, _, _, counter = jax.lax.while_loop(
                lambda s, n_chunks=n_chunks: s[4] < n_chunks,
                functools.partial(chunk_step, draw, n_pending),
                inner,
            )
        return res, accepted, tries, rounds + 1, counter

    zero = jnp.zeros((), jnp.int32)
    res, accepted, tries, _, _ = jax.lax.while_loop(
        lambda s: jnp.any(~s[1]) & (s[3] < max_rounds),
        one_pass,
        (res, accepted, tries, zero, zero),
    )
    family = component if len(components) > 1 else res["family"]
    return PriorBatch(
        x=x,
        y=res["y"],
        y_clean=res["y_clean"],
        mask=jnp.arange(n_points)[None, :] < lengths[:, None],
        length=lengths,
        context_size=context,
        family=family,
        sigma=res["sigma"],
        n_tries=tries,
        accepted=accepted,
    )


def _components(prior, config: PriorConfig) -> tuple[tuple[float, Callable], ...]:
    if prior is None:
        return tuple(zip(config.family_probs, FAMILY_MODELS, strict=True))
    if callable(prior):
        return ((1.0, prior),)
    if isinstance(prior, Sequence) and prior:
        pairs = []
        for item in prior:
            if not (isinstance(item, Sequence) and len(item) == 2 and callable(item[1])):
                raise TypeError(
                    "prior must be a model or a sequence of (probability, model) pairs, "
                    f"got an entry {item!r}"
                )
            pairs.append((float(item[0]), item[1]))
        probs = [p for p, _ in pairs]
        if any(not math.isfinite(p) or p < 0 for p in probs) or abs(sum(probs) - 1) > 1e-6:
            raise ValueError(f"mixture probabilities must be >= 0 and sum to 1, got {probs}")
        return tuple(pairs)
    raise TypeError(
        f"prior must be None, a NumPyro model or (probability, model) pairs, got {prior!r}"
    )


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def sample_curves(
    key: Array,
    n: int,
    *,
    length: int | None = None,
    max_length: int | None = None,
    config: PriorConfig | None = None,
    prior: Callable | Sequence[tuple[float, Callable]] | None = None,
    chunk_size: int | None = None,
    max_rounds: int = 1000,
) -> PriorBatch:
    """Draw ``n`` synthetic curves with the release's rejection loop, jit-compiled.

    Each curve's frame follows the NSL-PFN rules of ``config``: ``length`` points (drawn per
    curve from ``logspace(1.7, 2.7, 1000).astype(int)`` unless fixed), the grid
    ``sort([x_min, x_max] + (length - 2) * [U(x_min, x_max)])``, the context size
    ``max(2, randint(int(0.1 L), int(0.9 L) + 1))`` and the family. The curve is a draw of
    the family's NumPyro model, run as ``model(x, length=..., context_size=..., config=...)``
    under ``numpyro.handlers.seed`` and vmapped over curves; a draw whose ``valid`` is False
    or whose ``y`` is not finite is redrawn with the same frame, in passes over the pending
    curves of each family, ``chunk_size`` curves at a time, until every curve is valid: the
    release's ``while True`` loop, inside ``lax.while_loop``. A chunk with fewer pending curves
    than slots draws several candidates of each and keeps the first valid one (the same
    distribution), so a batch takes about 2 passes (28-41 with one candidate per pass, for
    256-512 NSL-PFN curves of 128 points): on an accelerator each pass is latency.

    A custom prior is any NumPyro model with that signature for one curve (``x`` of shape
    ``(L,)``, zero-padded after ``length`` points) returning a dict with ``y`` and,
    optionally, ``y_clean``, ``sigma``, ``valid`` and ``family``; or a mixture of such
    models as ``(probability, model)`` pairs, whose index is the family id.

    Compiled once per ``(n, length, max_length, config, prior, chunk_size, max_rounds)``
    and key type: a second call with equal arguments does not retrace (compilation takes
    about 14 s on CPU for the NSL-PFN mixture). The same key gives the same batch.

    Args:
        key: a JAX PRNG key.
        n: number of curves.
        length: a fixed number of points per curve (>= 3; 100 is the throughput case);
            ``None`` draws it per curve (50..501 with the default config).
        max_length: the padded length ``L`` of the arrays; default ``length``, or the longest
            length the rule can draw (501).
        config: frame rules and the NSL-PFN hyperparameters; ``None`` is
            [`PriorConfig()`][scalebayes.priors.PriorConfig].
        prior: ``None`` for the NSL-PFN mixture ``zip(config.family_probs, FAMILY_MODELS)``
            (the distribution of [`nslpfn_prior`][scalebayes.priors.nslpfn_prior] with its
            family held through the redraws), a NumPyro model (redrawn whole, family
            included), or ``(probability, model)`` pairs.
        chunk_size: curves per vectorised chunk; default ``2**15 // L`` on CPU (at least 1)
            and ``ceil(n / 8)`` (at least 256) elsewhere. The batch depends on it (redraws
            take their keys per chunk); its distribution does not.
        max_rounds: cap on the number of passes; curves still invalid after it are returned
            with ``accepted == False`` (none are in practice: the worst NSL-PFN family,
            Down-Up-Down, accepts about a third of its candidates).

    Returns:
        A [`PriorBatch`][scalebayes.priors.PriorBatch] of arrays of shape ``(n, L)`` and
        ``(n,)``.

    Raises:
        TypeError: if ``n``, ``length`` or ``max_length`` is not an int, ``config`` is not a
            ``PriorConfig``, or ``prior`` is not a model or ``(probability, model)`` pairs.
        ValueError: if a size is out of range or mixture probabilities do not sum to 1.
    """
    config = PriorConfig() if config is None else config
    if not isinstance(config, PriorConfig):
        raise TypeError(f"config must be a PriorConfig, got {type(config).__name__}")
    components = _components(prior, config)
    key = check_key(key)
    n = _positive_int("n", n)
    min_len = max(3, config.min_context + 1)
    if length is not None:
        length = _positive_int("length", length, minimum=min_len)
        longest = length
    else:
        values = config.length_values()
        if values.min() < min_len:
            raise ValueError(
                f"config draws lengths down to {values.min()}, below {min_len} "
                "(at least 3 and min_context + 1)"
            )
        longest = int(values.max())
    max_length = longest if max_length is None else _positive_int("max_length", max_length)
    if max_length < longest:
        raise ValueError(
            f"max_length must be >= the longest curve ({longest} points), got {max_length}"
        )
    if chunk_size is None:
        if jax.default_backend() == "cpu":
            chunk_size = max(1, _CPU_CHUNK_POINTS // max_length)
        else:
            chunk_size = max(256, math.ceil(n / 8))
    chunk_size = min(_positive_int("chunk_size", chunk_size), n)
    max_rounds = _positive_int("max_rounds", max_rounds, minimum=0)
    return _sample(
        key,
        n=n,
        length=length,
        n_points=max_length,
        config=config,
        components=components,
        chunk=chunk_size,
        max_rounds=max_rounds,
    )
