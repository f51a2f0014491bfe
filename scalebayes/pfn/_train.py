"""Training the PFN on prior curves with Optax: one jitted step that also draws its data.

Every step draws a fresh batch from the prior *inside* the compiled step
([`sample_curves`][scalebayes.priors.sample_curves] is pure JAX), so the accelerator never
waits on the host. The batch is laid out as token slots (context points carry their y,
the remaining points are queries, see [`PFNModel`][scalebayes.pfn.PFNModel]) and the loss is
the bar distribution's negative log density at the query slots, averaged over the batch.

Optimiser: AdamW with linear warm-up and cosine decay, and global-norm clipping. Mixed
precision: ``compute_dtype="bfloat16"`` runs the matrix products in bf16 with float32 master
weights. Data parallelism: the batch is sharded over all local devices along the curve axis
with ``jax.sharding`` and the parameters are replicated; with one device this is the same code.

Resumable: the PRNG key of step ``s`` is ``fold_in(run_keys(config).steps, s)``, so a run
restored from a checkpoint (model, optimiser state, step) continues bit for bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import ArrayLike

from .._checks import is_finite_real, is_integer
from .._interrupt import raise_if_interrupted
from .._io import LockedError as LockedError  # raised by train; exported by the package
from .._io import exclusive_lock, open_for_lines
from ..priors import (
    PriorConfig,
    ScaleFreePriorConfig,
    sample_curves,
    sample_scalefree_curves,
)
from . import _checkpoint
from ._bar import BarDistribution, fit_tail_scales, make_borders
from ._inputs import check_input, encode
from ._model import PFNConfig, PFNModel, count_parameters, get_config

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train a PFN.

    Attributes:
        model: the network size, a name in [`CONFIGS`][scalebayes.pfn.CONFIGS] or a
            [`PFNConfig`][scalebayes.pfn.PFNConfig]; stored as the ``PFNConfig`` (with
            ``input`` applied), so a config read back from a checkpoint equals this one.
        steps: total optimiser steps (the cosine schedule ends here).
        batch_size: curves per step.
        n_points: padded points per curve; the prior's lengths are drawn from
            ``logspace(*log10_length_range)`` and must fit.
        log10_length_range: the prior's length range (NSL-PFN: 1.7-2.7, i.e. 50-501 points;
            the default 1.0-2.1, 10-125 points, matches the sizes of real curves and keeps
            the padded sequence short).
        lr: peak learning rate.
        warmup_steps: linear warm-up; default 5% of ``steps``.
        end_lr_fraction: the cosine ends at ``lr * end_lr_fraction``.
        weight_decay: AdamW weight decay.
        clip_norm: global gradient-norm clip.
        compute_dtype: "float32" or "bfloat16".
        interpolation: fraction of curves whose context is a random subset of their points
            instead of a prefix, so the model also learns to interpolate (0 = extrapolation
            only, as NSL-PFN's release).
        seed: seeds the initialisation, the borders and every step's data (see
            ``key_scheme``).
        border_curves: prior curves (of 100 points) whose noisy y values give the borders.
        checkpoint_every: steps between checkpoints.
        prior_overrides: ``(field, value)`` pairs that replace
            [`PriorConfig`][scalebayes.priors.PriorConfig] defaults (e.g.
            ``(("family_probs", (1, 0, 0)), ("m4_prob", 0.0))`` for a Down-M3-only prior); kept
            as pairs so the config stays hashable and JSON-serialisable.
        prior: which prior the curves come from: ``"nslpfn"`` (NSL-PFN's, linear x grid on
            [0.01, 1]), ``"scalefree"`` (log-spaced runs and far queries, see
            [`scalefree_prior`][scalebayes.priors.scalefree_prior]) or ``"mixture"``
            (``prior_mix`` of every batch scale-free, the rest NSL-PFN).
        prior_mix: the scale-free fraction of a ``"mixture"`` batch.
        input: the network's input encoding (see ``PFNConfig.input``); ``None`` picks
            ``"nslpfn"`` for the NSL-PFN prior and ``"log-relative"`` otherwise (the
            scale-free prior's x span up to 9 decades, which only the log encoding carries).
        ema_decay: keep an exponential moving average of the weights with this decay per
            step (0 = off); the average is what ``export_weights`` ships.
        scalefree_overrides: ``(field, value)`` pairs that replace
            [`ScaleFreePriorConfig`][scalebayes.priors.ScaleFreePriorConfig] defaults for the
            scale-free curves of a ``"scalefree"`` or ``"mixture"`` run (e.g.
            ``(("break_prob", 0.25),)``), like ``prior_overrides`` for NSL-PFN's prior.
        key_scheme: how ``seed`` becomes the run's PRNG keys
            ([`run_keys`][scalebayes.pfn.run_keys]): 2 (the default) splits
            ``PRNGKey(seed)`` into independent streams for the initialisation, the steps,
            the borders and the tail scales; 1 is the scheme of runs before 2026-12-06 (the
            shipped weights), kept so that they reproduce bit for bit: there step ``s``'s
            key ``fold_in(PRNGKey(seed), s)`` equals the key of the ``s``-th initialised
            layer (under JAX's partitionable threefry ``fold_in(k, i)`` is
            ``split(k, n)[i]``), and seed ``s``'s tail-scale draw is seed ``s + 1``'s border
            draw. A checkpoint that records no scheme is read as 1.
    """

    model: str | PFNConfig = "small"
    steps: int = 2000
    batch_size: int = 64
    n_points: int = 128
    log10_length_range: tuple[float, float] = (1.0, 2.1)
    lr: float = 1e-3
    warmup_steps: int | None = None
    end_lr_fraction: float = 0.01
    weight_decay: float = 0.0
    clip_norm: float = 1.0
    compute_dtype: str = "float32"
    interpolation: float = 0.0
    seed: int = 0
    border_curves: int = 20_000
    checkpoint_every: int = 500
    prior_overrides: tuple[tuple[str, object], ...] = ()
    prior: str = "nslpfn"
    prior_mix: float = 0.5
    input: str | None = None
    ema_decay: float = 0.0
    scalefree_overrides: tuple[tuple[str, object], ...] = ()
    key_scheme: int = 2

    def __post_init__(self):
        get_config(self.model)
        if self.prior not in PRIORS:
            raise ValueError(f"TrainConfig.prior must be one of {PRIORS}, got {self.prior!r}")
        if not 0.0 < self.prior_mix < 1.0:
            raise ValueError(f"TrainConfig.prior_mix must be in (0, 1), got {self.prior_mix}")
        if self.input is None:
            object.__setattr__(
                self, "input", "nslpfn" if self.prior == "nslpfn" else "log-relative"
            )
        check_input(self.input)
        # One spelling per size: a name becomes its PFNConfig, so a config read back from a
        # checkpoint equals the one it was written from (the jitted step is keyed on it, and
        # a resumed run would otherwise compile it again).
        object.__setattr__(self, "model", self.model_config)
        if self.prior != "nslpfn" and self.input == "nslpfn":
            raise ValueError(
                f"prior {self.prior!r} needs a scale-free input ('log-relative' or 'log-log'): "
                "its x span up to 9 decades, which the linear NSL-PFN encoding cannot carry"
            )
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"TrainConfig.ema_decay must be in [0, 1), got {self.ema_decay}")
        for name, owner in (
            ("prior_overrides", PriorConfig),
            ("scalefree_overrides", ScaleFreePriorConfig),
        ):
            pairs = _frozen_pairs(getattr(self, name))
            known = {f.name for f in dataclasses.fields(owner)}
            unknown = sorted(k for k, _ in pairs if k not in known)
            if unknown:
                raise ValueError(
                    f"TrainConfig.{name}: {owner.__name__} has no field {', '.join(unknown)}"
                )
            object.__setattr__(self, name, pairs)
        if self.scalefree_overrides and self.prior == "nslpfn":
            raise ValueError(
                "TrainConfig.scalefree_overrides: only a 'scalefree' or 'mixture' run draws "
                "the scale-free curves these settings change; this run's prior is 'nslpfn': set "
                "TrainConfig.prior to 'mixture' (or 'scalefree'), or set the NSL-PFN prior's "
                "fields with TrainConfig.prior_overrides (in Python)"
            )
        if "log10_length_range" in dict(self.prior_overrides):
            raise ValueError("set the prior's length range with TrainConfig.log10_length_range")
        _ = self.prior_config, self.scalefree_config  # validates the overrides
        for name in ("steps", "batch_size", "n_points", "border_curves", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if self.compute_dtype not in _DTYPES:
            raise ValueError(f"compute_dtype must be one of {sorted(_DTYPES)}")

        def number(name: str, ok, rule: str) -> None:  # a real number (not a bool) with ok(v)
            value = getattr(self, name)
            if not (is_finite_real(value) and ok(value)):
                raise ValueError(f"TrainConfig.{name} must be {rule}, got {value!r}")
            object.__setattr__(self, name, float(value))  # a 0-d array too: meta.json is JSON

        number("interpolation", lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
        number("lr", lambda v: v > 0, "a finite number > 0")
        number("end_lr_fraction", lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
        number("weight_decay", lambda v: v >= 0, "a finite number >= 0")
        number("clip_norm", lambda v: v > 0, "a finite number > 0")
        if self.warmup_steps is not None and not (
            is_integer(self.warmup_steps) and self.warmup_steps >= 0
        ):  # more than steps is clamped by the schedule (older checkpoints hold such)
            raise ValueError(
                "TrainConfig.warmup_steps must be None or an integer >= 0, got "
                f"{self.warmup_steps!r}"
            )
        n_free = _n_scalefree(self, self.batch_size)
        if self.prior == "mixture" and not 1 <= n_free <= self.batch_size - 1:
            raise ValueError(
                f"TrainConfig.prior_mix {self.prior_mix:g} of TrainConfig.batch_size "
                f"{self.batch_size} is {n_free} scale-free curves a batch, so one prior would "
                "go untrained; use a larger batch or a mix nearer 0.5"
            )
        if self.steps > 2**31 - 1:
            raise ValueError(f"TrainConfig.steps must be at most {2**31 - 1} (an int32 counter)")
        if not is_integer(self.key_scheme) or int(self.key_scheme) not in KEY_SCHEMES:
            raise ValueError(
                f"TrainConfig.key_scheme must be one of {KEY_SCHEMES}, got {self.key_scheme!r}"
            )
        object.__setattr__(self, "key_scheme", int(self.key_scheme))  # JSON-ready
        if not 0 <= self.seed <= 2**63 - 1 - 42:  # scheme 1 seeds the borders with seed + 42
            raise ValueError(f"TrainConfig.seed must be in [0, 2**63 - 43], got {self.seed}")
        lo, hi = self.log10_length_range
        if not 0.5 <= lo <= hi:
            raise ValueError(
                f"log10_length_range {self.log10_length_range} must satisfy 0.5 <= lo <= hi"
            )
        if int(10**hi) > self.n_points:
            raise ValueError(
                f"TrainConfig.n_points must be >= {int(10**hi)} (the prior's longest curve, "
                f"10**log10_length_range[1]), got {self.n_points}"
            )

    @property
    def model_config(self) -> PFNConfig:
        """The network's `PFNConfig`: the named size with this run's input."""
        return dataclasses.replace(get_config(self.model), input=self.input)

    @property
    def prior_config(self) -> PriorConfig:
        """The NSL-PFN prior's settings for this run (its length range and overrides)."""
        return PriorConfig(
            log10_length_range=tuple(self.log10_length_range), **dict(self.prior_overrides)
        )

    @property
    def scalefree_config(self) -> ScaleFreePriorConfig:
        """The scale-free prior's settings for this run (its overrides)."""
        return ScaleFreePriorConfig(**dict(self.scalefree_overrides))

    def to_dict(self) -> dict:
        """The run's settings as a JSON-ready dict (the model's config expanded)."""
        data = dataclasses.asdict(self)
        data["model"] = self.model_config.to_dict()
        data["log10_length_range"] = list(self.log10_length_range)
        data["prior_overrides"] = {k: v for k, v in self.prior_overrides}
        data["scalefree_overrides"] = {k: v for k, v in self.scalefree_overrides}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """The settings a `to_dict` dict describes."""
        data = dict(data)
        data["model"] = PFNConfig.from_dict(data["model"])
        data.setdefault("input", data["model"].input)
        data["log10_length_range"] = tuple(data["log10_length_range"])
        for name in ("prior_overrides", "scalefree_overrides"):  # absent from older runs
            data[name] = tuple(data.get(name, {}).items())
        data.setdefault("key_scheme", 1)  # runs before the field drew their keys that way
        return cls(**data)


KEY_SCHEMES: tuple[int, ...] = (1, 2)
"""The values of ``TrainConfig.key_scheme``."""


class RunKeys(NamedTuple):
    """The PRNG keys of a training run (``run_keys``)."""

    init: jax.Array
    steps: jax.Array
    borders: jax.Array
    tails: jax.Array


def run_keys(config: TrainConfig) -> RunKeys:
    """The keys ``config.seed`` gives a run, by ``config.key_scheme``: the model's
    initialisation, the steps' base key (step ``s`` uses ``fold_in(steps, s)``), the border
    sample and the tail-scale sample. Scheme 2 splits ``PRNGKey(seed)`` four ways; scheme 1
    (older runs) uses ``PRNGKey(seed)`` for the first two and ``PRNGKey(seed + 42)``,
    ``PRNGKey(seed + 43)`` for the others."""
    base = jax.random.PRNGKey(config.seed)
    if config.key_scheme == 1:
        return RunKeys(
            base, base, jax.random.PRNGKey(config.seed + 42), jax.random.PRNGKey(config.seed + 43)
        )
    return RunKeys(*jax.random.split(base, 4))


def _frozen_pairs(pairs) -> tuple[tuple[str, object], ...]:
    """``(field, value)`` pairs (or a dict) as a hashable tuple; lists become tuples."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return tuple((str(k), tuple(v) if isinstance(v, list | tuple) else v) for k, v in items)


PRIORS: tuple[str, ...] = ("nslpfn", "scalefree", "mixture")
"""The priors a PFN can be trained on (``TrainConfig.prior``)."""


class Curves(NamedTuple):
    """A training batch from any prior: grid, noisy y, valid points and context sizes."""

    x: jax.Array
    y: jax.Array
    mask: jax.Array
    context_size: jax.Array


def _n_scalefree(config: TrainConfig, n: int) -> int:
    """How many of ``n`` curves a ``"mixture"`` batch draws from the scale-free prior."""
    return round(config.prior_mix * n)


def draw_curves(config: TrainConfig, key: jax.Array, n: int, n_points: int) -> Curves:
    """``n`` curves of the run's prior padded to ``n_points`` (pure JAX: call it under jit).

    A ``"mixture"`` batch is ``round(prior_mix * n)`` scale-free curves followed by NSL-PFN
    curves (a fixed split keeps the shapes static).
    """
    n_free = {"nslpfn": 0, "scalefree": n, "mixture": _n_scalefree(config, n)}[config.prior]
    k_free, k_nsl = jax.random.split(key)
    parts = []
    if n_free:
        batch = sample_scalefree_curves(
            k_free, n_free, n_points=n_points, config=config.scalefree_config
        )
        parts.append(Curves(batch.x, batch.y, batch.mask, batch.context_size))
    if n - n_free:
        batch = sample_curves(
            k_nsl, n - n_free, length=None, max_length=n_points, config=config.prior_config
        )
        parts.append(Curves(batch.x, batch.y, batch.mask, batch.context_size))
    if len(parts) == 1:
        return parts[0]
    return Curves(*(jnp.concatenate(fields) for fields in zip(*parts, strict=True)))


def border_samples(config: TrainConfig, key: jax.Array | None = None) -> np.ndarray:
    """The encoded noisy y of ``border_curves`` prior curves that bar borders are made from.

    As NSL-PFN for its prior: 100 points per curve, from the run's prior (unless
    ``prior_overrides`` change it), with ``key`` (default ``run_keys(config).borders``). For the
    ``"log-relative"`` input, the target points' y relative to each curve's context (what the
    network predicts; the context points would add an atom at exactly 1, the reference point
    itself).
    """
    key = run_keys(config).borders if key is None else key
    if config.prior == "nslpfn" and config.input == "nslpfn":
        prior = PriorConfig(**dict(config.prior_overrides))  # the run's prior, 100 points
        batch = sample_curves(key, config.border_curves, length=100, config=prior)
        return np.asarray(batch.y).ravel()
    curves = draw_curves(config, key, config.border_curves, config.n_points)
    context = jnp.arange(config.n_points)[None, :] < curves.context_size[:, None]
    _, y_enc, _ = jax.vmap(functools.partial(encode, config.input))(
        curves.x, curves.y, context, curves.mask
    )
    targets = np.asarray(curves.mask & ~context)  # the context's largest y is exactly 1
    return np.asarray(y_enc)[targets]


def prior_borders(config: TrainConfig) -> np.ndarray:
    """Bar borders: equal-mass quantiles of ``border_samples(config)``."""
    return make_borders(border_samples(config), config.model_config.n_buckets)


def prior_tail_scales(config: TrainConfig, borders: ArrayLike) -> tuple[float, float]:
    """The bar's tail scales fitted to a fresh draw of the prior's encoded y
    ([`fit_tail_scales`][scalebayes.pfn.fit_tail_scales]; the key ``run_keys(config).tails``,
    not the borders' own sample, whose extremes set the outer borders)."""
    return fit_tail_scales(border_samples(config, run_keys(config).tails), borders)


def layout(batch, key, interpolation: float, input: str = "nslpfn"):
    """Token slots of a prior batch: ``(x, y, is_context, valid, is_target)``, each ``(n, L)``.

    x and y are encoded by ``input`` (see `PFNConfig.input`); the
    targets' y are in the space the bar distribution models.
    """
    n, length = batch.x.shape
    idx = jnp.arange(length)
    context = idx[None, :] < batch.context_size[:, None]
    if interpolation > 0:
        k_perm, k_use = jax.random.split(key)
        u = jnp.where(batch.mask, jax.random.uniform(k_perm, (n, length)), 2.0)
        rank = jnp.argsort(jnp.argsort(u, axis=1), axis=1)
        random_context = rank < batch.context_size[:, None]
        use = jax.random.bernoulli(k_use, interpolation, (n,))
        context = jnp.where(use[:, None], random_context, context)
    context = context & batch.mask
    x, y, _ = jax.vmap(functools.partial(encode, input))(batch.x, batch.y, context, batch.mask)
    return x, y, context, batch.mask, batch.mask & ~context


def schedule_horizon(config: TrainConfig) -> tuple[int, int]:
    """``(warm-up steps, total steps)`` of the learning-rate schedule."""
    warmup = config.warmup_steps
    if warmup is None:
        warmup = max(1, config.steps // 20)
    return (min(warmup, config.steps - 1) if config.steps > 1 else 0), config.steps


def learning_rate(config: TrainConfig, horizon=None) -> Callable:
    """``count -> lr``: linear warm-up from 0 to ``lr``, then a cosine down to ``lr *
    end_lr_fraction`` at the last step (optax's ``warmup_cosine_decay_schedule``, written
    out so that ``horizon`` may be traced).

    ``horizon`` is ``(warm-up steps, total steps)``, by default ``schedule_horizon(config)``.
    The training step passes it as an argument, so its compiled program does not depend on
    the run's length: the GPU recipe's probe run and its main run of another length share
    one program through the persistent compilation cache.
    """
    warmup, steps = schedule_horizon(config) if horizon is None else horizon
    peak = config.lr
    end = config.lr * config.end_lr_fraction

    def schedule(count):
        t = jnp.asarray(count, jnp.float32)
        w = jnp.asarray(warmup, jnp.float32)
        total = jnp.asarray(steps, jnp.float32)
        rising = peak * jnp.clip(t / jnp.maximum(w, 1.0), 0.0, 1.0)
        done = jnp.clip((t - w) / jnp.maximum(total - w, 1.0), 0.0, 1.0)
        falling = end + (peak - end) * 0.5 * (1.0 + jnp.cos(jnp.pi * done))
        return jnp.where(t < w, rising, falling)

    return schedule


def make_optimizer(config: TrainConfig, horizon=None) -> optax.GradientTransformation:
    """AdamW with warm-up + cosine decay (``learning_rate``) and global-norm clipping."""
    return optax.chain(
        optax.clip_by_global_norm(config.clip_norm),
        optax.adamw(learning_rate(config, horizon), weight_decay=config.weight_decay),
    )


class TrainState(eqx.Module):
    """Everything a step changes: the model, the optimiser state, the step count and, with
    ``ema_decay > 0``, the moving average of the weights (else None)."""

    model: PFNModel
    opt_state: optax.OptState
    step: jax.Array
    ema: PFNModel | None = None


def init_state(config: TrainConfig, model: PFNModel | None = None) -> TrainState:
    """A fresh state at step 0: ``model`` (a warm start) or one initialised from
    ``run_keys(config).init``, with a fresh optimiser."""
    if model is None:
        model = PFNModel(run_keys(config).init, config.model_config)
    opt_state = make_optimizer(config).init(eqx.filter(model, eqx.is_inexact_array))
    ema = None
    if config.ema_decay > 0:  # its own buffers: the step donates the state
        ema = jax.tree.map(lambda a: jnp.array(a, copy=True) if eqx.is_array(a) else a, model)
    return TrainState(model, opt_state, jnp.zeros((), jnp.int32), ema)


def _ema_update(ema: PFNModel, model: PFNModel, decay: float, step) -> PFNModel:
    """``ema <- d ema + (1 - d) model`` with the warm-up ``d = min(decay, (1 + t) / (10 + t))``,
    so early averages are not dominated by the initial weights."""
    d = jnp.minimum(decay, (1.0 + step) / (10.0 + step))
    new = jax.tree.map(
        lambda e, m: d * e + (1 - d) * m,
        eqx.filter(ema, eqx.is_inexact_array),
        eqx.filter(model, eqx.is_inexact_array),
    )
    return eqx.combine(new, eqx.filter(model, eqx.is_inexact_array, inverse=True))


def _loss(model, bar, x, y, context, valid, target, key, dtype):
    keys = None if key is None else jax.random.split(key, x.shape[0])

    def one(x, y, c, v, k):
        return model(x, y, c, v, key=k, compute_dtype=dtype)

    if keys is None:
        logits = jax.vmap(lambda a, b, c, d: one(a, b, c, d, None))(x, y, context, valid)
    else:
        logits = jax.vmap(one)(x, y, context, valid, keys)
    nll = bar.nll(logits, y)
    count = jnp.maximum(jnp.sum(target), 1)
    return jnp.sum(jnp.where(target, nll, 0.0)) / count


@functools.partial(jax.jit, static_argnames=("config", "n_devices"), donate_argnums=0)
def _step(
    state: TrainState, bar: BarDistribution, base_key, horizon, *, config: TrainConfig, n_devices
):
    key = jax.random.fold_in(base_key, state.step)
    k_data, k_split, k_drop = jax.random.split(key, 3)
    batch = draw_curves(config, k_data, config.batch_size, config.n_points)
    slots = layout(batch, k_split, config.interpolation, config.input)
    if n_devices > 1:  # shard the curves over the local devices; parameters stay replicated
        mesh = Mesh(np.array(jax.local_devices()), ("data",))
        slots = jax.lax.with_sharding_constraint(slots, NamedSharding(mesh, P("data")))
    x, y, context, valid, target = slots
    params, static = eqx.partition(state.model, eqx.is_inexact_array)
    dtype = _DTYPES[config.compute_dtype]
    drop_key = k_drop if config.model_config.dropout > 0 else None

    def loss_fn(params):
        model = eqx.combine(params, static)
        return _loss(model, bar, x, y, context, valid, target, drop_key, dtype)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = make_optimizer(config, horizon).update(grads, state.opt_state, params)
    model = eqx.apply_updates(state.model, updates)
    ema = state.ema
    if ema is not None:
        ema = _ema_update(ema, model, config.ema_decay, state.step.astype(jnp.float32))
    return TrainState(model, opt_state, state.step + 1, ema), loss


def make_step(config: TrainConfig, bar: BarDistribution, base_key) -> Callable:
    """The compiled step ``state -> (state, loss)``; it draws its own batch.

    The step's PRNG key is ``fold_in(base_key, state.step)``. With several local devices the
    batch is sharded over them along the curve axis (``batch_size`` must divide evenly);
    with one it is the same code. Compiled once per ``config`` (and device count); the
    state's buffers are donated, so do not reuse the ``state`` passed in.
    """
    n_devices = jax.local_device_count()
    if config.batch_size % n_devices:
        raise ValueError(
            f"batch_size {config.batch_size} must be a multiple of the {n_devices} local devices"
        )
    horizon = jnp.asarray(schedule_horizon(config), jnp.int32)  # traced: see learning_rate
    return functools.partial(
        _step, bar=bar, base_key=base_key, horizon=horizon, config=config, n_devices=n_devices
    )


def _meta(config: TrainConfig, borders, step: int, history: dict) -> dict:
    return {
        "model_config": config.model_config.to_dict(),
        "train_config": config.to_dict(),
        "borders": [float(b) for b in borders],
        "step": int(step),
        "interpolation": config.interpolation > 0,
        "training": history,
    }


def _read_training_checkpoint(path: Path):
    meta = _checkpoint.read_checkpoint_meta(path)
    config = _checkpoint.require(
        meta,
        ("train_config", "step", "borders"),
        lambda m: TrainConfig.from_dict(m["train_config"]),
    )
    blobs = meta.get("blobs")
    if not (isinstance(blobs, dict) and "opt_state.eqx" in blobs):
        raise _checkpoint.CheckpointError(
            f"{meta['_path']} holds exported weights (no optimiser state), not a training run "
            f"to resume: start a new run from them with --init-from {meta['_path']} (Python: "
            "init_from=)"
        )
    skeleton = _state_skeleton(config)
    model = _checkpoint.load_tree(meta, "model.eqx", skeleton.model)
    opt_state, ema = _optimiser_blob(meta, skeleton)
    state = TrainState(model, opt_state, jnp.asarray(meta["step"], jnp.int32), ema)
    return config, np.asarray(meta["borders"]), state, meta.get("training", {})


def _state_skeleton(config: TrainConfig) -> TrainState:
    """``init_state(config)``'s structure, shapes and dtypes, with no weights drawn: what a
    training checkpoint is read into."""
    return eqx.filter_eval_shape(init_state, config)


def _optimiser_blob(meta: dict, skeleton: TrainState):
    """``(opt_state, ema)`` of a training checkpoint, read into ``skeleton``'s structure."""
    return _checkpoint.load_tree(meta, "opt_state.eqx", (skeleton.opt_state, skeleton.ema))


def read_ema_weights(meta: dict) -> PFNModel:
    """The moving average of the weights stored in a training checkpoint (``meta`` as
    ``read_checkpoint_meta`` returns it; only its optimiser blob is read)."""
    config = _checkpoint.require(
        meta, ("train_config",), lambda m: TrainConfig.from_dict(m["train_config"])
    )
    return _optimiser_blob(meta, _state_skeleton(config))[1]


def train(
    config: TrainConfig,
    out: str | os.PathLike,
    *,
    resume: bool = False,
    init_from: str | os.PathLike | None = None,
    borders_from: str | os.PathLike | None = None,
    max_steps: int | None = None,
    max_seconds: float | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
) -> Path:
    """Train (or resume training) a PFN, checkpointing into ``out/checkpoint``.

    The run holds an exclusive lock on ``out`` (from when it exists) until it returns, so a
    second run into the same directory stops at once with a ``LockedError``.

    Args:
        config: the training configuration (ignored when resuming: the checkpoint's is used).
        out: run directory; holds ``checkpoint/`` and an append-only ``log.jsonl``.
        resume: continue from ``out/checkpoint`` (error if there is none).
        init_from: warm start: a PFN checkpoint or shipped name whose weights (and bar
            borders) start this run, with a fresh optimiser and schedule; its size and input
            encoding must be ``config``'s. A training run with ``ema_decay > 0`` lends its
            moving average (what it would ship; see [`PFN.load`][scalebayes.pfn.PFN.load]).
        borders_from: a PFN checkpoint or shipped name whose bar borders this run uses in
            place of computing them from the prior (fresh weights): models that share
            borders average into one bar distribution
            ([`ensemble`][scalebayes.pfn.ensemble]); its number of buckets and input
            encoding must be ``config``'s.
        max_steps: stop after this many steps in this call (a chunk of a longer run).
        max_seconds: stop at the first checkpoint boundary after this much wall time. The
            learning-rate schedule still spans ``config.steps``: a run stopped early ends at a
            high learning rate, so size ``steps`` to the time you have.
        progress: show a tqdm progress bar.
        log: where one-line messages go (``None`` silences them).

    Returns:
        The checkpoint directory.

    Raises:
        FileExistsError: if ``out`` already holds a checkpoint (or one cut off mid-save) and
            ``resume`` is False.
        ValueError: if the loss or the weights stop being finite (the run diverged); the
            checkpoint then keeps the last step saved, whose weights are finite (a save
            checks), and the message says if they gave a non-finite loss themselves; if
            ``borders_from`` is given with ``init_from`` or
            ``resume``, or does not match ``config``.
        scalebayes.pfn.CheckpointError: if resuming from a missing or corrupted checkpoint.
        LockedError: if another process is training (or running anything) in ``out``.
    """
    out = Path(out)
    with contextlib.ExitStack() as stack:
        held = out.is_dir()
        if held:
            stack.enter_context(exclusive_lock(out))

        def hold() -> None:  # a directory this run made: locked as soon as it exists
            nonlocal held
            if not held:
                stack.enter_context(exclusive_lock(out))
                held = True

        return _train(
            config,
            out,
            hold,
            resume=resume,
            init_from=init_from,
            borders_from=borders_from,
            max_steps=max_steps,
            max_seconds=max_seconds,
            progress=progress,
            log=log,
        )


def _train(
    config, out, hold, *, resume, init_from, borders_from, max_steps, max_seconds, progress, log
) -> Path:
    """`train` inside its lock (``hold()`` takes it on a directory made here)."""
    ckpt = out / "checkpoint"
    say = log or (lambda _msg: None)
    if resume and out.is_dir():
        hold()  # before the checkpoint is read: nobody saves it meanwhile
    if borders_from is not None and (resume or init_from is not None):
        raise ValueError(
            "borders_from starts a fresh model on another model's borders; a resumed or "
            "warm-started run keeps its own: give borders_from alone"
        )
    if resume:
        config, borders, state, history = _read_training_checkpoint(ckpt)
        say(f"resuming {config.model_config.name} from step {int(state.step)}/{config.steps}")
    else:
        _refuse_a_checkpoint(out)
        t0 = time.perf_counter()
        history = {"seconds": 0.0, "curves": 0}
        if init_from is None and borders_from is not None:
            from ._predict import PFN

            donor = PFN.load(borders_from)
            mine = config.model_config
            if (donor.config.n_buckets, donor.config.input) != (mine.n_buckets, mine.input):
                raise ValueError(
                    f"borders_from {str(borders_from)!r} has {donor.config.n_buckets} buckets "
                    f"and the {donor.config.input!r} input; this run trains "
                    f"{mine.n_buckets} and {mine.input!r}: choose a model that matches"
                )
            borders = np.asarray(donor.bar.borders, np.float64)
            state = init_state(config)
            history["borders_from"] = str(borders_from)
        elif init_from is None:
            borders = prior_borders(config)
            state = init_state(config)
        else:
            from ._predict import PFN

            start = PFN.load(init_from)
            if start.meta.get("members"):
                raise ValueError(
                    f"init_from {str(init_from)!r} is an ensemble; warm-start from one of its "
                    "members (or use it as --borders-from)"
                )
            if start.config != config.model_config:
                have, want = start.config, config.model_config
                differ = ", ".join(
                    f"{f.name} {getattr(have, f.name)!r} there, {getattr(want, f.name)!r} here"
                    for f in dataclasses.fields(want)
                    if f.name != "name" and getattr(have, f.name) != getattr(want, f.name)
                )
                raise ValueError(
                    f"init_from {str(init_from)!r} is a {have.name!r} model and this run trains "
                    f"{want.name!r} ({differ or 'another configuration'}): choose its config "
                    f"(--config {have.name}) and input"
                )
            borders = np.asarray(start.bar.borders, np.float64)
            state = init_state(config, start.model)
            history["init_from"] = str(init_from)
        out.mkdir(parents=True, exist_ok=True)  # once the start is known to load
        hold()
        _refuse_a_checkpoint(out)  # another run may have begun here meanwhile, and finished
        kept = _keep_an_earlier_log(out)
        if kept is not None:
            say(f"{out / 'log.jsonl'} held an earlier run's log: kept as {kept.name}")
        if init_from is not None:
            origin = f"weights and borders from {init_from}"
        elif borders_from is not None:
            origin = f"borders from {borders_from}"
        else:
            origin = f"borders from {config.border_curves} prior curves"

        say(
            f"{config.model_config.name}: {count_parameters(state.model):,} parameters, "
            f"{origin} in {time.perf_counter() - t0:.1f} s"
        )
    bar = BarDistribution(borders)
    step_fn = make_step(config, bar, run_keys(config).steps)
    start = int(state.step)
    stop = config.steps if max_steps is None else min(config.steps, start + max_steps)
    bar_iter = None
    t_start = time.perf_counter()
    # t_last: end of the last checkpoint save (the rate counts training steps alone, and in
    # the first window those after the first, which compiles: from t_compiled on);
    # t_wall: what history["seconds"] has counted up to (saves and compiling included)
    t_last = t_wall = t_compiled = t_start
    step_last = start
    if start < stop:
        say("compiling the training step ...")
    losses = []
    log_file = open_for_lines(out / "log.jsonl")  # a line a crash cut short is dropped
    try:
        for s in range(start, stop):
            raise_if_interrupted()  # a Ctrl-C that a callback swallowed stops here
            state, loss = step_fn(state)
            losses.append(loss)
            if s == start and s + 1 < stop:  # compiled: the bar and the rate start here
                jax.block_until_ready(loss)
                t_compiled = time.perf_counter()
                if progress:
                    from tqdm.auto import tqdm

                    bar_iter = tqdm(
                        total=stop - start, initial=1, desc="train-pfn", unit="step", leave=False
                    )
            elif bar_iter is not None:
                bar_iter.update(1)
            done = s + 1
            boundary = done % config.checkpoint_every == 0 or done == stop
            if boundary:
                window, losses = losses, []
                mean_loss = float(jnp.mean(jnp.stack(window)))
                what = None
                if not math.isfinite(mean_loss):
                    what = f"the loss is {mean_loss}"
                elif _checkpoint.non_finite_arrays((state.model, state.ema)):  # broken by an update
                    what = "the weights are not finite"
                if what is not None:  # keep the last finite checkpoint as it is
                    kept = (
                        f"the checkpoint keeps step {step_last}" if step_last else "nothing saved"
                    )
                    # the window's first loss is the saved weights' own (a step's loss is its
                    # input weights'): if it is not finite, say that they may not be usable
                    # (their EMA can still be; a prediction refuses non-finite outputs)
                    if step_last > 0 and ckpt.exists() and not math.isfinite(float(window[0])):
                        kept += (
                            ", but those weights gave a non-finite loss on the next batch: check "
                            "them before use"
                        )
                    raise ValueError(
                        f"training diverged: {what} by step {done}; {kept}; "
                        "lower the learning rate (--lr) and start again"
                    )
                now = time.perf_counter()
                if step_last == start and done > start + 1:  # the compiling step left out
                    steps, since = done - start - 1, t_compiled
                else:
                    steps, since = done - step_last, t_last
                rate = steps * config.batch_size / max(now - since, 1e-9)
                history["seconds"] = history.get("seconds", 0.0) + (now - t_wall)
                history["curves"] = (
                    history.get("curves", 0) + (done - step_last) * config.batch_size
                )
                t_wall, step_last = now, done
                record = {"step": done, "loss": mean_loss, "curves_per_s": rate}
                if bar_iter is not None:
                    bar_iter.set_postfix(loss=f"{mean_loss:.3f}", curves_s=f"{rate:,.0f}")
                _checkpoint.save(
                    ckpt,
                    model=state.model,
                    opt_state=(state.opt_state, state.ema),
                    meta=_meta(config, borders, done, history),
                )
                # logged once saved: a resumed run does not log a step twice
                log_file.write((json.dumps(record) + "\n").encode())
                log_file.flush()
                os.fsync(log_file.fileno())
                t_last = time.perf_counter()
                if max_seconds is not None and now - t_start > max_seconds:
                    say(f"stopping at step {done} after {now - t_start:.0f} s (max_seconds)")
                    break
    finally:
        log_file.close()
        if bar_iter is not None:
            bar_iter.close()
    # said while the run still holds its directory: read after, another run could be saving
    meta = _checkpoint.read_checkpoint_meta(ckpt)
    training = meta.get("training", {})
    say(
        f"checkpoint {ckpt}: step {meta['step']}/{meta['train_config']['steps']}, "
        f"{training.get('curves', 0):,} curves in {training.get('seconds', 0.0):.0f} s"
    )
    return ckpt


def _keep_an_earlier_log(out: Path) -> Path | None:
    """Move an earlier run's ``log.jsonl`` (one whose checkpoint is gone, or that stopped
    before its first) to ``log.N.jsonl`` for a fresh run, so that the two runs' lines are not
    read as one run (a review saw steps 10, 20, 30, 10), and nothing is lost."""
    log = out / "log.jsonl"
    if not log.is_file() or log.stat().st_size == 0:
        return None
    n = 1
    while (out / f"log.{n}.jsonl").exists():
        n += 1
    kept = out / f"log.{n}.jsonl"
    log.rename(kept)
    return kept


def _refuse_a_checkpoint(out: Path) -> None:
    """Raise ``FileExistsError`` where ``out`` holds a checkpoint, or one whose save was cut
    off between its two renames (``checkpoint.old``, which resuming recovers)."""
    if (out / "checkpoint" / "meta.json").exists() or (out / "checkpoint.old").exists():
        raise FileExistsError(
            f"{out} already holds a checkpoint; continue it with --resume (resume=True) or "
            "choose another output directory"
        )


def export_weights(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    *,
    storage_dtype: str = "float32",
    **extra,
) -> Path:
    """Strip a training checkpoint to the model alone (what ships): weights, config, borders.

    A run trained with ``ema_decay > 0`` ships its moving average of the weights. The bar's
    tail scales are fitted to the run's prior ([`fit_tail_scales`][scalebayes.pfn.fit_tail_scales])
    and stored with the weights, so the shipped predictive's outer buckets spread as the
    prior's values do.
    ``storage_dtype="bfloat16"`` halves the files (see [`PFN.save`][scalebayes.pfn.PFN.save]);
    ``extra`` keys are added to the metadata.
    """
    from ._predict import PFN

    pfn = PFN.load(checkpoint)  # a run with ema_decay > 0 loads its moving average
    source = Path(pfn.meta["_path"]).resolve()  # <dir>.old if a save was cut off: <dir> too
    if Path(out).resolve() in (source, source.with_name(source.name.removesuffix(".old"))):
        raise _checkpoint.CheckpointError(
            f"export_weights would write over its own checkpoint {checkpoint} (and its "
            "optimiser state): choose another output directory"
        )
    if "tail_scales" not in pfn.meta and "train_config" in pfn.meta:
        config = TrainConfig.from_dict(pfn.meta["train_config"])
        pfn.meta["tail_scales"] = list(prior_tail_scales(config, pfn.meta["borders"]))
    pfn.meta.update(extra)
    return pfn.save(out, storage_dtype=storage_dtype)
