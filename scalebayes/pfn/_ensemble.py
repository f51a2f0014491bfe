"""PFN ensembles: models that share bar borders, averaged into one bar distribution.

Two PFNs trained alike on the same prior but from different seeds err differently (the far
model's RMSLE moves by up to a fifth between seeds). Their average is a better forecaster
than either on average: the mixture of the members' predictive distributions. When the
members share their bar borders (train the second with ``borders_from=`` the first), that
mixture is again a bar distribution on the same borders, its bucket masses the members'
average, so an ensemble is one [`PFN`][scalebayes.pfn.PFN]: it predicts, saves, loads and
warns about its reach like any other, in one forward pass per member.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ._model import PFNConfig, PFNModel


class EnsembleModel(eqx.Module):
    """PFN models with one config, called as one: the log of their average bucket masses.

    Args:
        members: the models (at least two), all with the same ``config``.
    """

    members: tuple[PFNModel, ...]
    config: PFNConfig = eqx.field(static=True)

    def __init__(self, members):
        members = tuple(members)
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two models, got {len(members)}")
        configs = {m.config for m in members}
        if len(configs) != 1:
            raise ValueError(
                f"ensemble members must share one config; got {sorted(map(str, configs))}"
            )
        self.members = members
        self.config = members[0].config

    def __call__(
        self,
        x: Float[Array, " T"],
        y: Float[Array, " T"],
        is_context: Bool[Array, " T"],
        valid: Bool[Array, " T"],
        *,
        key: Array | None = None,
        compute_dtype=jnp.float32,
    ) -> Float[Array, "T K"]:
        """Log bucket masses of the members' average (normalised logits), ``(T, n_buckets)``.

        Arguments as [`PFNModel`][scalebayes.pfn.PFNModel]'s; ``key`` (dropout) is split
        between the members.
        """
        n = len(self.members)
        keys = [None] * n if key is None else jax.random.split(key, n)
        log_masses = jnp.stack(
            [
                jax.nn.log_softmax(
                    m(x, y, is_context, valid, key=k, compute_dtype=compute_dtype), axis=-1
                )
                for m, k in zip(self.members, keys, strict=True)
            ]
        )
        return jax.nn.logsumexp(log_masses, axis=0) - math.log(n)


_MEMBER_RECORD = ("train_config", "step", "training")  # what meta keeps of each member


def ensemble(*models):
    """Average PFNs that share bar borders into one PFN (an ensemble of them).

    The result predicts the mixture of the members' predictive distributions, with equal
    weights: at every query, bucket masses that are the members' average. Save it with
    [`PFN.save`][scalebayes.pfn.PFN.save] and read it back with
    [`PFN.load`][scalebayes.pfn.PFN.load], as any PFN.

    Args:
        *models: at least two [`PFN`][scalebayes.pfn.PFN] s with the same size and input
            encoding, the same bar borders (train later members with
            ``scalebayes train-pfn --borders-from FIRST``), the same ``interpolation`` and
            the same [`reach`][scalebayes.pfn.PFN.reach]. An ensemble given as a member
            contributes its own members.

    Returns:
        A ``PFN`` whose model is an [`EnsembleModel`][scalebayes.pfn.EnsembleModel].

    Raises:
        TypeError: if a member is not a ``PFN``.
        ValueError: if fewer than two models are given or they differ in any of the above.
    """
    from ._predict import PFN

    flat = []
    for model in models:
        if not isinstance(model, PFN):
            raise TypeError(f"ensemble members must be PFN models, got {type(model).__name__}")
        if isinstance(model.model, EnsembleModel):
            flat += [
                PFN(member, model.bar, {**model.meta, **record})
                for member, record in zip(model.model.members, model.meta["members"], strict=True)
            ]
        else:
            flat.append(model)
    if len(flat) < 2:
        raise ValueError(f"an ensemble needs at least two models, got {len(flat)}")
    first = flat[0]
    for i, other in enumerate(flat[1:], start=1):
        if other.config != first.config:
            raise ValueError(
                f"member {i} is a {other.config} model and member 0 a {first.config}: "
                "ensemble models of one size and input"
            )
        if not (
            np.array_equal(np.asarray(other.bar.borders), np.asarray(first.bar.borders))
            and np.allclose(np.asarray(other.bar.scales), np.asarray(first.bar.scales), rtol=1e-5)
        ):
            raise ValueError(
                f"member {i} has other bar borders (or tail scales) than member 0; train it with "
                "`scalebayes train-pfn --borders-from MEMBER0` so that their bars can be averaged"
            )
        if other.interpolation != first.interpolation or other.reach != first.reach:
            raise ValueError(
                f"member {i} differs from member 0 in interpolation or reach "
                f"({other.interpolation}, {other.reach:g} against {first.interpolation}, "
                f"{first.reach:g}): ensemble models trained on one prior"
            )
    meta = {
        "train_config": first.meta.get("train_config"),
        "borders": first.meta.get("borders")
        or [float(b) for b in np.asarray(first.bar.borders, np.float64)],
        "interpolation": first.interpolation,
        **({"tail_scales": first.meta["tail_scales"]} if "tail_scales" in first.meta else {}),
        "members": [{k: m.meta[k] for k in _MEMBER_RECORD if k in m.meta} for m in flat],
    }
    return PFN(EnsembleModel(m.model for m in flat), first.bar, meta)
