"""The predictor: load a trained PFN and extrapolate curves in one forward pass.

``PFN.load()`` reads the shipped default model (its checksum verified);
``pfn.predict(x_context, y_context, x_query)`` returns a
[`PFNPrediction`][scalebayes.pfn.PFNPrediction] whose methods (median, mean, quantile,
interval, log_prob, sample) work in the curve's own units.

Real-data normalisation (NSL-PFN section 4) is built in: x is mapped linearly into
[0.01, 1] by the min and max of the context and query x (or by an explicit ``x_range``);
y is divided by ``y_scale`` (``"auto"``: ``max(y_context)`` when it exceeds 1, else 1, so
curves already in (0, 1] are left as they are, as the protocol does for IC and NLP).
Predictions are multiplied back.

Many curves of different lengths are predicted in one compiled call: each curve's context
and query points are packed into token slots padded to a power of two, and curves are
grouped into batches of a bounded number of slots.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from ..data import nslpfn_normalise_x
from . import _checkpoint
from ._bar import BarDistribution
from ._model import PFNConfig, PFNModel

#: The shipped model's name; ``PFN.load()`` reads ``scalebayes/pfn/weights/<name>``.
DEFAULT_MODEL = "nslpfn-base"
WEIGHTS_DIR = Path(__file__).parent / "weights"
_MIN_CONTEXT = 2
_MAX_SLOTS_PER_CALL = 2**16


def _as_vector(name: str, value: ArrayLike, *, positive: bool, minimum: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} point(s), got {array.size}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name} must be finite; found {array[bad][0]} at index {np.argmax(bad)}")
    if positive and np.any(array <= 0):
        raise ValueError(
            f"{name} must be > 0 (scaling laws live on positive x); found {array[array <= 0][0]}"
        )
    if not positive and np.any(array < 0):
        raise ValueError(f"{name} must be >= 0 (losses and errors); found {array[array < 0][0]}")
    return array


@dataclass(frozen=True, eq=False)
class PFNPrediction:
    """The PFN's predictive distribution at the query points of one curve.

    A bar distribution with half-normal tails per query (see
    [`BarDistribution`][scalebayes.pfn.BarDistribution]), in the normalised y-space, scaled
    back by ``y_scale``. Satisfies
    [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution].

    Attributes:
        x: the query points, shape ``(q,)``, in the caller's units.
        logits: bucket logits, shape ``(q, K)``.
        bar: the bar distribution (its borders).
        y_scale: the factor undone on output.
    """

    x: np.ndarray
    logits: np.ndarray
    bar: BarDistribution
    y_scale: float = 1.0

    def _eval(self, fn, arg) -> np.ndarray:
        return np.asarray(_bar_call(self.bar, fn, jnp.asarray(self.logits), arg), np.float64)

    def median(self) -> np.ndarray:
        """Per-query median, shape ``(q,)`` (the point prediction)."""
        return self._eval("median", None) * self.y_scale

    def mean(self) -> np.ndarray:
        """Per-query mean, shape ``(q,)``."""
        return self._eval("mean", None) * self.y_scale

    def quantile(self, q: float | ArrayLike) -> np.ndarray:
        """Per-query quantiles: ``(n_queries,)`` for a scalar ``q``, else ``(len(q), n_queries)``.

        Levels lead, as in ``numpy.quantile`` and ``MCMCPredictive.quantile``.
        """
        qs = np.asarray(q, dtype=np.float64)
        if np.any((qs <= 0) | (qs >= 1)) or not np.all(np.isfinite(qs)):
            raise ValueError(f"quantile levels must lie strictly between 0 and 1, got {q}")
        out = self._eval("quantiles", jnp.asarray(np.atleast_1d(qs), jnp.float32))
        out = out.T * self.y_scale
        return out[0] if qs.ndim == 0 else out

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Central interval at probability ``level``: ``(lower, upper)``, each ``(q,)``."""
        if not 0.0 < float(level) < 1.0:
            raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
        lo, hi = self.quantile([(1 - level) / 2, (1 + level) / 2])
        return lo, hi

    def log_prob(self, y: ArrayLike) -> np.ndarray:
        """Log density of ``y`` (caller's units; includes the ``-log y_scale`` Jacobian)."""
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (self.logits.shape[0],):
            raise ValueError(f"y must have shape ({self.logits.shape[0]},), got {y.shape}")
        lp = self._eval("log_prob", jnp.asarray(y / self.y_scale, jnp.float32))
        return lp - math.log(self.y_scale)

    def sample(self, key: jax.Array, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Draws of y, shape ``(*sample_shape, n_queries)`` (an int ``n`` means ``(n,)``)."""
        shape = (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)
        size = int(np.prod(shape, dtype=np.int64))
        draws = self.bar.sample(key, jnp.asarray(self.logits), size)
        return np.asarray(draws, np.float64).reshape(*shape, -1) * self.y_scale


@functools.partial(jax.jit, static_argnames="fn")
def _bar_call(bar, fn, logits, arg):
    method = getattr(bar, fn)
    return method(logits) if arg is None else method(logits, arg)


@eqx.filter_jit
def _forward(model: PFNModel, x, y, context, valid):
    return jax.vmap(model)(x, y, context, valid)


def _bucket(n: int) -> int:
    return max(16, 1 << (n - 1).bit_length())


class PFN:
    """A trained PFN: the model, its bar distribution and its metadata.

    Build one with [`PFN.load`][scalebayes.pfn.PFN.load]. Attributes: ``model``,
    ``bar``, ``config`` (a [`PFNConfig`][scalebayes.pfn.PFNConfig]), ``meta`` (the
    checkpoint's metadata), ``interpolation`` (whether it was trained to predict inside the
    context range).
    """

    def __init__(self, model: PFNModel, bar: BarDistribution, meta: dict | None = None):
        self.model = model
        self.bar = bar
        self.meta = dict(meta or {})
        self.config: PFNConfig = model.config
        self.interpolation = bool(self.meta.get("interpolation", False))

    @classmethod
    def load(cls, path_or_name: str | os.PathLike | None = None) -> PFN:
        """Load a PFN checkpoint (weights-only or training), verifying its checksum.

        Args:
            path_or_name: a checkpoint directory, a training run directory (its
                ``checkpoint/`` is used), the name of a shipped model, or ``None`` for
                the default (``DEFAULT_MODEL``).

        Raises:
            scalebayes.pfn.CheckpointError: if nothing is found there or the files are
                corrupted.
        """
        name = DEFAULT_MODEL if path_or_name is None else path_or_name
        path = Path(name)
        if not path.exists() and (WEIGHTS_DIR / str(name)).exists():
            path = WEIGHTS_DIR / str(name)
        if (path / "checkpoint").is_dir() and not (path / "meta.json").exists():
            path = path / "checkpoint"
        if not path.exists():
            shipped = sorted(p.name for p in WEIGHTS_DIR.glob("*") if p.is_dir())
            raise _checkpoint.CheckpointError(
                f"no PFN checkpoint at {str(name)!r}; shipped models: {shipped or 'none'}. "
                "Train one with `scalebayes train-pfn --config small --steps N --out DIR`"
            )
        meta = _checkpoint.read_meta(path)
        config = PFNConfig.from_dict(meta["model_config"])
        skeleton = PFNModel(jax.random.PRNGKey(0), config)
        model = _checkpoint.load_tree(meta, "model.eqx", skeleton)
        return cls(model, BarDistribution(meta["borders"]), meta)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (weights only) as a checkpoint directory."""
        meta = {k: v for k, v in self.meta.items() if k not in ("_path", "blobs", "format")}
        meta["model_config"] = self.config.to_dict()
        if "borders" not in meta:  # a loaded PFN keeps its checkpoint's exact float64 borders
            meta["borders"] = [float(b) for b in np.asarray(self.bar.borders, np.float64)]
        meta["interpolation"] = self.interpolation
        return _checkpoint.save(path, model=self.model, meta=meta)

    def predict(
        self,
        x_context: ArrayLike,
        y_context: ArrayLike,
        x_query: ArrayLike,
        *,
        y_scale: float | str = "auto",
        x_range: tuple[float, float] | None = None,
    ) -> PFNPrediction:
        """Predictive distribution of y at ``x_query`` given one curve's context points.

        The network sees x mapped linearly into [0.01, 1] by the smallest and largest x of
        the context *and the queries*, as in the NSL-PFN protocol. The model never lets
        queries see each other, but this mapping depends on the furthest query: asking for
        10x further away compresses the context into a smaller part of [0.01, 1] and can move
        the prediction at a given x. Pass the same ``x_range`` to calls that must agree
        (e.g. a fan over a grid and the points on it).

        Args:
            x_context: observed x, shape ``(n,)``, > 0, at least 2 points, not all equal.
            y_context: observed y (loss, error), shape ``(n,)``, >= 0.
            x_query: where to predict, shape ``(q,)``, > 0; beyond the largest context x
                unless the model was trained for interpolation.
            y_scale: divide y by this before the network and multiply back after;
                ``"auto"`` is ``max(y_context)`` if that exceeds 1, else 1.
            x_range: ``(x_min, x_max)`` for the x mapping instead of the range of the
                context and query x; it must contain all of them.

        Returns:
            A [`PFNPrediction`][scalebayes.pfn.PFNPrediction] over the ``q`` queries.
        """
        return self.predict_many(
            [x_context], [y_context], [x_query], y_scale=y_scale, x_range=x_range
        )[0]

    def predict_many(
        self,
        x_context: Sequence[ArrayLike],
        y_context: Sequence[ArrayLike],
        x_query: Sequence[ArrayLike],
        *,
        y_scale: float | str | Sequence[float] = "auto",
        x_range: tuple[float, float] | Sequence[tuple[float, float] | None] | None = None,
    ) -> list[PFNPrediction]:
        """[`predict`][scalebayes.pfn.PFN.predict] for many curves in batched calls.

        ``y_scale`` and ``x_range`` are one value for all curves or one per curve.
        """
        if not (len(x_context) == len(y_context) == len(x_query)):
            raise ValueError(
                "x_context, y_context and x_query must list the same number of curves, got "
                f"{len(x_context)}, {len(y_context)} and {len(x_query)}"
            )
        scales = [y_scale] * len(x_context) if isinstance(y_scale, str | float | int) else y_scale
        one_range = x_range is None or (
            len(x_range) == 2 and all(isinstance(v, int | float) for v in x_range)
        )
        ranges = [x_range] * len(x_context) if one_range else list(x_range)
        curves = []
        for i, (xc, yc, xq, scale, bounds) in enumerate(
            zip(x_context, y_context, x_query, scales, ranges, strict=True)
        ):
            where = f"curve {i}: " if len(x_context) > 1 else ""
            try:
                curves.append(self._prepare(xc, yc, xq, scale, bounds))
            except ValueError as error:
                raise ValueError(where + str(error)) from None
        return self._run(curves)

    def _prepare(self, xc, yc, xq, scale, bounds=None):
        xc = _as_vector("x_context", xc, positive=True, minimum=_MIN_CONTEXT)
        yc = _as_vector("y_context", yc, positive=False, minimum=_MIN_CONTEXT)
        xq = _as_vector("x_query", xq, positive=True, minimum=1)
        if xc.shape != yc.shape:
            raise ValueError(f"x_context {xc.shape} and y_context {yc.shape} differ in shape")
        if np.ptp(xc) <= 0:
            raise ValueError("x_context must hold at least two distinct x values")
        if not self.interpolation and np.any(xq <= xc.max()):
            raise ValueError(
                f"x_query {xq[xq <= xc.max()][0]:g} is not beyond the largest context x "
                f"{xc.max():g}; this PFN was trained to extrapolate only (train with "
                "interpolation > 0 to predict inside the context range)"
            )
        if scale == "auto":
            peak = float(yc.max())
            scale = peak if peak > 1.0 else 1.0
        scale = float(scale)
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"y_scale must be positive and finite, got {scale}")
        ref = np.concatenate([xc, xq])
        if bounds is not None:
            lo, hi = (float(v) for v in bounds)
            if not (0 < lo < hi and lo <= ref.min() and ref.max() <= hi):
                raise ValueError(
                    f"x_range {bounds} must satisfy 0 < x_min < x_max and contain every "
                    f"context and query x ({ref.min():g} .. {ref.max():g})"
                )
            ref = np.array([lo, hi])
        return nslpfn_normalise_x(xc, ref), yc / scale, nslpfn_normalise_x(xq, ref), xq, scale

    def _run(self, curves) -> list[PFNPrediction]:
        out: list[PFNPrediction | None] = [None] * len(curves)
        order = sorted(range(len(curves)), key=lambda i: curves[i][0].size + curves[i][2].size)
        groups: dict[int, list[int]] = {}
        for i in order:
            groups.setdefault(_bucket(curves[i][0].size + curves[i][2].size), []).append(i)
        for slots, members in groups.items():
            per_call = max(1, _MAX_SLOTS_PER_CALL // slots)
            for start in range(0, len(members), per_call):
                chunk = members[start : start + per_call]
                batch = _bucket(len(chunk)) if len(chunk) > 1 else 1
                x = np.full((batch, slots), 0.5, np.float32)
                y = np.full((batch, slots), 0.5, np.float32)
                context = np.zeros((batch, slots), bool)
                valid = np.zeros((batch, slots), bool)
                for row, i in enumerate(chunk):
                    xc, yc, xq, _, _ = curves[i]
                    n, q = xc.size, xq.size
                    x[row, :n], y[row, :n], x[row, n : n + q] = xc, yc, xq
                    context[row, :n] = True
                    valid[row, : n + q] = True
                logits = np.asarray(_forward(self.model, x, y, context, valid))
                for row, i in enumerate(chunk):
                    xc, _, xq, x_raw, scale = curves[i]
                    n, q = xc.size, xq.size
                    out[i] = PFNPrediction(x_raw, logits[row, n : n + q], self.bar, scale)
        return out  # type: ignore[return-value]
