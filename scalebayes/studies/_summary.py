"""The study's ``summary.md``: the tables of means, intervals, medians, chains, nulls and
recalibration, formatted from the rows."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._checks import is_finite_real
from .._io import atomic_write_text
from ..evaluate import summarise
from ..inference import MIXING
from ._methods import Method
from ._rows import _INTERVAL_COLUMNS, CurveScore
from ._shared import nested_methods

if TYPE_CHECKING:
    from ..data import Curve

__all__ = ["RECALIBRATION_FILE"]


@dataclass(frozen=True)
class _BatchTime:
    """The wall time of one batch of a method's curves."""

    n_curves: int
    seconds: float


def _mean_std(label: str, values: Sequence[float | None], digits: int) -> str:
    mean, std = summarise(values)
    if mean is None:
        return f"{label} –"
    if sum(v is not None for v in values) == 1:  # one curve: no spread over curves to show
        return f"{label} {mean:.{digits}f}"
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


def _cells(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
    keep: Callable[[CurveScore], bool],
) -> Iterator[tuple[Method, str, list[CurveScore]]]:
    """``(method, dataset, scores)`` per method and dataset, its scores filtered by ``keep``;
    cells left empty are skipped."""
    for method in methods:
        for name in data:
            cell = [s for s in by_cell.get((method.name, name), []) if keep(s)]
            if cell:
                yield method, name, cell


def _recalibrated(methods: Sequence[Method]) -> list[Method]:
    """The recalibrated methods (``calibrated``) among ``methods``, in mixtures too."""
    inside = {m.name: m for top in methods for m in nested_methods(top)}
    keys = ("base", "reference", "level", "weight")
    return [m for m in inside.values() if all(hasattr(m.fn, a) for a in keys)]


RECALIBRATION_FILE = "recalibration.json"
"""Beside ``per_curve.csv``: each recalibrated method's fitted scale, keyed by a hash of its
settings (base, level, weighting, reference data), written as soon as it is fitted: a resumed
study takes it back instead of refitting, and one whose rows all resume still reports the
scale that made them."""


def _valid_scale(value: object) -> bool:
    """Whether a recorded scale is a finite number > 0 (not a bool)."""
    return is_finite_real(value) and value > 0


def _recorded_scales(path: Path) -> dict:
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _scale_key(method: Method) -> str:
    return hashlib.sha256(method.settings().encode()).hexdigest()[:16]


def _restore_recalibration_scales(methods: Sequence[Method], path: Path) -> frozenset[str]:
    """Give each recalibrated method not yet fitted the scale an earlier run with the same
    settings recorded in ``path``, so that a resumed study does not refit it (for a NUTS base,
    hours of predicting the reference curves); returns the names of the methods restored."""
    recorded = _recorded_scales(path)
    restored = set()
    for method in _recalibrated(methods):
        value = recorded.get(_scale_key(method))
        if "scale" not in vars(method.fn) and _valid_scale(value):
            vars(method.fn)["scale"] = float(value)  # the cached_property's own slot
            restored.add(method.name)
    return frozenset(restored)


def _recalibration_scales(
    methods: Sequence[Method], path: Path, restored: frozenset[str] = frozenset()
) -> dict[str, tuple[float, bool]]:
    """Method name -> (scale, fitted in this run) for each recalibrated method whose scale
    is known: fitted now (and then recorded in ``path``, atomically) or recorded by an earlier
    run with the same settings (``restored`` names those given back to their methods)."""
    recorded = _recorded_scales(path)
    out, changed = {}, False
    for method in _recalibrated(methods):
        key = _scale_key(method)
        fitted = method.fn.__dict__.get("scale")  # fitted in this run, restored, or neither
        if fitted is not None and method.name in restored:
            out[method.name] = (float(fitted), False)
        elif fitted is not None:
            out[method.name] = (float(fitted), True)
            changed |= recorded.get(key) != float(fitted)
            recorded[key] = float(fitted)
        elif _valid_scale(recorded.get(key)):  # a damaged value counts as not recorded
            out[method.name] = (float(recorded[key]), False)
    if changed:
        atomic_write_text(path, json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    return out


def _recalibration_table(
    methods: Sequence[Method], scales: Mapping[str, tuple[float, bool]]
) -> list[str]:
    """The recalibrated methods' scales and what they were fitted on (``calibrated``)."""
    rows = []
    for method in _recalibrated(methods):
        fn = method.fn
        scale, now = scales.get(method.name, (None, False))
        if scale is None:
            shown = "not fitted (every row resumed)"
        else:
            shown = f"{scale:.4g}" + ("" if now else " (fitted by an earlier run)")
        sets = ", ".join(dict.fromkeys(c.dataset for c in fn.reference))
        rows.append(
            f"| {method.name} | {fn.base.name} | {sets} ({len(fn.reference)} curves) | "
            f"{fn.level:g} | {fn.weight} | {shown} |"
        )
    return _section(
        "Recalibration",
        [
            "Each recalibrated method is its base's predictive stretched by one scale in log y",
            "around the median, fitted by split-conformal prediction on the reference curves",
            "(studies.calibrated).",
        ],
        "| method | base | reference | level | weighting | scale |",
        rows,
    )


def _section(title: str, intro: Sequence[str], header: str, rows: Sequence[str]) -> list[str]:
    """Markdown lines of a titled table (``header`` a row of column names), or none without
    rows."""
    if not rows:
        return []
    n_columns = header.count("|") - 1
    return ["", f"## {title}", "", *intro, "", header, "|" + "---|" * n_columns, *rows]


def _interval_table(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
) -> list[str]:
    """Markdown lines: coverage and width of the 50% / 90% intervals and CRPS per cell."""

    def scored(s: CurveScore) -> bool:
        return s.cov90 is not None and math.isfinite(s.cov90)

    rows = []
    for method, name, cell in _cells(methods, data, by_cell, scored):
        means = [summarise([getattr(s, column) for s in cell])[0] for column in _INTERVAL_COLUMNS]
        cov50, cov90, width50, width90, crps = means
        rows.append(
            f"| {method.name} | {name} | {len(cell)} | {cov50:.3f} | {width50:.4g} | "
            f"{cov90:.3f} | {width90:.4g} | {crps:.4g} |"
        )
    return _section(
        "Intervals and CRPS",
        [
            "Coverage: the fraction of a curve's targets inside their central interval (nominal",
            "0.5 and 0.9), width: the interval's mean width, CRPS: quantile-grid estimate (20",
            "levels) of the continuous ranked probability score (a proper score in y's units;",
            "lower is better); all in normalised y, averaged over the curves (each curve weighs",
            "the same).",
        ],
        "| method | dataset | curves | cov50 | width50 | cov90 | width90 | CRPS |",
        rows,
    )


def _cell_text(text: str) -> str:
    """``text`` for a markdown table cell: its ``|`` escaped (curve names such as IC's
    ``cal_5|MiX/B/16`` hold one)."""
    return text.replace("|", "\\|")


def _left_out(n_read: int, n_kept: int) -> str:
    """The Data table's words for the curves a far split drops ("" if none)."""
    if n_kept >= n_read:
        return ""
    return f"; {n_read - n_kept} of {n_read} curves left out (they do not span enough)"


def _data_table(data: Mapping[str, Sequence[Curve]], notes: Mapping[str, str]) -> list[str]:
    """Markdown lines: per dataset, its curves and targets, how they were split (``notes``)
    and what y the metrics read."""
    rows = []
    for name, curves in data.items():
        split = _cell_text(notes.get(name, "–"))
        scaled = sum(c.y_scale != 1.0 for c in curves)
        if scaled == len(curves):
            y = "divided by each curve's largest context y"
        elif scaled:
            y = (
                f"divided by the largest context y on {scaled} of {len(curves)} curves, the "
                "others as given"
            )
        else:
            y = "as given"
        targets = sum(c.n - c.n_context for c in curves)
        rows.append(f"| {name} | {len(curves)} | {targets} | {split} | {y} |")
    return _section(
        "Data",
        [
            "What each dataset's curves were scored on: the targets, how the points were split",
            "into context and targets, and the y the metrics read (interval widths and CRPS",
            'are in these units; "divided" means divided by the largest y among the curve\'s',
            "context points, as the NSL-PFN protocol does for DD and Nano; IC and NLP are",
            "already in (0, 1]).",
        ],
        "| dataset | curves | targets | split | y |",
        rows,
    )


def _median_table(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
) -> list[str]:
    """Markdown lines: per cell the median RMSLE (LL, MSCE) over curves and the curve with
    the largest RMSLE, which a mean ± std hides or is driven by."""

    def scored(s: CurveScore) -> bool:
        return math.isfinite(s.rmsle)

    rows = []
    for method, name, cell in _cells(methods, data, by_cell, scored):
        worst = max(cell, key=lambda s: s.rmsle)
        ll, msce = (
            (_median_cell([s.ll for s in cell], 3), _median_cell([s.msce for s in cell], 4))
            if method.probabilistic
            else ("–", "–")
        )
        rows.append(
            f"| {method.name} | {name} | {len(cell)} | "
            f"{_median_cell([s.rmsle for s in cell], 4)} | {ll} | {msce} | "
            f"{worst.rmsle:.4f} ({_cell_text(worst.curve)}) |"
        )
    return _section(
        "Medians over curves",
        [
            "The median of each per-curve metric over a dataset's curves (half the curves score",
            "better), and the curve with the largest RMSLE: one curve far off moves a mean and",
            "its ± std, not the median.",
        ],
        "| method | dataset | curves | RMSLE | LL | MSCE | largest RMSLE (curve) |",
        rows,
    )


def _median_cell(values: Iterable[float | None], digits: int) -> str:
    # an infinite score counts (a curve at LL -inf is the median's business), a missing one not
    known = [v for v in values if v is not None and not math.isnan(v)]
    return f"{float(np.median(known)):.{digits}f}" if known else "–"


def _mean_cell(group: Sequence[CurveScore], column: str, digits: int) -> str:
    mean = summarise([getattr(s, column) for s in group])[0]
    return "–" if mean is None else f"{mean:.{digits}f}"


def _chain_table(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
) -> list[str]:
    """Markdown lines: per MCMC cell, how many curves' chains mixed, and the scores of the
    curves whose chains mixed beside those of the others."""
    rows = []
    for method, name, cell in _cells(methods, data, by_cell, lambda s: s.mixed is not None):
        mixed = [s for s in cell if s.mixed]
        unmixed = [s for s in cell if not s.mixed]
        scores = " | ".join(
            f"{_mean_cell(mixed, column, digits)} / {_mean_cell(unmixed, column, digits)}"
            for column, digits in (("rmsle", 4), ("ll", 3), ("msce", 4))
        )
        medians = " | ".join(
            _median_cell((getattr(s, column) for s in cell), digits)
            for column, digits in (("r_hat", 3), ("ess_bulk", 0), ("ess_tail", 0))
        )
        diverging = sum(s.divergences is not None and s.divergences > 0 for s in cell)
        rows.append(
            f"| {method.name} | {name} | {len(cell)} | {len(mixed)} | {medians} | "
            f"{diverging} | {scores} |"
        )
    return _section(
        "Chain mixing",
        [
            "Curves whose NUTS chains mixed by `scalebayes.inference.check_mixing` (R-hat <= "
            f"{MIXING['r_hat_max']},",
            f"bulk and tail ESS >= {MIXING['ess_min']:.0f} over all chains, at most "
            f"{MIXING['divergent_share']:.0%} divergent draws;",
            "R-hat and ESS are the worst over the latents, medians over curves), and the mean",
            "scores of the curves that mixed / did not. The tables above include every curve:",
            "where few mixed, read them as figures of the sampler, not of the model.",
        ],
        "| method | dataset | curves | mixed | median R-hat | median bulk ESS | median tail ESS "
        "| with divergences | RMSLE mixed / not | LL mixed / not | MSCE mixed / not |",
        rows,
    )


def _null_table(
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    by_cell: Mapping[tuple[str, str], Sequence[CurveScore]],
) -> list[str]:
    """Markdown lines: per cell with null columns, the observed MSCE beside the null's."""

    def with_null(s: CurveScore) -> bool:
        return s.msce_null is not None and s.msce is not None and math.isfinite(s.msce)

    rows = []
    for method, name, cell in _cells(methods, data, by_cell, with_null):
        above = sum(s.msce > s.msce_null95 for s in cell)
        rows.append(
            f"| {method.name} | {name} | {len(cell)} | {_mean_cell(cell, 'msce', 4)} | "
            f"{_mean_cell(cell, 'msce_null', 4)} | {above} |"
        )
    return _section(
        "MSCE against the model's own law",
        [
            "A curve's targets are correlated, so a calibrated method does not score MSCE 0.",
            "For each curve, the MSCE the method would score if it were right: its predictive",
            "against 200 joint paths drawn from it (`evaluate.calibrated_msce`). Means over",
            "curves, and the curves whose MSCE lies above their null's 95th percentile (about",
            "5% if calibrated).",
        ],
        "| method | dataset | curves | MSCE | null MSCE | curves above the null's 95th pct. |",
        rows,
    )


def _format_summary(
    scores: Sequence[CurveScore],
    methods: Sequence[Method],
    data: Mapping[str, Sequence[Curve]],
    timings: Mapping[tuple[str, str], Sequence[_BatchTime]],
    errors: Mapping[tuple[str, str], str],
    n_stale: int = 0,
    others: Sequence[tuple[str, str]] = (),
    notes: Mapping[str, str] | None = None,
    scales: Mapping[str, tuple[float, bool]] | None = None,
) -> str:
    """Render the study as markdown: a method x dataset table, then timing and notes;
    ``others`` are the (method, dataset) pairs per_curve.csv holds from other studies;
    ``scales`` the recalibrated methods' scales (`_recalibration_scales`)."""
    by_cell: dict[tuple[str, str], list[CurveScore]] = {}
    for score in scores:
        by_cell.setdefault((score.method, score.dataset), []).append(score)
    header = [
        "method",
        *(f"{name} ({len(c)} curve{'s' * (len(c) != 1)})" for name, c in data.items()),
    ]
    lines = [
        "# Comparison study",
        "",
        "Per-curve metrics over the target points in normalised y-space (see Data below), then",
        "mean ± std (population, ddof 0) over the curves of each dataset: RMSLE (lower is",
        "better) for every method, LL (mean log density per target, in this y; higher is",
        "better) and MSCE (mean squared gap between the nominal and the observed coverage of",
        "the central intervals at levels 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99; lower is better)",
        "for probabilistic ones. MSCE is not a proper score: a curve's targets are correlated,",
        "so a calibrated method does not score 0, and intervals that are too wide can score",
        "lower (a curve whose targets all lie inside every interval scores 0.0789); read it",
        "with the coverage columns below (evaluate.calibrated_msce gives a model's own",
        "reference). s/curve is the",
        "wall time of the method's predictions per curve (batch time / batch size, JIT",
        "compilation included, so a dataset's first batch carries it; scoring excluded).",
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

    lines += _data_table(data, notes or {})
    lines += _median_table(methods, data, by_cell)
    lines += _interval_table(methods, data, by_cell)
    lines += _null_table(methods, data, by_cell)
    lines += _chain_table(methods, data, by_cell)
    lines += _recalibration_table(methods, scales or {})
    if timings:
        lines += [
            "",
            "## Timing of this run",
            "",
            "The first batch of each method and dataset includes JIT compilation (unless an",
            "earlier dataset compiled the same shapes); compile ≈ first batch − its size ×",
            "the later batches' s/curve (– with one batch, which has no later ones to compare,",
            "and where that comes out negative: the later batches were slower per curve, and",
            "the estimate says nothing).",
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
                compile_s = first.seconds - first.n_curves * per_curve
                # negative: the later batches were slower per curve (a busier machine, longer
                # curves), and the estimate says nothing
                compile_cell = f"{compile_s:.3g}" if compile_s > 0 else "–"
            else:
                later_cell = compile_cell = "–"
            lines.append(
                f"| {method_name} | {dataset} | {len(batches)} | {first.seconds:.3g} | "
                f"{later_cell} | {compile_cell} |"
            )
    else:
        lines += ["", "Every row was resumed from per_curve.csv; nothing was computed in this run."]

    if n_stale:
        lines += [
            "",
            f"{n_stale} row(s) of per_curve.csv were computed from other data or method "
            "settings (their fingerprint did not match) and were recomputed; the old rows are "
            "kept in the file but not used.",
        ]
    if others:
        methods_o = ", ".join(dict.fromkeys(m for m, _ in others))
        datasets_o = ", ".join(dict.fromkeys(d for _, d in others))
        lines += [
            "",
            f"per_curve.csv also holds rows of another study in this directory ({len(others)} "
            f"method and dataset pair(s); methods {methods_o}; datasets {datasets_o}), not "
            "summarised here: this summary is this run's. A study that asks for them again "
            "(the same methods, datasets or --csv files, split and --calibrate-on) reuses the "
            "rows whose data and settings match.",
        ]
    if errors:
        lines += ["", "## Unscored predictions (first per method and dataset, this run)", ""]
        lines += [f"- {method} on {dataset}: {text}" for (method, dataset), text in errors.items()]
    return "\n".join(lines) + "\n"
