"""NTK uncertainty: mu_L, sigma_L, eps_L against N, infinite and finite width, both tasks.

For each task (scikit-learn digits, one-hot MSE classification; the calorimeter toy, energy
regression) prints

1. the table of mu_L, sigma_L, eps_L against the training-set size N for the infinite-width
   ensemble (t = inf), its exact finite-time twin (t = steps at each learning rate) and every
   finite width and learning rate (ensembles of --members seeds, standard errors from a
   bootstrap over members), with the final training MSE of the finite nets;
2. the power laws a N^-alpha fitted to mu_L and sigma_L (90% residual-bootstrap intervals)
   and the N from which eps_L stays within --rtol (its largest value from there on is less
   than 1 + rtol times its smallest);
3. how close each finite width's eps_L comes to the infinite-width value at the same t;
4. seconds per curve and the peak memory (process RSS; device memory on a GPU).

The reference: Elsharkawy, Kahn and Hooberman (arXiv:2503.05938) claim that eps_L becomes
independent of N for large N at infinite and finite width; their numbers could not be read,
so no figures stand beside ours.

    python benchmarks/ntk_study.py [--tasks digits,calorimeter] [--max-size 2048]
        [--depth 1] [--widths 128,512,2048] [--lr-fractions 0.5,0.25] [--steps 500]
        [--members 32] [--finite-max-size 128] [--draws 1] [--plot-dir DIR]

The defaults are what fits a 2-core CPU in about 10 minutes (one hidden layer, finite
ensembles up to N = 128); the infinite width always runs up to --max-size (capped by the
pool: digits has 1,297 training points after 500 test points). Learning rates are fractions
of 2|Y| / lambda_max(Theta_XX), the largest stable rate of the linearised network, at the
largest finite training set.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import jax
import numpy as np

from scalebayes import precision
from scalebayes.ntk import (
    MLPConfig,
    applied_shims,
    calorimeter_showers,
    load_digits,
    log_sizes,
    max_stable_learning_rate,
    mlp_kernels,
    run_ntk_study,
)


def section(title: str) -> None:
    print(f"\n{title}\n{'=' * len(title)}", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def device_peak_mb() -> float | None:
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="digits,calorimeter")
    parser.add_argument("--min-size", type=int, default=32)
    parser.add_argument("--max-size", type=int, default=2048)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--widths", default="128,512,2048")
    parser.add_argument("--lr-fractions", default="0.5,0.25")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--finite-max-size", type=int, default=128)
    parser.add_argument("--draws", type=int, default=1)
    parser.add_argument("--calorimeter-n", type=int, default=4000)
    parser.add_argument("--rtol", type=float, default=0.1)
    parser.add_argument("--plot-dir", default=None)
    args = parser.parse_args()

    widths = [int(w) for w in args.widths.split(",") if w]
    fractions = [float(f) for f in args.lr_fractions.split(",") if f]
    config = MLPConfig(depth=args.depth)
    print(
        f"jax {jax.__version__} on {jax.devices()[0].device_kind}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"neural-tangents shims lent while importing: {', '.join(applied_shims()) or 'none'}")
    print(
        f"architecture: depth {config.depth}, W_std {config.W_std:.4g}, b_std {config.b_std}, "
        f"{config.activation}; test points {args.n_test}; finite ensembles of {args.members} "
        f"seeds, widths {widths}, {args.steps} full-batch GD steps, N <= {args.finite_max_size}"
    )
    for task in args.tasks.split(","):
        dataset = load_digits() if task == "digits" else calorimeter_showers(args.calorimeter_n)
        pool_size = len(dataset) - args.n_test
        hi = min(args.max_size, pool_size)
        sizes = log_sizes(args.min_size, hi)
        pool_n = min(args.finite_max_size, hi)
        with precision("float64"):
            pool, _ = dataset.split(args.n_test, seed=0)
            theta = mlp_kernels(config, pool.x[:pool_n]).ntk
            lr_max = max_stable_learning_rate(theta, dataset.y.shape[1])
        lrs = [round(f * lr_max, 3) for f in fractions]
        section(
            f"{dataset.name}: {dataset.task}, {len(dataset)} points, d = {dataset.x.shape[1]}, "
            f"k = {dataset.y.shape[1]}; sizes {sizes.tolist()}"
        )
        print(f"largest stable GD rate at N = {pool_n}: {lr_max:.3f}; learning rates {lrs}")
        start = time.perf_counter()
        study = run_ntk_study(
            config,
            dataset,
            sizes,
            n_test=args.n_test,
            widths=widths,
            learning_rates=lrs,
            steps=args.steps,
            n_members=args.members,
            finite_max_size=args.finite_max_size,
            n_draws=args.draws,
            rtol=args.rtol,
        )
        total = time.perf_counter() - start
        print(study.table())
        print("\npower laws a N^-alpha (90% bootstrap intervals) and the eps_L plateau:")
        print(study.fits_table())
        print("\nfinite-width eps_L / infinite-width eps_L at the same t (mean over sizes):")
        twins = {c.learning_rate: c for c in study.curves if c.width is None and c.t is not None}
        for c in study.curves:
            if c.width is not None:
                twin = twins[c.learning_rate]
                ratio = c.eps / twin.eps
                mu_ratio = c.mu / twin.mu
                print(
                    f"  {c.label:>22}: eps ratio {np.round(ratio, 3).tolist()} "
                    f"(mean {ratio.mean():.3f}); mu ratio mean {mu_ratio.mean():.3f}"
                )
        print("\nseconds:")
        print(study.timing_table())
        device = device_peak_mb()
        print(
            f"total {total:.1f} s; peak RSS so far {peak_rss_mb():.0f} MB"
            + ("" if device is None else f"; peak device memory {device:.0f} MB")
            + f"; load average {os.getloadavg()[0]:.2f}"
        )
        if args.plot_dir:
            study.plot(os.path.join(args.plot_dir, f"ntk_{dataset.name}.png"))


if __name__ == "__main__":
    main()
