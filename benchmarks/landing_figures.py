"""The pictures and the table the README and the docs' landing page open with (`make figures`).

Writes, all measured in this run:

- ``docs/img/fan_near.png``: the shipped PFN and MCMC(M4) on one curve's NSL-PFN split (the
  published protocol: most of the curve as context, the rest as targets);
- ``docs/img/fan_far.png``: the same curve's far split, a few log-spaced runs as context and
  targets 10-300x beyond the last one (``--factor``, default 100), answered as ``scalebayes
  extrapolate`` answers it (the far model beyond 5x) and by MCMC(M4);
- the benchmark table between ``<!-- landing:table -->`` and ``<!-- /landing:table -->`` in
  ``README.md`` and ``docs/index.md``: means over curves of RMSLE / LL / MSCE / 90% coverage
  from a study's ``per_curve.csv`` (``--study``, default ``figures_out/calibration``, the
  study ``make figures`` runs first), beside the NSL-PFN paper's figures.

The curve is chosen by a rule, not by eye: the first curve of ``--benchmark`` (benchmark
order) whose far split keeps at most ``--max-runs`` context runs (``--curve`` overrides).

    python benchmarks/landing_figures.py [--study DIR] [--benchmark ic] [--factor 100]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
MARK = "landing:table"
PAGES = (ROOT / "README.md", ROOT / "docs" / "index.md")
LABELS = {
    "pfn": "PFN (shipped)",
    "mcmc-m4": "MCMC(M4)",
    "mcmc-m4-irw": "MCMC(M4), ou_irw noise",
    "mcmc-bnsl": "MCMC(BNSL)",
    "m4": "M4 point fit",
    "bnsl": "BNSL point fit",
}
# The NSL-PFN paper's rows shown beneath ours (benchmarks/pfn_benchmarks.py holds the figures).
PAPER_ROWS = {"NSL-PFN": "NSL-PFN (published)", "MCMC (M4)": "MCMC(M4) (published)"}
GROUPS = {"IC": ("ic",), "NLP+Nano": ("nlp", "nano"), "DD": ("dd",)}


def choose_curve(benchmark: str, factor: float, max_runs: int, name: str | None):
    """``(near, far)``: one curve's NSL-PFN split and its far split, chosen by the rule above."""
    from scalebayes.data import load_benchmark, load_far_benchmark

    far = load_far_benchmark(benchmark, factor)
    if name is not None:
        picks = [c for c in far if c.name == name]
        if not picks:
            raise SystemExit(f"error: no curve {name!r} in {benchmark} with a far{factor:g} split")
    else:
        picks = [c for c in far if c.n_context <= max_runs]
        if not picks:
            raise SystemExit(f"error: no {benchmark} curve has <= {max_runs} far-split runs")
    far_curve = picks[0]
    near_curve = next(c for c in load_benchmark(benchmark) if c.name == far_curve.name)
    return near_curve, far_curve


def _predict(curve, x_grid):
    """PFN and MCMC(M4) predictives at the targets and on the grid (normalised y). The PFN is
    ``scalebayes extrapolate``'s answer (``scalebayes.pfn.extrapolate``): within 5x both
    shipped models weighted by a back-test on the curve's runs, the far model beyond."""
    from scalebayes.inference import curve_keys, sample_posterior
    from scalebayes.pfn import FAR_MODEL, extrapolate

    pfn_t, pfn_g = (
        extrapolate(curve.x_context, curve.y_context, xq, y_scale=1.0)
        for xq in (curve.x_target, x_grid)
    )
    label = "PFN (shipped)" if hasattr(pfn_g, "weights") else f"far PFN ({FAR_MODEL})"
    post = sample_posterior(
        curve_keys(0, [curve.name]), "m4", [curve.x_context], [curve.y_context], names=[curve.name]
    )
    mcmc_t, mcmc_g = post.predictive([curve.x_target])[0], post.predictive([x_grid])[0]
    return {label: (pfn_t, pfn_g), "MCMC(M4)": (mcmc_t, mcmc_g)}


def _scores(pred, y):
    from scalebayes.evaluate import interval_coverage, rmsle

    return rmsle(pred.median(), y), interval_coverage(pred, y, 0.9)[0]


def fan_figure(
    curve, path: Path, title: str, zoom: float | None = None
) -> dict[str, tuple[float, float]]:
    """Two panels (PFN, MCMC(M4)): context, targets, median and 50% / 90% bands; returns
    ``method -> (RMSLE, 90% coverage)`` on the targets. ``zoom``: show x from the last run
    divided by it (a dense curve's fan is short)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from scalebayes._io import write_figure

    x_grid = np.geomspace(curve.x_context[-1] * 1.0001, curve.x[-1] * 1.05, 120)
    preds = _predict(curve, x_grid)
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    scores = {}
    for ax, (label, (at_targets, on_grid)), color in zip(
        axes, preds.items(), ("C2", "C0"), strict=True
    ):
        scores[label] = _scores(at_targets, curve.y_target)
        q = np.asarray(on_grid.quantile(LEVELS))  # (levels, grid)
        ax.plot(curve.x_target, curve.y_target, ".", ms=2.5, color="0.55", label="held-out")
        ax.fill_between(x_grid, q[0], q[4], color=color, alpha=0.25, lw=0, label="90% interval")
        ax.fill_between(x_grid, q[1], q[3], color=color, alpha=0.45, lw=0, label="50% interval")
        ax.plot(x_grid, q[2], "-", color=color, lw=1.8, label="median")
        ax.plot(curve.x_context, curve.y_context, "o", ms=4, color="black", label="runs (context)")
        ax.axvline(curve.x_context[-1], color="0.8", lw=1, ls=":")
        rmsle_value, cover = scores[label]
        ax.set_title(f"{label}: RMSLE {rmsle_value:.3f}, 90% coverage {cover:.2f}", fontsize=10)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("x")
        if zoom is not None:  # the last stretch of a dense curve, where the fan is
            lo = curve.x_context[-1] / zoom
            shown = np.concatenate([curve.y[curve.x >= lo], q[:, :].ravel()])
            ax.set_xlim(lo, x_grid[-1] * 1.05)
            ax.set_ylim(shown.min() * 0.97, shown.max() * 1.03)
    axes[0].set_ylabel(f"loss / {curve.y_scale:.3g}" if curve.y_scale != 1.0 else "loss")
    axes[0].legend(fontsize="small", loc="best")
    fig.suptitle(title, fontsize=11)
    write_figure(fig, path, dpi=110)
    return scores


def benchmark_table(study: Path) -> str:
    """Markdown: method x (IC, NLP+Nano, DD), means over curves, then the published rows."""
    from pfn_benchmarks import PUBLISHED  # beside this script
    from study_table import table

    lines = [table(study, LABELS, GROUPS)]
    for key, label in PAPER_ROWS.items():
        cells = []
        for group in GROUPS:
            values = PUBLISHED[key].get(group.lower(), (None, None, None))
            cells.append(" / ".join("-" if v is None else f"{v:g}" for v in values))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    pattern = re.compile(rf"(<!-- {MARK} -->\n)(?:.*?\n)?(<!-- /{MARK} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: no <!-- {MARK} --> ... <!-- /{MARK} --> block to fill")
    return pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=ROOT / "figures_out" / "calibration")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--benchmark", default="ic")
    parser.add_argument("--factor", type=float, default=100.0)
    parser.add_argument("--max-runs", type=int, default=5)
    parser.add_argument("--curve", default=None)
    args = parser.parse_args(argv)
    if not (args.study / "per_curve.csv").is_file():
        raise SystemExit(f"error: {args.study}/per_curve.csv not found; run `make figures`")

    from scalebayes._io import atomic_write_text

    near, far = choose_curve(args.benchmark, args.factor, args.max_runs, args.curve)
    ratio = far.x_target.max() / far.x_context.max()
    for curve, name, title, zoom in (
        (near, "fan_near.png", f"{near.dataset} '{near.name}': NSL-PFN split (last decade)", 10),
        (
            far,
            "fan_far.png",
            f"same curve, {far.n_context} runs as context, targets up to {ratio:.0f}x beyond",
            None,
        ),
    ):
        scores = fan_figure(curve, args.out / name, title, zoom)
        for label, (r, cov) in scores.items():
            print(f"{name}: {label}: RMSLE {r:.4f}, 90% coverage {cov:.2f}")
    table = benchmark_table(args.study)
    print(table)
    for page in PAGES:
        atomic_write_text(page, replace_block(page.read_text(), table))
        print(f"table written to {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
