"""The NSL-PFN transformer encoder in Equinox.

One curve is a set of ``T`` token slots. Slot ``i`` holds a point ``x_i``; a *context* slot
also holds its observed ``y_i`` and a *query* slot asks for the predictive distribution of
``y_i``. Tokens are ``Linear(x) + Linear(y)`` for context slots and ``Linear(x)`` for queries,
with no positional encoding (the encoder is a set function). Every slot attends to all
valid context slots and to itself, so queries never see each other and a query's prediction
does not depend on which other queries are asked. Layers are post-LayerNorm with GELU
feed-forward blocks whose output projections (and the attention output projections) start at
zero, and the decoder ``d -> d_ff -> GELU -> K`` gives the logits of a
[`BarDistribution`][scalebayes.pfn.BarDistribution] at every slot.

Inputs are standardised inside the model by the config's input encoding (see ``_inputs.py``;
NSL-PFN's: ``(v - 0.5) / sqrt(1/12)`` for x and y).
``compute_dtype`` (e.g. ``jnp.bfloat16``) runs the matrix products in that precision while the
parameters stay float32; LayerNorm statistics, softmax and the logits are float32.
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._inputs import check_input, normalise, y_features


@dataclasses.dataclass(frozen=True)
class PFNConfig:
    """Size of a PFN encoder.

    Attributes:
        name: a label stored with checkpoints.
        n_layers: encoder layers.
        d_model: token width.
        n_heads: attention heads (``d_model`` must be divisible by it).
        d_ff: feed-forward width (also the decoder's hidden width).
        n_buckets: buckets of the bar distribution.
        dropout: dropout rate in attention and feed-forward outputs during training (NSL-PFN:
            0.2; the named configs use 0 because training never revisits a synthetic curve).
        input: how a curve enters the network, one of
            `INPUTS` (`scalebayes.pfn._inputs`): ``"nslpfn"`` (x mapped linearly into
            [0.01, 1] over context and queries, as NSL-PFN), ``"log-relative"`` (x as
            ``log10(x / max x_context)``, y as ``y / max y_context``; scale-free and
            query-independent), or ``"log-log"`` (``"log-relative"`` with ``ln(y / y_ref)``
            as a second y feature). Checkpoints without the field are ``"nslpfn"``.
    """

    name: str = "custom"
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    d_ff: int = 256
    n_buckets: int = 1000
    dropout: float = 0.0
    input: str = "nslpfn"

    def __post_init__(self):
        check_input(self.input)
        for field in ("n_layers", "d_model", "n_heads", "d_ff", "n_buckets"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PFNConfig.{field} must be a positive int, got {value!r}")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if self.n_buckets < 3:
            raise ValueError(f"n_buckets must be >= 3, got {self.n_buckets}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PFNConfig:
        """The config a `to_dict` dict describes; an unknown field raises ``ValueError``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown PFNConfig fields {sorted(unknown)}")
        return cls(**data)


#: Named sizes. "paper" is NSL-PFN's encoder (12 layers, d 512, 4 heads, ff 1024).
CONFIGS: dict[str, PFNConfig] = {
    "tiny": PFNConfig("tiny", n_layers=2, d_model=64, n_heads=2, d_ff=128, n_buckets=100),
    "small": PFNConfig("small", n_layers=4, d_model=128, n_heads=4, d_ff=256, n_buckets=400),
    "base": PFNConfig("base", n_layers=6, d_model=256, n_heads=4, d_ff=512, n_buckets=1000),
    "medium": PFNConfig("medium", n_layers=8, d_model=384, n_heads=4, d_ff=768, n_buckets=1000),
    "paper": PFNConfig("paper", n_layers=12, d_model=512, n_heads=4, d_ff=1024, n_buckets=1000),
}


def get_config(config: str | PFNConfig) -> PFNConfig:
    """A named config from [`CONFIGS`][scalebayes.pfn.CONFIGS], or ``config`` itself."""
    if isinstance(config, PFNConfig):
        return config
    if config not in CONFIGS:
        raise ValueError(f"unknown PFN config {config!r}; choose one of {sorted(CONFIGS)}")
    return CONFIGS[config]


class _Dense(eqx.Module):
    weight: Float[Array, "d_in d_out"]
    bias: Float[Array, " d_out"]

    def __init__(self, key: Array, d_in: int, d_out: int, zero: bool = False):
        # float32 weights whether or not float64 is on (numpyro.enable_x64, a fit's scope):
        # checkpoints hold float32, and PFN.load reads a run into float32 shapes
        bound = 1.0 / math.sqrt(d_in)
        f32 = jnp.float32
        if zero:
            self.weight = jnp.zeros((d_in, d_out), f32)
        else:
            self.weight = jax.random.uniform(key, (d_in, d_out), f32, -bound, bound)
        self.bias = jnp.zeros((d_out,), f32)

    def __call__(self, h: Array, dtype) -> Array:
        return h.astype(dtype) @ self.weight.astype(dtype) + self.bias.astype(dtype)


class _LayerNorm(eqx.Module):
    scale: Float[Array, " d"]
    shift: Float[Array, " d"]

    def __init__(self, d: int):
        self.scale = jnp.ones((d,), jnp.float32)
        self.shift = jnp.zeros((d,), jnp.float32)

    def __call__(self, h: Array) -> Array:
        h32 = h.astype(jnp.float32)
        mean = jnp.mean(h32, axis=-1, keepdims=True)
        var = jnp.mean(jnp.square(h32 - mean), axis=-1, keepdims=True)
        out = (h32 - mean) * jax.lax.rsqrt(var + 1e-5) * self.scale + self.shift
        return out.astype(h.dtype)


def _dropout(key: Array | None, h: Array, rate: float) -> Array:
    if key is None or rate == 0.0:
        return h
    keep = jax.random.bernoulli(key, 1.0 - rate, h.shape)
    return jnp.where(keep, h / (1.0 - rate), 0.0).astype(h.dtype)


class _Layer(eqx.Module):
    qkv: _Dense
    out: _Dense
    ln1: _LayerNorm
    ff1: _Dense
    ff2: _Dense
    ln2: _LayerNorm
    n_heads: int = eqx.field(static=True)

    def __init__(self, key: Array, config: PFNConfig):
        k1, k2, k3 = jax.random.split(key, 3)
        d = config.d_model
        self.qkv = _Dense(k1, d, 3 * d)
        self.out = _Dense(k2, d, d, zero=True)
        self.ln1 = _LayerNorm(d)
        self.ff1 = _Dense(k3, d, config.d_ff)
        self.ff2 = _Dense(k3, config.d_ff, d, zero=True)
        self.ln2 = _LayerNorm(d)
        self.n_heads = config.n_heads

    def __call__(self, h, mask, dtype, key, rate):
        t, d = h.shape
        q, k, v = jnp.split(self.qkv(h, dtype).reshape(t, 3, self.n_heads, -1), 3, axis=1)
        q, k, v = q[:, 0], k[:, 0], v[:, 0]  # (T, H, dh)
        scores = jnp.einsum("qhd,khd->hqk", q, k).astype(jnp.float32)
        scores = scores / math.sqrt(d // self.n_heads)
        scores = jnp.where(mask[None], scores, -jnp.inf)
        weights = jax.nn.softmax(scores, axis=-1).astype(dtype)
        att = jnp.einsum("hqk,khd->qhd", weights, v).reshape(t, d)
        ka, kf = (None, None) if key is None else jax.random.split(key)
        h = self.ln1(h + _dropout(ka, self.out(att, dtype), rate))
        ff = self.ff2(jax.nn.gelu(self.ff1(h, dtype)), dtype)
        return self.ln2(h + _dropout(kf, ff, rate))


class PFNModel(eqx.Module):
    """The encoder and decoder; call it on one curve's slots (``vmap`` it over curves).

    Its weights (an Equinox module, a pytree of arrays): ``x_embed`` and ``y_embed`` embed
    a slot's x and y into ``config.d_model``, ``layers`` are the encoder's
    ``config.n_layers`` layers, and ``dec1`` and ``dec2`` decode each slot's token into the
    bar distribution's ``config.n_buckets`` logits.

    Args:
        key: PRNG key for the initialisation.
        config: the size.
    """

    x_embed: _Dense
    y_embed: _Dense
    layers: tuple[_Layer, ...]
    dec1: _Dense
    dec2: _Dense
    config: PFNConfig = eqx.field(static=True)
    """The size and input mapping (a [`PFNConfig`][scalebayes.pfn.PFNConfig])."""

    def __init__(self, key: Array, config: PFNConfig):
        keys = jax.random.split(key, config.n_layers + 4)
        d = config.d_model
        self.x_embed = _Dense(keys[0], 1, d)
        self.y_embed = _Dense(keys[1], y_features(config.input), d)
        self.layers = tuple(_Layer(k, config) for k in keys[4:])
        self.dec1 = _Dense(keys[2], d, config.d_ff)
        self.dec2 = _Dense(keys[3], config.d_ff, config.n_buckets)
        self.config = config

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
        """Bar-distribution logits at every slot.

        Args:
            x: encoded x of each slot (see `PFNConfig.input`: in
                [0.01, 1] for ``"nslpfn"``, ``log10(x / x_ref)`` for the scale-free inputs).
            y: encoded y at context slots (ignored elsewhere).
            is_context: which slots are context points.
            valid: which slots are used (padding slots are False).
            key: PRNG key for dropout (training only); ``None`` disables dropout.
            compute_dtype: precision of the matrix products.

        Returns:
            Float32 logits, shape ``(T, n_buckets)``.
        """
        dtype = compute_dtype
        xn, yn = normalise(self.config.input, x, jnp.where(is_context, y, 0.5))
        h = self.x_embed(xn, dtype) + jnp.where(
            is_context[:, None], self.y_embed(yn, dtype), jnp.zeros((), dtype)
        )
        t = x.shape[0]
        sees = is_context & valid
        mask = sees[None, :] | jnp.eye(t, dtype=bool)
        rate = self.config.dropout
        keys = (
            [None] * len(self.layers)
            if key is None
            else list(jax.random.split(key, len(self.layers)))
        )
        for layer, k in zip(self.layers, keys, strict=True):
            h = layer(h, mask, dtype, k, rate)
        logits = self.dec2(jax.nn.gelu(self.dec1(h, dtype)), dtype)
        return logits.astype(jnp.float32)


def count_parameters(model: PFNModel) -> int:
    """Number of trainable scalars."""
    leaves = jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array))
    return int(sum(leaf.size for leaf in leaves))
