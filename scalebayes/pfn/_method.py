"""The PFN as a study method: ``scalebayes study --methods pfn``."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence

from ._predict import PFN, PFNPrediction


@functools.lru_cache(maxsize=4)
def _load(model: str | None) -> PFN:
    return PFN.load(model)


def pfn_method(model: str | os.PathLike | None = None) -> Callable[[Sequence], list[PFNPrediction]]:
    """A study method: condition on each curve's context, predict its targets.

    The study passes curves already in the protocol's normalised y-space, so ``y_scale`` is 1.

    Args:
        model: a checkpoint directory or shipped name; ``None`` for the default model.
    """
    key = None if model is None else str(model)

    def predict(curves: Sequence) -> list[PFNPrediction]:
        pfn = _load(key)
        return pfn.predict_many(
            [c.x_context for c in curves],
            [c.y_context for c in curves],
            [c.x_target for c in curves],
            y_scale=1.0,
        )

    return predict
