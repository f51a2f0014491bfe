"""The predictor: load a trained PFN and extrapolate curves in one forward pass.

``PFN.load()`` reads the shipped default model (its checksum verified);
``pfn.predict(x_context, y_context, x_query)`` returns a
[`PFNPrediction`][scalebayes.pfn.PFNPrediction] whose methods (median, mean, quantile,
interval, log_prob, sample) work in the curve's own units.

How x and y enter the network is the model's ``config.input`` (see ``_inputs.py``). For
``"log-relative"`` models, x enters as ``log10(x / max x_context)`` and y relative to the
context's largest y: a prediction depends on the context and its own x only, never on the
other queries, and ``x_range`` has no role. For ``"nslpfn"`` models (the first shipped ones),
the real-data normalisation of NSL-PFN section 4 is built in: x is mapped linearly into
[0.01, 1] by the min and max of the context and query x (or by an explicit ``x_range``);
y is divided by ``y_scale`` (``"auto"``: ``max(y_context)`` at every magnitude, 1 for an
all-zero context, so the largest observed y becomes 1, inside the prior's range of first
values U(0.2, 1.2)). Predictions are multiplied back, so ``predict(x, k * y)`` is
``k * predict(x, y)`` for any ``k > 0``. A study passes ``y_scale=1.0`` for curves whose y stays
below 1 (the protocol's IC and NLP), ``"auto"`` otherwise (`protocol_scale`).

Losses and errors are never negative: the bar distribution's mass below 0 becomes a point
mass at 0, so medians, means, quantiles, intervals and samples are ``>= 0`` and
``log_prob`` of a negative ``y`` is ``-inf``.

Many curves of different lengths are predicted in one compiled call: each curve's context
and query points are packed into token slots padded to a power of two, and rows are grouped
into batches of a bounded number of slots and of attention scores. Queries never attend to
each other, so a curve with many queries is split into rows of at most a few hundred
queries, each repeating the context, without changing any prediction. A context longer than
``MAX_CONTEXT`` points is thinned (with a warning) to at most that many points spread evenly
in log x, keeping the smallest and the largest x (each of ``MAX_CONTEXT`` log-spaced nodes
keeps its nearest point, so x clustered in a narrow range keep fewer), since attention cost
grows with the square of the number of slots.

A PFN knows only what its training prior showed it. [`PFN.reach`][scalebayes.pfn.PFN.reach]
is how far beyond the context's largest x that prior put queries; asking further gives a
[`ReachWarning`][scalebayes.pfn.ReachWarning] (the answer is still returned).
"""

from __future__ import annotations

import functools
import hashlib
import math
import numbers
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from .._checks import check_key, is_one_flat_array, is_real
from .._shapes import bucket
from .._warnings import units_hint, warn_at_caller
from ..data import merge_duplicate_x, nslpfn_normalise_x
from ..evaluate import Predictive, check_probabilities
from . import _checkpoint
from ._bar import BarDistribution
from ._inputs import encode
from ._model import PFNConfig, PFNModel

#: The shipped model's name; ``PFN.load()`` reads ``scalebayes/pfn/weights/<name>``.
DEFAULT_MODEL = "nslpfn-base"
#: The shipped far-extrapolation model: trained on the scale-free mixture prior with the
#: ``"log-relative"`` input (reach 1000x); ``PFN.load(FAR_MODEL)``, ``--model mixture-tiny``.
FAR_MODEL = "mixture-tiny"
WEIGHTS_DIR = Path(__file__).parent / "weights"
#: How far beyond the context's largest x the NSL-PFN prior puts its queries: its grid is
#: uniform in linear x on [0.01, 1], so the last query's ratio to the context's largest x is
#: at most 100, but 92% of its curves stay within 10x (measured on 20,000 draws: median 2.1,
#: 80% within 5x, 95% within 14x).
NSLPFN_REACH = 10.0
#: The ratio of the furthest query to the largest run beyond which the shipped far model
#: answers alone ([`PFN.load_for`][scalebayes.pfn.PFN.load_for], the command line,
#: [`extrapolate`][scalebayes.pfn.extrapolate]; within it both models answer, weighted per
#: curve by a back-test): measured on the bundled curves
#: (`python benchmarks/far_switch.py`, targets sqrt(F)-F times beyond at most 8 runs), the
#: far model has the lower RMSLE on 4 of 5 datasets at 3.2-10x and on 3 of 3 at 5.5-30x,
#: while at 1.4-5x the two models split the datasets; so it takes over from 5x (where 80% of
#: the default model's training questions end).
FAR_SWITCH = 5.0

_FAR_READS_EVERY_RUN = (
    f"; the far model (`PFN.load({FAR_MODEL!r})`; command line: `--model {FAR_MODEL}`) reads "
    "every run"
)
"""How a SpanWarning of the default model ends; the shipped answer, which weights the far
model in already, says that instead."""


#: The span of x (largest over smallest, runs and queries together) beyond which a PFN with
#: the NSL-PFN input (``nslpfn-base``) conditions only on the runs within ``NSLPFN_SPAN`` of
#: the furthest x: its linear map of x onto [0.01, 1] would squeeze the smaller runs into the
#: first 1% of that range, where its prior (at most two decades of x) put almost no points.
#: Measured (`python benchmarks/span_switch.py`): on synthetic power laws whose 6-8 runs span
#: more than four decades, asked 2x and 5x beyond the last, RMSLE 0.39-0.47 and 0.66-0.78 with
#: every run, 0.021 and 0.033-0.037 with the window; on the bundled curves, which span at most
#: 3.1 decades, the window was no better (so below this span every run is read, as before).
SPAN_GUARD = 1e4
#: The x range of the NSL-PFN prior (its grid is [0.01, 1]): the window ``SPAN_GUARD`` keeps.
NSLPFN_SPAN = 100.0
#: The largest ratio of the runs' y to the last run's (at the largest x) that a PFN with a
#: scale-free input (the far model) reads: it divides y by the largest context y, and its
#: bar distribution resolves little below a few hundredths of that (the far model's first
#: buckets end at 0.009 and 0.024), so early runs far above the rest are left out. Measured
#: (`python benchmarks/span_switch.py`; curves whose y spans more than 10x): the far model's
#: RMSLE on dense log-spaced curves 0.407 -> 0.028, on 3-8 runs asked 10x / 300x beyond
#: 0.119 -> 0.051 / 0.134 -> 0.116; no bundled curve's context spans more than 5x in y.
Y_SPAN_GUARD = 10.0
#: The largest ratio of a query (or the smallest of a run) to the largest run that the
#: scale-free inputs encode: beyond it float32 (the network's precision) cannot hold x / x_max.
_MAX_SCALE_FREE_RATIO = 1e30


def _merge_repeats(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Runs repeated at one x (seeds) as one run at their mean y (then sorted by x): the PFN's
    prior never repeats an x. Returns ``(x, y, what)``, ``what`` naming the repeated x; with
    none repeated, ``x`` and ``y`` as given and ``what`` None."""
    merged = merge_duplicate_x(x, y)
    if merged.x.size == x.size:
        return x, y, None
    many = int(np.sum(merged.counts > 1))
    more = f" and {many - 1} more x" if many > 1 else ""
    what = f"x = {merged.x[np.argmax(merged.counts > 1)]:g}{more}"
    return merged.x, merged.y, what


def _repeats_message(texts: list[str]) -> str:
    """The warning for runs repeated at one x, ``texts`` naming them (at most five shown)."""
    return (
        f"{'; '.join(texts[:5])}{' ...' if len(texts) > 5 else ''}: runs repeat an "
        "x (seeds?); the PFN reads one run per x (its prior never repeats one), so the "
        "y of each repeated x are averaged (average them first to silence this; for a "
        "CSV: read_curves_csv(..., dedupe='mean'))"
    )


def _merge_each(x_context, y_context, labels, *, stacklevel: int) -> tuple[list, list]:
    """Each curve's runs repeated at one x averaged (``_merge_repeats``), with one
    ``UserWarning`` for all curves (named by ``labels``), before several predictions read
    them (each would warn again). A curve whose arrays are not 1-D positive numbers of one
    length is passed on as given: the prediction names the problem."""
    xs, ys, said = list(x_context), list(y_context), []
    for i, (xc, yc) in enumerate(zip(xs, ys, strict=True)):
        try:
            x = _as_vector("x_context", xc, positive=True, minimum=1)
            y = _as_vector("y_context", yc, positive=False, minimum=1)
        except (TypeError, ValueError):
            continue
        if x.shape != y.shape or np.unique(x).size < 2:
            continue  # (one distinct x: the prediction says so, not "1 point")
        mx, my, what = _merge_repeats(x, y)
        if what is not None:
            xs[i], ys[i] = mx, my
            said.append(what if labels is None else f"curve {labels[i]!r}: {what}")
    if said:
        warnings.warn(_repeats_message(said), UserWarning, stacklevel=stacklevel + 1)
    return xs, ys


def _keep_worst(kept: dict[str, tuple[float, str]], label: str, bad: float, text: str) -> None:
    """Keep ``text`` for ``label`` unless the kept one is at least as ``bad``."""
    if label not in kept or bad > kept[label][0]:
        kept[label] = (bad, text)


def _at_most(ratio, limit: float):
    """``ratio <= limit`` up to rounding: a grid ending exactly at the limit is inside (a
    bool for a number, a boolean array for an array of ratios)."""
    within = np.asarray(ratio) <= limit * (1 + 1e-9)
    return bool(within) if within.ndim == 0 else within


class SpanWarning(UserWarning):
    """The runs span more than a PFN resolves, so it read only some of them: with the NSL-PFN
    input, runs and queries spanning more than [`SPAN_GUARD`][scalebayes.pfn.SPAN_GUARD] in x
    (it reads the runs within [`NSLPFN_SPAN`][scalebayes.pfn.NSLPFN_SPAN] of the furthest x);
    with a scale-free input, runs whose y spans more than
    [`Y_SPAN_GUARD`][scalebayes.pfn.Y_SPAN_GUARD] times the last run's (it reads the runs
    within that)."""


class ReachWarning(UserWarning):
    """A query lies beyond the PFN's [`reach`][scalebayes.pfn.PFN.reach]: further beyond the
    context than (almost) all of its training prior's questions."""


#: The most context points the network conditions on; a longer context is thinned to at most
#: this many points spread evenly in log x (keeping the smallest and largest x; clustered x
#: keep fewer), with a warning.
#: The shipped models were trained on curves of at most 128 points; attention cost grows with
#: the square of the number of slots.
MAX_CONTEXT = 1000
_MIN_CONTEXT = 2
#: Queries per row before a curve's queries are split over several rows (the row is then
#: widened to its padded slot count, so a row holds fewer than ``2 * (n + 256)`` queries).
_MAX_QUERIES_PER_ROW = 256
#: Per compiled call: at most this many token slots and this many attention scores per head.
_MAX_SLOTS_PER_CALL = 2**16
_MAX_SCORES_PER_CALL = 2**24
#: ``y_context / y_scale`` beyond this is far outside the bars (which cover about [0, 2]).
_MAX_SCALED_Y = 1e6

#: For the ``"nslpfn"`` input, a largest context y below this (after ``y_scale``) is below
#: that of 99.9% of the NSL-PFN prior's curves (measured on 4,000 draws: 0.1% quantile 0.19,
#: 1% 0.22), so an explicit ``y_scale`` that puts it there gets a ``UserWarning``.
_LOW_SCALED_Y = 0.19


def refuse_one_flat_curve(lists: dict[str, Sequence]) -> None:
    """Refuse one curve's flat numbers where a list of arrays, one per curve, is asked: read
    as curves, each number would be a curve of one point, and the error would say so."""
    for name, value in lists.items():
        if is_one_flat_array(value):
            raise TypeError(
                f"{name} must be a list of arrays, one per curve; got one flat array "
                "(for one curve pass [x], [y] and [x_query], or use predict)"
            )


def _as_vector(name: str, value: ArrayLike, *, positive: bool, minimum: int) -> np.ndarray:
    raw = value if isinstance(value, np.ndarray) else None
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        if raw is None:
            raw = np.asarray(value)
        if raw.dtype.kind not in "biufO" or (
            raw.dtype.kind == "O" and any(isinstance(v, str | bytes) for v in raw.flat)
        ):
            raise TypeError
        array = raw.astype(np.float64)
    except (TypeError, ValueError):
        kind = type(value).__name__ if raw is None else f"{type(value).__name__} of {raw.dtype}"
        raise TypeError(f"{name} must be an array of numbers, got {kind}") from None
    except OverflowError:  # a Python int beyond float64, e.g. 10**400
        raise ValueError(f"{name} must be finite; one value is beyond float64") from None
    if array.ndim != 1:
        hint = f" (one value: pass [{array.item():g}])" if array.ndim == 0 else ""
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}{hint}")
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


def _as_scale(scale, y: np.ndarray) -> float:
    """The divisor of y: ``max(y)`` for ``"auto"`` (1 if y is all zero), else ``scale`` checked."""
    peak = float(y.max())
    if isinstance(scale, str):
        if scale != "auto":
            raise ValueError(f'y_scale must be "auto" or a positive number, got {scale!r}')
        return peak if peak > 0 else 1.0
    if not isinstance(scale, numbers.Real) and np.ndim(scale) == 0:  # a 0-d NumPy/JAX array
        as_array = np.asarray(scale)
        if as_array.dtype.kind in "iuf":
            scale = float(as_array)
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f'y_scale must be "auto" or a positive number, got {type(scale).__name__}')
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"y_scale must be positive and finite, got {scale}")
    if peak / scale > _MAX_SCALED_Y:
        raise ValueError(
            f"y_scale {scale:g} puts max(y_context) / y_scale at {peak / scale:g}, far outside "
            'the PFN\'s range (about [0, 2]); use y_scale="auto" or a larger y_scale'
        )
    return scale


def _thin(x: np.ndarray, limit: int) -> np.ndarray:
    """Indices (ascending) of at most ``limit`` points of ``x`` spread evenly in log x.

    Each of ``limit`` log-spaced targets from ``min(x)`` to ``max(x)`` takes its nearest
    point, so the smallest and largest x are always kept; clustered x give fewer points.
    """
    order = np.argsort(x, kind="stable")
    log_x = np.log(x[order])
    grid = np.linspace(log_x[0], log_x[-1], limit)
    right = np.clip(np.searchsorted(log_x, grid), 1, x.size - 1)
    nearer_left = grid - log_x[right - 1] <= log_x[right] - grid
    return np.sort(order[np.unique(np.where(nearer_left, right - 1, right))])


@dataclass(frozen=True, eq=False, repr=False)
class PFNPrediction(Predictive):
    """The PFN's predictive distribution at the query points of one curve.

    A bar distribution with half-normal tails per query (see
    [`BarDistribution`][scalebayes.pfn.BarDistribution]), in the normalised y-space, scaled
    back by ``y_scale``, and censored at 0: the mass the bars put below 0 is a point mass at
    0, so every median, mean, quantile, interval and sample is ``>= 0``. A
    [`Predictive`][scalebayes.evaluate.Predictive].

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
        # pad the queries to a power of two, so that curves with different numbers of
        # queries share one compiled program (rows are independent; the padding is dropped)
        n = self.logits.shape[0]
        logits = np.zeros((bucket(n, 16), self.logits.shape[1]), np.float32)
        logits[:n] = self.logits
        if fn == "log_prob":
            arg = jnp.concatenate([arg, jnp.ones(logits.shape[0] - n, arg.dtype)])
        out = _bar_call(self.bar, fn, jnp.asarray(logits), arg)
        return np.asarray(out, np.float64)[:n]

    @property
    def n_targets(self) -> int:
        """Number of query points."""
        return int(self.logits.shape[0])

    def _head(self, k: int) -> "PFNPrediction":
        return PFNPrediction(self.x[:k], self.logits[:k], self.bar, self.y_scale)

    def median(self) -> np.ndarray:
        """Per-query median, shape ``(q,)`` (the point prediction); ``>= 0``."""
        return np.maximum(self._eval("median", None), 0.0) * self.y_scale

    def mean(self) -> np.ndarray:
        """Per-query mean of the distribution censored at 0, shape ``(q,)``."""
        return np.maximum(self._eval("clipped_mean", None), 0.0) * self.y_scale

    def icdf(self, q: float | ArrayLike) -> np.ndarray:
        """Per-query quantiles: ``(n_queries,)`` for a scalar ``q``, else ``(len(q), n_queries)``.

        Levels lead, as in ``numpy.quantile`` (see
        [`Predictive`][scalebayes.evaluate.Predictive]). A level at or below the mass at 0
        gives 0.
        """
        qs = check_probabilities(q)
        levels = np.atleast_1d(qs).astype(np.float32)
        # padded to a power of two (with the median), so new numbers of levels share programs
        padded = np.full(bucket(levels.size, 4), 0.5, np.float32)
        padded[: levels.size] = levels
        out = self._eval("quantiles", jnp.asarray(padded))[:, : levels.size]
        out = np.maximum(out.T, 0.0) * self.y_scale
        return out[0] if qs.ndim == 0 else out

    def log_prob(self, y: ArrayLike) -> np.ndarray:
        """Log density of ``y`` (caller's units; includes the ``-log y_scale`` Jacobian).

        For ``y >= 0`` the bars' density (the point mass at 0 is not included); ``-inf`` for
        ``y < 0``, which the censored distribution never takes.
        """
        y = self._targets(y)
        with np.errstate(over="ignore"):  # _float32 clips what overflows
            scaled = y / self.y_scale
        lp = self._eval("log_prob", jnp.asarray(_float32(scaled)))
        return np.where(y < 0, -np.inf, lp - math.log(self.y_scale))

    def cdf(self, y: ArrayLike) -> np.ndarray:
        """Per-query CDF of y (caller's units), the point mass at 0 included; 0 for ``y < 0``.

        Args:
            y: values, ``(n_queries,)`` or ``(m, n_queries)``.

        Returns:
            The same shape, float64 (computed in float32, as every PFN output).
        """
        y, squeeze = self._cdf_values(y)
        # the masses are normalised once per prediction (_cdf_table); every row of y is then
        # read against them on the host, as the bars' own cdf reads them
        with np.errstate(over="ignore"):  # _float32 clips what overflows (y up to inf)
            scaled = y / self.y_scale
        out = self.bar.cdf_from_table(self._cdf_table, _float32(scaled))
        out = np.clip(np.where(y < 0, 0.0, out.astype(np.float64)), 0.0, 1.0)
        return out[0] if squeeze else out

    @functools.cached_property
    def _cdf_table(self) -> tuple[np.ndarray, np.ndarray]:
        """The queries' bucket masses and the mass below each bucket (``bar.cdf_table``)."""
        n = self.logits.shape[0]
        logits = np.zeros((bucket(n, 16), self.logits.shape[1]), np.float32)
        logits[:n] = self.logits
        p, below = _bar_call(self.bar, "cdf_table", jnp.asarray(logits), None)
        return np.asarray(p)[:n].copy(), np.asarray(below)[:n].copy()  # not the padding

    def sample(self, key: jax.Array, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Draws of y, shape ``(*sample_shape, n_queries)`` (an int ``n`` means ``(n,)``):
        each query's from its own marginal, independent across queries (the PFN predicts
        each query alone; for joint paths over several x use MCMC's
        `MCMCResult.sample_paths`)."""
        key = check_key(key)
        shape = self._sample_shape(sample_shape)
        size = int(np.prod(shape, dtype=np.int64))
        if size == 0:
            return np.zeros((*shape, self.n_targets))
        # queries padded to a power of two and draws made in fixed chunks (a key folded in per
        # chunk): one compiled program serves every size, in memory bounded by the chunk
        n = self.n_targets
        logits = np.zeros((bucket(n, 1), self.logits.shape[1]), np.float32)
        logits[:n] = self.logits
        logits = jnp.asarray(logits)
        chunks = [
            np.asarray(_sample_bars(self.bar, jax.random.fold_in(key, i), logits))[:, :n]
            for i in range(-(-size // _SAMPLE_CHUNK))
        ]
        draws = np.concatenate(chunks)[:size].astype(np.float64)
        return np.maximum(draws, 0.0).reshape(*shape, n) * self.y_scale


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _float32(values: np.ndarray) -> np.ndarray:
    """``values`` as float32, those beyond its range clipped to its largest finite value (the
    bars read them as far out in a tail, with no overflow warning)."""
    return np.clip(values, -_FLOAT32_MAX, _FLOAT32_MAX).astype(np.float32)


def _per_curve(value, n: int, name: str) -> list:
    """``value`` for each of ``n`` curves: one value (a string or a scalar) repeated, or a
    sequence of exactly ``n``."""
    if isinstance(value, str | bytes) or np.ndim(value) == 0:
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise ValueError(f"{name} must be one value or one per curve ({n}), got {len(value)}")
    return value


@functools.cache
def _shipped(name: str) -> PFN:
    """A shipped model, loaded once per process."""
    return PFN.load(name)


def _shipped_dir(name) -> Path | None:
    """The shipped model's directory if ``name`` is a shipped model's name as a string (a
    folder of that name in the working directory does not replace it: write ``./NAME``)."""
    if isinstance(name, str) and name and name == Path(name).name and name not in (".", ".."):
        path = WEIGHTS_DIR / name
        if path.is_dir():
            return path
    return None


def _locate(name: str | os.PathLike) -> Path:
    """The directory `PFN.load` reads for ``name``: the shipped model named by a string,
    else the path itself, else a shipped model of that name, and a training run's
    ``checkpoint/`` (it may not exist)."""
    path = _shipped_dir(name) or Path(name)
    if not path.exists() and (WEIGHTS_DIR / str(name)).is_dir():  # e.g. Path("nslpfn-base")
        path = WEIGHTS_DIR / str(name)
    if not (path / "meta.json").exists() and any(
        (path / child).is_dir() for child in ("checkpoint", "checkpoint.old")
    ):  # a training run (``.old``: its last save was cut between two renames)
        path = path / "checkpoint"
    return path


@functools.cache
def _load_stamped(name: str, stamp: str) -> PFN:
    return PFN.load(name)


def _load_current(name: str) -> PFN:
    """`PFN.load(name)`, one copy per process of each checkpoint as it is on disk now: the
    copy is keyed on the bytes of its ``meta.json`` (which records the weights' sha256, so a
    checkpoint retrained or replaced at the same path is read again, not answered from the
    old copy). A shipped model's name gives the copy the predictions share."""
    if _shipped_dir(name) is not None:
        return _shipped(name)
    try:  # the metadata PFN.load reads (a checkpoint.old after a cut save)
        where = _checkpoint._resolve(_locate(name))
        stamp = f"{where} {hashlib.sha256((where / 'meta.json').read_bytes()).hexdigest()}"
    except (OSError, _checkpoint.CheckpointError):
        stamp = ""  # PFN.load then says what is missing
    return _load_stamped(str(name), stamp)


def query_ratio(x_context, x_query) -> float:
    """``max(x_query) / max(x_context)``, the distance [`PFN.load_for`][scalebayes.pfn.PFN.load_for]
    chooses a shipped model by; 1 where that is not a finite positive number (empty, malformed
    or non-positive input, which the prediction itself then names)."""
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            ratio = float(
                np.max(np.asarray(x_query, np.float64)) / np.max(np.asarray(x_context, np.float64))
            )
    except (TypeError, ValueError):
        return 1.0
    return ratio if math.isfinite(ratio) and ratio > 0 else 1.0


@functools.partial(jax.jit, static_argnames="fn")
def _bar_call(bar, fn, logits, arg):
    # compiled once per padded shape (see _eval and icdf): callers pad queries and levels
    method = getattr(bar, fn)
    return method(logits) if arg is None else method(logits, arg)


_SAMPLE_CHUNK = 1024  # draws per compiled call: the icdf holds (draws, queries, buckets)


@jax.jit
def _sample_bars(bar, key, logits):
    return bar.sample(key, logits, _SAMPLE_CHUNK)


@eqx.filter_jit
def _forward(model: PFNModel, x, y, context, valid):
    return jax.vmap(model)(x, y, context, valid)


STORAGE_DTYPES: tuple[str, ...] = ("float32", "bfloat16")
"""The dtypes a weights checkpoint may store its floating-point arrays in."""


def _cast_floats(tree, dtype):
    """``tree`` with every floating-point array cast to ``dtype`` (other leaves unchanged)."""
    return jax.tree.map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, tree)


def _skeleton(config: PFNConfig, dtype) -> PFNModel:
    """The model's structure for a checkpoint to be read into: its arrays' shapes, the
    floating-point ones as ``dtype``, and no weights drawn (drawing them only to overwrite
    them compiled one random program per weight shape; with the NaN check on the host a cold
    ``load`` of the default model fell from 3.2 s to 0.35 s, ``benchmarks/cold_start.py``)."""
    return eqx.filter_eval_shape(
        lambda key: _cast_floats(PFNModel(key, config), dtype), jax.random.PRNGKey(0)
    )


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

    def __repr__(self) -> str:
        where = self.meta.get("_path")
        name = Path(where).name if where else "(in memory)"
        return (
            f"PFN({name}, input {self.config.input!r}, {self.bar.n_buckets} buckets, "
            f"reach {self.reach:g}x)"
        )

    @property
    def reach(self) -> float:
        """The ratio ``x_query / max(x_context)`` within which the model's training prior asked
        (nearly) all of its questions.

        The prior is the checkpoint's ``train_config["prior"]`` (without one: NSL-PFN's for
        the ``"nslpfn"`` input encoding, the scale-free prior otherwise). NSL-PFN's prior
        (linear x on [0.01, 1]): 10 (``NSLPFN_REACH``; 92% of its curves ask no further, a
        few up to 100x). The scale-free prior and a mixture with it: ``10 ** d``
        for the prior's largest reach of ``d`` decades (``ScaleFreePriorConfig.reach``, with
        the run's ``scalefree_overrides``; by default 3 decades: 1000). Further out the model
        answers from outside what it learned, and
        [`predict`][scalebayes.pfn.PFN.predict] warns with a ``ReachWarning``.
        """
        train_config = self.meta.get("train_config") or {}
        # without a training record, the input encoding tells: TrainConfig gives NSL-PFN's
        # prior the "nslpfn" input and the scale-free and mixed priors "log-relative"
        prior = train_config.get(
            "prior", "nslpfn" if self.config.input == "nslpfn" else "scalefree"
        )
        if prior == "nslpfn":
            return NSLPFN_REACH
        from ..priors import ScaleFreePriorConfig

        overrides = train_config.get("scalefree_overrides") or {}  # its fields take lists
        return float(10.0 ** ScaleFreePriorConfig(**overrides).reach[1])

    def within_reach(self, ratio: float) -> bool:
        """Whether a query at ``ratio`` times the context's largest x lies within
        [`reach`][scalebayes.pfn.PFN.reach] (a grid ending exactly at the reach is inside)."""
        return _at_most(ratio, self.reach)

    def further_model(self, ratio: float) -> PFN | None:
        """The shipped far model ([`FAR_MODEL`][scalebayes.pfn.FAR_MODEL]) if it reaches
        further than this PFN and covers a query ``ratio`` times beyond the largest run; else
        None (then only a model of the curve's form, such as MCMC, answers further out)."""
        far = _shipped(FAR_MODEL)
        return far if far.reach > self.reach and far.within_reach(ratio) else None

    @classmethod
    def load_for(cls, ratio: float) -> PFN:
        """The shipped PFN for a question ``ratio`` times beyond the largest run: the default
        model ([`DEFAULT_MODEL`][scalebayes.pfn.DEFAULT_MODEL]) up to
        [`FAR_SWITCH`][scalebayes.pfn.FAR_SWITCH] (5x), the far model
        ([`FAR_MODEL`][scalebayes.pfn.FAR_MODEL]) beyond, where it is measured the more
        accurate (`benchmarks/far_switch.py`). ``scalebayes suggest`` chooses so when no model
        is named ([`suggest_next`][scalebayes.design.suggest_next] keeps the default model);
        ``scalebayes extrapolate`` and [`extrapolate`][scalebayes.pfn.extrapolate] answer
        with the far model beyond ``FAR_SWITCH`` and within it with both shipped models,
        weighted per curve ([`predict_stacked`][scalebayes.pfn.predict_stacked]).

        Each shipped model is loaded once per process and shared between calls (do not
        modify it).

        Raises:
            TypeError: if ``ratio`` is not a number.
            ValueError: if ``ratio`` is not finite and > 0.
        """
        if not is_real(ratio):
            raise TypeError(f"ratio must be a number, got {type(ratio).__name__}")
        ratio = float(ratio)
        if not (math.isfinite(ratio) and ratio > 0):
            raise ValueError(f"ratio = {ratio!r} must be finite and > 0")
        return _shipped(DEFAULT_MODEL if _at_most(ratio, FAR_SWITCH) else FAR_MODEL)

    @classmethod
    def load(cls, path_or_name: str | os.PathLike | None = None) -> PFN:
        """Load a PFN checkpoint (weights-only or training), verifying its checksum.

        A training checkpoint of a run with ``ema_decay > 0`` answers with its moving average
        of the weights, the weights [`export_weights`][scalebayes.pfn.export_weights] ships
        (``meta["weights"]`` says ``"ema"``); its raw weights are the optimiser's, for
        resuming.

        Args:
            path_or_name: a checkpoint directory, a training run directory (its
                ``checkpoint/`` is used), the name of a shipped model (a folder of that
                name in the working directory does not replace it: write ``./NAME`` for the
                folder), or ``None`` for the default (``DEFAULT_MODEL``).

        Raises:
            scalebayes.pfn.CheckpointError: if nothing is found there or the files are
                corrupted.
        """
        name = DEFAULT_MODEL if path_or_name is None else path_or_name
        if not isinstance(name, str | os.PathLike):
            raise TypeError(
                "the PFN model is a shipped model's name or a checkpoint directory (a str or "
                f"a path); got {type(name).__name__}"
            )
        if isinstance(name, str) and not name.strip():
            shipped = sorted(p.name for p in WEIGHTS_DIR.glob("*") if p.is_dir())
            raise _checkpoint.CheckpointError(
                f"the PFN model is named by an empty string: give a shipped model ({shipped}) "
                "or a checkpoint directory"
            )
        path = _locate(name)
        if not path.exists() and not path.with_name(path.name + ".old").exists():
            shipped = sorted(p.name for p in WEIGHTS_DIR.glob("*") if p.is_dir())
            raise _checkpoint.CheckpointError(
                f"no PFN checkpoint at {str(name)!r}; shipped models: {shipped or 'none'}. "
                "Train one with `scalebayes train-pfn --config small --steps N --out DIR`"
            )
        meta = _checkpoint.read_checkpoint_meta(path)
        config = _checkpoint.require(
            meta, ("model_config", "borders"), lambda m: PFNConfig.from_dict(m["model_config"])
        )
        members = meta.get("members")
        if members is not None and not (isinstance(members, list) and len(members) != 1):
            got = "one member" if isinstance(members, list) else type(members).__name__
            raise _checkpoint.CheckpointError(
                f"{meta['_path']}/meta.json: 'members' must list an ensemble's members (at "
                f"least two), got {got}: the metadata is damaged or was edited"
            )
        stored = meta.get("storage_dtype", "float32")
        if stored not in STORAGE_DTYPES:
            raise _checkpoint.CheckpointError(
                f"{meta['_path']} stores its weights as {stored!r}; this scalebayes reads "
                f"{', '.join(STORAGE_DTYPES)}"
            )
        train_config = meta.get("train_config")
        if (
            not members
            and isinstance(train_config, dict)
            and is_real(train_config.get("ema_decay"))
            and train_config["ema_decay"] > 0
            and "opt_state.eqx" in meta.get("blobs", {})
        ):  # a training checkpoint: the moving average is what the run would ship
            from ._train import read_ema_weights

            model = read_ema_weights(meta)  # its raw weights (model.eqx) are not read
            meta = {**meta, "weights": "ema"}
        else:
            skeleton = _skeleton(config, jnp.dtype(stored))
            if members:  # an ensemble (see ensemble()): one tree of every member
                from ._ensemble import EnsembleModel

                skeleton = EnsembleModel([skeleton] * len(members))
            model = _cast_floats(_checkpoint.load_tree(meta, "model.eqx", skeleton), jnp.float32)
        _checkpoint.check_finite(model, meta["_path"])
        bar = _checkpoint.require(
            meta, ("borders",), lambda m: BarDistribution(m["borders"], m.get("tail_scales"))
        )
        if bar.n_buckets != config.n_buckets:
            raise _checkpoint.CheckpointError(
                f"{meta['_path']}/meta.json holds {len(bar.borders)} borders, a bar of "
                f"{bar.n_buckets} buckets, but the model has {config.n_buckets}: the metadata "
                "is damaged or was edited"
            )
        for key, kind in (("train_config", dict), ("interpolation", bool)):
            if meta.get(key) is not None and not isinstance(meta[key], kind):
                raise _checkpoint.CheckpointError(
                    f"{meta['_path']}/meta.json: {key!r} must be a {kind.__name__}, got "
                    f"{type(meta[key]).__name__}: the metadata is damaged or was edited"
                )
        pfn = cls(model, bar, meta)
        _checkpoint.require(meta, (), lambda _: pfn.reach)  # its prior's record reads now
        return pfn

    def save(self, path: str | os.PathLike, *, storage_dtype: str = "float32") -> Path:
        """Write the model (weights only) as a checkpoint directory.

        Args:
            path: the checkpoint directory (created or replaced atomically).
            storage_dtype: ``"float32"`` or ``"bfloat16"``: the weights' dtype on disk (half
                the size; [`load`][scalebayes.pfn.PFN.load] widens them back to float32, so
                only the rounding of each weight to 8 significant bits remains).
        """
        if storage_dtype not in STORAGE_DTYPES:
            raise ValueError(
                f"storage_dtype must be one of {', '.join(STORAGE_DTYPES)}, got {storage_dtype!r}"
            )
        meta = {k: v for k, v in self.meta.items() if k not in ("_path", "blobs", "format")}
        meta["model_config"] = self.config.to_dict()
        if "borders" not in meta:  # a loaded PFN keeps its checkpoint's exact float64 borders
            meta["borders"] = [float(b) for b in np.asarray(self.bar.borders, np.float64)]
        meta["interpolation"] = self.interpolation
        meta["storage_dtype"] = storage_dtype
        model = _cast_floats(self.model, jnp.dtype(storage_dtype))
        return _checkpoint.save(path, model=model, meta=meta)

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

        How x enters depends on the model's input (``config.input``). The ``"nslpfn"`` input
        (the default model) maps x linearly into [0.01, 1] by the smallest and largest x of
        the context *and the queries*, as in the NSL-PFN protocol. The model never lets
        queries see each other, but this mapping depends on the furthest query: asking for
        10x further away compresses the context into a smaller part of [0.01, 1] and can move
        the prediction at a given x. Pass the same ``x_range`` to calls that must agree
        (e.g. a fan over a grid and the points on it); when the runs and queries span more
        than the prior's decades, only the runs near the largest x are read (a
        ``SpanWarning`` says which). The scale-free inputs (``"log-relative"``, the far
        model) read x as ``log10(x / max x_context)`` and y relative to the context's
        largest y, so a prediction never depends on the other queries and ``x_range`` is
        checked but has no effect; runs whose y lies more than ``Y_SPAN_GUARD`` times above
        the last run's are left out (``SpanWarning``). Any number of queries is fine: they
        are predicted in chunks that share the curve's encoding.

        Args:
            x_context: observed x, shape ``(n,)``, > 0, at least 2 distinct; runs repeated
                at one x (seeds) are averaged, with a ``UserWarning``.
                More than ``MAX_CONTEXT`` points are thinned to at most that many, evenly in
                log x (keeping the smallest and largest x; each of ``MAX_CONTEXT`` log-spaced
                nodes keeps its nearest point, so clustered x keep fewer), with a
                ``UserWarning``.
            y_context: observed y (loss, error), shape ``(n,)``, >= 0.
            x_query: where to predict, shape ``(q,)``, > 0; beyond the largest context x
                unless the model was trained for interpolation. A query more than
                [`reach`][scalebayes.pfn.PFN.reach] times the largest context x gives a
                ``ReachWarning``.
            y_scale: divide y by this before the network and multiply back after;
                ``"auto"`` is ``max(y_context)`` (1 if every y is 0), which makes the
                prediction scale-equivariant. An explicit value must keep
                ``max(y_context) / y_scale`` within the model's outputs: for the
                ``"nslpfn"`` input (the default model) at most the top bar border (about 2;
                the NSL-PFN protocol passes ``1.0`` for its benchmarks' y in (0, 1]; below
                0.19, under 99.9% of its prior's curves, a ``UserWarning``: keep ``"auto"``
                for your own runs), else below 1e6 (the scale-free inputs divide by the
                context's largest y themselves).
            x_range: ``(x_min, x_max)`` for the ``"nslpfn"`` x mapping instead of the range
                of the context and query x; it must contain all of them (no effect on the
                scale-free inputs).

        Returns:
            A [`PFNPrediction`][scalebayes.pfn.PFNPrediction] over the ``q`` queries, censored
            at 0 (its mass below 0 is a point mass at 0).

        Raises:
            ValueError: if an argument has the wrong shape, is not finite, or is out of its
                range (the message names it).
            TypeError: if an argument is not numeric.
        """
        return self._predict_many(
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
        names: Sequence[str] | None = None,
    ) -> list[PFNPrediction]:
        """[`predict`][scalebayes.pfn.PFN.predict] for many curves in batched calls.

        ``y_scale`` and ``x_range`` are one value for all curves or one per curve; ``names``
        (one per curve) name the curves in errors and warnings, which otherwise say
        ``curve i`` (0-based).
        """
        return self._predict_many(
            x_context, y_context, x_query, y_scale=y_scale, x_range=x_range, names=names
        )

    def _predict_many(self, x_context, y_context, x_query, *, y_scale, x_range, names=None):
        for name, value in (("x_context", x_context), ("y_context", y_context)):
            if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
                raise TypeError(f"{name} must be a sequence of arrays, got {type(value).__name__}")
        if not hasattr(x_query, "__len__") or isinstance(x_query, str | bytes):
            raise TypeError(f"x_query must be a sequence of arrays, got {type(x_query).__name__}")
        refuse_one_flat_curve({"x_context": x_context, "y_context": y_context})
        if not (len(x_context) == len(y_context) == len(x_query)):
            raise ValueError(
                "x_context, y_context and x_query must list the same number of curves, got "
                f"{len(x_context)}, {len(y_context)} and {len(x_query)}"
            )
        scales = _per_curve(y_scale, len(x_context), "y_scale")
        if x_range is not None and (
            isinstance(x_range, str | bytes)
            or (not isinstance(x_range, list | tuple) and np.ndim(x_range) == 0)
        ):
            raise TypeError(
                f"x_range must be (x_min, x_max) or one per curve, got {type(x_range).__name__}"
            )
        one_range = x_range is None or (len(x_range) == 2 and all(is_real(v) for v in x_range))
        ranges = [x_range] * len(x_context) if one_range else list(x_range)
        if len(ranges) != len(x_context):
            raise ValueError(
                f"x_range must be one (x_min, x_max) or one per curve ({len(x_context)}), "
                f"got {len(ranges)}"
            )
        if names is None:
            labels = [f"curve {i}" for i in range(len(x_context))]
        elif isinstance(names, str) or len(names) != len(x_context):
            raise ValueError(f"names must give one name per curve ({len(x_context)})")
        else:
            labels = [f"curve {name!r}" for name in names]
        # per label, the worst case: one entry per curve when a curve comes in parts (a fan
        # chart's), keyed label -> (how bad, text); curves that share a name share an entry
        curves, thinned, windowed, far, repeats, low = [], {}, {}, {}, {}, {}
        for i, (xc, yc, xq, scale, bounds) in enumerate(
            zip(x_context, y_context, x_query, scales, ranges, strict=True)
        ):
            where = f"{labels[i]}: " if len(x_context) > 1 or names is not None else ""
            try:
                curve, n_given, ratio, window, merged = self._prepare(xc, yc, xq, scale, bounds)
            except (TypeError, ValueError) as error:
                raise type(error)(where + str(error)) from None
            curves.append(curve)
            if self.config.input == "nslpfn" and 0 < curve[1].max() < _LOW_SCALED_Y:
                text = f"{where}y_scale {curve[4]:g} puts max(y_context) / y_scale at "
                _keep_worst(low, labels[i], -curve[1].max(), f"{text}{curve[1].max():.3g}")
            if merged is not None:
                _keep_worst(repeats, labels[i], 0, f"{where}{merged}")
            if window is not None:
                text = f"{where}{window[0]} of {window[1]} runs ({window[2]})"
                _keep_worst(windowed, labels[i], -window[0], text)
            if n_given > curve[0].size:
                thinned_text = f"{where}{curve[0].size} of {n_given}"
                _keep_worst(thinned, labels[i], n_given - curve[0].size, thinned_text)
            if not self.within_reach(ratio):
                text = f"{where}x_query up to {ratio:.3g}x the largest context x"
                _keep_worst(far, labels[i], ratio, text)
        furthest = max((bad for bad, _ in far.values()), default=0.0)
        repeats, windowed, thinned, far = (
            [text for _, text in kept.values()] for kept in (repeats, windowed, thinned, far)
        )
        if repeats:
            warn_at_caller(_repeats_message(repeats), UserWarning)
        if far:
            mcmc = (
                "MCMC (`sample_posterior(..., noise='ou_irw')`; command line: `scalebayes "
                "extrapolate --method mcmc-m4-irw`)"
            )
            far_model = self.further_model(furthest)
            if far_model is not None:
                advice = (
                    f"use the far model (`PFN.load({FAR_MODEL!r})`, reach {far_model.reach:g}x; "
                    f"command line: `--model {FAR_MODEL}`) or compare with {mcmc}"
                )
            else:  # no shipped PFN reaches further: only a model of the curve's form does
                advice = f"no shipped PFN reaches further; compare with {mcmc}"
            if hint := units_hint(furthest):
                advice += f"; {hint}"
            warn_at_caller(
                f"{'; '.join(far[:5])}{' ...' if len(far) > 5 else ''}: beyond this PFN's "
                f"reach ({self.reach:g}x; its training prior rarely asked further), so the "
                f"answer there is outside what it learned; {advice}",
                ReachWarning,
            )
        low = [text for _, text in low.values()]
        if low:
            warn_at_caller(
                f"{'; '.join(low[:5])}{' ...' if len(low) > 5 else ''}: below the largest "
                f"context y of 99.9% of this PFN's prior curves ({_LOW_SCALED_Y:g}), so the "
                'answer is outside what it learned (often far too high); use y_scale="auto" '
                "(the NSL-PFN protocol's 1.0 is for its benchmarks' losses and error rates)",
                UserWarning,
            )
        if windowed:
            listed = f"{', '.join(windowed[:5])}{' ...' if len(windowed) > 5 else ''}"
            if self.config.input == "nslpfn":
                what = (
                    f"the runs and queries span more than {math.log10(SPAN_GUARD):g} decades, "
                    f"beyond the {math.log10(NSLPFN_SPAN):g} of this PFN's prior (NSL-PFN's "
                    f"linear x), so it conditions only on the runs within {NSLPFN_SPAN:g}x of "
                    f"the furthest x (at least {_MIN_CONTEXT}): {listed}{_FAR_READS_EVERY_RUN}"
                )
            else:
                what = (
                    f"the runs' y spans more than {Y_SPAN_GUARD:g}x the last run's, more than "
                    f"this PFN's output buckets resolve below the largest y, so it conditions "
                    f"only on the runs with y within {Y_SPAN_GUARD:g}x of the last run's (at "
                    f"least the {_MIN_CONTEXT} largest x): {listed}"
                )
            warn_at_caller(what, SpanWarning)
        if thinned:
            warn_at_caller(
                f"the PFN conditions on at most MAX_CONTEXT = {MAX_CONTEXT} context points "
                f"(attention cost grows with their square, and the model was trained on far "
                f"fewer); used {', '.join(thinned[:5])}{' ...' if len(thinned) > 5 else ''} "
                "points, spread evenly in log x with the smallest and largest x kept",
                UserWarning,
            )
        return self._run(curves)

    def _prepare(self, xc, yc, xq, scale, bounds=None):
        xc = _as_vector("x_context", xc, positive=True, minimum=_MIN_CONTEXT)
        yc = _as_vector("y_context", yc, positive=False, minimum=_MIN_CONTEXT)
        xq = _as_vector("x_query", xq, positive=True, minimum=1)
        if xc.shape != yc.shape:
            raise ValueError(f"x_context {xc.shape} and y_context {yc.shape} differ in shape")
        if np.ptp(xc) <= 0:
            raise ValueError("x_context must hold at least two distinct x values")
        xc, yc, merged = _merge_repeats(xc, yc)  # seeds at one x: averaged, with a warning
        if not self.interpolation and np.any(xq <= xc.max()):
            raise ValueError(
                f"x_query {xq[xq <= xc.max()][0]:g} is not beyond the largest context x "
                f"{xc.max():g}; this PFN was trained to extrapolate only (train with "
                "interpolation > 0 to predict inside the context range)"
            )
        ref = np.concatenate([xc, xq])
        if bounds is not None:
            if np.ndim(bounds) != 1 or len(bounds) != 2:
                raise ValueError(f"x_range must be (x_min, x_max), got {bounds!r}")
            lo, hi = (float(v) for v in bounds)
            if not (0 < lo < hi < np.inf and lo <= ref.min() and ref.max() <= hi):
                raise ValueError(
                    f"x_range ({lo:g}, {hi:g}) must satisfy 0 < x_min < x_max < inf and "
                    f"contain every context and query x ({ref.min():g} .. {ref.max():g})"
                )
            ref = np.array([lo, hi])
        window, keep = None, None  # the runs the network reads (SpanWarning)
        last = yc[np.argmax(xc)]
        if self.config.input == "nslpfn" and ref.max() / ref.min() > SPAN_GUARD:
            keep = xc >= ref.max() / NSLPFN_SPAN
            why = f"{np.log10(ref.max() / ref.min()):.1f} decades"
        elif self.config.input != "nslpfn" and last > 0 and yc.max() > Y_SPAN_GUARD * last:
            keep = yc <= Y_SPAN_GUARD * last
            why = f"y spans {yc.max() / last:.3g}x"
        if keep is not None:
            if keep.sum() < _MIN_CONTEXT:  # at least the largest x, as many as a context needs
                keep = np.isin(np.arange(xc.size), np.argsort(xc)[-_MIN_CONTEXT:])
            window = (int(keep.sum()), xc.size, why)
            xc, yc = xc[keep], yc[keep]
            ref = np.array([min(xc.min(), xq.min()), ref.max()])  # read by the NSL-PFN map only
        scale = _as_scale(scale, yc)  # "auto" reads the runs the network sees
        top = float(self.bar.borders[-1])
        if self.config.input == "nslpfn" and yc.max() / scale > top:
            raise ValueError(
                f"y_scale {scale:g} puts max(y_context) / y_scale at {yc.max() / scale:g}, "
                f"beyond this PFN's outputs (they end at {top:.3g}; its prior's y lies in (0, "
                f'1]); use y_scale="auto", or a y_scale of at least max(y_context)'
            )
        n_given = xc.size
        if n_given > MAX_CONTEXT:
            keep = _thin(xc, MAX_CONTEXT)
            xc, yc = xc[keep], yc[keep]
        # the mapping is fixed here for the whole curve, so the query chunks of _run share it
        if self.config.input == "nslpfn":
            curve = nslpfn_normalise_x(xc, ref), yc / scale, nslpfn_normalise_x(xq, ref), xq, scale
        else:  # the encoding training uses (x_range has no role: it reads the context only)
            n = xc.size
            low, high = xc.min() / xc.max(), xq.max() / xc.max()
            if high > _MAX_SCALE_FREE_RATIO or low < 1 / _MAX_SCALE_FREE_RATIO:
                raise ValueError(
                    f"x_query up to {high:.3g}x and context x down to {low:.3g}x the largest "
                    f"context x: this PFN encodes ratios within 1e-30..1e30 (and answers "
                    f"best within its reach, {self.reach:g}x); ask nearer, or drop runs that "
                    "far below the rest"
                )
            is_context = np.arange(n + xq.size) < n
            # x / max x_context in float64 first: the encoding is scale-free, and JAX's float32
            # would turn x beyond 3e38 or below 1e-45 into inf or 0
            # (then in float32 on the host, as the network's inputs are)
            x_all = (np.concatenate([xc, xq]) / xc.max()).astype(np.float32)
            y_all = np.concatenate([yc / scale, np.zeros(xq.size)]).astype(np.float32)
            x_enc, y_enc, y_ref = (
                np.asarray(a, np.float64)
                for a in encode(
                    self.config.input, x_all, y_all, is_context, is_context | True, xp=np
                )
            )
            curve = x_enc[:n], y_enc[:n], x_enc[n:], xq, scale * float(y_ref)
        return curve, n_given, float(xq.max() / xc.max()), window, merged

    def _run(self, curves) -> list[PFNPrediction]:
        # one row per chunk of a curve's queries; a row's queries fill its padded slots
        rows: dict[int, list[tuple[int, int, int]]] = {}  # slots -> [(curve, start, stop)]
        for i, (xc, _, xq, _, _) in enumerate(curves):
            n, q = xc.size, xq.size
            slots = bucket(n + min(q, _MAX_QUERIES_PER_ROW), 16)
            width = slots - n
            for start in range(0, q, width):
                rows.setdefault(slots, []).append((i, start, min(start + width, q)))
        pieces: list[dict[int, np.ndarray]] = [{} for _ in curves]
        for slots in sorted(rows):
            members = rows[slots]
            per_call = max(1, min(_MAX_SLOTS_PER_CALL // slots, _MAX_SCORES_PER_CALL // slots**2))
            for first in range(0, len(members), per_call):
                chunk = members[first : first + per_call]
                batch = bucket(len(chunk), 16) if len(chunk) > 1 else 1
                x = np.full((batch, slots), 0.5, np.float32)
                y = np.full((batch, slots), 0.5, np.float32)
                context = np.zeros((batch, slots), bool)
                valid = np.zeros((batch, slots), bool)
                for row, (i, start, stop) in enumerate(chunk):
                    xc, yc, xq, _, _ = curves[i]
                    n, q = xc.size, stop - start
                    x[row, :n], y[row, :n], x[row, n : n + q] = xc, yc, xq[start:stop]
                    context[row, :n] = True
                    valid[row, : n + q] = True
                logits = np.asarray(_forward(self.model, x, y, context, valid))
                for row, (i, start, stop) in enumerate(chunk):
                    n = curves[i][0].size
                    pieces[i][start] = logits[row, n : n + stop - start]
        out = []
        for (_, _, _, x_raw, scale), parts in zip(curves, pieces, strict=True):
            logits = np.concatenate([parts[start] for start in sorted(parts)])
            if not np.all(np.isfinite(logits)):  # never a NaN answer
                raise ValueError(
                    f"the PFN at {self.meta.get('_path', '(in memory)')} gives non-finite "
                    "outputs: its weights are broken (a training run that diverged?); use "
                    "another model or retrain with a lower learning rate"
                )
            out.append(PFNPrediction(x_raw, logits, self.bar, scale))
        return out
