"""Study methods: the `Method` record, the `METHODS` table of built-in and registered
methods, mixtures of methods, and the code digest that fingerprints a method without
settings."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import is_real
from ..evaluate import PredictiveDistribution
from ..inference import BAYES_FAMILIES, NOISE_SUFFIXES, POINT_FAMILIES, min_fit_points
from ._shared import active as active_sharing

if TYPE_CHECKING:
    from ..data import Curve

__all__ = ["DEFAULT_BATCH_SIZE", "METHODS", "Method", "MethodTable", "mixture", "register_method"]

DEFAULT_BATCH_SIZE = 16
"""Curves per call for a method that declares no ``batch_size`` of its own: small enough that
progress shows and an interruption loses little."""


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
        digest of ``fn``'s code, so that a study recomputes the rows of a
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


@contextlib.contextmanager
def _as_the_protocol_fits() -> Iterator[None]:
    """The point fits as a study scores them, without the warnings meant for a user's own
    runs. It scores BNSL's automatic breaks as the protocol defines them: a curve's untested
    break (``UntestedBreakWarning``) is part of the method, not news for each batch; nor is a
    rising context (``RisingCurveWarning``: double-descent curves rise before they fall)."""
    import warnings

    from ..data import RisingCurveWarning
    from ..inference import UntestedBreakWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntestedBreakWarning)
        warnings.simplefilter("ignore", RisingCurveWarning)
        yield


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
            with _as_the_protocol_fits():
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
            with _as_the_protocol_fits():
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
        need = min_fit_points(self.family)
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
