"""Seconds per curve of `scalebayes study` against the library's own batched call, back to back.

For each method and dataset, in one process and on the same curves (the dataset's NSL-PFN
split), two timings, each taken twice (a first call that compiles, then a second one that
reuses the compiled programs, as a long study or a second study in one process does):

- library: one batched call of the library for the whole dataset, predictions included;
  point fits ``predict_fits(fit_curves(family, ...), x_target)``, the PFN
  ``PFN.load().predict_many(...)`` with its median and 5-95% quantiles read, MCMC
  ``sample_posterior(...).predictive(x_target)`` with the medians read;
- study: ``run_study(method, dataset, fresh_dir, progress=False)``, the path of the command
  line (``scalebayes study``): batching, padding, scoring every curve (RMSLE, LL, MSCE,
  intervals, CRPS, PIT) and writing ``per_curve.csv`` and ``summary.md``.

The table gives wall seconds per curve, first / second call (for the study, the whole
``run_study`` call, and in brackets the part spent in the method's calls, the ``seconds``
column of ``per_curve.csv``), and the ratio of the second calls (study / library; the goal of
issue 11 is at most 1.5): of the whole study, which also scores every curve and draws the
calibration figure (a fixed cost of about a quarter of a second, which dominates small
datasets), and of its predicting part alone. MCMC is slow (seconds per curve): run
it on a small dataset, e.g.

    python benchmarks/study_speed.py --methods m4,bnsl,pfn --datasets ic,nlp,dd
    python benchmarks/study_speed.py --methods mcmc-m4,mcmc-bnsl --datasets dd
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import jax
import numpy as np

from scalebayes.data import load_benchmark
from scalebayes.inference import fit_curves, predict_fits, sample_posterior
from scalebayes.pfn import PFN
from scalebayes.studies import METHODS, run_study


def _library(method: str, curves) -> None:
    xc, yc, xt = ([getattr(c, a) for c in curves] for a in ("x_context", "y_context", "x_target"))
    if method == "pfn":
        for p in PFN.load().predict_many(xc, yc, xt):
            np.asarray(p.median()), np.asarray(p.quantile([0.05, 0.95]))
    elif method.startswith("mcmc-"):
        family = method.removeprefix("mcmc-")
        result = sample_posterior(jax.random.key(0), family, xc, yc)
        for p in result.predictive(xt):
            np.asarray(p.median())
    else:
        for p in predict_fits(fit_curves(method, xc, yc), xt):
            np.asarray(p)


def _timed_library(method: str, curves) -> float:
    tic = time.perf_counter()
    _library(method, curves)
    return time.perf_counter() - tic


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="m4,bnsl,pfn", help="comma-separated study methods")
    parser.add_argument("--datasets", default="ic,nlp,dd", help="comma-separated benchmarks")
    args = parser.parse_args(argv)
    methods, datasets = args.methods.split(","), args.datasets.split(",")
    for method in methods:
        if method not in METHODS or method.endswith("-irw"):
            parser.error(f"unknown method {method!r}; choose from m1-m4, bnsl, pfn, mcmc-*")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"CPU cores: {os.cpu_count()}; load average (1, 5, 15 min) at start: {load}\n")
    print(
        "| method | dataset | curves | library s/curve (1st / 2nd call) "
        "| study s/curve (1st / 2nd run; predicting only) "
        "| study / library, 2nd (predicting only) |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for method in methods:
            for dataset in datasets:
                curves = list(load_benchmark(dataset))
                n = len(curves)
                lib = [_timed_library(method, curves) / n for _ in range(2)]
                study, predicting = [], []
                for run in range(2):
                    out = os.path.join(tmp, f"{method}-{dataset}-{run}")
                    tic = time.perf_counter()
                    result = run_study(method, dataset, out, progress=False)
                    study.append((time.perf_counter() - tic) / n)
                    predicting.append(sum(s.seconds for s in result.scores) / n)
                print(
                    f"| {method} | {dataset} | {n} | {lib[0]:.3g} / {lib[1]:.3g} "
                    f"| {study[0]:.3g} / {study[1]:.3g} ({predicting[1]:.3g}) "
                    f"| {study[1] / lib[1]:.2f}x ({predicting[1] / lib[1]:.2f}x) |",
                    flush=True,
                )
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nload average at end: {load}")


if __name__ == "__main__":
    main()
