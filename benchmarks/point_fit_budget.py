"""How much the point fits' fixed iteration budget (``fit_curves(n_iter=...)``) decides.

``fit_curves`` runs Levenberg-Marquardt for a fixed number of iterations per start (default
100) and has no stopping test, so a fit can stop before the least-squares minimum. This
script refits every curve of the NSL-PFN benchmarks (their protocol split, and the far10
split) with larger budgets and prints, per dataset and split: the mean RMSLE of the targets
at each budget, and how many fits at the default budget are within 1e-6 and 1% (relative)
of the lowest fitting loss found at any budget.

    python benchmarks/point_fit_budget.py [--families m4,bnsl] [--budgets 100,400,1600]

M4 at three budgets takes about 3 minutes on a 2-core CPU; BNSL at two about 2.5.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from scalebayes.data import far_split, load_benchmark
from scalebayes.inference import fit_curves

DATASETS = ("ic", "nlp", "nano", "dd")


def _curves(dataset: str, split: str):
    curves = load_benchmark(dataset)
    if split == "far10":
        curves = [c for c in (far_split(c, 10) for c in curves) if c is not None]
    return curves


def _rmsle(fit, curve) -> float:
    target = ~curve.is_context
    return float(np.sqrt(np.mean(np.log(fit.predict(curve.x[target]) / curve.y[target]) ** 2)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="m4,bnsl")
    parser.add_argument("--budgets", default="100,400,1600")
    args = parser.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",")]
    head = " | ".join(f"RMSLE at {b}" for b in budgets)
    print(f"| family | set | curves | {head} | at {budgets[0]}: within 1e-6 / 1% of the best |")
    print("|---|---|---|" + "---|" * len(budgets) + "---|")
    for family in args.families.split(","):
        for dataset in DATASETS:
            for split in ("nsl", "far10"):
                curves = _curves(dataset, split)
                xs = [c.x[c.is_context] for c in curves]
                ys = [c.y[c.is_context] for c in curves]
                losses, scores = [], []
                for budget in budgets:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # e.g. BNSL's too-few-points notes
                        fits = fit_curves(family, xs, ys, n_iter=budget)
                    losses.append([f.loss for f in fits])
                    scores.append(
                        np.mean([_rmsle(f, c) for f, c in zip(fits, curves, strict=True)])
                    )
                losses = np.asarray(losses)
                best = losses.min(axis=0)
                excess = (losses[0] - best) / np.maximum(best, 1e-300)
                cells = " | ".join(f"{s:.4f}" for s in scores)
                print(
                    f"| {family} | {dataset} {split} | {len(curves)} | {cells} | "
                    f"{int((excess <= 1e-6).sum())} / {int((excess <= 1e-2).sum())} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
