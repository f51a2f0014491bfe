"""The ``scalebayes`` command line.

Subcommands (each is a pair ``_add_<name>(subparsers)`` / ``_run_<name>(args) -> int``;
register a new one in ``_SUBCOMMANDS``):

- ``scalebayes study``: score extrapolation methods on benchmarks and CSV files and print
  the summary table (see [`run_study`][scalebayes.studies.run_study]);
- ``scalebayes fit``: fit a scaling-law family to the curves of a CSV file, print the fitted
  parameters and predictions, and optionally plot them;
- ``scalebayes demo``: extrapolate a bundled curve (M4, BNSL, the PFN) and ask a far question;
- ``scalebayes allocate``: the compute-optimal N*, D*, L* with intervals from a CSV of runs;
- ``scalebayes train-pfn``: train the PFN on prior curves, resumable from checkpoints;
- ``scalebayes extrapolate``: PFN quantiles at new x for the curves of a CSV file, and a fan
  chart;
- ``scalebayes ntk-study``: the NTK ensemble's test-loss mean, spread and eps_L against
  training-set size, for infinite and finite widths;
- ``scalebayes cache``: where the compilation cache is and how much it holds; ``--clear``.

Every error path goes through `main`: a subcommand raises ``ValueError`` (which includes
``CurveDataError`` and the PFN's ``CheckpointError``) or ``OSError`` for bad input, and `main`
reports it as one line ``scalebayes <command>: error: <message>`` on stderr with exit status 2;
Ctrl-C prints one line and exits with status 130; warnings are printed one line each
(``warning: <message>``). Compiled programs are kept in a persistent JAX compilation cache
(``scalebayes.cli._cache``), so the second run of a command does not compile again. Paths are
checked when the arguments are parsed (see
``scalebayes.cli._argtypes``), before any work. Heavy modules (JAX, matplotlib) are imported only
by the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .. import __version__
from .._checks import MissingDependencyError
from .._interrupt import raise_if_interrupted, watch_interrupts
from ._allocate import add_allocate  # light: JAX and NumPyro load only when it runs
from ._argtypes import (
    Once,
    add_csv_options,
    csv_options,
    figure_file,
    output_dir,
    positive,
    readable_file,
    resolve_x,
    x_text,
    x_values,
)
from ._cache import (  # JAX only when a command runs
    add_cache,
    cache_warning,
    enable_compilation_cache,
    run_cache,
)
from ._ntk import add_ntk_study, run_ntk_study_command  # light, likewise
from ._pfn import add_extrapolate, add_train_pfn  # light, likewise
from ._suggest import add_suggest  # light, likewise

if TYPE_CHECKING:
    import numpy as np

    from ..data import Curve
    from ..inference import PointFit

__all__ = ["build_parser", "main"]


class _HelpFormatter(argparse.HelpFormatter):
    """Option help that ends with the option's default where it has one and the help text
    does not already say it (``(default: 64)``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or "default" in text.lower()
            or default is None
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
            or (isinstance(default, str | list | tuple) and not default)
        ):
            return action.help
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2) and whose
    option help names each option's default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


#: ``fit --predict`` beyond this many times the largest fitted run gets a warning.
_FAR_FIT = 1000.0
# ``fit`` notes a --to whose log-distance beyond the largest run exceeds this many times the
# runs' own log-spread: 3 runs 2x apart asked 300x out is 4.1 spreads; runs 0.2% apart asked
# 10x out is over 1,000
_SPANS_BEYOND = 10.0

_x_asked = x_values("positive x values", "1e21,1e22 or 10x,100x")
_positive_int = positive(int)


def _add_study(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "study",
        help="compare extrapolation methods on benchmarks and CSV files",
        description=(
            "Score extrapolation methods on the bundled benchmarks and/or CSV files "
            "(RMSLE; for probabilistic methods also LL, MSCE, the coverage and width of the "
            "50% and 90% intervals, CRPS and PIT counts), writing DIR/per_curve.csv "
            "(appended as curves finish, so a rerun resumes), DIR/summary.md and, with a "
            "probabilistic method, DIR/calibration.png (reliability diagrams and PIT "
            "histograms)."
        ),
    )
    parser.add_argument(
        "--methods",
        required=True,
        metavar="LIST",
        help="comma-separated method names: point fits m1,m2,m3,m4,bnsl; PFNs pfn (as "
        "extrapolate answers), pfn-switch, pfn-default, pfn-far; NUTS mcmc-m3, mcmc-m4, "
        "mcmc-bnsl, each also with -irw or -walk noise; A+B averages two methods' "
        "predictives",
    )
    parser.add_argument(
        "--datasets",
        default="",
        metavar="LIST",
        help="comma-separated benchmark names, e.g. ic,nlp,nano,dd (optional with --csv)",
    )
    parser.add_argument(
        "--csv",
        nargs="+",
        action="extend",
        default=[],
        type=readable_file,
        metavar="FILE",
        help="CSV files of curves (columns x,y[,curve][,split]); each is a dataset named by "
        "its file name; without a split column the last 30%% of points by x are targets",
    )
    parser.add_argument(
        "--out", type=output_dir, required=True, metavar="DIR", help="output directory"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="curves per method call (default: each method's own, e.g. 64 for point fits)",
    )
    add_csv_options(parser)
    parser.add_argument(
        "--split",
        type=_split_name,
        default="default",
        metavar="NAME",
        help="default (each dataset's own split; the NSL-PFN protocol for benchmarks), or "
        "far10 / far100: context = points at or below x_max/10 (/100) thinned to 8 log-spaced "
        "points, targets = the top half-decade (see docs/far-split.md)",
    )
    parser.add_argument(
        "--calibrate-on",
        default="",
        metavar="LIST",
        help="comma-separated benchmarks to fit a split-conformal scale on: each probabilistic "
        "method M also runs as M+cal, its predictives stretched in log y so that their 90%% "
        "intervals cover on these benchmarks (keep them out of --datasets)",
    )
    parser.add_argument(
        "--calibrate-weight",
        choices=("curve", "dataset", "target"),  # studies.CALIBRATION_WEIGHTS (tested)
        default=None,
        help="how --calibrate-on weighs its targets: every curve the same (curve, the "
        "default), every dataset the same (a curve's own dataset: NLP's NMT, LM and BB "
        "count as three), or every target the same",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _with_calibrated(
    methods: str, datasets: str, reference: str, split: str, weight: str = "curve"
) -> list[str]:
    """``methods`` plus an ``M+cal`` twin (registered for this run) per probabilistic one, its
    scale fitted on ``reference`` split as the study splits its curves, its targets weighted
    by ``weight``."""
    from ..studies import METHODS, calibrated

    names = [m.strip() for m in methods.split(",") if m.strip()]
    from ..data import BENCHMARKS, benchmark_parts

    def parts(names: str) -> dict[str, str]:  # atomic part -> the benchmark named
        named = [d.strip().lower() for d in names.split(",") if d.strip()]
        return {p: name for name in named if name in BENCHMARKS for p in benchmark_parts(name)}

    fitted_on, scored = parts(reference), parts(datasets)
    both = sorted(
        {
            f"{fitted_on[p]} and {scored[p]}" if fitted_on[p] != scored[p] else scored[p]
            for p in fitted_on.keys() & scored.keys()
        }
    )
    if both:
        raise ValueError(
            f"--calibrate-on and --datasets share curves ({', '.join(both)}): score on "
            "benchmarks the scale was not fitted on"
        )
    twins, unknown = [], False
    for name in names:
        if name in METHODS and not METHODS[name].probabilistic:
            continue  # a point method has no interval to recalibrate
        try:
            twin = calibrated(name, reference, split=split, weight=weight)
        except KeyError:  # run_study names every unknown method in its own error
            unknown = True
            continue
        twins.append(twin)
    if unknown:  # run_study's error names them, among the methods there are (no twins)
        return names
    if not twins:
        raise ValueError("--calibrate-on needs a probabilistic method in --methods, e.g. pfn")
    for twin in twins:
        METHODS[twin.name] = twin
    return names + [twin.name for twin in twins]


def _split_name(text: str) -> str:
    from ..data import parse_split

    try:
        parse_split(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _run_study(args: argparse.Namespace) -> int:
    from ..studies import run_study

    if not args.datasets.strip() and not args.csv:
        raise ValueError("name --datasets (e.g. ic,nlp,nano,dd) and/or give --csv FILE")
    methods = args.methods.lower()  # as --family: M4 is m4
    if args.calibrate_weight is not None and not args.calibrate_on.strip():
        raise ValueError(
            "--calibrate-weight says how --calibrate-on weighs its targets: give --calibrate-on "
            "too (e.g. --calibrate-on nlp,nano,dd)"
        )
    if args.calibrate_on.strip():
        weight = args.calibrate_weight or "curve"
        methods = _with_calibrated(methods, args.datasets, args.calibrate_on, args.split, weight)
    result = run_study(
        methods,
        args.datasets,
        args.out,
        csv_paths=args.csv,
        batch_size=args.batch_size,
        progress=not args.no_progress,
        dedupe=args.dedupe,
        split=args.split,
        x_column=args.x_column,
        y_column=args.y_column,
        curve_column=args.curve_column,
    )
    print(result.summary, end="")
    print(
        f"\n{result.n_computed} curve scores computed, {result.n_resumed} resumed; "
        f"wrote {result.per_curve_path} and {result.summary_path}"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# scalebayes fit


def _add_fit(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fit",
        help="fit a scaling-law family to the curves of a CSV file",
        description=(
            "Fit a scaling-law family to each curve of a CSV file (columns x,y[,curve][,split]; "
            "--x-column / --y-column name others) "
            "on all its points, or on its context points if the file has a split column; "
            "print the fitted parameters and the predictions at the requested x."
        ),
    )
    parser.add_argument("file", metavar="FILE.csv", type=readable_file, help="the curves to fit")
    parser.add_argument(
        "--family", required=True, action=Once, help="family to fit: m1, m2, m3, m4 or bnsl"
    )
    parser.add_argument(
        "--predict",
        "--to",
        dest="predict",
        type=_x_asked,
        default=[],
        action="extend",
        metavar="X[,X...]",
        help="comma-separated x to predict at, e.g. 1e21,1e22, or multiples of each curve's "
        "largest x fitted, e.g. 10x,100x (--to, as in extrapolate, is the same option; repeat "
        "it to add more)",
    )
    parser.add_argument("--curve", metavar="NAME", help="fit only this curve of the file")
    parser.add_argument(
        "--breaks",
        type=int,
        choices=range(4),
        metavar="{0,1,2,3}",
        help="bnsl only: the number of breaks (default: chosen by held-out error; one, the "
        "published form, for a curve too short to test a break on held-out points but of at "
        "least six; none for fewer)",
    )
    parser.add_argument(
        "--plot",
        type=figure_file(),
        metavar="OUT.png",
        help="write a log-log plot of the data, the fit and its extrapolation "
        "(.png, .pdf or .svg; checked before any work)",
    )
    add_csv_options(parser)
    return parser


def _fit_points(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """The points a curve is fitted on: its context points if it has a split, else all."""
    if curve.is_context is None:
        return curve.x, curve.y
    return curve.x_context, curve.y_context


def _format_value(value: object) -> str:
    if isinstance(value, float | int):
        return f"{value:.6g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


def _plot(
    path: Path,
    curves: Sequence[Curve],
    fits: Sequence[PointFit],
    predict_x: Sequence[Sequence[float]],
    title: str,
) -> None:
    """Log-log plot of each curve, its fit over the fitted points (solid) and beyond them
    (dashed: to the held-out targets and the x asked of it, ``predict_x``, one sequence per
    curve), with a legend of the curves and of
    the marks (a review: open circles and crosses went unexplained, and the line stayed solid
    over the held-out targets).

    Written in the format ``path``'s extension names (``.png``, ``.pdf`` or ``.svg``).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .._io import plain_log_ticks, write_figure

    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, (curve, fit, asked) in enumerate(zip(curves, fits, predict_x, strict=True)):
        color = f"C{i % 10}"
        scale = curve.y_scale
        if curve.is_context is None:
            ax.plot(curve.x, curve.y * scale, "o", color=color, label=curve.name)
        else:
            ax.plot(curve.x_context, curve.y_context * scale, "o", color=color, label=curve.name)
            ax.plot(curve.x_target, curve.y_target * scale, "o", mfc="none", color=color)
        fitted = curve.x if curve.is_context is None else curve.x_context
        lo, hi = float(np.min(fitted)), float(np.max(fitted))
        grid = np.geomspace(lo, hi, 200)
        ax.plot(grid, fit.predict(grid) * scale, "-", color=color)
        x = np.asarray(asked, np.float64)
        reach = np.concatenate([x, curve.x])
        for a, b in ((float(reach.min()), lo), (hi, float(reach.max()))):
            if b > a:
                grid = np.geomspace(a, b, 100)
                ax.plot(grid, fit.predict(grid) * scale, "--", color=color)
        if x.size:
            ax.plot(x, fit.predict(x) * scale, "x", color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel(curves[0].axis_labels[0])
    ax.set_ylabel(curves[0].axis_labels[1])
    ax.set_title(title)
    from matplotlib.lines import Line2D

    marks = [Line2D([], [], color="0.3", marker="o", ls="", label="runs fitted")]
    if any(c.is_context is not None for c in curves):
        marks.append(Line2D([], [], color="0.3", marker="o", mfc="none", ls="", label="held out"))
    marks += [
        Line2D([], [], color="0.3", ls="-", label="fit"),
        Line2D([], [], color="0.3", ls="--", label="beyond the runs fitted"),
    ]
    if any(len(asked) for asked in predict_x):
        marks.append(Line2D([], [], color="0.3", marker="x", ls="", label="predicted"))
    shown = ax.get_legend_handles_labels()[0] if len(curves) <= 10 else []
    ax.legend(handles=[*shown, *marks], fontsize="small")
    write_figure(fig, path, dpi=120)


def _run_fit(args: argparse.Namespace) -> int:
    import numpy as np

    from .._warnings import RisingCurveWarning
    from ..data import read_curves_csv
    from ..inference import (
        DEFAULT_RIDGE,
        POINT_FAMILIES,
        fit_curves,
        min_fit_points,
        predict_fits,
    )

    family = args.family.strip().lower()
    if family not in POINT_FAMILIES:
        raise ValueError(
            f"--family: unknown family {args.family!r}; choose one of {', '.join(POINT_FAMILIES)}"
        )
    if args.breaks is not None and family != "bnsl":
        raise ValueError(f"--breaks applies to --family bnsl only, not {family}")
    # CurveDataError names the line; --curve reads that curve alone
    curves = read_curves_csv(args.file, curve=args.curve, **csv_options(args))
    # a review: one curve too short for the family stopped the whole file; it is left out
    # with a warning when others can be fitted (all too short: fit_curves' error below)
    fewest = min_fit_points(family)
    short = [c for c in curves if np.unique(_fit_points(c)[0]).size < fewest]
    if short and len(short) < len(curves):
        split = " (only its context rows are fitted)" if short[0].is_context is not None else ""
        more = f" and {len(short) - 1} more" if len(short) > 1 else ""
        warnings.warn(
            f"curve {short[0].name!r}{more} left out: {family} fits need at least {fewest} "
            f"distinct x{split}; ask it alone with --curve to see the error",
            UserWarning,
            stacklevel=2,
        )
        left_out = {id(c) for c in short}
        curves = [c for c in curves if id(c) not in left_out]

    points = [_fit_points(c) for c in curves]
    # as extrapolate: each x once, in order; a multiple (10x) is of the curve's largest x fitted
    asked = [resolve_x(args.predict, float(np.max(x))) for x, _ in points]
    try:
        with warnings.catch_warnings():  # read_curves_csv has named a rising curve
            warnings.simplefilter("ignore", RisingCurveWarning)
            fits = fit_curves(
                family,
                [p[0] for p in points],
                [p[1] for p in points],
                names=[c.name for c in curves],
                n_breaks=args.breaks,
            )
    except ValueError as error:
        if any(c.is_context is not None for c in curves) and "needs at least" in str(error):
            raise ValueError(
                f"{error} ({args.file} has a split column: only its context rows are fitted)"
            ) from None
        raise

    for curve, fit, (x, _), predict in zip(curves, fits, points, asked, strict=True):
        far = [v for v in predict if v > _FAR_FIT * float(x.max())]
        if far:
            warnings.warn(
                f"curve {curve.name!r}: x = {_listed(far)} lies more than "
                f"{_FAR_FIT:g}x beyond its largest fitted run ({float(x.max()):g}); a point "
                "fit says nothing of how sure it is there: compare with scalebayes "
                "extrapolate (an interval; --method mcmc-m4-irw for NUTS)",
                UserWarning,
                stacklevel=2,
            )
        below = [v for v in predict if v < float(x.min())]
        if below:
            warnings.warn(
                f"curve {curve.name!r}: x = {_listed(below)} lies below its "
                f"smallest fitted run ({float(x.min()):g}); the fit extrapolates backwards, "
                "where its form was not tested",
                UserWarning,
                stacklevel=2,
            )
        span = float(np.log(x.max() / x.min()))
        narrow = [v for v in predict if np.log(v / x.max()) > _SPANS_BEYOND * span]
        if narrow:
            warnings.warn(
                f"curve {curve.name!r}: x = {_listed(narrow)} lies more "
                f"than {_SPANS_BEYOND:g} times as far beyond its largest run (on a log scale) as "
                f"its runs spread ({float(x.min()):g} to {float(x.max()):g}); runs that close "
                "together pin down little of the curve that far out: add runs further apart",
                UserWarning,
                stacklevel=2,
            )
        if x.size <= len(fit.params):
            from ..families import get_family

            fewer = [
                f"{name} has {n}"
                for name in ("m3", "m2", "m1")
                if (n := len(get_family(name).params)) < len(fit.params)
            ]
            advice = (
                f"add runs or fit a family with fewer parameters ({', '.join(fewer)})"
                if fewer
                else "add runs"
            )
            warnings.warn(
                f"curve {curve.name!r}: {family} has {len(fit.params)} parameters and the fit "
                f"{x.size} points, so it can pass through every point and its extrapolation is "
                f"not pinned by the data; {advice}",
                UserWarning,
                stacklevel=2,
            )
        which = "all points" if curve.is_context is None else "its context points"
        units = "" if curve.y_scale == 1.0 else f"; parameters are for y / {curve.y_scale:.6g}"
        retried = ""
        if fit.ridge is not None and fit.ridge > DEFAULT_RIDGE:
            retried = (
                f"; the unregularised fit was not finite, so this is a MAP fit with ridge "
                f"{fit.ridge:g} (treat it with care)"
            )
        print(
            f"curve {curve.name!r}: {family} fitted to {x.size} points ({which}); "
            f"mean squared log residual {fit.loss:.3g}{units}{retried}"
        )
        params = {"n_breaks": fit.n_breaks} if fit.n_breaks is not None else {}
        params.update(fit.params)
        width = max(map(len, params), default=0)
        for name, value in params.items():
            print(f"  {name.ljust(width)} = {_format_value(value)}")
    if args.predict:
        predictions = predict_fits(fits, asked)  # one batched call
        rows = [
            [curve.name, x_text(x), f"{y * curve.y_scale:.6g}"]
            for curve, xs, ys in zip(curves, asked, predictions, strict=True)
            for x, y in zip(xs, ys, strict=True)
        ]
        print(f"\npredictions ({family}):")
        print(_table(["curve", *curves[0].axis_labels], rows))  # the CSV's column names
    if args.plot is not None:
        _plot(args.plot, curves, fits, asked, f"{family} fit of {args.file.name}")
        print(f"\nwrote {args.plot}")
    return 0


def _add_demo(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo",
        help="extrapolate a bundled curve with M4, BNSL and the PFN, then a far question",
        description=(
            "Fit M4 and BNSL to the context points of a bundled benchmark curve and extrapolate "
            "it with the shipped PFN, score them on the held-out targets and write a log-log "
            "plot (demo_fit.png); then answer a far question (four Chinchilla runs, a run about "
            "52x larger) with the far model, the default PFN and M4 beside the real loss "
            "(demo_far.png)."
        ),
    )
    parser.add_argument("--out", type=output_dir, default="demo_out", help="output directory")
    parser.add_argument("--benchmark", default="ic", help="bundled benchmark (default: ic)")
    parser.add_argument(
        "--curve", metavar="NAME", help="curve of the benchmark (default: a fixed one)"
    )
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    from ..studies import run_demo

    print(run_demo(args.out, benchmark=args.benchmark, curve=args.curve), end="")
    return 0


# ---------------------------------------------------------------------------------------------


def _run_allocate(args: argparse.Namespace) -> int:
    from ._allocate import run_allocate

    return run_allocate(args)


def _run_train_pfn(args: argparse.Namespace) -> int:
    from ._pfn import run_train_pfn

    return run_train_pfn(args)


def _run_extrapolate(args: argparse.Namespace) -> int:
    from ._pfn import run_extrapolate

    return run_extrapolate(args)


def _run_suggest(args: argparse.Namespace) -> int:
    from ._suggest import run_suggest

    return run_suggest(args)


# ---------------------------------------------------------------------------------------------

_Command = tuple[
    Callable[[argparse._SubParsersAction], argparse.ArgumentParser],
    Callable[[argparse.Namespace], int],
]
_SUBCOMMANDS: dict[str, _Command] = {
    "study": (_add_study, _run_study),
    "fit": (_add_fit, _run_fit),
    "demo": (_add_demo, _run_demo),
    "allocate": (add_allocate, _run_allocate),
    "train-pfn": (add_train_pfn, _run_train_pfn),
    "extrapolate": (add_extrapolate, _run_extrapolate),
    "suggest": (add_suggest, _run_suggest),
    "ntk-study": (add_ntk_study, run_ntk_study_command),
    "cache": (add_cache, run_cache),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``scalebayes`` argument parser with every subcommand of ``_SUBCOMMANDS``."""
    parser = _Parser(
        prog="scalebayes",
        description="Bayesian analysis of neural scaling laws.",
        epilog="Compiled programs are cached in $XDG_CACHE_HOME/scalebayes/jax (~/.cache/"
        "scalebayes/jax), so a command's second run starts faster; SCALEBAYES_CACHE_DIR=DIR "
        "moves the cache, SCALEBAYES_CACHE_DIR= (empty) turns it off, and a cache set with "
        "JAX_COMPILATION_CACHE_DIR is used as it is.",
    )
    parser.add_argument("--version", action="version", version=f"scalebayes {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, run in _SUBCOMMANDS.values():
        sub = add(subparsers)
        sub.set_defaults(_run=run, _prog=sub.prog)
    return parser


def _negative_values_attached(argv: Sequence[str]) -> list[str]:
    """``--opt -1e21`` rewritten as ``--opt=-1e21`` wherever the value is a negative number
    (or a comma-separated list that starts with one).

    argparse takes only ``-1`` and ``-1.5`` for negative numbers; any other token that starts
    with ``-`` (``-1e21``, ``-inf``) reads as an option, so ``--compute -1e21`` failed with
    "expected one argument" instead of reaching the option's type, which says what is wrong
    with the value. Tokens after ``--`` are left alone.
    """
    out: list[str] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            out += tokens[i:]
            break
        value = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token.startswith("--") and "=" not in token and _is_negative_number(value):
            out.append(f"{token}={value}")
            i += 2
        else:
            out.append(token)
            i += 1
    return out


def _is_negative_number(text: str) -> bool:
    """Whether ``text`` is a negative number (or multiple, ``-2x``), or a comma-separated list
    that starts with one (``-1e9,1e10``: the option's type then says what is wrong with the
    value)."""
    if not text.startswith("-"):
        return False
    try:
        float(text.split(",")[0].rstrip("xX\N{MULTIPLICATION SIGN}"))
    except ValueError:
        return False
    return True


# The library's warnings and errors name the Python call and the command line's flag side by
# side; the command line keeps its own words: "(`PFN.load(...)`, reach 1000x; command line:
# `--model M`)" -> "(`--model M`, reach 1000x)", "method='pfn' (command line: --method pfn)" ->
# "--method pfn", "(command line: --x-column NAME; Python: x_column=NAME)" -> "(--x-column
# NAME)"; x_query and target_x (PFN.predict's and suggest_next's) are --to and --target.
_BOTH = re.compile(r"\((?:`[^`]+`|\w+=\S+?)(, [^;()`]+)?; command line: (`[^`]+`|[^()`]+?)\)")
_PYTHON_THEN_FLAG = re.compile(r"[\w.]+(?:=\S+?)? \(command line: ([^()]+)\)")
_FLAG_THEN_PYTHON = re.compile(r"\(command line: ([^();]+); Python: [^()]+\)")
_FLAGS = {"x_query": "--to", "target_x": "--target"}
# the argument's name standing alone: not inside a path, a file name or a quoted curve name
_PYTHON_NAME = re.compile(r"(?<![\w/.'\"-])(?:x_query|target_x)(?![\w.'\"/-])")


def cli_words(text: str) -> str:
    """A library warning's or error's ``text`` in the command line's words (see above)."""
    text = _BOTH.sub(lambda m: f"({m.group(2)}{m.group(1) or ''})", text)
    text = _FLAG_THEN_PYTHON.sub(lambda m: f"({m.group(1)})", text)
    text = _PYTHON_THEN_FLAG.sub(lambda m: m.group(1), text)
    text = _PYTHON_NAME.sub(lambda m: _FLAGS[m.group(0)], text)
    return text.replace("the largest context x", "the largest run")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the command line: ``warning: <message>`` in one line."""
    text = " ".join(str(message).split())
    print(f"warning: {text}", file=sys.stderr if file is None else file)


@contextlib.contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Print warnings as ``warning: <message>`` (no source line) inside the block only, each
    text once; JAX's compilation-cache warnings in the command line's words
    (``cache_warning``)."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        text = cache_warning(text) or cli_words(text)
        if text in shown:  # the same words from two places (e.g. the near and far answers)
            return
        shown.add(text)
        _show_warning(text, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _error_message(error: Exception) -> str:
    """One line that says what went wrong; an ``OSError`` names its file and the reason."""
    if isinstance(error, OSError) and error.filename is not None:
        name = error.filename
        if error.filename2 is not None:
            name = f"{name} -> {error.filename2}"
        text = f"cannot access {name}: {error.strerror or error}"
        if error.errno == errno.ENOSPC:
            text += "; free some space and rerun (a study, ntk-study or train-pfn --resume goes on"
            text += " from what it wrote)"
    else:
        text = cli_words(str(error)) or type(error).__name__
    return " ".join(text.split())


def _listed(values: Sequence[float], most: int = 3) -> str:
    """``values`` as ``1e+10, 2e+10`` (the first ``most``, then how many in all)."""
    shown = ", ".join(f"{v:g}" for v in values[:most])
    return shown if len(values) <= most else f"{shown}, ... ({len(values)} in all)"


def _resume_hint(args: argparse.Namespace) -> str:
    """What to rerun after a Ctrl-C: a study, and an NTK study writing to --out, resume; a
    training run resumes from its last checkpoint if it wrote one, else starts again."""
    if args.command == "study" or (args.command == "ntk-study" and args.out is not None):
        return "; rerun the same command to resume"
    if args.command != "train-pfn":
        return ""
    out = Path(args.out)
    if any((out / name / "meta.json").is_file() for name in ("checkpoint", "checkpoint.old")):
        return "; rerun with --resume to continue from the last checkpoint"
    return "; no checkpoint was written yet: rerun the same command without --resume to start again"


def _silence_stdout() -> None:
    """Point stdout at the null device, so that flushing it at exit raises no second
    ``BrokenPipeError``."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's capture)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``scalebayes`` command line.

    The one error path of every subcommand: ``ValueError`` (including ``CurveDataError`` and
    ``CheckpointError``) and ``OSError`` (a missing file, a directory, no permission) become
    one line ``scalebayes <command>: error: <message>`` on stderr with exit status 2; Ctrl-C
    becomes one line with exit status 130 (a study keeps the rows it wrote, so rerunning the
    same command resumes it). Warnings are printed as ``warning: <message>``, one line each.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 2 for bad input, 130 when interrupted, 141 when the
        reader of stdout went away (``| head``).
    """
    parser = build_parser()
    tokens = sys.argv[1:] if argv is None else argv
    try:
        args = parser.parse_args(_negative_values_attached(tokens))
    except SystemExit as stop:  # --help, --version and argument errors
        return 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 2
    try:
        with _one_line_warnings(), watch_interrupts():
            try:  # a Ctrl-C while JAX is imported surfaces as an ImportError: inside the try
                if args.command != "cache":
                    enable_compilation_cache()  # the second run of a command skips compiling
                status = args._run(args)
                sys.stdout.flush()  # a reader gone (`| head`) shows here, not at exit
            except Exception:  # a Ctrl-C that a callback turned into another error (JAX's
                raise_if_interrupted()  # compilation cache wraps it in a RuntimeError)
                raise
            raise_if_interrupted()  # a Ctrl-C that a callback swallowed is still one
            return status
    except KeyboardInterrupt:
        print(f"{args._prog}: interrupted{_resume_hint(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing to report, no bad input
        _silence_stdout()
        return 141  # as a shell reports a command ended by SIGPIPE
    except (ValueError, OSError, MissingDependencyError) as error:
        print(f"{args._prog}: error: {_error_message(error)}", file=sys.stderr)
        return 2
