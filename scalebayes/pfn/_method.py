"""The PFN as a study method: ``scalebayes study --methods pfn``.

Without a named model the method answers each curve as ``scalebayes extrapolate`` would,
each target by its own distance (``predict_shipped``): up to ``FAR_SWITCH`` times beyond the
context, both shipped models weighted by a back-test on the curve's own runs
(``predict_stacked``) and stretched by ``NEAR_SCALE`` (a ``StackedPrediction``); beyond, the
far model. ``stack=False`` answers the whole curve by its furthest target, with the default
model alone up to ``FAR_SWITCH`` (the study method ``pfn-switch``, the shipped answer before
2026-12-05). The method's ``settings()`` names each
model's checksum (the sha256 its ``meta.json`` records for ``model.eqx``, verified on load)
and a hash of its bar borders, so a study fingerprints its rows with the exact models that
scored them.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._predict import (
    DEFAULT_MODEL,
    FAR_MODEL,
    FAR_SWITCH,
    NSLPFN_SPAN,
    PFN,
    SPAN_GUARD,
    Y_SPAN_GUARD,
    ReachWarning,
    SpanWarning,
    _load_current,
    query_ratio,
)
from ._stack import (
    _MIN_PREFIX,
    NEAR_SCALE,
    STACK_RATIO,
    predict_each,
    predict_shipped,
    refuse_a_zero_loss,
)

if TYPE_CHECKING:
    from ..data import Curve
    from ..evaluate import Predictive


_load = _load_current  # one copy per process of each checkpoint as it is on disk


def protocol_scale(y_context) -> float | str:
    """The ``y_scale`` a study passes: 1 for curves whose context's y lies below 1 (IC and NLP
    as published: the protocol reads those error rates and losses as they are), else
    ``"auto"``, as `extrapolate` passes: the largest y of the runs the model reads. For a
    curve divided by its context's largest y (DD, Nano, Chinchilla, the far splits, a study's
    CSV curves) that is 1, unless the model reads a window of the runs (a span beyond
    ``SPAN_GUARD``), where only ``"auto"`` answers as `extrapolate` does; above 1 (the
    4-digit addition curve, kept in its own units) it is the largest y, which the NSL-PFN
    input could not read as 1."""
    return 1.0 if float(np.max(y_context)) < 1.0 else "auto"


def _describe(pfn: PFN) -> str:
    """The model blob's sha256, hashes of the config and bar borders, the interpolation flag."""
    blobs = pfn.meta.get("blobs", {})
    blob = blobs.get("model.eqx", {}).get("sha256", "unknown")
    if pfn.meta.get("weights") == "ema" and "opt_state.eqx" in blobs:
        # a training checkpoint answers with the moving average stored beside the weights
        blob += f", weights ema in opt_state.eqx sha256={blobs['opt_state.eqx'].get('sha256')}"
    borders = pfn.meta.get("borders", pfn.bar.borders)  # the exact float64 ones if stored
    borders = np.ascontiguousarray(borders, dtype="<f8").tobytes()
    config = json.dumps(pfn.config.to_dict(), sort_keys=True).encode()
    tails = ",".join(f"{float(s):.9g}" for s in np.asarray(pfn.bar.scales))
    # the runs it reads (SpanWarning): a changed guard changes the answers, so it changes the
    # study's fingerprints too
    if pfn.config.input == "nslpfn":
        reads = f"x window {NSLPFN_SPAN:g} beyond a span of {SPAN_GUARD:g}"
    else:
        reads = f"y window {Y_SPAN_GUARD:g}"
    return (
        f"pfn(model.eqx sha256={blob}, "
        f"config sha256={hashlib.sha256(config).hexdigest()[:16]}, "
        f"borders sha256={hashlib.sha256(borders).hexdigest()[:16]}, tail scales {tails}, "
        f"interpolation={pfn.interpolation}, {reads}, y_scale 1 below 1 else auto)"
    )


@dataclass(frozen=True)
class PFNMethod:
    """A study method of the PFN, as [`pfn_method`][scalebayes.pfn.pfn_method] returns it:
    called on a batch of curves, it returns one predictive per curve at its targets.

    Attributes:
        model: a shipped model's name or a checkpoint directory; ``None`` answers as the
            shipped PFNs do (each curve by the model for its distance).
        stack: within ``FAR_SWITCH``, weigh both shipped models per curve by a back-test
            ([`predict_stacked`][scalebayes.pfn.predict_stacked]).
        batch_size: curves per call a study sends.
        pad_batches: whether a study pads batches to one size (no: the predictor groups
            curves by length itself).
    """

    model: str | None
    stack: bool = False
    batch_size: int = 256  # one forward pass per slot bucket: large batches are cheap
    pad_batches: bool = False  # the predictor groups curves by length itself

    def _model_for(self, curve: Curve) -> PFN:
        if self.model is not None:
            return _load(self.model)
        return PFN.load_for(query_ratio(curve.x_context, curve.x_target))

    def __call__(self, curves: Sequence[Curve]) -> list[Predictive]:
        # A study measures the model wherever its split puts the targets, beyond the
        # model's reach too (the far splits exist to measure that): no ReachWarning here.
        data = (
            [c.x_context for c in curves],
            [c.y_context for c in curves],
            [c.x_target for c in curves],
        )
        scales = [protocol_scale(c.y_context) for c in curves]
        with warnings.catch_warnings():  # the windows (SpanWarning) are what it answers with
            warnings.simplefilter("ignore", ReachWarning)
            warnings.simplefilter("ignore", SpanWarning)
            if self.model is None and self.stack:  # each target by its own distance
                return predict_shipped(*data, y_scale=scales)
            pfns = [self._model_for(curve) for curve in curves]
            return predict_each(pfns, *data, y_scale=scales, stack=self.stack)

    def settings(self) -> str:
        """What scores a curve: the model's description (``_describe``), or with no model
        named both shipped models' and the distance at which the far one takes over."""
        if self.model is not None:
            return _describe(_load(self.model))
        near, far = _describe(_load(DEFAULT_MODEL)), _describe(_load(FAR_MODEL))
        if self.stack:
            near = (
                f"{near} and {far} weighted by a back-test at {STACK_RATIO!r}x "
                f"(prefixes of >= {_MIN_PREFIX} runs), stretched by {NEAR_SCALE!r} in log y"
            )
            return (
                f"shipped pfn by each target's distance(up to {FAR_SWITCH:g}x: {near}; "
                f"beyond: {far})"
            )
        return f"shipped pfn by distance(up to {FAR_SWITCH:g}x: {near}; beyond: {far})"

    def validate(self, curve: Curve) -> None:
        """Reject targets inside the context range unless the model interpolates, and for
        the shipped answer a run whose loss is 0 (as ``predict_shipped`` does)."""
        if self.model is None and self.stack:
            refuse_a_zero_loss(curve.y_context)
        if not self._model_for(curve).interpolation and (
            curve.x_target.min() <= curve.x_context.max()
        ):
            raise ValueError(
                "this PFN extrapolates only, but a target x lies inside the context range; "
                "mark only points beyond the last context x as targets"
            )


def pfn_method(model: str | os.PathLike | None = None, *, stack: bool | None = None) -> PFNMethod:
    """A study method: condition on each curve's context, predict its targets.

    The study passes curves in the protocol's normalised y-space; ``y_scale`` is 1 for a curve
    whose y stays below 1 (IC and NLP as published), else ``"auto"`` as in `extrapolate`
    (``protocol_scale``).

    Args:
        model: a checkpoint directory or shipped name; ``None`` answers each curve as
            ``scalebayes extrapolate`` and [`extrapolate`][scalebayes.pfn.extrapolate] do,
            each target by its own distance
            ([`predict_shipped`][scalebayes.pfn.predict_shipped]): within
            [`FAR_SWITCH`][scalebayes.pfn.FAR_SWITCH] times beyond the context both shipped
            models, each weighted by how well it predicts the curve's own later runs
            ([`predict_stacked`][scalebayes.pfn.predict_stacked]) and stretched by
            [`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE], beyond it the far model.
        stack: with no model named, ``False`` answers each curve by its furthest target,
            within ``FAR_SWITCH`` with the default model alone
            ([`PFN.load_for`][scalebayes.pfn.PFN.load_for]; the study method
            ``pfn-switch``); ``None`` (the default) stacks exactly when no model is named.

    Returns:
        A callable from a batch of split curves to one prediction per curve (a
        [`PFNPrediction`][scalebayes.pfn.PFNPrediction], or with no model named what
        [`predict_shipped`][scalebayes.pfn.predict_shipped] returns). Its
        ``settings()`` names
        the models' checksums (for the study's fingerprints), ``validate(curve)`` rejects
        targets inside the context range for an extrapolation-only model, and
        ``batch_size`` is 256.
    """
    if stack and model is not None:
        raise ValueError("stack=True stacks the two shipped models; name no model")
    if model is not None:
        return PFNMethod(str(model), stack=False)
    return PFNMethod(None, stack=stack is None or bool(stack))
