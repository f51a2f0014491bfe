"""``calibrated(method, reference=...)``: any probabilistic study method, recalibrated.

The wrapped method predicts as before; each predictive is then worn as a
[`ScaledPredictive`][scalebayes.evaluate.ScaledPredictive] with one scale on log y around its
median, fitted once, on first use, by
[`conformal_scale`][scalebayes.evaluate.conformal_scale] on the method's predictions of the
reference curves (which must not be the curves it is then scored on).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..data import Curve, load_benchmark, load_far_benchmark, parse_split
from ..evaluate import ScaledPredictive, check_level, conformal_scale
from ._methods import DEFAULT_BATCH_SIZE, METHODS, Method, _is_method_name, _resolve_methods
from ._rows import _fingerprint

CALIBRATION_WEIGHTS = ("curve", "dataset", "target")
"""How the reference targets are weighed: every curve, every dataset or every target alike."""


def _reference_curves(
    reference: str | Sequence[str | Curve], split: str = "default"
) -> tuple[Curve, ...]:
    factor = parse_split(split)
    if isinstance(reference, str):
        items = [name for name in reference.split(",") if name.strip()]
    elif isinstance(reference, Curve):
        items = [reference]
    else:
        try:
            items = list(reference)
        except TypeError:
            raise TypeError(
                "reference must be benchmark names (a list or a comma-separated string) or "
                f"Curves; got {type(reference).__name__}"
            ) from None
    curves: list[Curve] = []
    for item in items:
        if isinstance(item, Curve):
            curves.append(item)
        elif isinstance(item, str) and item.strip():
            name = item.strip()
            curves.extend(
                load_benchmark(name) if factor is None else load_far_benchmark(name, factor)
            )
        else:
            raise TypeError(
                f"reference items must be benchmark names or Curves, got {type(item).__name__}"
            )
    if not curves:
        named = [i.strip() for i in items if isinstance(i, str) and i.strip()]
        if named and factor is not None:
            raise ValueError(
                f"calibrated: no curve of {', '.join(map(repr, named))} spans enough for the "
                f"far{factor:g} split; name a benchmark with longer curves or use a nearer split"
            )
        raise ValueError(
            "calibrated: the reference holds no curves; name a benchmark or give curves"
        )
    for curve in curves:
        if curve.x_target.size == 0:
            raise ValueError(f"calibrated: reference curve {curve.name!r} has no targets")
    # a curve named twice (a benchmark and one of its parts, "nlp,nmt"; a name repeated)
    # counts once: a copy would weigh it twice in the scale and hide a too-small reference
    once: dict[str, Curve] = {}
    for curve in curves:
        once.setdefault(_fingerprint(curve.dataset, curve.name, curve), curve)
    return tuple(once.values())


@dataclass(frozen=True, eq=False)
class _Calibrated:
    """The callable of a `calibrated` method (see there); ``scale`` fits on first access."""

    base: Method
    reference: tuple[Curve, ...]
    level: float
    weight: str

    def __repr__(self) -> str:  # not every reference curve
        return (
            f"calibrated({self.base.name!r}, {len(self.reference)} reference curves, "
            f"level={self.level:g}, weight={self.weight!r})"
        )

    @property
    def batch_size(self) -> int | None:
        return self.base.batch_size

    @property
    def pad_batches(self) -> bool:
        return self.base.pad_batches

    @functools.cached_property
    def scale(self) -> float:
        """The fitted scale (computed on first access: the base predicts every reference)."""
        size = self.base.batch_size or DEFAULT_BATCH_SIZE
        by_dataset: dict[str, list[Curve]] = {}
        for curve in self.reference:
            by_dataset.setdefault(curve.dataset, []).append(curve)
        preds, ys, groups = [], [], []
        for dataset, curves in by_dataset.items():
            for start in range(0, len(curves), size):
                batch = curves[start : start + size]
                preds.extend(self.base(batch))
                ys.extend(c.y_target for c in batch)
                groups.extend([dataset] * len(batch))
        weight = "group" if self.weight == "dataset" else self.weight
        return conformal_scale(preds, ys, self.level, weight=weight, groups=groups)

    def __call__(self, curves: Sequence[Curve]) -> list[ScaledPredictive]:
        scale = self.scale
        return [ScaledPredictive(p, scale) for p in self.base(curves)]

    def settings(self) -> str:
        """The base method's settings, the level, the weighting and a hash of the reference."""
        digest = hashlib.sha256()
        for curve in self.reference:
            digest.update(_fingerprint(curve.dataset, curve.name, curve).encode())
        return (
            f"calibrated({self.base.name}: {self.base.settings()}; level={self.level!r}, "
            f"weight={self.weight!r}, reference={len(self.reference)} curves "
            f"{digest.hexdigest()[:16]})"
        )

    def validate(self, curve: Curve) -> None:
        self.base.validate(curve)

    def prepare(self) -> None:
        """Fit the scale now (a study calls this before the first timed batch)."""
        _ = self.scale


def calibrated(
    method: str | Method,
    reference: str | Sequence[str | Curve],
    *,
    level: float = 0.9,
    weight: str = "curve",
    name: str | None = None,
    split: str = "default",
) -> Method:
    """A probabilistic method recalibrated by split-conformal prediction on reference curves.

    On first use the base method predicts every reference curve (in its own batch size), and
    [`conformal_scale`][scalebayes.evaluate.conformal_scale] picks the scale ``s`` on log y
    that makes the ``level`` central interval cover on them; every later prediction is the
    base's, stretched by ``s`` around its median
    ([`ScaledPredictive`][scalebayes.evaluate.ScaledPredictive]). The result is a
    [`Method`][scalebayes.studies.Method]: call it on curves, or put it in a study with
    ``METHODS[name] = calibrated(...)`` (stored under ``name``, it is named by it). Its
    settings (and so the study's fingerprints) name the base's settings, the level, the
    weighting and a hash of the reference curves' data. Keep the reference apart from the
    curves it is scored on (e.g. leave one dataset out: ``benchmarks/recalibrate.py``).

    Args:
        method: a probabilistic method: its name in
            [`METHODS`][scalebayes.studies.METHODS] (e.g. ``"pfn"``, ``"mcmc-m4"``), a
            mixture of such names joined by ``+`` (see [`mixture`][scalebayes.studies.mixture])
            or a `Method`.
        reference: the curves to fit the scale on: bundled benchmark names (a list or a
            comma-separated string, split by ``split``) and/or `Curve` objects with targets.
        level: the central interval to calibrate.
        weight: ``"curve"`` (every reference curve weighs the same; default), ``"dataset"``
            (every ``Curve.dataset`` the same, and every curve within it: the bundled
            ``nlp`` counts as its three, NMT, LM and BB) or ``"target"``.
        name: the returned method's name (default ``"<method>+cal"``).
        split: how the named benchmarks are split: ``"default"`` (the NSL-PFN protocol) or a
            far split such as ``"far10"``, as the study that scores the method splits its
            curves (``scalebayes study --split``), so the scale is fitted on the same question.

    Returns:
        The recalibrated `Method` (probabilistic); ``method.fn.scale`` is the fitted scale.

    Raises:
        KeyError: for a method name not in `METHODS`.
        ValueError: for a point method, a bad level or weighting, or an empty reference.
    """
    if isinstance(method, str):
        if not _is_method_name(method):
            raise KeyError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        base = _resolve_methods([method])[0]
    else:
        base = method
    if not isinstance(base, Method):
        raise TypeError(
            f"method must be a name in METHODS or a Method, got {type(method).__name__}"
        )
    if not base.probabilistic:
        raise ValueError(
            f"calibrated: {base.name!r} is a point method; recalibration needs a predictive "
            "distribution (e.g. 'pfn' or 'mcmc-m4')"
        )
    if weight not in CALIBRATION_WEIGHTS:
        raise ValueError(f"calibrated: weight must be one of {CALIBRATION_WEIGHTS}, got {weight!r}")
    fn = _Calibrated(base, _reference_curves(reference, split), check_level(level), weight)
    return Method(name or f"{base.name}+cal", fn, probabilistic=True)
