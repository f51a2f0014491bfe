"""Comparison studies: run extrapolation methods over datasets and tabulate the NSL-PFN metrics.

A *method* maps a batch of split curves to one prediction per curve for its target x: a
point array or a [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution].
Methods live in the registry `METHODS` (add one with `register_method`); the point fits
``"m1"``, ``"m2"``, ``"m3"``, ``"m4"`` and ``"bnsl"`` and the MCMC baselines ``"mcmc-m3"``,
``"mcmc-m4"`` and ``"mcmc-bnsl"`` (NUTS, see
[`mcmc_method`][scalebayes.inference.mcmc_method]) and ``"pfn"`` (the shipped
[`PFN`][scalebayes.pfn.PFN]) are registered here.

`run_study` scores every (method, dataset, curve) with
[`score_curve`][scalebayes.evaluate.score_curve] in the curves' normalised y-space and
appends one row per curve to ``DIR/per_curve.csv`` after every batch (fsync'd), so an
interrupted study resumes where it stopped; at the end it rewrites ``DIR/summary.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import append_csv_rows, atomic_write_text, exclusive_lock, read_csv_rows
from ._metrics import score_curve, summarise
from ._predictive import PredictiveDistribution

if TYPE_CHECKING:
    from ..data import Curve

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "METHODS",
    "PER_CURVE_COLUMNS",
    "CurveScore",
    "Method",
    "StudyResult",
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
)
"""Columns of ``per_curve.csv``, in order."""

DEFAULT_BATCH_SIZE = 16
"""Curves per method call: small enough that progress shows and an interruption loses little."""

_POINT_FAMILIES = ("m1", "m2", "m3", "m4", "bnsl")
_MIN_CONTEXT = 2

Prediction = Any  # np.ndarray of shape (n_targets,) or a PredictiveDistribution


@dataclass(frozen=True)
class Method:
    """A registered extrapolation method.

    Attributes:
        name: Registry name, e.g. ``"m4"``.
        fn: Maps a batch of curves (each with a context/target split) to one prediction per
            curve, in order: a point array of shape ``(n_targets,)`` or a
            ``PredictiveDistribution`` over the curve's targets.
        probabilistic: Whether ``fn`` returns predictive distributions (scored by RMSLE, LL
            and MSCE) rather than point arrays (RMSLE only).
    """

    name: str
    fn: Callable[[Sequence[Curve]], Sequence[Prediction]]
    probabilistic: bool

    def __call__(self, curves: Sequence[Curve]) -> list[Prediction]:
        """Predict the targets of ``curves``, checking the number and kind of predictions.

        Args:
            curves: Curves with a context/target split.

        Returns:
            One prediction per curve.

        Raises:
            TypeError: If a prediction is of the wrong kind for ``probabilistic``.
            ValueError: If the number of predictions or a point prediction's shape is wrong.
        """
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
        return checked


METHODS: dict[str, Method] = {}
"""Registry of study methods by name; add entries with `register_method`."""


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
            ``batch_size`` curves of one dataset per call.
        probabilistic: True if ``fn`` returns ``PredictiveDistribution`` objects.
        replace: Allow overwriting an existing entry.

    Returns:
        The registered `Method`.

    Raises:
        ValueError: If ``name`` is malformed or already registered (without ``replace``).
        TypeError: If ``fn`` is not callable or ``probabilistic`` is not a bool.
    """
    if not isinstance(name, str) or not name or any(c == "," or c.isspace() for c in name):
        raise ValueError(f"method name must be non-empty without commas or spaces; got {name!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    if not isinstance(probabilistic, bool):
        raise TypeError(f"probabilistic must be a bool; got {probabilistic!r}")
    if name in METHODS and not replace:
        raise ValueError(f"method {name!r} is already registered; pass replace=True to override")
    method = Method(name, fn, probabilistic)
    METHODS[name] = method
    return method


def _point_fit(family: str, curves: Sequence[Curve]) -> list[np.ndarray]:
    """Fit ``family`` to the context points of all ``curves``; predict their targets."""
    from ..inference import fit_curves

    fits = fit_curves(
        family,
        [c.x_context for c in curves],
        [c.y_context for c in curves],
        names=[c.name for c in curves],
    )
    return [fit.predict(c.x_target) for fit, c in zip(fits, curves, strict=True)]


for _family in _POINT_FAMILIES:
    register_method(_family, functools.partial(_point_fit, _family), probabilistic=False)


_MCMC_FAMILIES = ("m3", "m4", "bnsl")  # scalebayes.inference.BAYES_FAMILIES, without JAX


def _mcmc(family: str, curves: Sequence[Curve]) -> list[PredictiveDistribution]:
    """NUTS posterior predictive of ``family`` for every curve's targets (default settings)."""
    from ..inference import mcmc_method

    return mcmc_method(family)(curves)


for _family in _MCMC_FAMILIES:
    register_method(f"mcmc-{_family}", functools.partial(_mcmc, _family), probabilistic=True)


def _pfn(curves: Sequence[Curve]) -> list[PredictiveDistribution]:
    """The shipped PFN's predictive distribution at every curve's targets (one forward pass)."""
    from ..pfn._method import pfn_method

    return pfn_method()(curves)


register_method("pfn", _pfn, probabilistic=True)


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
    """

    method: str
    dataset: str
    curve: str
    rmsle: float
    ll: float | None
    msce: float | None
    seconds: float

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

        def number(column: str, optional: bool) -> float | None:
            cell = row[column].strip()
            if optional and not cell:
                return None
            try:
                return float(cell)
            except ValueError:
                raise ValueError(
                    f"{where}: column {column!r} holds {cell!r}, not a number; fix or delete "
                    "the row (it will be recomputed)"
                ) from None

        return cls(
            method=row["method"],
            dataset=row["dataset"],
            curve=row["curve"],
            rmsle=number("rmsle", False),
            ll=number("ll", True),
            msce=number("msce", True),
            seconds=number("seconds", False),
        )


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
        n_resumed: Rows taken from an earlier run's ``per_curve.csv``.
        n_computed: Rows computed by this run.
    """

    scores: tuple[CurveScore, ...]
    summary: str
    per_curve_path: Path
    summary_path: Path
    n_resumed: int
    n_computed: int


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


def _resolve_methods(methods: str | Iterable[str]) -> list[Method]:
    names = _names(methods, "methods")
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise ValueError(
            f"unknown method(s) {', '.join(map(repr, unknown))}; valid methods: "
            f"{', '.join(sorted(METHODS))}"
        )
    return [METHODS[name] for name in names]


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


def _load_datasets(
    names: str | Iterable[str], csv_paths: Iterable[str | Path], dedupe: str
) -> dict[str, list[Curve]]:
    """Load benchmarks by name and user CSV files into ``{dataset name: curves}``."""
    from ..data import BENCHMARKS, load_benchmark, read_curves_csv

    names = list(dict.fromkeys(name.lower() for name in _names(names, "datasets")))
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise ValueError(
            f"unknown dataset(s) {', '.join(map(repr, unknown))}; valid datasets: "
            f"{', '.join(BENCHMARKS)}, or CSV files given with csv_paths (--csv)"
        )
    datasets = {name: list(load_benchmark(name)) for name in names}
    for path in map(Path, csv_paths):
        name = path.name
        if name in datasets:
            raise ValueError(
                f"two datasets are named {name!r}; rename one of the CSV files ({path})"
            )
        curves = []
        for curve in read_curves_csv(path, dedupe=dedupe):
            if curve.is_context is None:
                curve = curve.with_default_split(0.3)
            _check_split(curve, str(path))
            curves.append(_normalise(curve))
        datasets[name] = curves
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


def _batches(curves: Sequence[Curve], batch_size: int) -> list[Sequence[Curve]]:
    """Split into the fewest batches of at most ``batch_size``, of nearly equal sizes.

    Equal sizes keep the number of distinct array shapes, hence JIT compilations, small
    (e.g. 24 curves at ``batch_size=16`` become 12 + 12 rather than 16 + 8).
    """
    n_batches = -(-len(curves) // batch_size)
    bounds = [round(i * len(curves) / n_batches) for i in range(n_batches + 1)]
    return [curves[a:b] for a, b in itertools.pairwise(bounds)]


def _score(
    method: Method, dataset: str, curve: Curve, prediction: Prediction, seconds: float
) -> tuple[CurveScore, str | None]:
    """Score one prediction; a prediction the metrics reject scores ``nan``."""
    try:
        metrics = score_curve(prediction, curve.y_target)
    except ValueError as error:
        nan = math.nan if method.probabilistic else None
        return CurveScore(method.name, dataset, curve.name, math.nan, nan, nan, seconds), str(error)
    return CurveScore(method.name, dataset, curve.name, seconds=seconds, **metrics), None


def run_study(
    methods: str | Sequence[str],
    datasets: str | Sequence[str],
    out_dir: str | Path,
    *,
    csv_paths: Iterable[str | Path] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    dedupe: str = "error",
) -> StudyResult:
    """Score methods on datasets, resuming from earlier rows, and write the tables.

    For each method and dataset, the curves without a row in ``DIR/per_curve.csv`` are passed
    to the method in batches of at most ``batch_size`` curves (of nearly equal sizes); after
    each batch their scores are appended to the file and fsync'd. Rows are keyed by (method,
    dataset, curve), so an interrupted study resumes where it stopped and a directory may
    hold several studies. At the end
    ``DIR/summary.md`` is rewritten atomically (see the returned ``summary``).

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
        batch_size: Curves per method call.
        progress: Show a tqdm progress bar on stderr (tqdm hides it when stderr is not a
            terminal).
        dedupe: How ``read_curves_csv`` treats repeated x in a CSV curve: ``"error"`` or
            ``"mean"`` (average their y).

    Returns:
        A `StudyResult` with every score of the study and the summary.

    Raises:
        ValueError: For an unknown method or dataset (listing the valid names), a CSV file
            that cannot be used (``CurveDataError``), or an existing ``per_curve.csv`` with
            another header. Nothing is computed before these checks pass.
        LockedError: If another process is running a study in ``out_dir``.
    """
    from tqdm import tqdm

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    method_list = _resolve_methods(methods)
    data = _load_datasets(datasets, csv_paths, dedupe)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_curve_path = out_dir / "per_curve.csv"
    summary_path = out_dir / "summary.md"

    with exclusive_lock(out_dir):
        done: dict[tuple[str, str, str], CurveScore] = {}
        for line, row in enumerate(read_csv_rows(per_curve_path, PER_CURVE_COLUMNS), start=2):
            score = CurveScore.from_row(row, f"{per_curve_path}, line {line}")
            done.setdefault(score.key, score)
        keys = [
            (method.name, dataset, curve.name)
            for method in method_list
            for dataset, curves in data.items()
            for curve in curves
        ]
        n_resumed = sum(key in done for key in keys)
        with tqdm(
            total=len(keys),
            initial=n_resumed,
            unit="curve",
            disable=None if progress else True,
            dynamic_ncols=True,
        ) as bar:
            timings, errors = _run_pending(method_list, data, done, per_curve_path, batch_size, bar)
        scores = tuple(done[key] for key in keys)
        summary = _format_summary(scores, method_list, data, timings, errors)
        atomic_write_text(summary_path, summary)
    return StudyResult(
        scores=scores,
        summary=summary,
        per_curve_path=per_curve_path,
        summary_path=summary_path,
        n_resumed=n_resumed,
        n_computed=len(keys) - n_resumed,
    )


def _run_pending(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    done: dict[tuple[str, str, str], CurveScore],
    per_curve_path: Path,
    batch_size: int,
    bar: Any,
) -> tuple[dict[tuple[str, str], list[_BatchTime]], dict[tuple[str, str], str]]:
    """Score every curve without a row in ``done``, appending rows batch by batch.

    Updates ``done`` in place; returns the batch timings and the first scoring error per
    (method, dataset).
    """
    timings: dict[tuple[str, str], list[_BatchTime]] = {}
    errors: dict[tuple[str, str], str] = {}
    for method in methods:
        for dataset, curves in data.items():
            pending = [c for c in curves if (method.name, dataset, c.name) not in done]
            if not pending:
                continue
            bar.set_description(f"{method.name} on {dataset}")
            for batch in _batches(pending, batch_size):
                tic = time.perf_counter()
                predictions = method(batch)
                seconds = time.perf_counter() - tic
                scores = []
                for curve, prediction in zip(batch, predictions, strict=True):
                    score, error = _score(method, dataset, curve, prediction, seconds / len(batch))
                    scores.append(score)
                    if error is not None:
                        errors.setdefault((method.name, dataset), f"{curve.name}: {error}")
                append_csv_rows(per_curve_path, PER_CURVE_COLUMNS, [s.row() for s in scores])
                done.update((s.key, s) for s in scores)
                timings.setdefault((method.name, dataset), []).append(
                    _BatchTime(len(batch), seconds)
                )
                bar.update(len(batch))
    return timings, errors


def _mean_std(label: str, values: Sequence[float | None], digits: int) -> str:
    mean, std = summarise(values)
    if mean is None:
        return f"{label} –"
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


def _format_summary(
    scores: Sequence[CurveScore],
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    timings: Mapping[tuple[str, str], Sequence[_BatchTime]],
    errors: Mapping[tuple[str, str], str],
) -> str:
    """Render the study as markdown: a method x dataset table, then timing and notes."""
    by_cell: dict[tuple[str, str], list[CurveScore]] = {}
    for score in scores:
        by_cell.setdefault((score.method, score.dataset), []).append(score)
    header = ["method", *(f"{name} ({len(curves)} curves)" for name, curves in data.items())]
    lines = [
        "# Comparison study",
        "",
        "Per-curve metrics over the target points in normalised y-space, then mean ± std over",
        "the curves of each dataset: RMSLE (lower is better) for every method, LL (higher is",
        "better) and MSCE (lower is better) for probabilistic ones. s/curve is wall time per",
        "curve (batch time / batch size, JIT compilation included).",
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

    if timings:
        lines += [
            "",
            "## Timing of this run",
            "",
            "The first batch of each method and dataset includes JIT compilation (unless an",
            "earlier dataset compiled the same shapes); compile ≈ first batch − its size ×",
            "the later batches' s/curve.",
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
                compile_cell = f"{max(first.seconds - first.n_curves * per_curve, 0.0):.3g}"
            else:
                later_cell = compile_cell = "–"
            lines.append(
                f"| {method_name} | {dataset} | {len(batches)} | {first.seconds:.3g} | "
                f"{later_cell} | {compile_cell} |"
            )
    else:
        lines += ["", "Every row was resumed from per_curve.csv; nothing was computed in this run."]

    if errors:
        lines += ["", "## Unscored predictions (first per method and dataset, this run)", ""]
        lines += [f"- {method} on {dataset}: {text}" for (method, dataset), text in errors.items()]
    return "\n".join(lines) + "\n"
