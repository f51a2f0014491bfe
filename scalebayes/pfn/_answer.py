"""The shipped answer to one curve's question: ``scalebayes.pfn.extrapolate``.

With no model named, a question at most [`FAR_SWITCH`][scalebayes.pfn.FAR_SWITCH] times beyond
the largest run is answered by both shipped models weighted by a back-test on the curve's own
runs ([`predict_stacked`][scalebayes.pfn.predict_stacked]) and stretched in log y by
[`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE] (a
[`StackedPrediction`][scalebayes.pfn.StackedPrediction]); a question further out by the far
model ([`FAR_MODEL`][scalebayes.pfn.FAR_MODEL]) alone. ``scalebayes extrapolate`` and the
study method ``pfn`` answer the same way.
"""

from __future__ import annotations

import os

from jaxtyping import ArrayLike

from .._warnings import warn_if_early_rise, warn_if_rising
from ..evaluate import Predictive
from ._predict import DEFAULT_MODEL, FAR_SWITCH, PFN, query_ratio
from ._stack import predict_each

__all__ = ["extrapolate"]


def extrapolate(
    x_context: ArrayLike,
    y_context: ArrayLike,
    x_query: ArrayLike,
    *,
    model: str | os.PathLike | PFN | None = None,
    y_scale: float | str = "auto",
    x_range: tuple[float, float] | None = None,
) -> Predictive:
    """One curve's predictive at ``x_query``, answered as ``scalebayes extrapolate`` answers.

    With ``model`` (a shipped name, a checkpoint path or a loaded [`PFN`][scalebayes.pfn.PFN])
    that model answers ([`PFN.predict`][scalebayes.pfn.PFN.predict], a
    [`PFNPrediction`][scalebayes.pfn.PFNPrediction]). Without one, the distance of the
    furthest query, ``max(x_query) / max(x_context)``, decides: up to
    [`FAR_SWITCH`][scalebayes.pfn.FAR_SWITCH] (5x) both shipped models, weighted by how well
    each predicts the curve's own runs beyond half its largest x from those below
    ([`predict_stacked`][scalebayes.pfn.predict_stacked]) and stretched in log y by
    [`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE] (a
    [`StackedPrediction`][scalebayes.pfn.StackedPrediction] whose ``weights`` are
    ``(default, far)``); beyond, the far model alone, where it is measured the more accurate.
    The choice is made once for all of a call's queries, by the furthest: asking ``[2x, 6x]``
    answers the 2x query with the far model too, and the answers just below and just above
    5x can differ by more than their intervals suggest (two models, not one curve), so ask
    the queries you compare in one call. Either answer has ``median``, ``mean``,
    ``quantile``, ``interval``, ``log_prob``, ``cdf`` and ``sample``. A context whose y rises
    at every run gets a [`RisingCurveWarning`][scalebayes.data.RisingCurveWarning] (y should
    be a loss or an error, not an accuracy), one that climbs and then falls an
    [`EarlyRiseWarning`][scalebayes.data.EarlyRiseWarning].

    Args:
        x_context: the runs' sizes, shape ``(n,)``, > 0.
        y_context: their losses, shape ``(n,)``, >= 0.
        x_query: where to answer, shape ``(q,)``, beyond the largest run.
        model: the model to answer with; ``None`` for the shipped answer above.
        y_scale: as in [`PFN.predict`][scalebayes.pfn.PFN.predict].
        x_range: as in [`PFN.predict`][scalebayes.pfn.PFN.predict]; it fixes one model's x
            mapping, so it needs a named ``model``.

    Raises:
        ValueError: for a bad argument (the message names it), or an ``x_range`` with no
            model named.

    Example: five runs 4x apart and the question 100x beyond the largest (the far model
    answers)::

        x = 1e8 * 4.0 ** np.arange(5)
        pred = extrapolate(x, 2.0 * x**-0.07, [100 * x[-1]])
        pred.median(), pred.interval(0.9)
    """
    if model is not None:
        pfn = model if isinstance(model, PFN) else PFN.load(model)
        pred = pfn.predict(x_context, y_context, x_query, y_scale=y_scale, x_range=x_range)
    elif x_range is not None:
        raise ValueError(
            "x_range fixes one model's x mapping, but with no model named two models answer "
            f"within {FAR_SWITCH:g}x: name one (model={DEFAULT_MODEL!r}) to use x_range"
        )
    else:  # as the command line: the model for the distance, the default one stacked
        pfn = PFN.load_for(query_ratio(x_context, x_query))
        (pred,) = predict_each(
            [pfn], [x_context], [y_context], [x_query], y_scale=y_scale, stack=True
        )
    if not warn_if_rising(x_context, y_context, "the context"):
        warn_if_early_rise(x_context, y_context, "the context")
    return pred
