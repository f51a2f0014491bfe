"""Where the far model should take over from the default one: both shipped PFNs (and an M4
point fit) on the bundled curves, asked at growing distances beyond the context.

For each factor F, every bundled curve is re-split as the far splits are
(``scalebayes.data.far_split``): the context is the points at or below ``x_max / F``, thinned
to at most ``--max-context`` log-spaced runs; the targets are the points in the top
``log10(F) / 2`` decades, so each target lies ``sqrt(F)`` to ``F`` times beyond the context's
largest x (F = 10: 3.2-10x, the far10 split). Cells are RMSLE / LL / 90% coverage of the
targets, means over curves, in the split's normalised y; the last column names the PFN with
the lower RMSLE. ``scalebayes.pfn.FAR_SWITCH`` (the ratio beyond which ``PFN.load_for``, the
command line and ``extrapolate`` answer with the far model) is read from this table.

    python benchmarks/far_switch.py [--factors 2,3,5,10,30] [--max-context 8] [--stack]

``--stack`` adds a column for the shipped near answer (both PFNs stacked per curve by their
back-tests and stretched by ``NEAR_SCALE``: what ``scalebayes extrapolate`` and the study
method ``pfn`` answer within ``FAR_SWITCH``) and a row per factor pooling every curve.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

from pfn_eval import _as_rows, score_fit, score_pfn, score_stacked

DATASETS = ("ic", "nlp", "nano", "dd", "chinchilla")


def split_rows(name: str, factor: float, max_context: int) -> list[dict]:
    """The curves of a bundled dataset re-split at ``factor`` (those that span enough), with
    targets in the top ``log10(factor) / 2`` decades."""
    from scalebayes.data import load_far_benchmark

    decades = math.log10(factor) / 2
    return _as_rows(
        load_far_benchmark(name, factor, max_context=max_context, target_decades=decades)
    )


def _cell(s: dict) -> str:
    return f"{s['rmsle']:.4f} / {s['ll']:.2f} / {s['cover90']:.2f}"


def main(argv=None) -> None:
    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", default="2,3,5,10,30", help="comma-separated F > 1")
    parser.add_argument("--max-context", type=int, default=8, help="runs kept in the context")
    parser.add_argument("--stack", action="store_true", help="add the stacked PFNs")
    args = parser.parse_args(argv)
    try:
        factors = [float(v) for v in args.factors.split(",")]
    except ValueError:
        parser.error(f"--factors: expected comma-separated numbers, got {args.factors!r}")
    if any(not (math.isfinite(f) and f > 1) for f in factors) or args.max_context < 2:
        parser.error("--factors must be finite and > 1, --max-context >= 2")
    print(f"context: at most {args.max_context} log-spaced runs at or below x_max / F")
    stacked = " stacked (back-test) |" if args.stack else ""
    print(
        f"| F (targets beyond the context) | dataset (curves) | {DEFAULT_MODEL} | {FAR_MODEL} "
        f"|{stacked} M4 point fit | better PFN |"
    )
    print("|---|---|---|---|---|---|" + ("---|" if args.stack else ""))
    start = time.perf_counter()
    for factor in factors:
        pooled = []
        for name in [*DATASETS, "all"]:
            if name == "all" and not (args.stack and pooled):
                continue
            rows = pooled if name == "all" else split_rows(name, factor, args.max_context)
            if len(rows) < 3:
                continue
            pooled += rows if name != "all" else []
            with warnings.catch_warnings():  # beyond a model's reach is what this measures
                warnings.simplefilter("ignore")
                near, far = score_pfn(DEFAULT_MODEL, rows), score_pfn(FAR_MODEL, rows)
                stack = f" {_cell(score_stacked(rows))} |" if args.stack else ""
                m4 = score_fit("m4", rows)
            better = FAR_MODEL if far["rmsle"] < near["rmsle"] else DEFAULT_MODEL
            span = f"{math.sqrt(factor):.2g}-{factor:g}x"
            print(
                f"| {factor:g} ({span}) | {name} ({len(rows)}) | {_cell(near)} | {_cell(far)} "
                f"|{stack} {m4['rmsle']:.4f} | {better} |",
                flush=True,
            )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
