"""The PFN as a study method: ``scalebayes study --methods pfn``.

The method's ``settings()`` names the checkpoint's model checksum (the sha256 its
``meta.json`` records for ``model.eqx``, verified on load) and a hash of its bar borders, so
a study fingerprints its rows with the exact model that scored them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._predict import PFN, PFNPrediction, ReachWarning

if TYPE_CHECKING:
    from ..data import Curve


@functools.lru_cache(maxsize=4)
def _load(model: str | None) -> PFN:
    return PFN.load(model)


@dataclass(frozen=True)
class _PFNMethod:
    """The callable `pfn_method` returns (see there); a study reads its attributes."""

    model: str | None
    batch_size: int = 256  # one forward pass per slot bucket: large batches are cheap
    pad_batches: bool = False  # the predictor groups curves by length itself

    def __call__(self, curves: Sequence[Curve]) -> list[PFNPrediction]:
        # A study measures the model wherever its split puts the targets, beyond the
        # model's reach too (the far splits exist to measure that): no ReachWarning here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReachWarning)
            return _load(self.model).predict_many(
                [c.x_context for c in curves],
                [c.y_context for c in curves],
                [c.x_target for c in curves],
                y_scale=1.0,
            )

    def settings(self) -> str:
        """The model blob's sha256, a hash of the bar borders and the interpolation flag."""
        pfn = _load(self.model)
        blob = pfn.meta.get("blobs", {}).get("model.eqx", {}).get("sha256", "unknown")
        borders = pfn.meta.get("borders", pfn.bar.borders)  # the exact float64 ones if stored
        borders = np.ascontiguousarray(borders, dtype="<f8").tobytes()
        config = json.dumps(pfn.config.to_dict(), sort_keys=True).encode()
        return (
            f"pfn(model.eqx sha256={blob}, "
            f"config sha256={hashlib.sha256(config).hexdigest()[:16]}, "
            f"borders sha256={hashlib.sha256(borders).hexdigest()[:16]}, "
            f"interpolation={pfn.interpolation})"
        )

    def validate(self, curve: Curve) -> None:
        """Reject targets inside the context range unless the model interpolates."""
        if not _load(self.model).interpolation and curve.x_target.min() <= curve.x_context.max():
            raise ValueError(
                "this PFN extrapolates only, but a target x lies inside the context range; "
                "mark only points beyond the last context x as targets"
            )


def pfn_method(model: str | os.PathLike | None = None) -> _PFNMethod:
    """A study method: condition on each curve's context, predict its targets.

    The study passes curves already in the protocol's normalised y-space, so ``y_scale`` is 1.

    Args:
        model: a checkpoint directory or shipped name; ``None`` for the default model.

    Returns:
        A callable from a batch of split curves to one
        [`PFNPrediction`][scalebayes.pfn.PFNPrediction] per curve. Its ``settings()`` names
        the model's checksum (for the study's fingerprints), ``validate(curve)`` rejects
        targets inside the context range for an extrapolation-only model, and
        ``batch_size`` is 256.
    """
    return _PFNMethod(None if model is None else str(model))
