"""The `Curve` type: one learning curve with an optional context/target split."""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jaxtyping import Bool, Float

from .._checks import is_finite_real, is_real

PFN_X_LOW = 0.01  # NSL-PFN maps x linearly into [PFN_X_LOW, 1]


class CurveDataError(ValueError):
    """Bad user or bundled data; the message names the file, the line and what to fix."""


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _some(values: np.ndarray, most: int = 5) -> str:
    """The first ``most`` of ``values`` and how many there are in all (a message stays one
    readable line however many are bad)."""
    head = values[:most].tolist()
    return str(head) if values.size <= most else f"{str(head)[:-1]}, ... ({values.size} in all)]"


def _as_vector(value: Any, what: str) -> np.ndarray:
    try:
        raw = np.asarray(value)
        if np.iscomplexobj(raw):
            raise TypeError("complex")
        a = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as e:
        shown = reprlib.repr(value).replace("\n", " ")  # one line, a few values
        raise ValueError(f"Curve.{what} must be a 1-D array of real numbers; got {shown}") from e
    except OverflowError:  # a Python int beyond float64, e.g. 10**400
        raise ValueError(f"Curve.{what} must be finite; one value is beyond float64") from None
    if a.ndim != 1:
        raise ValueError(f"Curve.{what} must be 1-D; got shape {a.shape}")
    return a


def _as_mask(value: Any, n: int) -> np.ndarray:
    a = np.asarray(value)
    if a.shape != (n,):
        raise ValueError(f"Curve.is_context must have shape ({n},) like x; got shape {a.shape}")
    if a.dtype != np.bool_:
        if not (np.issubdtype(a.dtype, np.integer) and np.isin(a, (0, 1)).all()):
            raise ValueError(
                "Curve.is_context must be a boolean mask (True = context, False = target), "
                f"or 0/1 integers; got dtype {a.dtype}"
            )
    return a.astype(np.bool_)


_SMALLEST = 1e-300  # nonzero x and y below this are refused: their ratios overflow


@dataclass(frozen=True, eq=False, repr=False)
class Curve:
    """One learning curve: loss `y` against a positive scale `x` (size, data or compute).

    The constructor validates its input and stores read-only float64 copies. Points given
    out of order are sorted by `x` (with `y` and `is_context` permuted alike); duplicated,
    non-positive or non-finite `x`, non-finite `y`, nonzero `x` or `y` below 1e-300 in
    magnitude (subnormal: their ratios overflow) and fewer than 3 points raise `ValueError`.
    Equality is identity: compare arrays explicitly.

    Attributes:
        x: Scale of each point, shape `(n,)`, strictly increasing, finite and > 0.
        y: Loss (or error) of each point, shape `(n,)`, finite, in units of `y_scale`.
        name: Curve name, unique within a benchmark (e.g. `"bird_5|MiX/B/16"`).
        dataset: Dataset label, e.g. `"IC"`, `"NMT"`, `"DD"` or a user file's stem.
        is_context: Boolean mask of shape `(n,)`, True for context (fitting) points and
            False for extrapolation targets, or None when the curve has no split. A split
            needs at least one context point.
        y_scale: Positive factor `y` has been divided by (NSL-PFN normalisation); raw
            losses are `y * y_scale`.
        metadata: Free-form provenance (source file, row counts, merged duplicates).
    """

    x: Float[np.ndarray, " n"]
    y: Float[np.ndarray, " n"]
    name: str
    dataset: str = ""
    is_context: Bool[np.ndarray, " n"] | None = None
    y_scale: float = 1.0
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Curve.name must be a non-empty string; got {self.name!r}")
        if not isinstance(self.dataset, str):
            raise ValueError(f"Curve.dataset must be a string; got {self.dataset!r}")
        label = f"Curve {self.name!r}"
        x, y = _as_vector(self.x, "x"), _as_vector(self.y, "y")
        if x.shape != y.shape:
            raise ValueError(f"{label}: x and y must have the same length; got {x.size}, {y.size}")
        if x.size < 3:
            raise ValueError(f"{label}: needs at least 3 points; got {x.size}")
        if not np.isfinite(x).all() or (x <= 0).any():
            bad = x[~(np.isfinite(x) & (x > 0))]
            raise ValueError(f"{label}: every x must be finite and > 0; got {_some(bad)}")
        if not np.isfinite(y).all():
            raise ValueError(f"{label}: every y must be finite; got {_some(y[~np.isfinite(y)])}")
        for name, values in (("x", x), ("y", y)):  # subnormal: ratios of them overflow
            tiny = values[(values != 0) & (np.abs(values) < _SMALLEST)]
            if tiny.size:
                raise ValueError(
                    f"{label}: {name} = {tiny[0]:g} is below {_SMALLEST:g} in magnitude; "
                    f"rescale {name} (e.g. to FLOPs, tokens or parameters for x, or by a "
                    "constant for y)"
                )
        mask = None if self.is_context is None else _as_mask(self.is_context, x.size)
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        repeated = np.unique(x[1:][np.diff(x) == 0])
        if repeated.size:
            raise ValueError(
                f"{label}: x must not repeat; {repeated.tolist()} occur more than once "
                "(average their y first, e.g. read_curves_csv(..., dedupe='mean'))"
            )
        if mask is not None:
            mask = mask[order]
            if not mask.any():
                raise ValueError(f"{label}: is_context marks no context point; mark at least one")
        if not is_real(self.y_scale):
            raise ValueError(f"{label}: y_scale must be a number > 0; got {self.y_scale!r}")
        if not isinstance(self.metadata, Mapping):
            raise ValueError(f"{label}: metadata must be a dict; got {self.metadata!r}")
        y_scale = float(self.y_scale) if is_finite_real(self.y_scale) else np.inf
        if not (np.isfinite(y_scale) and y_scale > 0):
            raise ValueError(f"{label}: y_scale must be finite and > 0; got {self.y_scale!r}")
        object.__setattr__(self, "x", _read_only(x))
        object.__setattr__(self, "y", _read_only(y))
        object.__setattr__(self, "is_context", None if mask is None else _read_only(mask))
        object.__setattr__(self, "y_scale", y_scale)
        object.__setattr__(self, "metadata", dict(self.metadata))

    def __repr__(self) -> str:
        split = "no split" if self.is_context is None else f"{self.n_context} context"
        return (
            f"Curve(name={self.name!r}, dataset={self.dataset!r}, n={self.n}, {split}, "
            f"x=[{self.x[0]:.4g}, {self.x[-1]:.4g}], y_scale={self.y_scale:.4g})"
        )

    def __len__(self) -> int:
        return self.n

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.x.size)

    def _mask(self) -> np.ndarray:
        if self.is_context is None:
            raise ValueError(
                f"Curve {self.name!r} has no context/target split: its runs are .x and .y, "
                "or split it first with .with_split(mask) or .with_default_split()"
            )
        return self.is_context

    @property
    def n_context(self) -> int:
        """Number of context points (raises `ValueError` without a split)."""
        return int(self._mask().sum())

    @property
    def x_context(self) -> Float[np.ndarray, " n_ctx"]:
        """`x` of the context points (raises `ValueError` without a split)."""
        return self.x[self._mask()]

    @property
    def y_context(self) -> Float[np.ndarray, " n_ctx"]:
        """`y` of the context points (raises `ValueError` without a split)."""
        return self.y[self._mask()]

    @property
    def x_target(self) -> Float[np.ndarray, " n_tgt"]:
        """`x` of the target points (raises `ValueError` without a split)."""
        return self.x[~self._mask()]

    @property
    def y_target(self) -> Float[np.ndarray, " n_tgt"]:
        """`y` of the target points (raises `ValueError` without a split)."""
        return self.y[~self._mask()]

    @property
    def axis_labels(self) -> tuple[str, str]:
        """What x and y measure, for a plot's axes: the headers of the CSV columns the curve
        was read from (`metadata`'s `x_column` and `y_column`), else `("x", "y")`."""
        return (
            str(self.metadata.get("x_column") or "x"),
            str(self.metadata.get("y_column") or "y"),
        )

    def with_split(self, is_context: Bool[np.ndarray, " n"] | None) -> Curve:
        """Return a copy with a new context/target split.

        Args:
            is_context: Boolean mask of shape `(n,)` over the curve's (sorted) points,
                True = context; None removes the split.

        Returns:
            A new `Curve`; this one is unchanged.
        """
        return dataclasses.replace(self, is_context=is_context)

    def with_default_split(self, target_fraction: float = 0.3) -> Curve:
        """Return a copy whose last `target_fraction` of points by `x` are targets.

        The number of targets is `round(target_fraction * n)`, clipped to `[1, n - 1]`.

        Args:
            target_fraction: Fraction of points held out as targets, in (0, 1).

        Returns:
            A new `Curve` with `is_context` set.
        """
        if not is_real(target_fraction) or not 0.0 < target_fraction < 1.0:
            raise ValueError(f"target_fraction must be a number in (0, 1); got {target_fraction!r}")
        n_target = min(max(1, round(target_fraction * self.n)), self.n - 1)
        return self.with_split(np.arange(self.n) < self.n - n_target)

    def pfn_x(self) -> Float[np.ndarray, " n"]:
        """NSL-PFN normalised `x` of all points (min-max over this curve into [0.01, 1])."""
        return nslpfn_normalise_x(self.x, self.x)


def nslpfn_normalise_x(
    x: Float[np.ndarray, "..."], x_ref: Float[np.ndarray, " m"]
) -> Float[np.ndarray, "..."]:
    """Map `x` linearly into [0.01, 1] by the min and max of `x_ref` (NSL-PFN protocol).

    `x_norm = 0.01 + 0.99 * (x - min(x_ref)) / (max(x_ref) - min(x_ref))`; `x_ref` is a
    curve's context and target x, so its points land in [0.01, 1].

    Args:
        x: Values to map, any shape.
        x_ref: Reference values that set the range; at least two distinct finite values.

    Returns:
        The mapped values, float64, same shape as `x`.
    """
    ref = np.asarray(x_ref, dtype=np.float64).ravel()
    if ref.size == 0 or not np.isfinite(ref).all():
        raise ValueError("x_ref must be a non-empty array of finite values")
    lo, hi = ref.min(), ref.max()
    if hi <= lo:
        raise ValueError(f"x_ref must contain at least two distinct values; all equal {lo!r}")
    return PFN_X_LOW + (1.0 - PFN_X_LOW) * (np.asarray(x, dtype=np.float64) - lo) / (hi - lo)
