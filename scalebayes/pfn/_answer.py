"""The shipped answer to one curve's question: ``scalebayes.pfn.extrapolate``.

With no model named, a query at most [`FAR_SWITCH`][scalebayes.pfn.FAR_SWITCH] times beyond
the largest run is answered by both shipped models weighted by a back-test on the curve's own
runs ([`predict_stacked`][scalebayes.pfn.predict_stacked]) and stretched in log y by
[`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE] (a
[`StackedPrediction`][scalebayes.pfn.StackedPrediction]); a query further out by the far
model ([`FAR_MODEL`][scalebayes.pfn.FAR_MODEL]) alone
([`predict_shipped`][scalebayes.pfn.predict_shipped]). ``scalebayes extrapolate`` and the
study method ``pfn`` answer the same way.
"""

from __future__ import annotations

import os

from jaxtyping import ArrayLike

from .._warnings import (
    FlatCurveWarning,
    warn_if_early_rise,
    warn_if_flat,
    warn_if_late_rise,
    warn_if_log_x,
    warn_if_rising,
    warn_if_two_runs,
)
from ..evaluate import Predictive
from ._predict import DEFAULT_MODEL, FAR_SWITCH, PFN, _as_vector, _merge_each
from ._stack import predict_shipped, refuse_a_zero_loss

__all__ = ["FlatCurveWarning", "extrapolate"]


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
    [`PFNPrediction`][scalebayes.pfn.PFNPrediction]). Without one, each query's distance,
    ``x / max(x_context)``, decides who answers it
    ([`predict_shipped`][scalebayes.pfn.predict_shipped]): up to
    [`FAR_SWITCH`][scalebayes.pfn.FAR_SWITCH] (5x) both shipped models, weighted by how well
    each predicts the curve's own runs beyond half its largest x from those below
    ([`predict_stacked`][scalebayes.pfn.predict_stacked]) and stretched in log y by
    [`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE] (a
    [`StackedPrediction`][scalebayes.pfn.StackedPrediction] whose ``weights`` are
    ``(default, far)``); beyond, the far model alone, where it is measured the more accurate.
    So a far query's answer never depends on the other queries asked, nor a near one on the
    far ones (near answers depend on each other through the default model's x mapping), and
    queries on both sides of 5x come back as one
    [`JoinedPredictive`][scalebayes.evaluate.JoinedPredictive]; the
    answers just below and just above 5x come from different models and can differ by more
    than their intervals suggest. Every answer has ``median``, ``mean``, ``quantile``,
    ``interval``, ``log_prob``, ``cdf`` and ``sample``. A context whose y rises
    at every run or rises with noise gets a
    [`RisingCurveWarning`][scalebayes.data.RisingCurveWarning] (y should be a loss or an
    error, not an accuracy), one whose x look like log10 of the sizes a ``UserWarning``
    (runs within 2x of each other, x <= 40, y moving by more than 10%), one that climbs and
    then falls an [`EarlyRiseWarning`][scalebayes.data.EarlyRiseWarning], and with no model
    named one that barely changes a [`FlatCurveWarning`][scalebayes.pfn.FlatCurveWarning].

    The numbers are the command line's; its ``note:`` lines are not raised here. Measured
    caveats they carry, to read an answer by: far out the far model's median leans low on
    language-model-like curves (below the truth on 67-81% of synthetic ones, by 1-7% at
    10-300x; on 96-98% by 5-9% when the runs are near their floor), its fan can climb or
    narrow further out, and within 1.1x of the last run the answer lies a few percent above
    it (docs: far extrapolation, measured); for a second opinion ``scalebayes extrapolate
    --method pfn+mcmc-m4-irw``.

    Args:
        x_context: the runs' sizes, shape ``(n,)``, > 0; with fewer than 3 distinct a
            ``UserWarning`` (the command line asks for 3), and runs repeated at one x are
            averaged (see [`PFN.predict`][scalebayes.pfn.PFN.predict]).
        y_context: their losses, shape ``(n,)``, > 0 (>= 0 with a named ``model``).
        x_query: where to answer, shape ``(q,)``, beyond the largest run.
        model: the model to answer with; ``None`` for the shipped answer above.
        y_scale: as in [`PFN.predict`][scalebayes.pfn.PFN.predict].
        x_range: as in [`PFN.predict`][scalebayes.pfn.PFN.predict]; it fixes one model's x
            mapping, so it needs a named ``model``.

    Raises:
        ValueError: for a bad argument (the message names it): a query not beyond the
            largest run or a y of 0 (with no model named), or an ``x_range`` with no model
            named.

    Example: five runs 4x apart and the question 100x beyond the largest (the far model
    answers)::

        x = 1e8 * 4.0 ** np.arange(5)
        pred = extrapolate(x, 2.0 * x**-0.07, [100 * x[-1]])
        pred.median(), pred.interval(0.9)
    """
    xc = _as_vector("x_context", x_context, positive=True, minimum=1)
    xq = _as_vector("x_query", x_query, positive=True, minimum=1)
    warn_if_two_runs(xc, "the answer")  # the command line asks for 3
    if model is None and xq.min() <= xc.max():  # a named model says if it interpolates
        raise ValueError(
            f"x_query {xq[xq <= xc.max()][0]:g} is not beyond the largest run {xc.max():g}: "
            "the PFNs answer beyond the runs only; for x inside them fit a family "
            "(scalebayes.inference.fit_curve, or sample_posterior for intervals)"
        )
    if model is None:
        refuse_a_zero_loss(
            _as_vector("y_context", y_context, positive=False, minimum=1),
            x_context=xc,
            instead=f"name a model (model={DEFAULT_MODEL!r}) to answer anyway",
        )
    if model is None and x_range is not None:
        raise ValueError(
            "x_range fixes one model's x mapping, but with no model named two models answer "
            f"within {FAR_SWITCH:g}x: name one (model={DEFAULT_MODEL!r}) to use x_range"
        )
    pfn = None if model is None else model if isinstance(model, PFN) else PFN.load(model)
    # seeds averaged once, here, so that their one warning points at the caller's line
    (x_context,), (y_context,) = _merge_each([x_context], [y_context], None, stacklevel=2)
    if pfn is not None:
        pred = pfn.predict(x_context, y_context, x_query, y_scale=y_scale, x_range=x_range)
    else:  # as the command line: each query by the model for its distance
        (pred,) = predict_shipped([x_context], [y_context], [x_query], y_scale=y_scale)
    # the curve's shape as the models read it (seeds averaged above, so that their noise is
    # not read as a climb)
    xc = _as_vector("x_context", x_context, positive=True, minimum=1)
    yc = _as_vector("y_context", y_context, positive=False, minimum=1)
    if not warn_if_rising(xc, yc, "the context"):
        warn_if_early_rise(xc, yc, "the context")
        warn_if_late_rise(xc, yc, "the context")
    warn_if_log_x(xc, yc, "the context")
    if model is None:  # a named model answers as asked
        warn_if_flat(xc, yc, "the context")
    return pred
