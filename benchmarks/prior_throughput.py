"""Throughput of the NSL-PFN prior generator (``scalebayes.priors.sample_curves``).

Prints, for fixed-length curves (the throughput case, 100 points) and NSL-PFN's variable
lengths (50..501 points, padded to 501): the first call (trace + compile + run), the
steady-state curves per second by wall clock and by this process's CPU time (XLA runs the
generator on one core; on a shared machine the wall clock also counts other processes'
time), the target beside it, and the rejection rate per family (the share of candidate
curves redrawn). Optionally saves the prior-predictive figure.

    python benchmarks/prior_throughput.py [--n 50000] [--repeats 5] [--plot PATH]
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from scalebayes.priors import FAMILY_NAMES, plot_prior_predictive, sample_curves

TARGET = 50_000  # curves of length 100 per second on a 2-core CPU, after compilation


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - wall, time.process_time() - cpu


def measure(n: int, length: int | None, repeats: int):
    """First-call wall and CPU seconds, steady wall and CPU seconds (medians), last batch."""
    batch, first, first_cpu = _timed(lambda: sample_curves(jax.random.key(0), n, length=length))
    walls, cpus = [], []
    for i in range(repeats):
        key = jax.random.key(i + 1)
        batch, wall, cpu = _timed(lambda key=key: sample_curves(key, n, length=length))
        walls.append(wall)
        cpus.append(cpu)
    return first, first_cpu, float(np.median(walls)), float(np.median(cpus)), batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="curves per batch")
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per case")
    parser.add_argument("--plot", default=None, help="save the prior-predictive PNG here")
    args = parser.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend: {jax.default_backend()}, CPU cores: {os.cpu_count()}, load: {load:.1f}")
    print(f"batch: {args.n} curves, median of {args.repeats} batches after the first\n")
    print(
        "| curve length | first call s, wall / CPU (compile + run) | steady s (wall) "
        "| curves/s (wall) | curves/s (CPU time) | target curves/s |"
    )
    print("|---|---|---|---|---|---|")
    batches = {}
    for length in (100, None):
        first, first_cpu, wall, cpu, batch = measure(args.n, length, args.repeats)
        batches[length] = batch
        target = f"{TARGET:,}" if length == 100 else "-"
        name = "100" if length else "50..501 (padded to 501)"
        print(
            f"| {name} | {first:.1f} / {first_cpu:.1f} | {wall:.3f} | {args.n / wall:,.0f} "
            f"| {args.n / cpu:,.0f} | {target} |",
            flush=True,
        )

    print("\nRejection per family (share of candidates redrawn), length 100")
    print("| family | curves | share | candidates per curve | rejection rate |")
    print("|---|---|---|---|---|")
    b = batches[100]
    family, tries = np.asarray(b.family), np.asarray(b.n_tries)
    for k, name in enumerate(FAMILY_NAMES):
        sel = family == k
        per_curve = tries[sel].mean()
        print(
            f"| {name} | {sel.sum()} | {sel.mean():.3f} | {per_curve:.2f} "
            f"| {1 - 1 / per_curve:.3f} |"
        )
    per_curve = tries.mean()
    print(f"| all | {tries.size} | 1.000 | {per_curve:.2f} | {1 - 1 / per_curve:.3f} |")

    y = np.asarray(b.y)[np.asarray(b.mask)]
    q = np.quantile(y, [0.1, 0.5, 0.9])
    print("\nEqual-mass quantiles of noisy y (length 100) vs the released bar borders")
    print("| quantile | measured | released |")
    print("|---|---|---|")
    for level, got, ref in zip((0.1, 0.5, 0.9), q, (0.152, 0.433, 0.861), strict=True):
        print(f"| {level} | {got:.3f} | {ref} |")

    if args.plot:
        plot_prior_predictive(jax.random.key(0), 30, args.plot)
        print(f"\nsaved {args.plot}")


if __name__ == "__main__":
    main()
