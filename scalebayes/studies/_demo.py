"""A one-minute demonstration: extrapolate a bundled curve with the PFN, M4 and BNSL.

`run_demo` loads a curve of a bundled benchmark (by default the ImageNet 5-shot error of
BiT/50/1 from the IC benchmark), extrapolates it from its context points with the shipped
PFNs as ``scalebayes extrapolate`` answers ([`extrapolate`][scalebayes.pfn.extrapolate]: within
5x both models weighted by a back-test on the curve's own runs; a fan chart of the predictive
quantiles), fits
[`m4`][scalebayes.families.m4] and [`bnsl`][scalebayes.families.bnsl] with
[`fit_curves`][scalebayes.inference.fit_curves], scores all three on the held-out targets
with [`rmsle`][scalebayes.evaluate.rmsle], and writes a log-log plot. Then the user's far
question: from the four smallest runs of the bundled Chinchilla compute frontier, the loss of
a run 52x beyond the largest, answered by the far model (``FAR_MODEL``), the default PFN
(beyond its reach) and an M4 point fit, against the real loss, with a fan chart.
``scalebayes demo --out DIR`` runs it from the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..data import Curve
    from ..inference import PointFit

__all__ = ["DEMO_FAMILIES", "FAR_PLOT_NAME", "PLOT_NAME", "run_demo"]

DEMO_FAMILIES: tuple[str, ...] = ("m4", "bnsl")
"""The families the demo fits, in report order."""

PLOT_NAME = "demo_fit.png"
"""File name of the plot written into the output directory."""

FAR_PLOT_NAME = "demo_far.png"
"""File name of the far question's fan chart, beside ``PLOT_NAME``."""

_FAR_RUNS = 4  # the Chinchilla frontier's smallest budgets "done"; the largest is asked about

# A representative, stable curve per benchmark (chosen by name, not by position); other
# benchmarks use their first curve in file order.
_DEFAULT_CURVES = {"ic": "inet_5|BiT/50/1", "dd": "DD|cifar10-mcnn-noaug-sgd"}
_N_TABLE_ROWS = 5


def _select_curve(benchmark: str, curve: str | None) -> Curve:
    """The named curve of a bundled benchmark (or its default), checked to have targets."""
    from ..data import load_benchmark

    curves = load_benchmark(benchmark)  # validates the benchmark name
    name = (
        _DEFAULT_CURVES.get(benchmark.strip().lower(), curves[0].name) if curve is None else curve
    )
    by_name = {c.name: c for c in curves}
    if name not in by_name:
        shown = ", ".join(repr(n) for n in list(by_name)[:8])
        more = f" and {len(by_name) - 8} more" if len(by_name) > 8 else ""
        raise ValueError(
            f"curve: benchmark {benchmark!r} has no curve {name!r}; it has {shown}{more}"
        )
    chosen = by_name[name]
    if chosen.is_context is None or chosen.is_context.all():
        raise ValueError(f"curve {name!r} has no target points to extrapolate to")
    return chosen


def _format_params(fit: PointFit) -> str:
    return "  ".join(f"{k}={v:.4g}" for k, v in fit.params.items())


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
        for row in [header, ["-" * w for w in widths], *rows]
    ]


def _report(
    curve: Curve,
    fits: dict[str, PointFit],
    scores: dict[str, float],
    plot_path: Path,
    pfn_target,
    pfn_name: str,
) -> str:
    """The text report: curve, fitted parameters, a prediction table and the RMSLE."""
    x_t, y_t = curve.x_target, curve.y_target
    n_t = x_t.size
    lines = [
        f"scalebayes demo: {curve.dataset} curve {curve.name!r}",
        f"  {curve.n} points with x from {curve.x[0]:.4g} to {curve.x[-1]:.4g}",
        f"  fitted on the {curve.n_context} context points (x <= {curve.x_context[-1]:.4g}),",
        f"  scored on the {n_t} targets (x >= {x_t[0]:.4g})",
    ]
    if curve.y_scale != 1.0:
        lines.append(
            f"  y is divided by {curve.y_scale:.6g} (NSL-PFN normalisation), here and below"
        )
    lines += ["", "fitted parameters"]
    width = max(map(len, DEMO_FAMILIES))
    for name in DEMO_FAMILIES:
        fit = fits[name]
        breaks = "" if fit.n_breaks is None else f"  (breaks: {fit.n_breaks})"
        lines.append(f"  {name.ljust(width)}  {_format_params(fit)}{breaks}")

    picks = np.unique(np.linspace(0, n_t - 1, min(_N_TABLE_ROWS, n_t)).round().astype(int))
    median = pfn_target.median()
    lo, hi = pfn_target.interval(0.9)
    rows = [
        [
            f"{x_t[j]:.4g}",
            f"{y_t[j]:.4f}",
            f"{median[j]:.4f}",
            f"[{lo[j]:.4f}, {hi[j]:.4f}]",
            *(f"{fits[n].predict(x_t[j]):.4f}" for n in DEMO_FAMILIES),
        ]
        for j in picks
    ]
    lines += ["", f"predictions at {picks.size} of the {n_t} targets", ""]
    lines += _table(["x", "observed", "pfn median", "pfn 90% interval", *DEMO_FAMILIES], rows)
    inside = float(np.mean((y_t >= lo) & (y_t <= hi)))
    lines += ["", f"extrapolation error over all {n_t} targets (lower is better)"]
    lines += [
        f"  {'pfn'.ljust(width)}  RMSLE = {scores['pfn']:.4g}  (answered by {pfn_name}; mean log "
        f"density {float(np.mean(pfn_target.log_prob(y_t))):.3f}; 90% interval covers "
        f"{inside:.0%} of the targets)"
    ]
    lines += [f"  {name.ljust(width)}  RMSLE = {scores[name]:.4g}" for name in DEMO_FAMILIES]
    lines += ["", f"wrote {plot_path}"]
    return "\n".join(lines) + "\n"


def _plot(
    path: Path,
    curve: Curve,
    fits: dict[str, PointFit],
    scores: dict[str, float],
    fan: tuple[np.ndarray, np.ndarray],
) -> None:
    """Log-log plot: data, the PFN fan (median, 50% and 90% bands) and both point fits."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .._io import plain_log_ticks, write_figure

    fig = Figure(figsize=(7.0, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(curve.x_context, curve.y_context, "o", ms=4, color="black", label="context (fitted)")
    ax.plot(
        curve.x_target,
        curve.y_target,
        "o",
        ms=4,
        mfc="none",
        color="0.55",
        label="targets",
        zorder=3,
    )
    last = curve.x_context[-1]
    ax.axvline(last, color="0.8", lw=1, ls=":")
    x_fan, q_fan = fan
    ax.fill_between(x_fan, q_fan[:, 0], q_fan[:, 4], color="C2", alpha=0.15, lw=0, label="PFN 90%")
    ax.fill_between(x_fan, q_fan[:, 1], q_fan[:, 3], color="C2", alpha=0.3, lw=0, label="PFN 50%")
    ax.plot(
        x_fan, q_fan[:, 2], "-", color="C2", lw=1.8, label=f"PFN median (RMSLE {scores['pfn']:.3g})"
    )
    x_fit = np.geomspace(curve.x[0], last, 200)
    x_extra = np.geomspace(last, curve.x[-1], 200)
    for i, name in enumerate(DEMO_FAMILIES):
        color = f"C{i}"
        label = f"{name} (target RMSLE {scores[name]:.3g})"
        ax.plot(x_fit, fits[name].predict(x_fit), "-", color=color, lw=1.8, label=label)
        ax.plot(x_extra, fits[name].predict(x_extra), "--", color=color, lw=1.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("x")
    ax.set_ylabel("y" if curve.y_scale == 1.0 else f"y / {curve.y_scale:.4g}")
    ax.set_title(f"{curve.dataset}: {curve.name}")
    ax.legend(fontsize="small")
    write_figure(fig, path, dpi=120)


def _who_answered(pred) -> str:
    """Which shipped model(s) gave ``pred``, the shipped answer at a curve's targets."""
    from ..evaluate import JoinedPredictive
    from ..pfn import DEFAULT_MODEL, FAR_MODEL, FAR_SWITCH

    def stacked(weights) -> str:
        return f"{DEFAULT_MODEL} {weights[0]:.2f} + {FAR_MODEL} {weights[1]:.2f}, back-test weights"

    if isinstance(pred, JoinedPredictive):  # targets on both sides of FAR_SWITCH
        near = stacked(pred.parts[0].weights)
        return f"{near}, up to {FAR_SWITCH:g}x; {FAR_MODEL} beyond"
    weights = getattr(pred, "weights", None)
    return FAR_MODEL if weights is None else stacked(weights)


def _far_question(out: Path, default) -> list[str]:
    """The far question on the Chinchilla frontier, asked of the far model, ``default`` (the
    default PFN, already loaded) and an M4 point fit: report lines; writes the fan chart."""
    import warnings

    from ..data import Curve, load_benchmark
    from ..evaluate import rmsle
    from ..inference import fit_curves
    from ..pfn import DEFAULT_MODEL, FAR_MODEL, PFN, ReachWarning, plot_fan

    frontier = next(c for c in load_benchmark("chinchilla") if c.name == "compute_frontier")
    x, y = frontier.x, frontier.y  # sorted by the Curve
    runs = Curve(x[:_FAR_RUNS], y[:_FAR_RUNS], "compute_frontier", dataset="chinchilla")
    target_x, target_y = x[-1:], y[-1:]
    ratio = float(target_x[0] / runs.x[-1])
    far = PFN.load(FAR_MODEL)
    answers = {f"far PFN ({FAR_MODEL})": far.predict(runs.x, runs.y, target_x)}
    with warnings.catch_warnings():  # beyond its reach on purpose: the report says so
        warnings.simplefilter("ignore", ReachWarning)
        answers[f"default PFN ({DEFAULT_MODEL}, reach {default.reach:g}x)"] = default.predict(
            runs.x, runs.y, target_x
        )
    m4 = float(fit_curves("m4", [runs.x], [runs.y])[0].predict(target_x)[0])
    lines = [
        "",
        f"the far question: chinchilla {runs.name!r}, the {_FAR_RUNS} smallest compute budgets "
        f"({runs.x[0]:.3g} to {runs.x[-1]:.3g} FLOPs; losses divided by {frontier.y_scale:.4g})",
        f"  asked about the largest budget, {target_x[0]:.3g} FLOPs ({ratio:.3g}x beyond); its "
        f"real loss: {target_y[0]:.4f}",
        "",
    ]
    rows = []
    for name, pred in answers.items():
        lo, hi = (float(v[0]) for v in pred.interval(0.9))
        median = float(pred.median()[0])
        inside = "yes" if lo <= target_y[0] <= hi else "no"
        rows.append([name, f"{median:.4f}", f"[{lo:.4f}, {hi:.4f}]", inside])
    rows.append(["m4 point fit", f"{m4:.4f}", "-", "-"])
    lines += _table(["model", "median", "90% interval", "covers the real loss"], rows)
    path = out / FAR_PLOT_NAME
    plot_fan(far, [runs], list(target_x), path, x_target=[target_x], y_target=[target_y])
    best = min(answers, key=lambda k: rmsle(answers[k].median(), target_y))
    lines += ["", f"  closest median: {best}", "", f"wrote {path}"]
    return lines


def run_demo(
    out_dir: str | Path = "demo_out", *, benchmark: str = "ic", curve: str | None = None
) -> str:
    """Extrapolate a bundled curve with the shipped PFN, M4 and BNSL; score and plot it.

    The PFN is conditioned on, and both families are fitted to, the curve's context points
    only; the held-out targets are
    used for the RMSLE and the table of predictions. The plot (context points, targets, both
    fits, dashed past the last context point) is written to ``out_dir/demo_fit.png``
    atomically. Then the far question (see the module): a table of the far model's, the
    default PFN's and an M4 point fit's answers against the real loss, and the far model's
    fan chart in ``out_dir/demo_far.png``. Takes well under a minute on a laptop CPU, mostly
    JAX compilation.

    Args:
        out_dir: Output directory, created if missing.
        benchmark: A bundled benchmark name (see [`BENCHMARKS`][scalebayes.data.BENCHMARKS]).
        curve: Name of a curve of ``benchmark``; ``None`` picks a representative one
            (``"inet_5|BiT/50/1"`` for IC, ``"DD|cifar10-mcnn-noaug-sgd"`` for DD, else the
            first curve).

    Returns:
        The report: the curve, the fitted parameters, predictions against a few targets and
        each family's RMSLE over all targets (in the curve's normalised y), then the far
        question's table.

    Raises:
        ValueError: For an unknown benchmark or curve name (listing valid ones).
    """
    from ..evaluate import rmsle
    from ..inference import fit_curves
    from ..pfn import PFN, extrapolate, protocol_scale

    chosen = _select_curve(benchmark, curve)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x_fan = np.geomspace(chosen.x_context[-1] * 1.0001, chosen.x[-1], 120)
    # the shipped answer, as `scalebayes extrapolate` gives it (the fan reaches as far as the
    # targets, so both are answered by the same model or models)
    # in the benchmark's normalised y, with the study method's y scale
    scale = protocol_scale(chosen.y_context)
    pfn_target, pfn_fan = (
        extrapolate(chosen.x_context, chosen.y_context, xq, y_scale=scale)
        for xq in (chosen.x_target, x_fan)
    )
    fan = (x_fan, pfn_fan.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).T)
    fits = {
        name: fit_curves(name, [chosen.x_context], [chosen.y_context])[0] for name in DEMO_FAMILIES
    }
    scores = {
        name: rmsle(fit.predict(chosen.x_target), chosen.y_target) for name, fit in fits.items()
    }
    scores["pfn"] = rmsle(pfn_target.median(), chosen.y_target)
    plot_path = out / PLOT_NAME
    _plot(plot_path, chosen, fits, scores, fan)
    name = _who_answered(pfn_target)
    report = _report(chosen, fits, scores, plot_path, pfn_target, name)
    return report + "\n".join(_far_question(out, PFN.load())) + "\n"
