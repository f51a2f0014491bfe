"""Comparison studies: run extrapolation methods over datasets and tabulate the NSL-PFN metrics.

A *method* maps a batch of split curves to one prediction per curve for its target x: a
point array or a [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution].
Methods are named in `METHODS` (add one with `register_method`): the built-in point fits
``"m1"``, ``"m2"``, ``"m3"``, ``"m4"`` and ``"bnsl"``, the MCMC baselines ``"mcmc-m3"``,
``"mcmc-m4"`` and ``"mcmc-bnsl"`` (NUTS, see
[`mcmc_method`][scalebayes.inference.mcmc_method]; ``"mcmc-m3-irw"``, ``"mcmc-m4-irw"`` and
``"mcmc-bnsl-irw"`` with the ``"ou_irw"`` noise model, ``"mcmc-m3-walk"``, ``"mcmc-m4-walk"``
and ``"mcmc-bnsl-walk"`` with ``"ou_walk"``), ``"pfn"`` (the shipped
[`PFN`][scalebayes.pfn.PFN] s as ``scalebayes extrapolate`` answers, by each curve's furthest
target: within ``FAR_SWITCH`` times beyond the context both shipped models weighted per curve
by a back-test on its own runs, [`predict_stacked`][scalebayes.pfn.predict_stacked], and
stretched by ``NEAR_SCALE``; the far model beyond), ``"pfn-switch"`` (the default model
alone within ``FAR_SWITCH``, the far model beyond: the shipped answer before 2026-12-05),
``"pfn-default"`` (the default model, ``DEFAULT_MODEL``, at every distance) and
``"pfn-far"`` (the far model, ``FAR_MODEL``, at every distance) form a constant table built
on first use; nothing is registered at import.

`run_study` scores every (method, dataset, curve) with
[`score_curve`][scalebayes.evaluate.score_curve] in the curves' normalised y-space and
appends one row per curve to ``DIR/per_curve.csv`` as soon as it is scored (fsync'd), so an
interrupted study resumes where it stopped; at the end it rewrites ``DIR/summary.md``. Each
row carries a fingerprint of the curve's data and the method's settings, and a rerun reuses
only rows whose fingerprint matches.

A method's ``fn`` may carry optional attributes the study uses (the built-in methods do):
``settings()`` (a string describing everything besides the data that changes its
predictions, part of the fingerprint; without it, a digest of ``fn``'s code stands in, which
does not see values a closure holds), ``validate(curve)`` (raise ``ValueError`` for a curve
it cannot predict; called for every curve before any work), ``prepare()`` (one-off work,
such as a recalibration's fit, done before the method's first timed batch and only when it
has curves to score), ``batch_size`` (curves per call when the caller gives none) and
``pad_batches`` (pad a dataset's batches to one size with copies of their last curve, so
every call has one shape and compiles once).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import itertools
import json
import math
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import is_finite_real, is_real
from .._interrupt import raise_if_interrupted
from .._io import (
    append_csv_rows,
    atomic_write_text,
    exclusive_lock,
    read_csv_header,
    read_csv_rows,
    write_csv_atomically,
)
from ..evaluate import PredictiveDistribution, score_curve, summarise
from ..inference import BAYES_FAMILIES, MIXING, NOISE_SUFFIXES, POINT_FAMILIES
from ._calibration import write_calibration_figure
from ._shared import SharedPredictions, nested_methods, sharing
from ._shared import active as active_sharing

if TYPE_CHECKING:
    from ..data import Curve

__all__ = [
    "CALIBRATION_PLOT",
    "DEFAULT_BATCH_SIZE",
    "METHODS",
    "PER_CURVE_COLUMNS",
    "CurveScore",
    "Method",
    "StudyResult",
    "mixture",
    "register_method",
    "run_study",
]

PER_CURVE_COLUMNS: tuple[str, ...] = (
    "method",
    "dataset",
    "curve",
    "rmsle",
    "ll",
    "msce",
    "seconds",
    "fingerprint",
    "cov50",
    "cov90",
    "width50",
    "width90",
    "crps",
    "pit",
    "r_hat",
    "ess_bulk",
    "ess_tail",
    "divergences",
    "mixed",
    "msce_null",
    "msce_null95",
)
"""Columns of ``per_curve.csv``, in order. ``fingerprint`` identifies the curve's data and the
method's settings a row was computed from: 16 hex digits of a SHA-256 over the method name,
its settings string and the exact float64 bytes of the curve's x, y, split and y_scale. The
interval columns after it (empty for point methods; see
[`score_curve`][scalebayes.evaluate.score_curve]) were appended later, so readers of the
older columns keep working; so was ``pit``, the PIT counts
([`pit_histogram`][scalebayes.evaluate.pit_histogram]) as integers joined by ``;``. A file with
the older columns only is upgraded in place (atomically, its rows kept; their ``pit`` stays
empty). So were the chain columns of the MCMC methods, empty for others: the largest R-hat,
smallest bulk and tail ESS over the latents, divergent transitions, and ``mixed`` (``1`` if
the chains pass [`check_mixing`][scalebayes.inference.check_mixing], else ``0``), from the
prediction's ``mixing``; and the null columns ``msce_null`` and ``msce_null95``, the mean and
95th percentile of the MSCE the prediction scores against its own joint paths (its
``msce_null``; the MCMC methods set it), empty for others."""
_INTERVAL_COLUMNS = ("cov50", "cov90", "width50", "width90", "crps")
# per_curve.csv's shares (in [0, 1]) and its other scores that are finite when not NaN (CRPS
# may be inf, as the interval widths may: a predictive whose outer quantile overflows)
_UNIT_COLUMNS = ("msce", "cov50", "cov90", "msce_null", "msce_null95")
_FINITE_COLUMNS = ("rmsle",)
CALIBRATION_PLOT = "calibration.png"
"""The study's calibration picture beside ``summary.md``: per dataset, the reliability diagram
(nominal against empirical coverage of the central intervals) and the PIT histogram of each
probabilistic method, from the ``pit`` counts summed over the curves."""

DEFAULT_BATCH_SIZE = 16
"""Curves per call for a method that declares no ``batch_size`` of its own: small enough that
progress shows and an interruption loses little."""

_FINGERPRINT_HEX = 16
_FINGERPRINT_VERSION = b"scalebayes-study-fingerprint-v1"

_MIN_CONTEXT = 2

Prediction = Any  # np.ndarray of shape (n_targets,) or a PredictiveDistribution


@dataclass(frozen=True)
class Method:
    """A registered extrapolation method.

    Attributes:
        name: Registry name, e.g. ``"m4"``.
        fn: Maps a batch of curves (each with a context/target split) to one prediction per
            curve, in order: a point array of shape ``(n_targets,)`` or a
            ``PredictiveDistribution`` over the curve's targets. It may carry the optional
            attributes ``settings``, ``validate``, ``batch_size`` and ``pad_batches`` (see
            the properties of the same names).
        probabilistic: Whether ``fn`` returns predictive distributions (scored by RMSLE, LL
            and MSCE) rather than point arrays (RMSLE only).
    """

    name: str
    fn: Callable[[Sequence[Curve]], Sequence[Prediction]]
    probabilistic: bool

    def __repr__(self) -> str:  # fn may hold whole reference sets (calibrated, mixtures)
        kind = "probabilistic" if self.probabilistic else "point"
        return f"Method({self.name!r}, {kind})"

    @property
    def batch_size(self) -> int | None:
        """``fn.batch_size``: curves per call when the caller gives none (None: no preference).

        Raises:
            ValueError: If ``fn.batch_size`` is set but not a positive integer.
        """
        size = getattr(self.fn, "batch_size", None)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(
                f"method {self.name!r} declares batch_size {size!r}; it must be a positive integer"
            )
        return size

    @property
    def pad_batches(self) -> bool:
        """``fn.pad_batches``: pad a dataset's batches to one shape (default False).

        The study then pads each call to the same number of curves (copies of the batch's last
        curve) and, if ``fn`` takes a ``pad_to`` keyword, passes ``pad_to=(n_context,
        n_target)``, the dataset's longest context and target, for ``fn`` to pad its arrays
        to. Worth it where a call's cost hardly depends
        on its shape but a new shape compiles anew (vectorised point fits); not for a method
        that runs curves one by one.
        """
        return bool(getattr(self.fn, "pad_batches", False))

    def settings(self) -> str:
        """``fn.settings()``: what besides the data changes the predictions. Without one, a
        digest of ``fn``'s code (`_code_digest`), so that a study recomputes the rows of a
        method whose code changed, or the numbers, strings, tuples, arrays or functions it
        closes over changed; other values (lists, dicts, a callable object's attributes,
        objects that print their address, e.g. a model) it does not read: give those in
        ``settings``.

        Raises:
            TypeError: If ``fn.settings`` is neither a string nor returns one.
        """
        source = getattr(self.fn, "settings", None)
        if source is None:
            return _code_digest(self.fn)
        text = source() if callable(source) else source
        if not isinstance(text, str):
            raise TypeError(
                f"method {self.name!r}: settings must be a string (or a function returning "
                f"one); got {type(text).__name__}"
            )
        return text

    def validate(self, curve: Curve) -> None:
        """Run ``fn.validate(curve)`` if ``fn`` has one: it raises ``ValueError`` for a curve
        the method cannot predict (e.g. too few context points)."""
        check = getattr(self.fn, "validate", None)
        if check is not None:
            check(curve)

    def prepare(self) -> None:
        """Run ``fn.prepare()`` if ``fn`` has one: one-off work (a recalibration's fit) that a
        study does before the method's first timed call, so that it is not timed as one."""
        work = getattr(self.fn, "prepare", None)
        if work is not None:
            work()

    def __call__(
        self, curves: Sequence[Curve], pad_to: tuple[int, int] | None = None
    ) -> list[Prediction]:
        """Predict the targets of ``curves``, checking the number and kind of predictions.

        Args:
            curves: Curves with a context/target split.
            pad_to: For a method with ``pad_batches``: the (context, target) lengths to pad
                to, passed on to ``fn``; ignored otherwise.

        Returns:
            One prediction per curve.

        Raises:
            TypeError: If a prediction is of the wrong kind for ``probabilistic``.
            ValueError: If the number of predictions or a point prediction's shape is wrong.
        """
        shared = active_sharing()
        key = None if shared is None else shared.key(self, curves)
        if key is not None and (reused := shared.get(key)) is not None:
            return reused
        tic = time.perf_counter()
        credit = 0.0 if key is None else shared.credit  # what this call reuses itself
        if pad_to is not None and self.pad_batches and _takes_pad_to(self.fn):
            predictions = list(self.fn(curves, pad_to=pad_to))
        else:
            predictions = list(self.fn(curves))
        if len(predictions) != len(curves):
            raise ValueError(
                f"method {self.name!r} returned {len(predictions)} predictions for "
                f"{len(curves)} curves; it must return one per curve, in order"
            )
        checked = []
        for curve, prediction in zip(curves, predictions, strict=True):
            if isinstance(prediction, PredictiveDistribution):
                if not self.probabilistic:
                    raise TypeError(
                        f"method {self.name!r} is registered as a point method but returned a "
                        f"{type(prediction).__name__} for curve {curve.name!r}; register it "
                        "with probabilistic=True"
                    )
                checked.append(prediction)
                continue
            if self.probabilistic:
                raise TypeError(
                    f"method {self.name!r} is registered as probabilistic but returned a "
                    f"{type(prediction).__name__} for curve {curve.name!r}; return a "
                    "PredictiveDistribution"
                )
            point = np.asarray(prediction, dtype=np.float64)
            expected = curve.x_target.shape
            if point.shape != expected:
                raise ValueError(
                    f"method {self.name!r} returned shape {point.shape} for curve "
                    f"{curve.name!r}; expected one value per target x, shape {expected}"
                )
            checked.append(point)
        if key is not None:
            shared.put(key, checked, time.perf_counter() - tic + shared.credit - credit)
        return checked


def _code_digest(fn: Callable[..., Any], _seen: frozenset[int] = frozenset()) -> str:
    """``"code <hex>"``: a digest of the code ``fn`` runs, its default values and the values
    it closes over (a function's, a method's, a callable object's ``__call__``, through
    ``functools.wraps`` and caches; a ``functools.partial``'s function and arguments), the
    same in every process; a closed-over value without a stable form (an object that
    prints its address or elides its values, e.g. a dataclass holding a large array) or
    that a call may change (a list, dict or set) counts as unknown;
    "" where there is no code to read (then only the data fingerprint the rows)."""
    digest = hashlib.sha256()
    if id(fn) in _seen:  # a function that closes over itself (recursion)
        return "code self"
    _seen = _seen | {id(fn)}

    def stable(value) -> bytes | None:  # a value's bytes, the same in every process
        if not isinstance(value, np.ndarray) and hasattr(value, "__array__"):
            try:  # a JAX array: its values (its repr elides those of a large one)
                value = np.asarray(value)
            except Exception:
                return None
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:  # its bytes are pointers
                return None
            return value.tobytes() + repr((value.dtype.str, value.shape)).encode()
        if isinstance(value, frozenset | set):
            parts = [stable(v) for v in value]
            return None if None in parts else b"{" + b",".join(sorted(parts)) + b"}"
        if isinstance(value, tuple | list):
            parts = [stable(v) for v in value]
            return None if None in parts else b"(" + b",".join(parts) + b")"
        if hasattr(value, "co_code"):
            return feed(value)
        try:
            text = repr(value)
        except Exception:  # a repr that fails: nothing stable
            return None
        # an address, or an elided repr ("...") that another value would share
        return None if " at 0x" in text or "..." in text else text.encode()

    def feed(code) -> bytes:  # nested code objects by content, not by their address
        parts = [code.co_code, repr(code.co_names).encode()]
        for const in code.co_consts:
            part = stable(const)
            parts.append(b"?" if part is None else part)
        return b"|".join(parts)

    try:
        if isinstance(fn, functools.partial):
            inner = _code_digest(fn.func, _seen)
            args = stable((fn.args, sorted(fn.keywords.items())))
            if not inner or args is None:
                return ""
            digest.update(inner.encode() + args)
            return f"code {digest.hexdigest()[:16]}"
        target = inspect.unwrap(getattr(fn, "__func__", fn))
        code = getattr(target, "__code__", None)
        if code is None and callable(target):
            call = type(target).__dict__.get("__call__") or type(target).__call__
            code, target = getattr(call, "__code__", None), call
        if code is None:
            return ""
        defaults = stable(
            (
                getattr(target, "__defaults__", None),
                sorted((getattr(target, "__kwdefaults__", None) or {}).items()),
            )
        )
        digest.update(feed(code) + (b"?" if defaults is None else defaults))
        # what it closes over (a factory's settings); not a callable object's attributes,
        # which often log or cache what it did (give its settings in ``settings``)
        for value in (cell.cell_contents for cell in getattr(target, "__closure__", None) or ()):
            if isinstance(value, list | dict | set | bytearray):
                part = None  # mutable: a log or a cache as often as a setting
            elif callable(value) and not isinstance(value, type):
                part = _code_digest(value, _seen).encode() or None
            else:
                part = stable(value)
            digest.update(b"|" + (b"?" if part is None else part))
    except Exception:  # whatever a user's callable holds, never fail the study over it
        return ""
    return f"code {digest.hexdigest()[:16]}"


def _takes_pad_to(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` can be called with a ``pad_to`` keyword."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # no introspectable signature: do not guess
        return False
    return "pad_to" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


class MethodTable(MutableMapping[str, Method]):
    """Study methods by name: the built-in ones and those added with `register_method`.

    Nothing is registered at import: the built-in table (point fits, MCMC baselines, the
    shipped PFN) is a constant built on first use, and what a user adds lives beside it; an
    added method of a built-in's name shadows it until deleted.
    """

    def __init__(self) -> None:
        self._added: dict[str, Method] = {}

    def __getitem__(self, name: str) -> Method:
        if name in self._added:
            return self._added[name]
        return _builtin_methods()[name]

    def __setitem__(self, name: str, method: Method) -> None:
        if not isinstance(method, Method):
            raise TypeError(f"a study method must be a Method; got {type(method).__name__}")
        _check_method_name(name)  # as register_method: a --methods list must name it
        if method.name != name:  # rows, summaries and messages name it by its key
            method = dataclasses.replace(method, name=name)
        self._added[name] = method

    def __delitem__(self, name: str) -> None:
        if name not in self._added:
            raise KeyError(f"{name!r} was not added (built-in methods cannot be removed)")
        del self._added[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*_builtin_methods(), *self._added]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*_builtin_methods(), *self._added]))

    def __repr__(self) -> str:
        return f"MethodTable({sorted(self)})"


METHODS: MutableMapping[str, Method] = MethodTable()
"""Study methods by name (a `MethodTable`); add entries with `register_method`."""


def _check_method_name(name: object) -> None:
    """Raise ``ValueError`` unless ``name`` can name a study method (in a ``--methods`` list
    and in ``per_curve.csv``)."""
    if not isinstance(name, str) or not name or any(c in ",|" or c.isspace() for c in name):
        raise ValueError(
            f"method name must be non-empty without commas, '|' or spaces; got {name!r}"
        )


def register_method(
    name: str,
    fn: Callable[[Sequence[Curve]], Sequence[Prediction]],
    probabilistic: bool,
    *,
    replace: bool = False,
) -> Method:
    """Add a method to `METHODS` so studies can name it.

    Args:
        name: Registry name (non-empty, no commas or whitespace), e.g. ``"mcmc-m4"``.
        fn: Maps a batch of split curves to one prediction per curve for its target x (see
            `Method`). Batching is the method's chance to vectorise: the study passes up to
            ``batch_size`` curves of one dataset per call, sorted by length. Optional
            attributes: ``settings()`` (a string naming everything besides the data that
            changes the predictions, e.g. options, seed, a model checksum; rows computed
            with other settings are recomputed), ``validate(curve)`` (raise ``ValueError``
            for a curve it cannot predict), ``prepare()``, ``batch_size`` and
            ``pad_batches`` (see `Method`).
        probabilistic: True if ``fn`` returns ``PredictiveDistribution`` objects.
        replace: Allow overwriting an existing entry.

    Returns:
        The registered `Method`.

    Raises:
        ValueError: If ``name`` is malformed or already registered (without ``replace``).
        TypeError: If ``fn`` is not callable or ``probabilistic`` is not a bool.
    """
    _check_method_name(name)
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    if not isinstance(probabilistic, bool):
        raise TypeError(f"probabilistic must be a bool; got {probabilistic!r}")
    if name in METHODS and not replace:
        raise ValueError(f"method {name!r} is already registered; pass replace=True to override")
    method = Method(name, fn, probabilistic)
    METHODS[name] = method
    return method


@dataclass(frozen=True)
class _PointFit:
    """Study method of a point-fit family: ``fit_curves`` on the context, predict the targets.

    Point fits are fast, so batches are large (one compiled call per 64 curves) and padded:
    the study gives every call of a dataset the same number of curves and ``pad_to`` (the
    dataset's longest context and target), so that each dataset compiles once.
    """

    family: str
    batch_size: int = 64
    pad_batches: bool = True

    def __call__(
        self, curves: Sequence[Curve], pad_to: tuple[int, int] | None = None
    ) -> list[np.ndarray]:
        from ..inference import fit_curves, predict_fits

        n_context, n_target = (None, None) if pad_to is None else pad_to
        try:
            fits = fit_curves(
                self.family,
                [c.x_context for c in curves],
                [c.y_context for c in curves],
                names=[c.name for c in curves],
                pad_to=n_context,
            )
            return predict_fits(fits, [c.x_target for c in curves], pad_to=n_target)
        except ValueError:  # a curve without a finite fit: the others still count
            return [self._one(c) for c in curves]

    def _one(self, curve: Curve) -> np.ndarray:
        """One curve's prediction, or NaN (scored as unscored) if it has no finite fit."""
        from ..inference import fit_curves, predict_fits

        try:
            fit = fit_curves(self.family, [curve.x_context], [curve.y_context])
            return predict_fits(fit, [curve.x_target])[0]
        except ValueError:
            return np.full(curve.x_target.shape, np.nan)

    def settings(self) -> str:
        """The family and every ``fit_curves`` option (their defaults, as used here)."""
        import inspect

        from ..inference import fit_curves

        options = {
            name: p.default
            for name, p in inspect.signature(fit_curves).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("names", "pad_to")
        }
        listed = ", ".join(f"{name}={value!r}" for name, value in sorted(options.items()))
        return f"fit_curves(family={self.family!r}, {listed})"

    def validate(self, curve: Curve) -> None:
        """Reject a curve with fewer context points than ``fit_curves`` needs (2 for M1, else 3)."""
        need = 2 if self.family == "m1" else 3
        if curve.n_context < need:
            raise ValueError(
                f"{self.family} fits need at least {need} context points, it has "
                f"{curve.n_context}; give it more points or drop it"
            )


@dataclass(frozen=True)
class _Deferred:
    """A study method built on first use, so importing this module imports no sampler or PFN.

    Attributes:
        build: Returns the method (a callable with ``settings`` and ``validate``).
        batch_size: Curves per call when the caller gives none.
    """

    build: Callable[[], Callable[[Sequence[Curve]], Sequence[Prediction]]]
    batch_size: int

    def __call__(self, curves: Sequence[Curve]) -> list[Prediction]:
        return list(self.build()(curves))

    def settings(self) -> str:
        return self.build().settings()

    def validate(self, curve: Curve) -> None:
        self.build().validate(curve)

    def prepare(self) -> None:
        work = getattr(self.build(), "prepare", None)
        if work is not None:
            work()


@functools.cache
def _mcmc(
    family: str, noise: str | None = None
) -> Callable[[Sequence[Curve]], Sequence[Prediction]]:
    """NUTS posterior predictive of ``family`` (default settings, or another noise model;
    see ``mcmc_method``)."""
    from ..inference import mcmc_method

    return mcmc_method(family) if noise is None else mcmc_method(family, noise=noise)


@functools.cache
def _pfn(which: str = "shipped") -> Callable[[Sequence[Curve]], Sequence[Prediction]]:
    """A shipped PFN's predictive distribution at every curve's targets: ``"shipped"`` as
    ``scalebayes extrapolate`` answers (within ``FAR_SWITCH`` both models weighted by a
    back-test, the far model beyond), ``"switch"`` the default model within ``FAR_SWITCH`` and
    the far model beyond, ``"default"`` or ``"far"`` that model everywhere."""
    from ..pfn import DEFAULT_MODEL, FAR_MODEL, pfn_method

    if which == "switch":
        return pfn_method(stack=False)
    return pfn_method({"shipped": None, "default": DEFAULT_MODEL, "far": FAR_MODEL}[which])


@functools.cache
def _builtin_methods() -> Mapping[str, Method]:
    """The built-in study methods (a constant, built on first use; nothing heavy is imported:
    the MCMC and PFN methods are deferred until they run)."""
    table = {f: Method(f, _PointFit(f), probabilistic=False) for f in POINT_FAMILIES}
    for noise, suffix in NOISE_SUFFIXES.items():  # OU residuals, and two slope walks
        for family in BAYES_FAMILIES:
            name = f"mcmc-{family}{suffix}"
            fn = _mcmc if noise == "ou" else functools.partial(_mcmc, noise=noise)
            fn = _Deferred(functools.partial(fn, family), batch_size=16)
            table[name] = Method(name, fn, probabilistic=True)
    table["pfn"] = Method("pfn", _Deferred(_pfn, batch_size=256), probabilistic=True)
    for which in ("default", "far", "switch"):
        fn = _Deferred(functools.partial(_pfn, which), batch_size=256)
        table[f"pfn-{which}"] = Method(f"pfn-{which}", fn, probabilistic=True)
    return MappingProxyType(table)


@dataclass(frozen=True)
class CurveScore:
    """One row of ``per_curve.csv``: a method's scores on one curve.

    Attributes:
        method: Method name.
        dataset: Dataset name (a benchmark name or a CSV file's name).
        curve: Curve name.
        rmsle: RMSLE of the (median) prediction; ``nan`` if the prediction could not be
            scored (e.g. a non-positive or non-finite prediction).
        ll: Mean log predictive density of the targets, or None for a point method.
        msce: Mean squared calibration error, or None for a point method.
        seconds: Wall seconds spent predicting this curve (a batch's time divided by its
            size, JIT compilation included).
        fingerprint: The fingerprint of the curve and method the row was computed from.
        cov50, cov90: Fraction of the targets inside their 50% / 90% central interval (None
            for a point method).
        width50, width90: Mean width of those intervals, in normalised y (None likewise).
        crps: Mean CRPS over the targets, in normalised y (None likewise).
        pit: PIT counts over the targets
            ([`pit_histogram`][scalebayes.evaluate.pit_histogram]; None likewise, and for
            rows written before the column existed).
        r_hat, ess_bulk, ess_tail, divergences, mixed: The chains' diagnostics and whether
            they mixed (the prediction's ``mixing``, see
            [`CurveCheck`][scalebayes.inference.CurveCheck]); None for a method without
            chains and for rows written before the columns existed.
        msce_null, msce_null95: The mean and 95th percentile of the MSCE the prediction
            scores against its own joint paths (its ``msce_null``, see
            [`calibrated_msce`][scalebayes.evaluate.calibrated_msce]): what it would score
            if it were right; None for a method without joint paths and for older rows.
    """

    method: str
    dataset: str
    curve: str
    rmsle: float
    ll: float | None
    msce: float | None
    seconds: float
    fingerprint: str = ""
    cov50: float | None = None
    cov90: float | None = None
    width50: float | None = None
    width90: float | None = None
    crps: float | None = None
    pit: tuple[int, ...] | None = None
    r_hat: float | None = None
    ess_bulk: float | None = None
    ess_tail: float | None = None
    divergences: int | None = None
    mixed: bool | None = None
    msce_null: float | None = None
    msce_null95: float | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """``(method, dataset, curve)``, the row's identity."""
        return (self.method, self.dataset, self.curve)

    def row(self) -> tuple[object, ...]:
        """The row's cells in `PER_CURVE_COLUMNS` order (None for an empty cell)."""
        return (
            self.method,
            self.dataset,
            self.curve,
            repr(float(self.rmsle)),
            None if self.ll is None else repr(float(self.ll)),
            None if self.msce is None else repr(float(self.msce)),
            repr(float(self.seconds)),
            self.fingerprint,
            *(
                None if (value := getattr(self, name)) is None else repr(float(value))
                for name in _INTERVAL_COLUMNS
            ),
            None if self.pit is None else ";".join(str(int(c)) for c in self.pit),
            *(
                None if (value := getattr(self, name)) is None else repr(float(value))
                for name in ("r_hat", "ess_bulk", "ess_tail")
            ),
            None if self.divergences is None else str(int(self.divergences)),
            None if self.mixed is None else str(int(self.mixed)),
            *(
                None if (value := getattr(self, name)) is None else repr(float(value))
                for name in ("msce_null", "msce_null95")
            ),
        )

    @classmethod
    def from_row(cls, row: Mapping[str, str], where: str) -> CurveScore:
        """Parse a row read from ``per_curve.csv``.

        Args:
            row: ``{column: cell}`` with the `PER_CURVE_COLUMNS`.
            where: File and row, for error messages.

        Raises:
            ValueError: If a numeric cell does not parse.
        """

        # what a score can be: NaN (a curve the method could not score) or RMSLE finite and
        # >= 0, coverage and MSCE in [0, 1], widths and CRPS >= 0 (inf too), LL finite or -inf;
        # seconds finite and >= 0; R-hat and ESS >= 0 or NaN (a failed diagnostic)
        def number(column: str, optional: bool) -> float | None:
            cell = row[column].strip()
            if optional and not cell:
                return None
            try:
                value = float(cell)
            except ValueError:
                value = None
            if value is not None:
                if column == "seconds":
                    ok = math.isfinite(value) and value >= 0
                elif math.isnan(value):
                    ok = True
                elif column == "ll":
                    ok = value < math.inf
                elif column in _UNIT_COLUMNS:
                    ok = 0 <= value <= 1
                elif column in _FINITE_COLUMNS:
                    ok = 0 <= value < math.inf
                else:
                    ok = value >= 0
                value = value if ok else None
            if value is None:
                raise ValueError(
                    f"{where}: column {column!r} holds {cell!r}, not a valid value; fix or "
                    "delete the row (it will be recomputed)"
                ) from None
            return value

        return cls(
            method=row["method"],
            dataset=row["dataset"],
            curve=row["curve"],
            rmsle=number("rmsle", False),
            ll=number("ll", True),
            msce=number("msce", True),
            seconds=number("seconds", False),
            fingerprint=row["fingerprint"].strip(),
            **{name: number(name, True) for name in _INTERVAL_COLUMNS},
            pit=_pit_cell(row.get("pit", ""), where),
            **{name: number(name, True) for name in ("r_hat", "ess_bulk", "ess_tail")},
            divergences=_count_cell(row, "divergences", where),
            mixed=None if (m := _count_cell(row, "mixed", where, most=1)) is None else bool(m),
            **{name: number(name, True) for name in ("msce_null", "msce_null95")},
        )


def _pit_cell(cell: str, where: str) -> tuple[int, ...] | None:
    cell = cell.strip()
    if not cell:
        return None
    try:
        counts = tuple(int(c) for c in cell.split(";"))
    except ValueError:
        counts = ()
    # as written: an even number of bins (the histogram's halves give the central
    # intervals' coverage), counts >= 0, at least one target
    if len(counts) < 2 or len(counts) % 2 or any(c < 0 for c in counts) or sum(counts) == 0:
        raise ValueError(
            f"{where}: column 'pit' holds {cell!r}, not counts joined by ';'; fix or delete "
            "the row (it will be recomputed)"
        )
    return counts


def _count_cell(row: Mapping[str, str], column: str, where: str, most: int | None = None):
    """An integer cell >= 0 (and <= ``most``), or None where empty."""
    cell = row[column].strip()
    if not cell:
        return None
    try:
        value = int(cell)
    except ValueError:
        value = -1
    if value < 0 or (most is not None and value > most):
        raise ValueError(
            f"{where}: column {column!r} holds {cell!r}, not a valid value; fix or delete the "
            "row (it will be recomputed)"
        )
    return value


def _mixing(prediction: Prediction) -> dict[str, Any]:
    """The chain columns of a prediction: its ``mixing`` (a ``CurveCheck``), or that of the
    prediction it wraps (``base``, e.g. a recalibrated one); all None without chains."""
    check = getattr(prediction, "mixing", None)
    if check is None and (base := getattr(prediction, "base", None)) is not None:
        check = getattr(base, "mixing", None)
    if check is None:
        return {}
    return {
        "r_hat": check.r_hat,
        "ess_bulk": check.ess_bulk,
        "ess_tail": check.ess_tail,
        "divergences": check.divergences,
        "mixed": check.passed,
    }


def _null(prediction: Prediction) -> dict[str, Any]:
    """The null-MSCE columns of a prediction from its own ``msce_null`` (a wrapper such as a
    recalibrated prediction has none: its base's null is not its own)."""
    null = getattr(prediction, "msce_null", None)
    if null is None:
        return {}
    null = np.asarray(null, np.float64)
    return {"msce_null": float(np.mean(null)), "msce_null95": float(np.quantile(null, 0.95))}


def _fingerprint(method: str, settings: str, curve: Curve) -> str:
    """A short hash of what a study row was computed from: the method and the curve's data.

    SHA-256 over the method name, its settings string (see `Method.settings`) and the exact
    float64 bytes of the curve's x, y, context mask and ``y_scale``, truncated to 16 hex
    digits. Any change to the data (even in the last bit) or the settings changes it.

    Args:
        method: Method name.
        settings: The method's settings string.
        curve: A curve with a context/target split.

    Returns:
        16 lowercase hex digits.
    """
    digest = hashlib.sha256(_FINGERPRINT_VERSION)
    for text in (method, settings):
        encoded = text.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    digest.update(curve.n.to_bytes(8, "little"))
    for array in (curve.x, curve.y):
        digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
    digest.update(np.asarray(curve.is_context, dtype=np.uint8).tobytes())
    digest.update(np.asarray(curve.y_scale, dtype="<f8").tobytes())
    return digest.hexdigest()[:_FINGERPRINT_HEX]


@dataclass(frozen=True)
class _BatchTime:
    n_curves: int
    seconds: float


@dataclass(frozen=True)
class StudyResult:
    """What `run_study` produced.

    Attributes:
        scores: One `CurveScore` per (method, dataset, curve) of the study, in study order
            (methods, then datasets, then curves), whether resumed or computed now.
        summary: The markdown summary written to ``summary.md``.
        per_curve_path: Path of ``per_curve.csv``.
        summary_path: Path of ``summary.md``.
        n_resumed: Rows taken from an earlier run's ``per_curve.csv`` (their fingerprint
            matched).
        n_computed: Rows computed by this run.
        n_stale: Of ``n_computed``, the rows recomputed because ``per_curve.csv`` held a row
            for the same (method, dataset, curve) with another fingerprint (other data or
            method settings).
        calibration_path: Path of ``calibration.png`` (`CALIBRATION_PLOT`), or None when no
            probabilistic method was scored.
    """

    scores: tuple[CurveScore, ...]
    summary: str
    per_curve_path: Path
    summary_path: Path
    n_resumed: int
    n_computed: int
    n_stale: int = 0
    calibration_path: Path | None = None

    def __repr__(self) -> str:  # one line in a notebook; the table is .summary
        methods = len({s.method for s in self.scores})
        curves = len({(s.dataset, s.curve) for s in self.scores})
        return (
            f"StudyResult({len(self.scores)} scores: {methods} method(s) x {curves} curve(s), "
            f"{self.n_computed} computed, {self.n_resumed} resumed; summary in "
            f"{str(self.summary_path)!r})"
        )


def _names(value: str | Iterable[str], what: str) -> list[str]:
    """Split a comma-separated string or list of names; drop blanks and repeats."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{what} must be names (strings); got {item!r}")
        item = item.strip()
        if item and item not in names:
            names.append(item)
    return names


@dataclass(frozen=True, eq=False)
class _Mixture:
    """The callable of a `mixture` method (see there)."""

    members: tuple[Method, ...]
    weights: tuple[float, ...] | None

    @property
    def batch_size(self) -> int | None:
        sizes = [m.batch_size for m in self.members if m.batch_size is not None]
        return min(sizes) if sizes else None

    def __call__(self, curves: Sequence[Curve]) -> list[Prediction]:
        from ..evaluate import MixturePredictive

        each = [member(curves) for member in self.members]
        return [MixturePredictive(preds, self.weights) for preds in zip(*each, strict=True)]

    def settings(self) -> str:
        parts = "; ".join(f"{m.name}: {m.settings()}" for m in self.members)
        return f"mixture({parts}; weights={self.weights!r})"

    def validate(self, curve: Curve) -> None:
        for member in self.members:
            member.validate(curve)

    def prepare(self) -> None:
        for member in self.members:
            member.prepare()


def mixture(
    *methods: str | Method, weights: Sequence[float] | None = None, name: str | None = None
) -> Method:
    """The weighted mixture of probabilistic methods' predictives (model averaging).

    Every member predicts each curve, and the answer is their
    [`MixturePredictive`][scalebayes.evaluate.MixturePredictive]: with equal weights (the
    default), the predictive of picking one member at random. A study also builds it from a
    name that joins member names with ``+``, e.g. ``--methods pfn-far+mcmc-m4-irw``.

    Args:
        *methods: two or more probabilistic methods: names in
            [`METHODS`][scalebayes.studies.METHODS] or `Method` objects.
        weights: one non-negative weight per member (normalised); ``None`` for equal ones.
        name: the method's name (default: the members' names joined with ``+``).

    Returns:
        The mixture `Method` (probabilistic); its settings name every member's settings and
        the weights, so a study's fingerprints change with any of them.

    Raises:
        KeyError: for a name not in `METHODS`.
        ValueError: for fewer than two members, a point method or bad weights.
    """
    members = []
    for method in methods:
        if isinstance(method, str):
            if method not in METHODS:
                raise KeyError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
            method = METHODS[method]
        if not isinstance(method, Method):
            raise TypeError(f"mixture members must be names or Methods, got {method!r}")
        if not method.probabilistic:
            raise ValueError(
                f"mixture: {method.name!r} is a point method; a mixture needs predictive "
                "distributions (e.g. 'pfn-far' or 'mcmc-m4-irw')"
            )
        members.append(method)
    if len(members) < 2:
        raise ValueError(f"mixture needs at least two methods, got {len(members)}")
    if weights is not None:
        if isinstance(weights, str | bytes):
            raise TypeError(f"mixture: weights must be a sequence of numbers, got {weights!r}")
        weights = tuple(weights)  # a generator read once
        if not all(is_real(w) for w in weights):
            raise TypeError(f"mixture: weights must be a sequence of numbers, got {weights!r}")
        weights = tuple(float(w) for w in weights)
        if len(weights) != len(members) or not all(math.isfinite(w) and w >= 0 for w in weights):
            raise ValueError(
                f"mixture: weights must be {len(members)} finite numbers >= 0; got {weights}"
            )
        if sum(weights) <= 0:
            raise ValueError("mixture: weights must not all be 0")
    fn = _Mixture(tuple(members), weights)
    return Method(name or "+".join(m.name for m in members), fn, probabilistic=True)


def _is_method_name(name: str) -> bool:
    """Whether ``name`` is in `METHODS` or joins names in it with ``+`` (a mixture)."""
    return name in METHODS or ("+" in name and all(p in METHODS for p in name.split("+")))


def _resolve_methods(methods: str | Iterable[str]) -> list[Method]:
    names = _names(methods, "methods")
    if not names:
        raise ValueError(f"no method given; name at least one of {', '.join(sorted(METHODS))}")
    unknown = [name for name in names if not _is_method_name(name)]
    if unknown:
        raise ValueError(
            f"unknown method(s) {', '.join(map(repr, unknown))}; valid methods: "
            f"{', '.join(sorted(METHODS))}, or probabilistic ones joined with '+' (a mixture)"
        )
    resolved = [METHODS[name] if name in METHODS else mixture(*name.split("+")) for name in names]
    called: dict[str, str] = {}
    for name, method in zip(names, resolved, strict=True):
        if method.name in called:  # rows are keyed by the method's own name
            raise ValueError(
                f"methods {called[method.name]!r} and {name!r} are both named "
                f"{method.name!r}, and a study keys its rows by that name: give each its own "
                "(e.g. calibrated(..., name=...) or mixture(..., name=...))"
            )
        called[method.name] = name
        if "|" in method.name:
            raise ValueError(
                f"method name {method.name!r} has a '|', which would split the summary's "
                "markdown tables; give the method another name"
            )
    return resolved


def _check_split(curve: Curve, source: str) -> None:
    from ..data import CurveDataError

    n_context = curve.n_context
    n_target = curve.n - n_context
    if n_target < 1 or n_context < _MIN_CONTEXT:
        raise CurveDataError(
            f"{source}: curve {curve.name!r} has {n_context} context and {n_target} target "
            f"point(s); a study needs at least {_MIN_CONTEXT} context points and 1 target. Fix "
            "its split column, or drop the column to hold out the last 30% of points by x"
        )


def _normalise(curve: Curve) -> Curve:
    """Divide y by max(y_context), the NSL-PFN normalisation of DD, Nano and ColPret."""
    scale = float(np.max(curve.y_context))
    return dataclasses.replace(curve, y=curve.y / scale, y_scale=curve.y_scale * scale)


def _far_curves(curves: Iterable[Curve], factor: float) -> list[Curve]:
    """The far split of every curve that spans enough (see ``scalebayes.data.far_split``)."""
    from ..data import far_split

    out = []
    for curve in curves:
        raw = dataclasses.replace(curve, y=curve.y * curve.y_scale, y_scale=1.0)
        far = far_split(raw, factor)
        if far is not None:
            out.append(far)
    return out


def _load_datasets(
    names: str | Iterable[str],
    csv_paths: Iterable[str | Path],
    dedupe: str,
    split: str = "default",
    columns: dict[str, str | None] | None = None,
    notes: dict[str, str] | None = None,
) -> dict[str, list[Curve]]:
    """Load benchmarks by name and user CSV files into ``{dataset name: curves}``; ``notes``
    (if given) receives each dataset's split, in words, for the summary.

    With a far split (``"far10"``, ``"far100"``), every curve is re-split by
    ``scalebayes.data.far_split`` and the dataset is named ``NAME:far10``; curves that do not
    span enough are left out, and a dataset left with no curve is an error.
    """
    from ..data import (
        BENCHMARK_SPLITS,
        BENCHMARKS,
        load_benchmark,
        load_far_benchmark,
        parse_split,
        read_curves_csv,
    )

    if isinstance(csv_paths, str | os.PathLike):  # one file, not the characters of its name
        csv_paths = [csv_paths]
    if names is None:
        raise TypeError(
            "datasets must be benchmark names (a list or a comma-separated string; '' for "
            "none), got None"
        )
    columns = columns or {}
    factor = parse_split(split)
    suffix = "" if factor is None else f":far{factor}"  # FAR10 and far010 resume as far10

    names = list(dict.fromkeys(name.lower() for name in _names(names, "datasets")))
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise ValueError(
            f"unknown dataset(s) {', '.join(map(repr, unknown))}; valid datasets: "
            f"{', '.join(BENCHMARKS)}, or CSV files given with csv_paths (--csv)"
        )
    notes = {} if notes is None else notes
    far_words = (
        None
        if factor is None
        else f"far{factor:g}: context at or below x_max / {factor:g} thinned to 8 log-spaced "
        "points, targets the top half-decade"
    )
    datasets = {}
    for name in names:
        if factor is None:
            curves = list(load_benchmark(name))
            notes[name] = BENCHMARK_SPLITS[name]
        else:
            curves = load_far_benchmark(name, factor)
            notes[name + suffix] = far_words + _left_out(len(load_benchmark(name)), len(curves))
        for curve in curves:
            _check_split(curve, f"benchmark {name!r}")
        datasets[name + suffix] = curves
    seen: set[Path] = set()
    for path in map(Path, csv_paths):
        name = path.name + suffix
        if "|" in path.name:
            raise ValueError(
                f"the CSV file name {path.name!r} has a '|', which names the dataset in the "
                "summary's markdown tables and would split their columns; rename the file"
            )
        if path.resolve() in seen:
            raise ValueError(f"the CSV file {path} is given twice; give it once")
        seen.add(path.resolve())
        if name in datasets:
            raise ValueError(
                f"two datasets are named {name!r}; rename one of the CSV files ({path})"
            )
        curves = []
        if factor is not None:
            read = read_curves_csv(path, dedupe=dedupe, **columns)
            curves = _far_curves(read, factor)
            had_split = any(c.is_context is not None for c in read)
            notes[name] = (
                far_words
                + (" (the file's split column is not read)" if had_split else "")
                + _left_out(len(read), len(curves))
            )
            kept = {c.name for c in curves}
            left = [c.name for c in read if c.name not in kept]
            if left and curves:  # none kept is the error below
                shown = ", ".join(map(repr, left[:5])) + (" ..." if len(left) > 5 else "")
                warnings.warn(
                    f"{path}: the far{factor:g} split leaves out {len(left)} of {len(read)} "
                    f"curves that do not span enough (3 points at or below x_max / {factor:g} "
                    f"and targets in the top half-decade): {shown}",
                    UserWarning,
                    stacklevel=3,
                )
        else:
            from_file = 0
            for curve in read_curves_csv(path, dedupe=dedupe, **columns):
                if curve.is_context is None:
                    curve = curve.with_default_split(0.3)
                else:
                    from_file += 1
                _check_split(curve, str(path))
                curves.append(_normalise(curve))
            notes[name] = (
                "the file's split column"
                if from_file
                else "no split column: the last 30% of each curve's points by x"
            )
        datasets[name] = curves
    empty = [name for name, curves in datasets.items() if not curves]
    if empty:
        raise ValueError(
            f"no curve of {', '.join(map(repr, empty))} spans enough for the far{factor} split "
            f"(it needs 3 points at or below x_max / {factor:g}); drop it or use a nearer split"
        )
    if not datasets:
        raise ValueError("no datasets given: name benchmarks and/or pass CSV files (--csv)")
    for name, curves in datasets.items():
        repeated = [n for n, count in Counter(c.name for c in curves).items() if count > 1]
        if repeated:
            raise ValueError(
                f"dataset {name!r} has several curves named {repeated}; curve names "
                "must be unique within a dataset"
            )
    return datasets


def _storable(text: str) -> bool:
    """Whether ``append_csv_rows`` can write ``text`` as a cell (no line break, valid UTF-8)."""
    if "\n" in text or "\r" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from undecodable file names
        return False
    return True


def _check_out_dir(out_dir: Path) -> None:
    """Refuse an ``out_dir`` that is, or lies under, an existing file, or where one of the
    study's files is a directory (before any work)."""
    for name in ("per_curve.csv", "summary.md", CALIBRATION_PLOT, RECALIBRATION_FILE):
        if (out_dir / name).is_dir():
            raise ValueError(
                f"{out_dir / name} is a directory, where the study writes its {name}; move it "
                "away or give another out_dir"
            )
    for path in (out_dir, *out_dir.parents):
        if path.exists():
            if path == out_dir and not path.is_dir():
                raise ValueError(f"out_dir {out_dir} is a file; give a directory")
            if not path.is_dir():
                raise ValueError(f"out_dir {out_dir} lies under the file {path}; give a directory")
            return


def _target_points(curve: Curve) -> set[tuple[float, float]]:
    """A curve's targets in its caller's units (y times ``y_scale``), rounded to 1e-9 in logs:
    the same runs match however a study normalised or split them."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.round(np.log(np.asarray(curve.x_target, np.float64)), 9)
        y = np.round(np.log(np.asarray(curve.y_target, np.float64) * curve.y_scale), 9)
    return set(zip(x.tolist(), y.tolist(), strict=True))


def _references(method: Method) -> Iterable[Curve]:
    """The reference curves a method was fitted on (a recalibration's), through mixtures and
    recalibrations of recalibrations."""
    for inner in nested_methods(method):
        yield from getattr(inner.fn, "reference", ())


def _check_out_of_sample(methods: Sequence[Method], data: Mapping[str, Sequence[Curve]]) -> None:
    """A recalibrated method must not score targets its scale was fitted on (its intervals
    would be judged on their own fit): any shared target point refuses it."""
    scored = [(dataset, c.name, _target_points(c)) for dataset, cs in data.items() for c in cs]
    for method in methods:
        fitted: set[tuple[float, float]] = set()
        for curve in _references(method):
            fitted |= _target_points(curve)
        both = [(d, n) for d, n, points in scored if fitted and not points.isdisjoint(fitted)]
        if both:
            shown = ", ".join(f"{d}:{n}" for d, n in both[:3]) + (" ..." if len(both) > 3 else "")
            raise ValueError(
                f"method {method.name!r} was recalibrated on targets of {len(both)} of the "
                f"curves it would score ({shown}): fit its scale on other curves (e.g. leave "
                "one dataset out)"
            )


def _check_inputs(methods: Sequence[Method], data: Mapping[str, Sequence[Curve]]) -> None:
    """Check every name and every curve against every method before any work.

    Raises:
        ValueError: Naming the first method, dataset or curve that cannot be run or stored.
    """
    for method in methods:
        if not _storable(method.name):
            raise ValueError(f"method name {method.name!r} cannot be stored in per_curve.csv")
    for dataset, curves in data.items():
        if not _storable(dataset):
            raise ValueError(
                f"dataset name {dataset!r} cannot be stored in per_curve.csv (it holds a line "
                "break or is not valid UTF-8); rename the file"
            )
        for curve in curves:
            if not _storable(curve.name):
                raise ValueError(
                    f"dataset {dataset!r}: curve name {curve.name!r} cannot be stored in "
                    "per_curve.csv (it holds a line break or is not valid UTF-8); rename it"
                )
            for method in methods:
                try:
                    method.validate(curve)
                except ValueError as error:
                    raise ValueError(
                        f"dataset {dataset!r}, curve {curve.name!r}: method {method.name!r} "
                        f"cannot predict it: {error}"
                    ) from None


def _batches(curves: Sequence[Curve], batch_size: int) -> list[list[Curve]]:
    """Sort by length (context points, then all points); split into balanced batches.

    Sorting puts curves of similar lengths together, so a batch is padded little and the
    batches of a dataset land in few shape buckets (hence few JIT compilations). The batches
    are the fewest of at most ``batch_size`` curves, of nearly equal sizes (e.g. 72 curves at
    ``batch_size=64`` become 36 + 36, not 64 + 8): for a power-of-two ``batch_size`` and more
    curves than that, every batch then falls in the bucket of ``batch_size`` (more than half
    of it), and no batch is mostly padding.
    """
    ordered = sorted(curves, key=lambda c: (c.n_context, c.n))
    n_batches = -(-len(ordered) // batch_size)
    bounds = [round(i * len(ordered) / n_batches) for i in range(n_batches + 1)]
    return [ordered[a:b] for a, b in itertools.pairwise(bounds)]


def _score(
    method: Method,
    dataset: str,
    curve: Curve,
    prediction: Prediction,
    seconds: float,
    fingerprint: str,
) -> tuple[CurveScore, str | None]:
    """Score one prediction; a prediction the metrics reject scores ``nan``."""
    try:
        metrics = score_curve(prediction, curve.y_target)
    except ValueError as error:
        nan = math.nan if method.probabilistic else None
        score = CurveScore(method.name, dataset, curve.name, math.nan, nan, nan, seconds)
        intervals = dict.fromkeys(_INTERVAL_COLUMNS, nan)
        score = dataclasses.replace(
            score, fingerprint=fingerprint, **intervals, **_mixing(prediction)
        )
        reason = str(error)
        if not method.probabilistic:  # the metrics call a point prediction the median
            reason = reason.replace("`median`", "the point prediction")
        return score, reason
    score = CurveScore(
        method.name,
        dataset,
        curve.name,
        seconds=seconds,
        fingerprint=fingerprint,
        **metrics,
        **_mixing(prediction),
        **_null(prediction),
    )
    return score, None


def _add_empty_columns(path: Path, header: Sequence[str], columns: Sequence[str]) -> None:
    """Rewrite ``path`` (whose header is the prefix ``header`` of ``columns``) atomically with
    ``columns`` as its header, the old rows kept and the new trailing cells empty."""
    rows = read_csv_rows(path, header)
    write_csv_atomically(path, columns, ([row.get(c, "") for c in columns] for row in rows))


def _read_rows(path: Path) -> dict[tuple[tuple[str, str, str], str], CurveScore]:
    """The rows of ``per_curve.csv`` by (key, fingerprint); a later row supersedes an earlier.

    Raises:
        ValueError: For a file without the fingerprint column (written by an older version),
            another header, or a malformed row.
    """
    header = read_csv_header(path)
    old = PER_CURVE_COLUMNS[: PER_CURVE_COLUMNS.index("fingerprint")]
    if header == old:
        raise ValueError(
            f"{path} has no fingerprint column (written by an older scalebayes), so its rows "
            "cannot be matched to the data they scored; give a fresh --out directory (or move "
            "per_curve.csv away to recompute everything)"
        )
    # before the pit column, the chain columns or the null columns: upgrade in place
    upgradable = ("pit", "r_hat", "msce_null")
    if header in (PER_CURVE_COLUMNS[: PER_CURVE_COLUMNS.index(c)] for c in upgradable):
        _add_empty_columns(path, header, PER_CURVE_COLUMNS)
    if header == (*old, "fingerprint"):
        raise ValueError(
            f"{path} has no interval columns ({', '.join(_INTERVAL_COLUMNS)}; written by an "
            "older scalebayes), so new rows cannot be appended to it; give a fresh --out "
            "directory (or move per_curve.csv away to recompute everything)"
        )
    rows: dict[tuple[tuple[str, str, str], str], CurveScore] = {}
    for line, row in enumerate(read_csv_rows(path, PER_CURVE_COLUMNS), start=2):
        score = CurveScore.from_row(row, f"{path}, line {line}")
        rows[(score.key, score.fingerprint)] = score
    return rows


def run_study(
    methods: str | Sequence[str],
    datasets: str | Sequence[str],
    out_dir: str | Path,
    *,
    csv_paths: Iterable[str | Path] = (),
    batch_size: int | None = None,
    progress: bool = True,
    dedupe: str = "error",
    split: str = "default",
    x_column: str | None = None,
    y_column: str | None = None,
) -> StudyResult:
    """Score methods on datasets, resuming from earlier rows, and write the tables.

    For each method and dataset, the curves without a matching row in ``DIR/per_curve.csv``
    are sorted by length and passed to the method in the fewest batches of at most
    ``batch_size`` curves, of nearly equal sizes (a method with ``pad_batches`` gets the
    smaller ones padded with a copy of their last curve, so every call of a dataset has one
    shape and compiles once); each curve's score is
    appended to the file and fsync'd. Rows are keyed by (method, dataset, curve) and carry a
    fingerprint of the curve's data (x, y, split, y_scale) and the method's settings: a rerun
    reuses a row only if its fingerprint matches, and recomputes (and appends) the others, so
    an interrupted study resumes where it stopped, a changed data file or method is never
    scored from stale rows, and a directory may hold several studies. A method that also
    occurs inside another of the study's methods (the base of ``M+cal``, a mixture's member)
    predicts each batch once when both ask for the same batch (a mixture asks its members
    in the smallest of their batch sizes; a method that pads its batches is not shared); the
    other reuses it, timed with the seconds it took. At the end
    ``DIR/summary.md`` is rewritten atomically (see the returned ``summary``), and
    ``DIR/calibration.png`` (`CALIBRATION_PLOT`: reliability diagrams and PIT histograms of the
    probabilistic methods) beside it, and with a recalibrated method ``DIR/recalibration.json``
    (`RECALIBRATION_FILE`: its fitted scale, so that a study resumed without refitting still
    reports it).

    Metrics are those of [`score_curve`][scalebayes.evaluate.score_curve] in the curves'
    normalised y-space (``Curve.y``). A prediction the metrics reject (non-finite or
    non-positive) scores ``nan`` and is counted as unscored in the summary.

    Args:
        methods: Names in `METHODS`, as a list or a comma-separated string.
        datasets: Benchmark names for ``load_benchmark`` (e.g. ``"ic"``, ``"nlp"``,
            ``"nano"``, ``"dd"``), as a list or a comma-separated string; may be empty
            when ``csv_paths`` are given.
        out_dir: Output directory (created if missing).
        csv_paths: User CSV files read with ``read_curves_csv``; each is a dataset named by
            its file name (e.g. ``"my_runs.csv"``). Curves without a split column hold out
            their last 30% of points by x; a given split needs at least 2 context points and
            1 target per curve. Their y is divided by max(y_context), as the NSL-PFN
            protocol does for DD and Nano (the benchmarks come normalised already).
        batch_size: Curves per method call; None (default) uses each method's own
            ``batch_size`` (64 for the point fits, 16 for MCMC, 256 for the PFN), else
            `DEFAULT_BATCH_SIZE`.
        progress: Show a tqdm progress bar on stderr (tqdm hides it when stderr is not a
            terminal).
        dedupe: How ``read_curves_csv`` treats repeated x in a CSV curve: ``"error"`` or
            ``"mean"`` (average their y).
        split: ``"default"`` (each dataset's own split: the NSL-PFN protocol for the
            benchmarks) or a far-extrapolation split, ``"far10"`` / ``"far100"`` (any
            ``"farF"``): the context is the points at or below ``x_max / F`` thinned to 8
            log-spaced points, the targets the points in the top half-decade, y divided by
            the context's largest y (see ``docs/far-split.md``); datasets are then named
            ``NAME:farF`` and curves that do not span enough are left out.
        x_column: The column of every CSV file that holds x, when it is not named ``x``
            (``read_curves_csv``'s ``x_column``).
        y_column: The column that holds y, when it is not named ``y`` or ``loss``.

    Returns:
        A `StudyResult` with every score of the study and the summary.

    Raises:
        ValueError: For an unknown method or dataset (listing the valid names), a CSV file
            that cannot be used (``CurveDataError``), a name that ``per_curve.csv`` cannot
            hold (a line break), a curve a method cannot predict (e.g. too few context
            points; naming the dataset and curve), an ``out_dir`` that is a file, or an
            existing ``per_curve.csv`` with another header (including one without the
            fingerprint column). Nothing is computed before these checks pass.
        LockedError: If another process is running a study in ``out_dir``.
    """
    from tqdm import tqdm

    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer or None; got {batch_size!r}")
    method_list = _resolve_methods(methods)
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    columns = {"x_column": x_column, "y_column": y_column}
    split_notes: dict[str, str] = {}
    data = _load_datasets(datasets, csv_paths, dedupe, split, columns, notes=split_notes)
    sizes = {m.name: batch_size or m.batch_size or DEFAULT_BATCH_SIZE for m in method_list}
    settings = {method.name: method.settings() for method in method_list}
    _check_inputs(method_list, data)
    _check_out_of_sample(method_list, data)
    fingerprints = {
        (method.name, dataset, curve.name): _fingerprint(method.name, settings[method.name], curve)
        for method in method_list
        for dataset, curves in data.items()
        for curve in curves
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    per_curve_path = out_dir / "per_curve.csv"
    summary_path = out_dir / "summary.md"

    with exclusive_lock(out_dir):
        stored = _read_rows(per_curve_path)
        done = {key: stored[(key, fp)] for key, fp in fingerprints.items() if (key, fp) in stored}
        if len(done) < len(fingerprints) and per_curve_path.exists():
            # a file that cannot take a row is said now, not after the first batch's work
            with open(per_curve_path, "ab"):
                pass
        n_resumed = len(done)
        stale_keys = {key for key, _ in stored} - set(done)
        n_stale = sum(key in stale_keys for key in fingerprints)
        with tqdm(
            total=len(fingerprints),
            initial=n_resumed,
            unit="curve",
            disable=None if progress else True,
            dynamic_ncols=True,
        ) as bar:
            plan = {m.name: list(_pending_calls(m, data, done, sizes[m.name])) for m in method_list}
            calls = [(m, call) for m in method_list for _, c, _ in plan[m.name] for _, call in c]
            with sharing(calls) as shared:
                timings, errors = _run_pending(
                    method_list, plan, done, fingerprints, per_curve_path, bar, shared
                )
        scores = tuple(done[key] for key in fingerprints)
        asked = {(m.name, d) for m in method_list for d in data}
        others = sorted({(m, d) for (m, d, _), _ in stored} - asked)
        scales = _recalibration_scales(method_list, out_dir / RECALIBRATION_FILE)
        summary = _format_summary(
            scores, method_list, data, timings, errors, n_stale, others, split_notes, scales
        )
        calibration = write_calibration_figure(scores, list(data), out_dir / CALIBRATION_PLOT)
        if calibration is None:  # not this study's picture: an earlier one's would mislead
            (out_dir / CALIBRATION_PLOT).unlink(missing_ok=True)
            if any(score.ll is not None and score.pit is None for score in scores):
                summary += (
                    "\nNo calibration picture: the probabilistic rows resumed here predate the "
                    "`pit` column of per_curve.csv; move the file away and rerun to recompute "
                    "them with it.\n"
                )
        else:
            summary += (
                f"\nCalibration (reliability diagram and PIT histogram per dataset, from the "
                f"`pit` column, every target of a dataset pooled, where the coverage columns "
                f"above average per curve): ![calibration]({CALIBRATION_PLOT})\n"
            )
        atomic_write_text(summary_path, summary)
    return StudyResult(
        scores=scores,
        summary=summary,
        per_curve_path=per_curve_path,
        summary_path=summary_path,
        n_resumed=n_resumed,
        n_computed=len(fingerprints) - n_resumed,
        n_stale=n_stale,
        calibration_path=calibration,
    )


def _pending_calls(
    method: Method,
    data: Mapping[str, Sequence[Curve]],
    done: Mapping[tuple[str, str, str], CurveScore],
    size: int,
) -> Iterator[tuple[str, list[tuple[list[Curve], list[Curve]]], tuple[int, int]]]:
    """The calls that score ``method``'s curves without a row in ``done``: per dataset with
    any, ``(dataset, [(batch, call), ...], shape)``, ``call`` being the batch padded (with
    copies of its last curve) where the method pads, and ``shape`` the ``pad_to`` of its
    calls."""
    for dataset, curves in data.items():
        pending = [c for c in curves if (method.name, dataset, c.name) not in done]
        if not pending:
            continue
        batches = _batches(pending, size)
        # Balanced batches differ in size by at most one curve; padding the smaller ones
        # (with copies of their longest curve) gives every call of the dataset one shape.
        padded_size = max(len(batch) for batch in batches)
        shape = (max(c.n_context for c in pending), max(c.x_target.size for c in pending))
        pad = method.pad_batches
        calls = [(b, b + [b[-1]] * (padded_size - len(b)) if pad else list(b)) for b in batches]
        yield dataset, calls, shape


def _run_pending(
    methods: Sequence[Method],
    plan: Mapping[str, Sequence[tuple[str, list[tuple[list[Curve], list[Curve]]], tuple]]],
    done: dict[tuple[str, str, str], CurveScore],
    fingerprints: Mapping[tuple[str, str, str], str],
    per_curve_path: Path,
    bar: Any,
    shared: SharedPredictions,
) -> tuple[dict[tuple[str, str], list[_BatchTime]], dict[tuple[str, str], str]]:
    """Make the calls of ``plan`` (per method, `_pending_calls`: the curves without a row in
    ``done``), appending each row as it is scored.

    Updates ``done`` in place; returns the batch timings and the first scoring error per
    (method, dataset). A batch whose predictions another method of the study made already
    (``shared``) is timed with the seconds they took.
    """
    timings: dict[tuple[str, str], list[_BatchTime]] = {}
    errors: dict[tuple[str, str], str] = {}
    for method in methods:
        for dataset, calls, shape in plan[method.name]:
            bar.set_description(f"{method.name} on {dataset}")
            method.prepare()  # untimed one-off work (cached by the method: once per study)
            for batch, call in calls:
                raise_if_interrupted()  # a Ctrl-C that a callback swallowed stops here
                last = batch[-1]
                tic = time.perf_counter()
                predictions = method(call, pad_to=shape)[: len(batch)]
                seconds = time.perf_counter() - tic + shared.take_credit()
                for curve, prediction in zip(batch, predictions, strict=True):
                    key = (method.name, dataset, curve.name)
                    score, error = _score(
                        method, dataset, curve, prediction, seconds / len(batch), fingerprints[key]
                    )
                    if error is not None:
                        errors.setdefault((method.name, dataset), f"{curve.name}: {error}")
                    # kept as soon as scored (scoring a long curve can take seconds), forced to
                    # disk once a batch (an fsync a row costs thousands of point fits seconds)
                    append_csv_rows(
                        per_curve_path, PER_CURVE_COLUMNS, [score.row()], sync=curve is last
                    )
                    done[score.key] = score
                timings.setdefault((method.name, dataset), []).append(
                    _BatchTime(len(batch), seconds)
                )
                bar.update(len(batch))
    return timings, errors


def _mean_std(label: str, values: Sequence[float | None], digits: int) -> str:
    mean, std = summarise(values)
    if mean is None:
        return f"{label} –"
    if sum(v is not None for v in values) == 1:  # one curve: no spread over curves to show
        return f"{label} {mean:.{digits}f}"
    return f"{label} {mean:.{digits}f} ± {std:.{digits}f}"


def _cell(scores: Sequence[CurveScore], method: Method, n_curves: int) -> str:
    if not scores:
        return "–"
    scored = [s for s in scores if math.isfinite(s.rmsle)]
    parts = [_mean_std("RMSLE", [s.rmsle for s in scored], 4)]
    if method.probabilistic:
        parts.append(_mean_std("LL", [s.ll for s in scored], 3))
        parts.append(_mean_std("MSCE", [s.msce for s in scored], 4))
    parts.append(f"{np.mean([s.seconds for s in scores]):.3g} s/curve")
    if len(scored) < len(scores):
        parts.append(f"{len(scores) - len(scored)} of {len(scores)} unscored")
    if len(scores) < n_curves:
        parts.append(f"only {len(scores)} of {n_curves} curves")
    return "; ".join(parts)


def _cells(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
    keep: Callable[[CurveScore], bool],
) -> Iterator[tuple[Method, str, list[CurveScore]]]:
    """``(method, dataset, scores)`` per method and dataset, its scores filtered by ``keep``;
    cells left empty are skipped."""
    for method in methods:
        for name in data:
            cell = [s for s in by_cell.get((method.name, name), []) if keep(s)]
            if cell:
                yield method, name, cell


def _recalibrated(methods: Sequence[Method]) -> list[Method]:
    """The recalibrated methods (``calibrated``) among ``methods``, in mixtures too."""
    inside = {m.name: m for top in methods for m in nested_methods(top)}
    keys = ("base", "reference", "level", "weight")
    return [m for m in inside.values() if all(hasattr(m.fn, a) for a in keys)]


RECALIBRATION_FILE = "recalibration.json"
"""Beside ``per_curve.csv``: each recalibrated method's fitted scale, keyed by a hash of its
settings (base, level, weighting, reference data), so that a study whose rows all resume still
reports the scale that made them."""


def _valid_scale(value: object) -> bool:
    """Whether a recorded scale is a finite number > 0 (not a bool)."""
    return is_finite_real(value) and value > 0


def _recalibration_scales(methods: Sequence[Method], path: Path) -> dict[str, tuple[float, bool]]:
    """Method name -> (scale, fitted in this run) for each recalibrated method whose scale
    is known: fitted now (and then recorded in ``path``, atomically) or recorded by an earlier
    run with the same settings."""
    try:
        recorded = json.loads(path.read_text())
        recorded = recorded if isinstance(recorded, dict) else {}
    except (OSError, ValueError):
        recorded = {}
    out, changed = {}, False
    for method in _recalibrated(methods):
        key = hashlib.sha256(method.settings().encode()).hexdigest()[:16]
        fitted = method.fn.__dict__.get("scale")  # fitted in this run, or not at all
        if fitted is not None:
            out[method.name] = (float(fitted), True)
            changed |= recorded.get(key) != float(fitted)
            recorded[key] = float(fitted)
        elif _valid_scale(recorded.get(key)):  # a damaged value counts as not recorded
            out[method.name] = (float(recorded[key]), False)
    if changed:
        atomic_write_text(path, json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    return out


def _recalibration_table(
    methods: Sequence[Method], scales: Mapping[str, tuple[float, bool]]
) -> list[str]:
    """The recalibrated methods' scales and what they were fitted on (``calibrated``)."""
    rows = []
    for method in _recalibrated(methods):
        fn = method.fn
        scale, now = scales.get(method.name, (None, False))
        if scale is None:
            shown = "not fitted (every row resumed)"
        else:
            shown = f"{scale:.4g}" + ("" if now else " (fitted by an earlier run)")
        sets = ", ".join(dict.fromkeys(c.dataset for c in fn.reference))
        rows.append(
            f"| {method.name} | {fn.base.name} | {sets} ({len(fn.reference)} curves) | "
            f"{fn.level:g} | {fn.weight} | {shown} |"
        )
    return _section(
        "Recalibration",
        [
            "Each recalibrated method is its base's predictive stretched by one scale in log y",
            "around the median, fitted by split-conformal prediction on the reference curves",
            "(studies.calibrated).",
        ],
        "| method | base | reference | level | weighting | scale |",
        rows,
    )


def _section(title: str, intro: Sequence[str], header: str, rows: Sequence[str]) -> list[str]:
    """Markdown lines of a titled table (``header`` a row of column names), or none without
    rows."""
    if not rows:
        return []
    n_columns = header.count("|") - 1
    return ["", f"## {title}", "", *intro, "", header, "|" + "---|" * n_columns, *rows]


def _interval_table(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
) -> list[str]:
    """Markdown lines: coverage and width of the 50% / 90% intervals and CRPS per cell."""

    def scored(s: CurveScore) -> bool:
        return s.cov90 is not None and math.isfinite(s.cov90)

    rows = []
    for method, name, cell in _cells(methods, data, by_cell, scored):
        means = [summarise([getattr(s, column) for s in cell])[0] for column in _INTERVAL_COLUMNS]
        cov50, cov90, width50, width90, crps = means
        rows.append(
            f"| {method.name} | {name} | {len(cell)} | {cov50:.3f} | {width50:.4g} | "
            f"{cov90:.3f} | {width90:.4g} | {crps:.4g} |"
        )
    return _section(
        "Intervals and CRPS",
        [
            "Coverage: the fraction of a curve's targets inside their central interval (nominal",
            "0.5 and 0.9), width: the interval's mean width, CRPS: quantile-grid estimate (20",
            "levels) of the continuous ranked probability score; all in normalised y, averaged",
            "over the curves (each curve weighs the same).",
        ],
        "| method | dataset | curves | cov50 | width50 | cov90 | width90 | CRPS |",
        rows,
    )


def _cell_text(text: str) -> str:
    """``text`` for a markdown table cell: its ``|`` escaped (curve names such as IC's
    ``cal_5|MiX/B/16`` hold one)."""
    return text.replace("|", "\\|")


def _left_out(n_read: int, n_kept: int) -> str:
    """The Data table's words for the curves a far split drops ("" if none)."""
    if n_kept >= n_read:
        return ""
    return f"; {n_read - n_kept} of {n_read} curves left out (they do not span enough)"


def _data_table(data: Mapping[str, Sequence[Curve]], notes: Mapping[str, str]) -> list[str]:
    """Markdown lines: per dataset, its curves and targets, how they were split (``notes``)
    and what y the metrics read."""
    rows = []
    for name, curves in data.items():
        split = _cell_text(notes.get(name, "–"))
        scaled = sum(c.y_scale != 1.0 for c in curves)
        if scaled == len(curves):
            y = "divided by each curve's largest context y"
        elif scaled:
            y = (
                f"divided by the largest context y on {scaled} of {len(curves)} curves, the "
                "others as given"
            )
        else:
            y = "as given"
        targets = sum(c.n - c.n_context for c in curves)
        rows.append(f"| {name} | {len(curves)} | {targets} | {split} | {y} |")
    return _section(
        "Data",
        [
            "What each dataset's curves were scored on: the targets, how the points were split",
            "into context and targets, and the y the metrics read (interval widths and CRPS",
            "are in these units; divided means by the largest y among the curve's context",
            "points, as the NSL-PFN protocol does for DD and Nano; IC and NLP are already in",
            "(0, 1]).",
        ],
        "| dataset | curves | targets | split | y |",
        rows,
    )


def _median_table(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
) -> list[str]:
    """Markdown lines: per cell the median RMSLE (LL, MSCE) over curves and the curve with
    the largest RMSLE, which a mean ± std hides or is driven by."""

    def scored(s: CurveScore) -> bool:
        return math.isfinite(s.rmsle)

    rows = []
    for method, name, cell in _cells(methods, data, by_cell, scored):
        worst = max(cell, key=lambda s: s.rmsle)
        ll, msce = (
            (_median_cell([s.ll for s in cell], 3), _median_cell([s.msce for s in cell], 4))
            if method.probabilistic
            else ("–", "–")
        )
        rows.append(
            f"| {method.name} | {name} | {len(cell)} | "
            f"{_median_cell([s.rmsle for s in cell], 4)} | {ll} | {msce} | "
            f"{worst.rmsle:.4f} ({_cell_text(worst.curve)}) |"
        )
    return _section(
        "Medians over curves",
        [
            "The median of each per-curve metric over a dataset's curves (half the curves score",
            "better), and the curve with the largest RMSLE: one curve far off moves a mean and",
            "its ± std, not the median.",
        ],
        "| method | dataset | curves | RMSLE | LL | MSCE | largest RMSLE (curve) |",
        rows,
    )


def _median_cell(values: Iterable[float | None], digits: int) -> str:
    # an infinite score counts (a curve at LL -inf is the median's business), a missing one not
    known = [v for v in values if v is not None and not math.isnan(v)]
    return f"{float(np.median(known)):.{digits}f}" if known else "–"


def _mean_cell(group: Sequence[CurveScore], column: str, digits: int) -> str:
    mean = summarise([getattr(s, column) for s in group])[0]
    return "–" if mean is None else f"{mean:.{digits}f}"


def _chain_table(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
) -> list[str]:
    """Markdown lines: per MCMC cell, how many curves' chains mixed, and the scores of the
    curves whose chains mixed beside those of the others."""
    rows = []
    for method, name, cell in _cells(methods, data, by_cell, lambda s: s.mixed is not None):
        mixed = [s for s in cell if s.mixed]
        unmixed = [s for s in cell if not s.mixed]
        scores = " | ".join(
            f"{_mean_cell(mixed, column, digits)} / {_mean_cell(unmixed, column, digits)}"
            for column, digits in (("rmsle", 4), ("ll", 3), ("msce", 4))
        )
        medians = " | ".join(
            _median_cell((getattr(s, column) for s in cell), digits)
            for column, digits in (("r_hat", 3), ("ess_bulk", 0), ("ess_tail", 0))
        )
        diverging = sum(s.divergences is not None and s.divergences > 0 for s in cell)
        rows.append(
            f"| {method.name} | {name} | {len(cell)} | {len(mixed)} | {medians} | "
            f"{diverging} | {scores} |"
        )
    return _section(
        "Chain mixing",
        [
            "Curves whose NUTS chains mixed by `scalebayes.inference.check_mixing` (R-hat <= "
            f"{MIXING['r_hat_max']},",
            f"bulk and tail ESS >= {MIXING['ess_min']:.0f} over all chains, at most "
            f"{MIXING['divergent_share']:.0%} divergent draws;",
            "R-hat and ESS are the worst over the latents, medians over curves), and the mean",
            "scores of the curves that mixed / did not. The tables above include every curve:",
            "where few mixed, read them as figures of the sampler, not of the model.",
        ],
        "| method | dataset | curves | mixed | median R-hat | median bulk ESS | median tail ESS "
        "| with divergences | RMSLE mixed / not | LL mixed / not | MSCE mixed / not |",
        rows,
    )


def _null_table(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
) -> list[str]:
    """Markdown lines: per cell with null columns, the observed MSCE beside the null's."""

    def with_null(s: CurveScore) -> bool:
        return s.msce_null is not None and s.msce is not None and math.isfinite(s.msce)

    rows = []
    for method, name, cell in _cells(methods, data, by_cell, with_null):
        above = sum(s.msce > s.msce_null95 for s in cell)
        rows.append(
            f"| {method.name} | {name} | {len(cell)} | {_mean_cell(cell, 'msce', 4)} | "
            f"{_mean_cell(cell, 'msce_null', 4)} | {above} |"
        )
    return _section(
        "MSCE against the model's own law",
        [
            "A curve's targets are correlated, so a calibrated method does not score MSCE 0.",
            "For each curve, the MSCE the method would score if it were right: its predictive",
            "against 200 joint paths drawn from it (`evaluate.calibrated_msce`). Means over",
            "curves, and the curves whose MSCE lies above their null's 95th percentile (about",
            "5% if calibrated).",
        ],
        "| method | dataset | curves | MSCE | null MSCE | curves above the null's 95th pct. |",
        rows,
    )


def _format_summary(
    scores: Sequence[CurveScore],
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    timings: Mapping[tuple[str, str], Sequence[_BatchTime]],
    errors: Mapping[tuple[str, str], str],
    n_stale: int = 0,
    others: Sequence[tuple[str, str]] = (),
    notes: Mapping[str, str] | None = None,
    scales: Mapping[str, tuple[float, bool]] | None = None,
) -> str:
    """Render the study as markdown: a method x dataset table, then timing and notes;
    ``others`` are the (method, dataset) pairs per_curve.csv holds from other studies;
    ``scales`` the recalibrated methods' scales (`_recalibration_scales`)."""
    by_cell: dict[tuple[str, str], list[CurveScore]] = {}
    for score in scores:
        by_cell.setdefault((score.method, score.dataset), []).append(score)
    header = [
        "method",
        *(f"{name} ({len(c)} curve{'s' * (len(c) != 1)})" for name, c in data.items()),
    ]
    lines = [
        "# Comparison study",
        "",
        "Per-curve metrics over the target points in normalised y-space (see Data below), then",
        "mean ± std (population, ddof 0) over the curves of each dataset: RMSLE (lower is",
        "better) for every method, LL (higher is better) and MSCE for probabilistic ones. MSCE",
        "is not a proper score: a curve's targets are correlated, so a calibrated method does",
        "not score 0 and intervals that are too wide can score lower; read it with the coverage",
        "columns below (evaluate.calibrated_msce gives a model's own reference). s/curve is the",
        "wall time of the method's predictions per curve (batch time / batch size, JIT",
        "compilation included, so a dataset's first batch carries it; scoring excluded).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for method in methods:
        cells = [
            _cell(by_cell.get((method.name, name), []), method, len(curves))
            for name, curves in data.items()
        ]
        lines.append("| " + " | ".join([method.name, *cells]) + " |")

    lines += _data_table(data, notes or {})
    lines += _median_table(methods, data, by_cell)
    lines += _interval_table(methods, data, by_cell)
    lines += _null_table(methods, data, by_cell)
    lines += _chain_table(methods, data, by_cell)
    lines += _recalibration_table(methods, scales or {})
    if timings:
        lines += [
            "",
            "## Timing of this run",
            "",
            "The first batch of each method and dataset includes JIT compilation (unless an",
            "earlier dataset compiled the same shapes); compile ≈ first batch − its size ×",
            "the later batches' s/curve (– where that comes out negative: the later batches were",
            "slower per curve, and the estimate says nothing).",
            "",
            "| method | dataset | batches | first batch (s) | later batches (s/curve) | "
            "compile ≈ (s) |",
            "|---|---|---|---|---|---|",
        ]
        for (method_name, dataset), batches in timings.items():
            first, later = batches[0], batches[1:]
            if later:
                per_curve = sum(b.seconds for b in later) / sum(b.n_curves for b in later)
                later_cell = f"{per_curve:.3g}"
                compile_s = first.seconds - first.n_curves * per_curve
                # negative: the later batches were slower per curve (a busier machine, longer
                # curves), and the estimate says nothing
                compile_cell = f"{compile_s:.3g}" if compile_s > 0 else "–"
            else:
                later_cell = compile_cell = "–"
            lines.append(
                f"| {method_name} | {dataset} | {len(batches)} | {first.seconds:.3g} | "
                f"{later_cell} | {compile_cell} |"
            )
    else:
        lines += ["", "Every row was resumed from per_curve.csv; nothing was computed in this run."]

    if n_stale:
        lines += [
            "",
            f"{n_stale} row(s) of per_curve.csv were computed from other data or method "
            "settings (their fingerprint did not match) and were recomputed; the old rows are "
            "kept in the file but not used.",
        ]
    if others:
        methods_o = ", ".join(dict.fromkeys(m for m, _ in others))
        datasets_o = ", ".join(dict.fromkeys(d for _, d in others))
        lines += [
            "",
            f"per_curve.csv also holds rows of another study in this directory ({len(others)} "
            f"method and dataset pair(s); methods {methods_o}; datasets {datasets_o}), not "
            "summarised here: this summary is this run's. A study that asks for them again "
            "(the same methods, datasets or --csv files, split and --calibrate-on) reuses the "
            "rows whose data and settings match.",
        ]
    if errors:
        lines += ["", "## Unscored predictions (first per method and dataset, this run)", ""]
        lines += [f"- {method} on {dataset}: {text}" for (method, dataset), text in errors.items()]
    return "\n".join(lines) + "\n"
