r"""Several PFNs averaged per curve, each weighted by how well it predicts the curve's own
later runs (a back-test).

For a curve with runs ``x_1 < ... < x_n``, each model predicts the runs beyond
``x_n / ratio`` from those at or below it (when at least 3 runs lie at or below it and at
least one beyond). Its back-test score is the summed log density of those runs, ``S_k``, and
the curve's weights are ``w_k = exp(S_k) / sum_j exp(S_j)``: pseudo Bayesian model averaging
with the back-test as the evidence (Yao, Vehtari, Simpson and Gelman 2018 use leave-one-out
for the same end; a scaling curve is asked forward, so the back-test asks forward too). A
curve too short for a back-test weighs the models equally. The answer at the queries is the
mixture of the models' predictives with those weights
([`MixturePredictive`][scalebayes.evaluate.MixturePredictive]); the weights depend on the
context only, so an answer at one x does not depend on the other queries through them.

The score is a sum over the back-tested runs, so a densely sampled curve (hundreds of runs
beyond half its largest x) gets weights near 0 and 1: model selection rather than an
average, as the evidence of many runs would have it.

The shipped near answer ([`StackedPrediction`][scalebayes.pfn.StackedPrediction]: what
``scalebayes extrapolate``, [`extrapolate`][scalebayes.pfn.extrapolate] and the study method
``pfn`` answer within ``FAR_SWITCH``) is the shipped models' mixture stretched in log y around
its median by [`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE]: the mixture alone is too wide (its
90% intervals cover 95-100% of the bundled benchmarks' targets).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
from jaxtyping import ArrayLike

from .._warnings import warn_at_caller
from ..evaluate import JoinedPredictive, MixturePredictive, Predictive, ScaledPredictive
from ._predict import (
    _FAR_READS_EVERY_RUN,
    DEFAULT_MODEL,
    FAR_MODEL,
    FAR_SWITCH,
    PFN,
    SpanWarning,
    _as_vector,
    _at_most,
    _merge_each,
    _merge_repeats,
    _per_curve,
    _shipped,
    refuse_one_flat_curve,
)

__all__ = [
    "NEAR_SCALE",
    "STACK_RATIO",
    "StackedPrediction",
    "backtest_weights",
    "predict_each",
    "predict_shipped",
    "predict_stacked",
]

STACK_RATIO = 2.0
"""The back-test predicts a curve's runs beyond ``max x / STACK_RATIO`` from those below:
about the NSL-PFN protocol's distance (targets 1.7-2.2x beyond the context)."""

NEAR_SCALE = 0.717
"""The stretch in log y, around its median, of the shipped near answer
([`StackedPrediction`][scalebayes.pfn.StackedPrediction]): the split-conformal scale
([`conformal_scale`][scalebayes.evaluate.conformal_scale], 90% level, every curve weighing
the same) of the shipped models' back-test-weighted mixture on the NSL-PFN protocol's 132
curves (IC, NLP, Nano, DD); ``python tools/fit_near_scale.py`` fits it (0.7166). Fitted on
three of the datasets and worn on the fourth, the scale (0.66-0.77) raised the log density
on every held-out one; on the bundled curves re-split to at most 8 log-spaced runs with
targets 1.4-3x beyond, a scale of 0.7 raised it on all five datasets (measured in
``docs/results/pfn.md``, "The near answer's width")."""

_MIN_PREFIX = 3


class StackedPrediction(ScaledPredictive):
    """The shipped answer within ``FAR_SWITCH``: the back-test-weighted mixture of the shipped
    models (``base``, a [`MixturePredictive`][scalebayes.evaluate.MixturePredictive]) stretched
    by ``scale`` ([`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE]) in log y around its median, as a
    [`ScaledPredictive`][scalebayes.evaluate.ScaledPredictive]: the median is the mixture's,
    every central interval is ``scale`` times as wide in log y.

    A query whose median is 0 (the mass the models censor at 0 reaching the median: no
    log-distance to stretch) keeps the mixture's answer there; the other queries are
    stretched all the same.

    Attributes:
        weights: the back-test weights of ``(default model, far model)``.
        scale: the stretch, ``NEAR_SCALE``.
        x: the x asked, as every shipped answer carries them.
    """

    _positive_medians_only = False

    @property
    def weights(self) -> np.ndarray:
        """The back-test weights of ``(default model, far model)``, summing to 1."""
        return self.base.weights


def _shipped_near(answers: list[MixturePredictive]) -> list[StackedPrediction]:
    """The mixtures stretched by ``NEAR_SCALE`` (the shipped near answer)."""
    return [StackedPrediction(answer, NEAR_SCALE) for answer in answers]


def backtest_weights(
    models: Sequence[PFN],
    x_context: Sequence[ArrayLike],
    y_context: Sequence[ArrayLike],
    *,
    ratio: float = STACK_RATIO,
    y_scale: float | str | Sequence[float] = "auto",
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Each curve's weights over ``models`` from their back-tests (see the module).

    Args:
        models: at least two [`PFN`][scalebayes.pfn.PFN] s.
        x_context: the curves' run sizes, one array per curve.
        y_context: the curves' losses at those runs, one array per curve.
        ratio: the back-test predicts the runs beyond ``max x / ratio`` (> 1).
        y_scale: as in [`PFN.predict_many`][scalebayes.pfn.PFN.predict_many].
        names: one per curve, to name a curve in an error (else ``curve i``).

    Returns:
        Weights of shape ``(n_curves, len(models))``, each row summing to 1; equal weights
        for a curve without a back-test (too few runs below ``max x / ratio``, or fewer than
        two distinct x among them).

    Raises:
        TypeError: if ``models`` is not a list of [`PFN`][scalebayes.pfn.PFN] s.
        ValueError: for fewer than two models, a ``ratio`` not above 1, or mismatched
            inputs.
    """
    models = _check_models(models, "backtest_weights")
    try:
        ratio = float(ratio)
    except (TypeError, ValueError):
        raise ValueError(f"ratio must be a finite number > 1, got {ratio!r}") from None
    if not (np.isfinite(ratio) and ratio > 1):
        raise ValueError(f"ratio must be a finite number > 1, got {ratio}")
    refuse_one_flat_curve({"x_context": x_context, "y_context": y_context})
    if len(x_context) != len(y_context):
        raise ValueError(
            f"x_context and y_context list {len(x_context)} and {len(y_context)} curves"
        )
    scales = _per_curve(y_scale, len(x_context), "y_scale")
    if names is not None and (isinstance(names, str) or len(names) != len(x_context)):
        raise ValueError(f"names must give one name per curve ({len(x_context)})")
    labels = [f"curve {i}" for i in range(len(x_context))] if names is None else list(names)
    jobs = []  # (curve, sorted x, sorted y, prefix length)
    for i, (x, y) in enumerate(zip(x_context, y_context, strict=True)):
        try:
            x = _as_vector("x_context", x, positive=True, minimum=1)
            y = _as_vector("y_context", y, positive=False, minimum=1)
            if x.shape != y.shape:
                raise ValueError(f"x_context {x.shape} and y_context {y.shape} differ in shape")
        except (TypeError, ValueError) as error:
            where = f"curve {i}" if names is None else f"curve {names[i]!r}"
            raise type(error)(f"{where}: {error}") from None
        x, y, _ = _merge_repeats(x, y)  # seeds averaged, as the prediction reads them
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        j = int(np.sum(x <= x[-1] / ratio))
        if _MIN_PREFIX <= j < x.size and np.unique(x[:j]).size >= 2:
            jobs.append((i, x, y, j))
    scores = np.zeros((len(x_context), len(models)))
    if jobs:
        with warnings.catch_warnings():  # the back-test's own predictions: no notes on them
            warnings.simplefilter("ignore")
            for k, model in enumerate(models):
                preds = model.predict_many(
                    [x[:j] for _, x, _, j in jobs],
                    [y[:j] for _, _, y, j in jobs],
                    [x[j:] for _, x, _, j in jobs],
                    y_scale=[scales[i] for i, *_ in jobs],
                    names=[f"{labels[i]} (its back-test)" for i, *_ in jobs],
                )
                for (i, _, y, j), pred in zip(jobs, preds, strict=True):
                    scores[i, k] = float(np.sum(pred.log_prob(y[j:])))
    scores = np.where(np.isnan(scores), -np.inf, scores)
    best = scores.max(axis=1, keepdims=True)
    # a curve where every model gives its later runs zero density weighs them equally
    scores = np.where(np.isfinite(best), scores - np.where(np.isfinite(best), best, 0), 0.0)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def predict_stacked(
    models: Sequence[PFN],
    x_context: Sequence[ArrayLike],
    y_context: Sequence[ArrayLike],
    x_query: Sequence[ArrayLike],
    *,
    ratio: float = STACK_RATIO,
    y_scale: float | str | Sequence[float] = "auto",
    names: Sequence[str] | None = None,
) -> list[MixturePredictive]:
    """The back-test-weighted mixture of ``models``' predictives, per curve (see the module).

    Arguments as in [`backtest_weights`][scalebayes.pfn.backtest_weights] and
    [`PFN.predict_many`][scalebayes.pfn.PFN.predict_many]; each model's prediction warns as
    it would alone (a ``ReachWarning``, a ``SpanWarning``).

    Returns:
        One [`MixturePredictive`][scalebayes.evaluate.MixturePredictive] per curve, whose
        ``weights`` are the curve's back-test weights.
    """
    models = _check_models(models, "predict_stacked")
    lists = {"x_context": x_context, "y_context": y_context, "x_query": x_query}
    labels = _check_curves(lists, names)  # the lengths first: their message, not zip's
    x_context, y_context = _merge_each(x_context, y_context, labels, stacklevel=2)
    # the members' answers first: they check every input and name the curve at fault
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        answers = [
            model.predict_many(x_context, y_context, x_query, y_scale=y_scale, names=names)
            for model in models
        ]
    far_inside = any(model.config.input != "nslpfn" for model in models)
    for w in said:  # said again, as the members said it, but for advice the stack follows
        text = str(w.message)
        if far_inside and issubclass(w.category, SpanWarning):
            text = text.replace(
                _FAR_READS_EVERY_RUN,
                "; this answer weights it with the far model, which reads every run, by how "
                "well each predicts the curve's later runs",
            )
        warn_at_caller(text, w.category)
    weights = backtest_weights(
        models, x_context, y_context, ratio=ratio, y_scale=y_scale, names=names
    )
    return [
        MixturePredictive(list(members), weights=w)
        for members, w in zip(zip(*answers, strict=True), weights, strict=True)
    ]


def _check_models(models, who: str) -> list[PFN]:
    """``models`` as a list of at least two PFNs, else an error that names the entry at
    fault."""
    if isinstance(models, PFN | str) or not isinstance(models, Iterable):
        raise TypeError(f"{who} takes a list of PFNs, got {type(models).__name__}")
    models = list(models)
    for i, model in enumerate(models):
        if not isinstance(model, PFN):
            hint = f" (load it: PFN.load({model!r}))" if isinstance(model, str) else ""
            raise TypeError(f"{who}: models[{i}] must be a PFN, got {type(model).__name__}{hint}")
    if len(models) < 2:
        raise ValueError(f"{who} needs at least two PFNs, got {len(models)}")
    return models


def refuse_a_zero_loss(
    y_context,
    where: str = "",
    *,
    x_context=None,
    instead: str = f"predict with one model (PFN.load({DEFAULT_MODEL!r}))",
) -> None:
    """Refuse runs whose loss is 0 (``where`` prefixes the message; the run is named by its x
    where ``x_context`` is given, else by its place): the shipped answer weighs its models by
    log-y errors and the far model reads y relative to the runs, so a 0 reads as a floor
    reached. ``instead`` is the advice. Input a prediction refuses anyway (another shape, not
    numbers) is left to its message."""
    try:
        y = np.asarray(y_context, dtype=float)
        x = None if x_context is None else np.asarray(x_context, dtype=float)
    except (TypeError, ValueError):
        return
    if y.ndim != 1 or not np.any(y == 0) or (x is not None and x.shape != y.shape):
        return
    i = int(np.argmax(y == 0))
    run = f"run {i}" if x is None else f"x = {x[i]:g}"
    raise ValueError(
        f"{where}y_context is 0 at {run}: the shipped answer weighs its models by log-y errors "
        f"and reads a 0 as a floor reached; give the measured loss, or {instead}"
    )


def _check_curves(lists: dict[str, Sequence], names: Sequence[str] | None) -> list[str] | None:
    """Check that ``lists`` (by argument name) list one number of curves and ``names`` (if
    given) names each once; return the names the predictions get: ``names``, else each curve's
    position when there are several (a batch split by model keeps naming the curve at fault
    by its place in the caller's lists), else None."""
    refuse_one_flat_curve(lists)
    lengths = {name: len(value) for name, value in lists.items()}
    n = next(iter(lengths.values()))
    if len(set(lengths.values())) > 1:
        *first, last = lengths
        raise ValueError(
            f"{', '.join(first)} and {last} must list the same number of curves, got "
            f"{', '.join(map(str, list(lengths.values())[:-1]))} and {lengths[last]}"
        )
    if names is not None and (isinstance(names, str) or len(names) != n):
        raise ValueError(f"names must give one name per curve ({n})")
    if names is not None:
        return list(names)
    return [str(i) for i in range(n)] if n > 1 else None


def _is_shipped_default(model: PFN) -> bool:
    """Whether ``model`` holds the shipped default model's weights (the per-process copy, or
    another load of it: ``PFN.load()``), by the checksum its ``meta.json`` records."""
    default = _shipped(DEFAULT_MODEL)
    if model is default:
        return True
    sha = model.meta.get("blobs", {}).get("model.eqx", {}).get("sha256")
    return sha is not None and sha == default.meta["blobs"]["model.eqx"]["sha256"]


def predict_each(
    pfns: Sequence[PFN],
    x_context: Sequence[ArrayLike],
    y_context: Sequence[ArrayLike],
    x_query: Sequence[ArrayLike],
    *,
    y_scale: float | str | Sequence[float] | None = None,
    names: Sequence[str] | None = None,
    stack: bool = False,
) -> list:
    """Each curve answered by its own PFN (``pfns``, one per curve), in one batched
    [`predict_many`][scalebayes.pfn.PFN.predict_many] call per distinct model.

    With ``stack``, the curves given the shipped default model (any load of it) get the
    shipped near answer instead, a [`StackedPrediction`][scalebayes.pfn.StackedPrediction]:
    [`predict_stacked`][scalebayes.pfn.predict_stacked] over the shipped default and far
    models, stretched by [`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE]. ``y_scale`` (one value
    or one per curve; ``None`` for ``predict_many``'s default) and ``names`` go to the calls.
    Returns the predictives in the curves' order.

    Raises:
        TypeError: if an entry of ``pfns`` is not a [`PFN`][scalebayes.pfn.PFN].
        ValueError: if ``pfns``, ``x_context``, ``y_context``, ``x_query`` (and ``names``)
            do not list the same number of curves, or as the calls raise.
    """
    n = len(pfns)

    def is_model(m) -> bool:  # a PFN, or anything that predicts as one
        return isinstance(m, PFN) or callable(getattr(m, "predict_many", None))

    if not all(is_model(m) for m in pfns):
        bad = next(m for m in pfns if not is_model(m))
        raise TypeError(
            f"pfns must be PFN objects, one per curve (e.g. PFN.load(name)); got "
            f"{type(bad).__name__}"
        )
    lists = {"pfns": pfns, "x_context": x_context, "y_context": y_context, "x_query": x_query}
    labels = _check_curves(lists, names)
    # seeds averaged once, with one warning, before the several predictions that read them
    x_context, y_context = _merge_each(x_context, y_context, labels, stacklevel=2)
    scales = None if y_scale is None else _per_curve(y_scale, n, "y_scale")
    out: list = [None] * n
    for model in {id(m): m for m in pfns}.values():
        idx = [i for i, m in enumerate(pfns) if m is model]
        args = ([x_context[i] for i in idx], [y_context[i] for i in idx])
        kwargs = {"names": None if labels is None else [labels[i] for i in idx]}
        if scales is not None:
            kwargs["y_scale"] = [scales[i] for i in idx]
        queries = [x_query[i] for i in idx]
        if stack and _is_shipped_default(model):
            both = [model, _shipped(FAR_MODEL)]
            answers = _shipped_near(predict_stacked(both, *args, queries, **kwargs))
        else:
            answers = model.predict_many(*args, queries, **kwargs)
        for i, answer in zip(idx, answers, strict=True):
            out[i] = answer
    return out


def _near_queries(x_context, x_query) -> np.ndarray | None:
    """Which of a curve's queries lie within ``FAR_SWITCH`` times its largest run; None where
    the input is malformed (the prediction then names what is wrong)."""
    try:
        xc = np.asarray(x_context, np.float64)
        xq = np.asarray(x_query, np.float64)
        if xc.ndim != 1 or xq.ndim != 1 or xc.size == 0 or xq.size == 0:
            return None
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            ratios = xq / np.max(xc)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(ratios).all() and np.all(ratios > 0)):
        return None
    return _at_most(ratios, FAR_SWITCH)


def predict_shipped(
    x_context: Sequence[ArrayLike],
    y_context: Sequence[ArrayLike],
    x_query: Sequence[ArrayLike],
    *,
    y_scale: float | str | Sequence[float] | None = None,
    names: Sequence[str] | None = None,
) -> list[Predictive]:
    """The shipped answer, each query by the model for its own distance from the runs.

    A query at most [`FAR_SWITCH`][scalebayes.pfn.FAR_SWITCH] times beyond its curve's
    largest run gets the shipped near answer (both shipped models weighted by a back-test
    and stretched by [`NEAR_SCALE`][scalebayes.pfn.NEAR_SCALE], a
    [`StackedPrediction`][scalebayes.pfn.StackedPrediction]), a query further out the far
    model's ([`FAR_MODEL`][scalebayes.pfn.FAR_MODEL]). So a far query's answer never
    depends on the other queries (the far model reads the context alone), and asking far
    queries too never changes the near answers; the near answers do depend on each other,
    through the default model's x mapping over the context and the near queries
    (``"nslpfn"`` input, see [`PFN.predict`][scalebayes.pfn.PFN.predict]). All curves go
    through one batched call per model ([`predict_each`][scalebayes.pfn.predict_each]).

    Args:
        x_context: the curves' run sizes, one array per curve, as in
            [`PFN.predict_many`][scalebayes.pfn.PFN.predict_many].
        y_context: their losses at those runs, one array per curve.
        x_query: where to answer, one array per curve, beyond its runs.
        y_scale: one value or one per curve; ``None`` for ``predict_many``'s default
            (``"auto"``).
        names: one per curve, to name a curve in an error or a warning.

    Returns:
        One predictive per curve over its queries in the order given: a
        ``StackedPrediction`` if every query is near, the far model's
        [`PFNPrediction`][scalebayes.pfn.PFNPrediction] if every query is far, else a
        [`JoinedPredictive`][scalebayes.evaluate.JoinedPredictive] of the two (``parts``:
        near, far).

    Raises:
        ValueError, TypeError: as the predictions raise (naming the curve).
    """
    lists = {"x_context": x_context, "y_context": y_context, "x_query": x_query}
    labels = _check_curves(lists, names)
    for i, y in enumerate(y_context):
        refuse_a_zero_loss(y, f"curve {labels[i]!r}: " if labels else "")
    x_context, y_context = _merge_each(x_context, y_context, labels, stacklevel=2)
    n = len(x_context)
    scales = None if y_scale is None else _per_curve(y_scale, n, "y_scale")
    near_model, far_model = _shipped(DEFAULT_MODEL), _shipped(FAR_MODEL)
    groups: dict[bool, list[tuple[int, np.ndarray]]] = {True: [], False: []}
    for i in range(n):
        near = _near_queries(x_context[i], x_query[i])
        if near is None:  # the near answer's checks name the problem
            groups[True].append((i, np.arange(np.size(x_query[i]))))
            continue
        for is_near in (True, False):
            where = np.flatnonzero(near == is_near)
            if where.size:
                groups[is_near].append((i, where))
    parts: list[list[tuple[np.ndarray, Predictive]]] = [[] for _ in range(n)]
    for is_near, jobs in groups.items():
        if not jobs:
            continue
        model = near_model if is_near else far_model
        kwargs: dict = {"names": None if labels is None else [labels[i] for i, _ in jobs]}
        if scales is not None:
            kwargs["y_scale"] = [scales[i] for i, _ in jobs]
        answers = predict_each(
            [model] * len(jobs),
            [x_context[i] for i, _ in jobs],
            [y_context[i] for i, _ in jobs],
            [
                np.asarray(x_query[i])[where] if where.size < np.size(x_query[i]) else x_query[i]
                for i, where in jobs
            ],
            stack=True,
            **kwargs,
        )
        for (i, where), answer in zip(jobs, answers, strict=True):
            parts[i].append((where, answer))
    out: list[Predictive] = []
    for pieces in parts:
        if len(pieces) == 1:
            out.append(pieces[0][1])
        else:
            out.append(JoinedPredictive([p for _, p in pieces], [w for w, _ in pieces]))
    return out
