"""Accuracy and speed of the point-estimate fits on the NSL-PFN protocol.

Prints, per dataset, the mean +- std RMSLE over curves of every point family (fitted on the
context points, scored on the targets in the normalised y-space) beside the published figures,
then the IC timing table: the first call (compile + fit) and the steady-state seconds per curve
for M4 and BNSL beside the paper's 15.65 s and 98.79 s.

    python benchmarks/point_fits.py [--families m1,m2,m3,m4,bnsl]
                                    [--datasets ic,nlp,nano,nlp+nano,dd]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from scalebayes.data import load_benchmark
from scalebayes.evaluate import rmsle
from scalebayes.inference import fit_curves

# Published RMSLE on the NSL-PFN protocol (NSLPFN.md section 5; FAMILIES.md for M1-M3 on IC).
PUBLISHED = {
    ("m1", "ic"): 0.1046,
    ("m2", "ic"): 0.0823,
    ("m3", "ic"): 0.0615,
    ("m4", "ic"): 0.0415,
    ("bnsl", "ic"): 0.0406,
    ("bnsl", "nlp+nano"): 0.0223,
    ("bnsl", "dd"): 0.0468,
}
PUBLISHED_SECONDS = {"m4": 15.65, "bnsl": 98.79}


def evaluate(family: str, dataset: str) -> tuple[np.ndarray, float, float]:
    curves = load_benchmark(dataset)
    xs = [c.x_context for c in curves]
    ys = [c.y_context for c in curves]
    t0 = time.perf_counter()
    fits = fit_curves(family, xs, ys)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    fits = fit_curves(family, xs, ys)
    steady = time.perf_counter() - t0
    errors = np.array(
        [rmsle(f.predict(c.x_target), c.y_target) for f, c in zip(fits, curves, strict=True)]
    )
    return errors, first, steady / len(curves)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="m1,m2,m3,m4,bnsl")
    parser.add_argument("--datasets", default="ic,nlp,nano,nlp+nano,dd")
    args = parser.parse_args()
    families = args.families.split(",")
    datasets = args.datasets.split(",")
    print(f"CPU cores: {os.cpu_count()}\n")
    print("| family | dataset | curves | RMSLE mean +- std | published | first call s | s/curve |")
    print("|---|---|---|---|---|---|---|")
    timing = {}
    for family in families:
        for dataset in datasets:
            errors, first, per_curve = evaluate(family, dataset)
            pub = PUBLISHED.get((family, dataset))
            pub_s = f"{pub:.4f}" if pub is not None else "-"
            print(
                f"| {family} | {dataset} | {errors.size}"
                f" | {errors.mean():.4f} +- {errors.std():.4f}"
                f" | {pub_s} | {first:.1f} | {per_curve:.4f} |",
                flush=True,
            )
            if dataset == "ic":
                timing[family] = (first, per_curve)
    if timing:
        print("\nIC speed (72 curves, one batched call; steady state = second call, compiled)")
        print("| family | first call (compile + fit) s | s/curve | published s/curve | speed-up |")
        print("|---|---|---|---|---|")
        for family, (first, per_curve) in timing.items():
            pub = PUBLISHED_SECONDS.get(family)
            speed = f"{pub / per_curve:.0f}x" if pub else "-"
            print(f"| {family} | {first:.1f} | {per_curve:.4f} | {pub or '-'} | {speed} |")


if __name__ == "__main__":
    main()
