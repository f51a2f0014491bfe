"""Comparison studies: run extrapolation methods over datasets and tabulate the NSL-PFN metrics.

A *method* maps a batch of split curves to one prediction per curve for its target x: a
point array or a [`PredictiveDistribution`][scalebayes.evaluate.PredictiveDistribution].
Methods are named in `METHODS` (add one with `register_method`): the built-in point fits
``"m1"``, ``"m2"``, ``"m3"``, ``"m4"`` and ``"bnsl"``, the MCMC baselines ``"mcmc-m3"``,
``"mcmc-m4"`` and ``"mcmc-bnsl"`` (NUTS, see
[`mcmc_method`][scalebayes.inference.mcmc_method]; ``"mcmc-m3-irw"``, ``"mcmc-m4-irw"`` and
``"mcmc-bnsl-irw"`` with the ``"ou_irw"`` noise model, ``"mcmc-m3-walk"``, ``"mcmc-m4-walk"``
and ``"mcmc-bnsl-walk"`` with ``"ou_walk"``), ``"pfn"`` (the shipped
[`PFN`][scalebayes.pfn.PFN] s as ``scalebayes extrapolate`` answers, by each curve's furthest
target: within ``FAR_SWITCH`` times beyond the context both shipped models weighted per curve
by a back-test on its own runs, [`predict_stacked`][scalebayes.pfn.predict_stacked], and
stretched by ``NEAR_SCALE``; the far model beyond), ``"pfn-switch"`` (the default model
alone within ``FAR_SWITCH``, the far model beyond: the shipped answer before 2026-12-05),
``"pfn-default"`` (the default model, ``DEFAULT_MODEL``, at every distance) and
``"pfn-far"`` (the far model, ``FAR_MODEL``, at every distance) form a constant table built
on first use; nothing is registered at import.

`run_study` scores every (method, dataset, curve) with
[`score_curve`][scalebayes.evaluate.score_curve] in the curves' normalised y-space and
appends one row per curve to ``DIR/per_curve.csv`` as soon as it is scored (fsync'd), so an
interrupted study resumes where it stopped; at the end it rewrites ``DIR/summary.md``. Each
row carries a fingerprint of the curve's data and the method's settings, and a rerun reuses
only rows whose fingerprint matches.

A method's ``fn`` may carry optional attributes the study uses (the built-in methods do):
``settings()`` (a string describing everything besides the data that changes its
predictions, part of the fingerprint; without it, a digest of ``fn``'s code stands in, which
does not see values a closure holds), ``validate(curve)`` (raise ``ValueError`` for a curve
it cannot predict; called for every curve before any work), ``prepare()`` (one-off work,
such as a recalibration's fit, done before the method's first timed batch and only when it
has curves to score), ``batch_size`` (curves per call when the caller gives none) and
``pad_batches`` (pad a dataset's batches to one size with copies of their last curve, so
every call has one shape and compiles once).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._interrupt import raise_if_interrupted
from .._io import append_csv_rows, atomic_write_text, exclusive_lock
from ..evaluate import score_curve
from ._calibration import write_calibration_figure
from ._methods import DEFAULT_BATCH_SIZE, Method, Prediction, _names, _resolve_methods
from ._rows import (
    _INTERVAL_COLUMNS,
    PER_CURVE_COLUMNS,
    CurveScore,
    _fingerprint,
    _mixing,
    _null,
    _read_rows,
)
from ._shared import SharedPredictions, nested_methods, sharing
from ._summary import (
    RECALIBRATION_FILE,
    _BatchTime,
    _format_summary,
    _left_out,
    _recalibration_scales,
    _restore_recalibration_scales,
)

if TYPE_CHECKING:
    from ..data import Curve

__all__ = ["CALIBRATION_PLOT", "StudyResult", "run_study"]

CALIBRATION_PLOT = "calibration.png"
"""The study's calibration picture beside ``summary.md``: per dataset, the reliability diagram
(nominal against empirical coverage of the central intervals) and the PIT histogram of each
probabilistic method, from the ``pit`` counts summed over the curves."""


_MIN_CONTEXT = 2


@dataclass(frozen=True)
class StudyResult:
    """What `run_study` produced.

    Attributes:
        scores: One `CurveScore` per (method, dataset, curve) of the study, in study order
            (methods, then datasets, then curves), whether resumed or computed now.
        summary: The markdown summary written to ``summary.md``.
        per_curve_path: Path of ``per_curve.csv``.
        summary_path: Path of ``summary.md``.
        n_resumed: Rows taken from an earlier run's ``per_curve.csv`` (their fingerprint
            matched).
        n_computed: Rows computed by this run.
        n_stale: Of ``n_computed``, the rows recomputed because ``per_curve.csv`` held a row
            for the same (method, dataset, curve) with another fingerprint (other data or
            method settings).
        calibration_path: Path of ``calibration.png`` (`CALIBRATION_PLOT`), or None when no
            probabilistic method was scored.
    """

    scores: tuple[CurveScore, ...]
    summary: str
    per_curve_path: Path
    summary_path: Path
    n_resumed: int
    n_computed: int
    n_stale: int = 0
    calibration_path: Path | None = None

    def __repr__(self) -> str:  # one line in a notebook; the table is .summary
        methods = len({s.method for s in self.scores})
        curves = len({(s.dataset, s.curve) for s in self.scores})
        return (
            f"StudyResult({len(self.scores)} scores: {methods} method(s) x {curves} curve(s), "
            f"{self.n_computed} computed, {self.n_resumed} resumed; summary in "
            f"{str(self.summary_path)!r})"
        )


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


def _far_curves(curves: Iterable[Curve], factor: float) -> list[Curve]:
    """The far split of every curve that spans enough (see ``scalebayes.data.far_split``)."""
    from ..data import far_split

    out = []
    for curve in curves:
        raw = dataclasses.replace(curve, y=curve.y * curve.y_scale, y_scale=1.0)
        far = far_split(raw, factor)
        if far is not None:
            out.append(far)
    return out


def _load_datasets(
    names: str | Iterable[str],
    csv_paths: Iterable[str | Path],
    dedupe: str,
    split: str = "default",
    columns: dict[str, str | None] | None = None,
    notes: dict[str, str] | None = None,
) -> dict[str, list[Curve]]:
    """Load benchmarks by name and user CSV files into ``{dataset name: curves}``; ``notes``
    (if given) receives each dataset's split, in words, for the summary.

    With a far split (``"far10"``, ``"far100"``), every curve is re-split by
    ``scalebayes.data.far_split`` and the dataset is named ``NAME:far10``; curves that do not
    span enough are left out, and a dataset left with no curve is an error.
    """
    from ..data import (
        BENCHMARK_SPLITS,
        BENCHMARKS,
        load_benchmark,
        load_far_benchmark,
        parse_split,
        read_curves_csv,
    )

    if isinstance(csv_paths, str | os.PathLike):  # one file, not the characters of its name
        csv_paths = [csv_paths]
    if names is None:
        raise TypeError(
            "datasets must be benchmark names (a list or a comma-separated string; '' for "
            "none), got None"
        )
    columns = columns or {}
    factor = parse_split(split)
    suffix = "" if factor is None else f":far{factor}"  # FAR10 and far010 resume as far10

    names = list(dict.fromkeys(name.lower() for name in _names(names, "datasets")))
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise ValueError(
            f"unknown dataset(s) {', '.join(map(repr, unknown))}; valid datasets: "
            f"{', '.join(BENCHMARKS)}, or CSV files given with csv_paths (command line: --csv)"
        )
    notes = {} if notes is None else notes
    far_words = (
        None
        if factor is None
        else f"far{factor:g}: context at or below x_max / {factor:g} thinned to 8 log-spaced "
        "points, targets the top half-decade"
    )
    datasets = {}
    for name in names:
        if factor is None:
            curves = list(load_benchmark(name))
            notes[name] = BENCHMARK_SPLITS[name]
        else:
            curves = load_far_benchmark(name, factor)
            notes[name + suffix] = far_words + _left_out(len(load_benchmark(name)), len(curves))
        for curve in curves:
            _check_split(curve, f"benchmark {name!r}")
        datasets[name + suffix] = curves
    seen: set[Path] = set()
    for path in map(Path, csv_paths):
        name = path.name + suffix
        if "|" in path.name:
            raise ValueError(
                f"the CSV file name {path.name!r} has a '|', which names the dataset in the "
                "summary's markdown tables and would split their columns; rename the file"
            )
        if path.resolve() in seen:
            raise ValueError(f"the CSV file {path} is given twice; give it once")
        seen.add(path.resolve())
        if name in datasets:
            raise ValueError(
                f"two datasets are named {name!r}; rename one of the CSV files ({path})"
            )
        curves = []
        if factor is not None:
            read = read_curves_csv(path, dedupe=dedupe, **columns)
            curves = _far_curves(read, factor)
            had_split = any(c.is_context is not None for c in read)
            notes[name] = (
                far_words
                + (" (the file's split column is not read)" if had_split else "")
                + _left_out(len(read), len(curves))
            )
            kept = {c.name for c in curves}
            left = [c.name for c in read if c.name not in kept]
            if left and curves:  # none kept is the error below
                shown = ", ".join(map(repr, left[:5])) + (" ..." if len(left) > 5 else "")
                warnings.warn(
                    f"{path}: the far{factor:g} split leaves out {len(left)} of {len(read)} "
                    f"curves that do not span enough (3 points at or below x_max / {factor:g} "
                    f"and targets in the top half-decade): {shown}",
                    UserWarning,
                    stacklevel=3,
                )
        else:
            from_file = 0
            for curve in read_curves_csv(path, dedupe=dedupe, **columns):
                if curve.is_context is None:
                    curve = curve.with_default_split(0.3)
                else:
                    from_file += 1
                _check_split(curve, str(path))
                curves.append(_normalise(curve))
            notes[name] = (
                "the file's split column"
                if from_file
                else "no split column: the last 30% of each curve's points by x"
            )
        datasets[name] = curves
    empty = [name for name, curves in datasets.items() if not curves]
    if empty:
        raise ValueError(
            f"no curve of {', '.join(map(repr, empty))} spans enough for the far{factor} split "
            f"(it needs 3 points at or below x_max / {factor:g}); drop it or use a nearer split"
        )
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


def _storable(text: str) -> bool:
    """Whether ``append_csv_rows`` can write ``text`` as a cell (no line break, valid UTF-8)."""
    if "\n" in text or "\r" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from undecodable file names
        return False
    return True


def _check_out_dir(out_dir: Path) -> None:
    """Refuse an ``out_dir`` that is, or lies under, an existing file, or where one of the
    study's files is a directory (before any work)."""
    for name in ("per_curve.csv", "summary.md", CALIBRATION_PLOT, RECALIBRATION_FILE):
        if (out_dir / name).is_dir():
            raise ValueError(
                f"{out_dir / name} is a directory, where the study writes its {name}; move it "
                "away or give another out_dir (command line: --out)"
            )
    for path in (out_dir, *out_dir.parents):
        if path.exists():
            if path == out_dir and not path.is_dir():
                raise ValueError(
                    f"out_dir (command line: --out) {out_dir} is a file; give a directory"
                )
            if not path.is_dir():
                raise ValueError(
                    f"out_dir (command line: --out) {out_dir} lies under the file {path}; give a "
                    "directory"
                )
            return


def _target_points(curve: Curve) -> set[tuple[float, float]]:
    """A curve's targets in its caller's units (y times ``y_scale``), rounded to 1e-9 in logs:
    the same runs match however a study normalised or split them."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.round(np.log(np.asarray(curve.x_target, np.float64)), 9)
        y = np.round(np.log(np.asarray(curve.y_target, np.float64) * curve.y_scale), 9)
    return set(zip(x.tolist(), y.tolist(), strict=True))


def _references(method: Method) -> Iterable[Curve]:
    """The reference curves a method was fitted on (a recalibration's), through mixtures and
    recalibrations of recalibrations."""
    for inner in nested_methods(method):
        yield from getattr(inner.fn, "reference", ())


def _check_out_of_sample(methods: Sequence[Method], data: Mapping[str, Sequence[Curve]]) -> None:
    """A recalibrated method must not score targets its scale was fitted on (its intervals
    would be judged on their own fit): any shared target point refuses it."""
    scored = [(dataset, c.name, _target_points(c)) for dataset, cs in data.items() for c in cs]
    for method in methods:
        fitted: set[tuple[float, float]] = set()
        for curve in _references(method):
            fitted |= _target_points(curve)
        both = [(d, n) for d, n, points in scored if fitted and not points.isdisjoint(fitted)]
        if both:
            shown = ", ".join(f"{d}:{n}" for d, n in both[:3]) + (" ..." if len(both) > 3 else "")
            raise ValueError(
                f"method {method.name!r} was recalibrated on targets of {len(both)} of the "
                f"curves it would score ({shown}): fit its scale on other curves (e.g. leave "
                "one dataset out)"
            )


def _check_inputs(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    notes: dict[str, str] | None = None,
) -> dict[str, list[Curve]]:
    """Check every name and every curve against every method before any work; the data
    without the curves some method cannot predict (e.g. two context points for a three-point
    minimum), each left out with a ``UserWarning`` and a note on its dataset in ``notes``, so
    that every method scores the same curves (a review: one short curve of a user's file
    stopped the whole study).

    Raises:
        ValueError: Naming the first method, dataset or curve that cannot be stored, or a
            dataset none of whose curves every method can predict.
    """
    kept: dict[str, list[Curve]] = {}
    for method in methods:
        if not _storable(method.name):
            raise ValueError(f"method name {method.name!r} cannot be stored in per_curve.csv")
    for dataset, curves in data.items():
        if not _storable(dataset):
            raise ValueError(
                f"dataset name {dataset!r} cannot be stored in per_curve.csv (it holds a line "
                "break or is not valid UTF-8); rename the file"
            )
        keep, left = [], []
        for curve in curves:
            if not _storable(curve.name):
                raise ValueError(
                    f"dataset {dataset!r}: curve name {curve.name!r} cannot be stored in "
                    "per_curve.csv (it holds a line break or is not valid UTF-8); rename it"
                )
            why = None
            for method in methods:
                try:
                    method.validate(curve)
                except ValueError as error:
                    why = f"method {method.name!r} cannot predict it: {error}"
                    break
            (keep if why is None else left).append((curve, why))
        if left and not keep:
            curve, why = left[0]
            raise ValueError(f"dataset {dataset!r}, curve {curve.name!r}: {why}")
        if left:
            shown = "; ".join(f"{c.name!r}: {why}" for c, why in left[:2])
            more = f"; and {len(left) - 2} more" if len(left) > 2 else ""
            warnings.warn(
                f"dataset {dataset!r}: {len(left)} of {len(curves)} curves left out, which not "
                f"every method can predict ({shown}{more})",
                UserWarning,
                stacklevel=3,
            )
            if notes is not None:
                names = ", ".join(repr(c.name) for c, _ in left[:5])
                names += " ..." if len(left) > 5 else ""
                said = (
                    f"{len(left)} of {len(curves)} curves left out that not every method can "
                    f"predict ({names})"
                )
                notes[dataset] = f"{notes[dataset]}; {said}" if notes.get(dataset) else said
        kept[dataset] = [curve for curve, _ in keep]
    return kept


def _batches(curves: Sequence[Curve], batch_size: int) -> list[list[Curve]]:
    """Sort by length (context points, then all points); split into balanced batches.

    Sorting puts curves of similar lengths together, so a batch is padded little and the
    batches of a dataset land in few shape buckets (hence few JIT compilations). The batches
    are the fewest of at most ``batch_size`` curves, of nearly equal sizes (e.g. 72 curves at
    ``batch_size=64`` become 36 + 36, not 64 + 8): for a power-of-two ``batch_size`` and more
    curves than that, every batch then falls in the bucket of ``batch_size`` (more than half
    of it), and no batch is mostly padding.
    """
    ordered = sorted(curves, key=lambda c: (c.n_context, c.n))
    n_batches = -(-len(ordered) // batch_size)
    bounds = [round(i * len(ordered) / n_batches) for i in range(n_batches + 1)]
    return [ordered[a:b] for a, b in itertools.pairwise(bounds)]


def _score(
    method: Method,
    dataset: str,
    curve: Curve,
    prediction: Prediction,
    seconds: float,
    fingerprint: str,
) -> tuple[CurveScore, str | None]:
    """Score one prediction; a prediction the metrics reject scores ``nan``."""
    try:
        metrics = score_curve(prediction, curve.y_target)
    except ValueError as error:
        nan = math.nan if method.probabilistic else None
        score = CurveScore(method.name, dataset, curve.name, math.nan, nan, nan, seconds)
        intervals = dict.fromkeys(_INTERVAL_COLUMNS, nan)
        score = dataclasses.replace(
            score, fingerprint=fingerprint, **intervals, **_mixing(prediction)
        )
        reason = str(error)
        if not method.probabilistic:  # the metrics call a point prediction the median
            reason = reason.replace("`median`", "the point prediction")
        return score, reason
    score = CurveScore(
        method.name,
        dataset,
        curve.name,
        seconds=seconds,
        fingerprint=fingerprint,
        **metrics,
        **_mixing(prediction),
        **_null(prediction),
    )
    return score, None


def run_study(
    methods: str | Sequence[str],
    datasets: str | Sequence[str],
    out_dir: str | Path,
    *,
    csv_paths: Iterable[str | Path] = (),
    batch_size: int | None = None,
    progress: bool = True,
    dedupe: str = "error",
    split: str = "default",
    x_column: str | None = None,
    y_column: str | None = None,
    curve_column: str | None = None,
) -> StudyResult:
    """Score methods on datasets, resuming from earlier rows, and write the tables.

    For each method and dataset, the curves without a matching row in ``DIR/per_curve.csv``
    are sorted by length and passed to the method in the fewest batches of at most
    ``batch_size`` curves, of nearly equal sizes (a method with ``pad_batches`` gets the
    smaller ones padded with a copy of their last curve, so every call of a dataset has one
    shape and compiles once); each curve's score is
    appended to the file and fsync'd. Rows are keyed by (method, dataset, curve) and carry a
    fingerprint of the curve's data (x, y, split, y_scale) and the method's settings: a rerun
    reuses a row only if its fingerprint matches, and recomputes (and appends) the others, so
    an interrupted study resumes where it stopped, a changed data file or method is never
    scored from stale rows, and a directory may hold several studies. A method that also
    occurs inside another of the study's methods (the base of ``M+cal``, a mixture's member)
    predicts each batch once when both ask for the same batch (a mixture asks its members
    in the smallest of their batch sizes; a method that pads its batches is not shared); the
    other reuses it, timed with the seconds it took. A recalibrated method's fitted scale is
    written to ``DIR/recalibration.json`` (`RECALIBRATION_FILE`) as soon as it is fitted, and
    a rerun with the same settings takes it from there instead of predicting the reference
    curves again. At the end ``DIR/summary.md`` is rewritten atomically (see the returned
    ``summary``), and ``DIR/calibration.png`` (`CALIBRATION_PLOT`: reliability diagrams and PIT
    histograms of the probabilistic methods) beside it.

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
        batch_size: Curves per method call; None (default) uses each method's own
            ``batch_size`` (64 for the point fits, 16 for MCMC, 256 for the PFN), else
            `DEFAULT_BATCH_SIZE`.
        progress: Show a tqdm progress bar on stderr (tqdm hides it when stderr is not a
            terminal).
        dedupe: How ``read_curves_csv`` treats repeated x in a CSV curve: ``"error"`` or
            ``"mean"`` (average their y).
        split: ``"default"`` (each dataset's own split: the NSL-PFN protocol for the
            benchmarks) or a far-extrapolation split, ``"far10"`` / ``"far100"`` (any
            ``"farF"``): the context is the points at or below ``x_max / F`` thinned to 8
            log-spaced points, the targets the points in the top half-decade, y divided by
            the context's largest y (see ``docs/far-split.md``); datasets are then named
            ``NAME:farF`` and curves that do not span enough are left out.
        x_column: The column of every CSV file that holds x, when it is not named ``x``
            (``read_curves_csv``'s ``x_column``).
        y_column: The column that holds y, when it is not named ``y`` or ``loss``.
        curve_column: The column that names the curves, when it is not named ``curve``.

    Returns:
        A `StudyResult` with every score of the study and the summary.

    Raises:
        ValueError: For an unknown method or dataset (listing the valid names), a CSV file
            that cannot be used (``CurveDataError``), a name that ``per_curve.csv`` cannot
            hold (a line break), a dataset none of whose curves every method can predict
            (e.g. too few context points; naming the dataset and curve: a dataset where
            only some curves are so is scored without them, with a ``UserWarning`` and a
            note in the summary), an ``out_dir`` that is a file, or an
            existing ``per_curve.csv`` with another header (including one without the
            fingerprint column). Nothing is computed before these checks pass.
        LockedError: If another process is running a study in ``out_dir``.
    """
    from tqdm import tqdm

    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer or None; got {batch_size!r}")
    method_list = _resolve_methods(methods)
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    columns = {"x_column": x_column, "y_column": y_column}
    if curve_column is not None:
        columns["curve_column"] = curve_column
    split_notes: dict[str, str] = {}
    data = _load_datasets(datasets, csv_paths, dedupe, split, columns, notes=split_notes)
    sizes = {m.name: batch_size or m.batch_size or DEFAULT_BATCH_SIZE for m in method_list}
    settings = {method.name: method.settings() for method in method_list}
    data = _check_inputs(method_list, data, split_notes)
    _check_out_of_sample(method_list, data)
    fingerprints = {
        (method.name, dataset, curve.name): _fingerprint(method.name, settings[method.name], curve)
        for method in method_list
        for dataset, curves in data.items()
        for curve in curves
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    per_curve_path = out_dir / "per_curve.csv"
    summary_path = out_dir / "summary.md"

    recalibration_path = out_dir / RECALIBRATION_FILE
    with exclusive_lock(out_dir):
        restored = _restore_recalibration_scales(method_list, recalibration_path)
        stored = _read_rows(per_curve_path)
        probabilistic = {m.name: m.probabilistic for m in method_list}
        done = {  # a row of the other kind (a point row for a predictive) is recomputed
            key: stored[(key, fp)]
            for key, fp in fingerprints.items()
            if (key, fp) in stored and (stored[(key, fp)].ll is not None) == probabilistic[key[0]]
        }
        if len(done) < len(fingerprints):
            # a file (or directory) that cannot take a row is said now, not after the first
            # batch's work
            existed = per_curve_path.exists()
            with open(per_curve_path, "ab"):
                pass
            if not existed:
                per_curve_path.unlink()
        n_resumed = len(done)
        stale_keys = {key for key, _ in stored} - set(done)
        n_stale = sum(key in stale_keys for key in fingerprints)
        with tqdm(
            total=len(fingerprints),
            initial=n_resumed,
            unit="curve",
            disable=None if progress else True,
            dynamic_ncols=True,
        ) as bar:
            plan = {m.name: list(_pending_calls(m, data, done, sizes[m.name])) for m in method_list}
            calls = [(m, call) for m in method_list for _, c, _ in plan[m.name] for _, call in c]
            with sharing(calls) as shared:
                timings, errors = _run_pending(
                    method_list,
                    plan,
                    done,
                    fingerprints,
                    per_curve_path,
                    bar,
                    shared,
                    lambda: _recalibration_scales(method_list, recalibration_path, restored),
                )
        scores = tuple(done[key] for key in fingerprints)
        asked = {(m.name, d) for m in method_list for d in data}
        others = sorted({(m, d) for (m, d, _), _ in stored} - asked)
        scales = _recalibration_scales(method_list, recalibration_path, restored)
        summary = _format_summary(
            scores, method_list, data, timings, errors, n_stale, others, split_notes, scales
        )
        calibration = write_calibration_figure(scores, list(data), out_dir / CALIBRATION_PLOT)
        # scored probabilistic rows without PIT counts (rows the method could not score have
        # none to show)
        unpictured = sum(
            s.ll is not None and s.pit is None and not math.isnan(s.rmsle) for s in scores
        )
        if calibration is None:  # not this study's picture: an earlier one's would mislead
            (out_dir / CALIBRATION_PLOT).unlink(missing_ok=True)
            if unpictured:
                summary += (
                    "\nNo calibration picture: the probabilistic rows resumed here predate the "
                    "`pit` column of per_curve.csv; move the file away and rerun to recompute "
                    "them with it.\n"
                )
        else:
            summary += (
                f"\nCalibration (reliability diagram and PIT histogram per dataset, from the "
                f"`pit` column, every target of a dataset pooled, where the coverage columns "
                f"above average per curve): ![calibration]({CALIBRATION_PLOT})\n"
            )
            if unpictured:
                summary += (
                    f"The picture leaves out {unpictured} scored row(s) resumed from before the "
                    "`pit` column of per_curve.csv; move the file away and rerun to recompute "
                    "them with it.\n"
                )
        atomic_write_text(summary_path, summary)
    return StudyResult(
        scores=scores,
        summary=summary,
        per_curve_path=per_curve_path,
        summary_path=summary_path,
        n_resumed=n_resumed,
        n_computed=len(fingerprints) - n_resumed,
        n_stale=n_stale,
        calibration_path=calibration,
    )


def _pending_calls(
    method: Method,
    data: Mapping[str, Sequence[Curve]],
    done: Mapping[tuple[str, str, str], CurveScore],
    size: int,
) -> Iterator[tuple[str, list[tuple[list[Curve], list[Curve]]], tuple[int, int]]]:
    """The calls that score ``method``'s curves without a row in ``done``: per dataset with
    any, ``(dataset, [(batch, call), ...], shape)``, ``call`` being the batch padded (with
    copies of its last curve) where the method pads, and ``shape`` the ``pad_to`` of its
    calls."""
    for dataset, curves in data.items():
        pending = [c for c in curves if (method.name, dataset, c.name) not in done]
        if not pending:
            continue
        batches = _batches(pending, size)
        # Balanced batches differ in size by at most one curve; padding the smaller ones
        # (with copies of their longest curve) gives every call of the dataset one shape.
        padded_size = max(len(batch) for batch in batches)
        # the whole dataset's longest curve, not the pending ones': a resumed study pads (and
        # so fits) as an uninterrupted one does
        shape = (max(c.n_context for c in curves), max(c.x_target.size for c in curves))
        pad = method.pad_batches
        calls = [(b, b + [b[-1]] * (padded_size - len(b)) if pad else list(b)) for b in batches]
        yield dataset, calls, shape


def _run_pending(
    methods: Sequence[Method],
    plan: Mapping[str, Sequence[tuple[str, list[tuple[list[Curve], list[Curve]]], tuple]]],
    done: dict[tuple[str, str, str], CurveScore],
    fingerprints: Mapping[tuple[str, str, str], str],
    per_curve_path: Path,
    bar: Any,
    shared: SharedPredictions,
    record_scales: Callable[[], object],
) -> tuple[dict[tuple[str, str], list[_BatchTime]], dict[tuple[str, str], str]]:
    """Make the calls of ``plan`` (per method, `_pending_calls`: the curves without a row in
    ``done``), appending each row as it is scored; ``record_scales`` keeps a recalibration's
    fit as soon as it is made (a study stopped after it resumes without refitting).

    Updates ``done`` in place; returns the batch timings and the first scoring error per
    (method, dataset). A batch whose predictions another method of the study made already
    (``shared``) is timed with the seconds they took.
    """
    timings: dict[tuple[str, str], list[_BatchTime]] = {}
    errors: dict[tuple[str, str], str] = {}
    for method in methods:
        for dataset, calls, shape in plan[method.name]:
            bar.set_description(f"{method.name} on {dataset}")
            method.prepare()  # untimed one-off work (cached by the method: once per study)
            record_scales()
            for batch, call in calls:
                raise_if_interrupted()  # a Ctrl-C that a callback swallowed stops here
                last = batch[-1]
                tic = time.perf_counter()
                predictions = method(call, pad_to=shape)[: len(batch)]
                seconds = time.perf_counter() - tic + shared.take_credit()
                for curve, prediction in zip(batch, predictions, strict=True):
                    key = (method.name, dataset, curve.name)
                    score, error = _score(
                        method, dataset, curve, prediction, seconds / len(batch), fingerprints[key]
                    )
                    if error is not None:
                        errors.setdefault((method.name, dataset), f"{curve.name}: {error}")
                    # kept as soon as scored (scoring a long curve can take seconds), forced to
                    # disk once a batch (an fsync a row costs thousands of point fits seconds)
                    append_csv_rows(
                        per_curve_path, PER_CURVE_COLUMNS, [score.row()], sync=curve is last
                    )
                    done[score.key] = score
                timings.setdefault((method.name, dataset), []).append(
                    _BatchTime(len(batch), seconds)
                )
                bar.update(len(batch))
    return timings, errors
