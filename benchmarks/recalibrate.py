"""Recalibration measured: a split-conformal scale on log y, leave one dataset out (issue 16).

For each method and each held-out dataset, the scale of
``scalebayes.evaluate.conformal_scale`` (90% level) is fitted on the targets of the *other*
datasets and worn by the held-out dataset's predictives (``ScaledPredictive``). Printed per
dataset: the fitted scale, the 90% coverage and the LL (mean over curves, the NSL-PFN
protocol's y space) before and after. The goal: 90% +- 5 points on every dataset the scale was
not fitted on.

    python benchmarks/recalibrate.py [--methods pfn,mcmc-m4] [--datasets ic,nlp,nano,dd]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def predictions(method: str, dataset: str):
    """``(predictives, targets)`` of every curve of a bundled dataset."""
    import jax

    from scalebayes.data import load_benchmark

    curves = load_benchmark(dataset)
    if method == "pfn":
        from scalebayes.pfn import PFN

        pfn = PFN.load()
        preds = pfn.predict_many(
            [c.x_context for c in curves],
            [c.y_context for c in curves],
            [c.x_target for c in curves],
            y_scale=1.0,  # the benchmarks come normalised, as the study's pfn method assumes
        )
    elif method.startswith("mcmc-"):
        from scalebayes.inference import sample_posterior

        result = sample_posterior(
            jax.random.key(0),
            method.split("-", 1)[1],
            [c.x_context for c in curves],
            [c.y_context for c in curves],
            names=[c.name for c in curves],
        )
        preds = result.predictive([c.x_target for c in curves])
    else:
        raise SystemExit(f"unknown method {method!r}: choose pfn or mcmc-<family>")
    return preds, [c.y_target for c in curves]


def _scores(preds, ys) -> tuple[float, float]:
    """Mean 90% coverage and mean LL over the curves."""
    from scalebayes.evaluate import interval_coverage, log_likelihood

    pairs = list(zip(preds, ys, strict=True))
    coverage = np.mean([interval_coverage(p, y, 0.9)[0] for p, y in pairs])
    return float(coverage), float(np.mean([log_likelihood(p, y) for p, y in pairs]))


def main() -> None:
    from scalebayes.evaluate import ScaledPredictive, conformal_scale

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="pfn")
    parser.add_argument("--datasets", default="ic,nlp,nano,dd")
    args = parser.parse_args()
    datasets = [d for d in args.datasets.split(",") if d]
    print(
        "| method | held-out dataset | curves | scale (fitted on the others) | cov90 before "
        "| cov90 after | LL before | LL after |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for method in [m for m in args.methods.split(",") if m]:
        tic = time.perf_counter()
        data = {d: predictions(method, d) for d in datasets}
        for held in datasets:
            ref_p = [p for d in datasets if d != held for p in data[d][0]]
            ref_y = [y for d in datasets if d != held for y in data[d][1]]
            s = conformal_scale(ref_p, ref_y, 0.9)
            preds, ys = data[held]
            scaled = [ScaledPredictive(p, s) for p in preds]
            cov_b, ll_b = _scores(preds, ys)
            cov_a, ll_a = _scores(scaled, ys)
            print(
                f"| {method} | {held} | {len(preds)} | {s:.3f} | {cov_b:.3f} | {cov_a:.3f} "
                f"| {ll_b:.3f} | {ll_a:.3f} |",
                flush=True,
            )
        print(f"<!-- {method}: {time.perf_counter() - tic:.0f} s -->")


if __name__ == "__main__":
    main()
