"""Recalibration measured: ``calibrated(method, reference=...)``, leave one dataset out (issue 16).

For each method, weighting and held-out dataset, ``scalebayes.studies.calibrated`` fits its
split-conformal scale (90% level) on the *other* datasets' curves and wears it on the
held-out dataset's. Printed per dataset: the fitted scale, the 90% coverage, the LL and the
MSCE (means over curves, in the NSL-PFN protocol's normalised y, as the study scores them)
before and after. The goal: 90% +- 5 points on every dataset the scale was not fitted on.
Each method predicts each curve once (the folds reuse the predictions).

``--scale-grid`` also prints, per dataset, the range of scales (0.50 to 1.60 in steps of
0.01) whose stretched 90% intervals cover 90% +- 5 points of that dataset's targets: where two
datasets' ranges do not overlap, no single scale can meet the goal on both.

    python benchmarks/recalibrate.py [--methods pfn,mcmc-m4] [--weights curve,dataset,target]
    python benchmarks/recalibrate.py --weights "" --scale-grid
    python benchmarks/recalibrate.py --methods mcmc-m4-irw --split far10 \
        --datasets ic,nlp,nano,dd,chinchilla --weights curve,target
"""

from __future__ import annotations

import argparse
import time

import numpy as np


class _Memo:
    """A study method's callable that predicts each (dataset, curve) once."""

    def __init__(self, method):
        self.method, self.seen = method, {}
        self.batch_size = method.batch_size

    def __call__(self, curves):
        todo = [c for c in curves if (c.dataset, c.name) not in self.seen]
        if todo:
            for curve, pred in zip(todo, self.method(todo), strict=True):
                self.seen[curve.dataset, curve.name] = pred
        return [self.seen[c.dataset, c.name] for c in curves]

    def settings(self):
        return self.method.settings()


def _coverage(preds, ys) -> float:
    """Mean 90% coverage over the curves."""
    from scalebayes.evaluate import interval_coverage

    return float(np.mean([interval_coverage(p, y, 0.9)[0] for p, y in zip(preds, ys, strict=True)]))


def _scores(preds, ys) -> tuple[float, float, float]:
    """Mean 90% coverage, mean LL and mean MSCE over the curves."""
    from scalebayes.evaluate import log_likelihood, msce

    pairs = list(zip(preds, ys, strict=True))
    ll = np.mean([log_likelihood(p, y) for p, y in pairs])
    return _coverage(preds, ys), float(ll), float(np.mean([msce(p, y) for p, y in pairs]))


def _scale_bands(name, method, curves) -> None:
    """Per dataset, the grid scales that put its mean 90% coverage within 90% +- 5 points."""
    from scalebayes.evaluate import ScaledPredictive

    grid = np.round(np.arange(0.5, 1.6 + 1e-9, 0.01), 2)
    print("\n| method | dataset | curves | cov90 at scale 1 | scales within 90% +- 5 |")
    print("|---|---|---|---|---|")
    for dataset, held in curves.items():
        preds, ys = method(held), [c.y_target for c in held]
        cover = np.array([_coverage([ScaledPredictive(p, s) for p in preds], ys) for s in grid])
        ok = grid[(cover >= 0.85 - 1e-12) & (cover <= 0.95 + 1e-12)]
        band = f"{ok.min():.2f} to {ok.max():.2f}" if ok.size else "none"
        if ok.size and ok.size != round((ok.max() - ok.min()) / 0.01) + 1:
            band += " (not contiguous)"
        print(f"| {name} | {dataset} | {len(held)} | {cover[grid == 1.0][0]:.3f} | {band} |")


def main() -> None:
    from scalebayes.data import FAR_SPLITS, load_benchmark, load_far_benchmark
    from scalebayes.studies import METHODS, Method, calibrated

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="pfn")
    parser.add_argument("--datasets", default="ic,nlp,nano,dd")
    parser.add_argument("--weights", default="curve,dataset,target")
    parser.add_argument("--scale-grid", action="store_true")
    parser.add_argument("--split", default="nsl", help="nsl (default), far10 or far100")
    args = parser.parse_args()
    datasets = [d for d in args.datasets.split(",") if d]
    if args.split == "nsl":
        curves = {d: load_benchmark(d) for d in datasets}
    else:
        curves = {d: load_far_benchmark(d, FAR_SPLITS[args.split]) for d in datasets}
    print(
        "| method | weight | held-out dataset | curves | scale (fitted on the others) "
        "| cov90 before | cov90 after | LL before | LL after | MSCE before | MSCE after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in [m for m in args.methods.split(",") if m]:
        tic = time.perf_counter()
        base = Method(name, _Memo(METHODS[name]), probabilistic=True)
        for weight in [w for w in args.weights.split(",") if w]:
            for held in datasets:
                reference = [c for d in datasets if d != held for c in curves[d]]
                wrapped = calibrated(base, reference, weight=weight)
                ys = [c.y_target for c in curves[held]]
                cov_b, ll_b, msce_b = _scores(base(curves[held]), ys)
                cov_a, ll_a, msce_a = _scores(wrapped(curves[held]), ys)
                print(
                    f"| {name} | {weight} | {held} | {len(ys)} | {wrapped.fn.scale:.3f} "
                    f"| {cov_b:.3f} | {cov_a:.3f} | {ll_b:.3f} | {ll_a:.3f} "
                    f"| {msce_b:.4f} | {msce_a:.4f} |",
                    flush=True,
                )
        if args.scale_grid:
            _scale_bands(name, base, curves)
        print(f"<!-- {name}: {time.perf_counter() - tic:.0f} s -->")


if __name__ == "__main__":
    main()
