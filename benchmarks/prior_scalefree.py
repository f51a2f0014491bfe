"""Throughput and shape statistics of the scale-free prior (``sample_scalefree_curves``).

Prints, for a training batch (512 curves padded to 128 points), the first call (trace +
compile + run) and the steady-state time per batch by wall clock and by this process's CPU
time, for the scale-free generator and for the NSL-PFN generator ``sample_curves`` on the
same shape (lengths ``logspace(1.0, 2.1)``, i.e. 10..125 points, as ``pfn/_train.py`` draws
them). Then, over a larger batch, the statistics that say whether the curves look like far
extrapolation studies: reach, context sizes, how often the local log-log slope changes
beyond the context, where the floor sets in, and how many Down-Up-Down bumps rise. Optionally
saves the prior-predictive figure. ``--scalefree JSON`` computes the statistics for a variant
(``ScaleFreePriorConfig`` fields, as ``train-pfn --scalefree-set``), ``--stats-only`` skips
the timings.

    python benchmarks/prior_scalefree.py [--repeats 10] [--n-stats 20000] [--plot PATH]
    python benchmarks/prior_scalefree.py --stats-only --scalefree '{"break_prob": 0.25}'
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from scalebayes.priors import (
    FAMILY_NAMES,
    PriorConfig,
    ScaleFreePriorConfig,
    end_slopes,
    plot_scalefree_prior,
    sample_curves,
    sample_scalefree_curves,
    scalefree_log_curve,
    scalefree_slope,
)

BATCH, POINTS = 512, 128


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - wall, time.process_time() - cpu


def measure(draw, repeats: int):
    """First-call wall and CPU seconds; steady wall and CPU seconds per batch (medians)."""
    _, first, first_cpu = _timed(lambda: draw(jax.random.key(0)))
    walls, cpus = [], []
    for i in range(repeats):
        _, wall, cpu = _timed(lambda i=i: draw(jax.random.key(i + 1)))
        walls.append(wall)
        cpus.append(cpu)
    return first, first_cpu, float(np.median(walls)), float(np.median(cpus))


@jax.jit
def _onsets_and_rises(curve, u_first, u_last):
    """Per curve: where the floor sets in ((1 - phi) r(u) = phi), and the largest slope."""
    u = jnp.linspace(-9.0, 6.0, 1501)

    def one(c, lo, hi):
        bare = c._replace(floor_fraction=jnp.zeros(()), bump_height=jnp.zeros(()))
        log_r = scalefree_log_curve(bare, u) - jnp.log(c.y_end)
        phi = c.floor_fraction
        below = jnp.log1p(-phi) + log_r <= jnp.log(phi)
        onset = jnp.where(below.any(), u[jnp.argmax(below)], jnp.inf)
        inside = jnp.linspace(lo, hi, 200)
        return onset, jnp.max(scalefree_slope(c, inside))

    return jax.vmap(one)(curve, u_first, u_last)


def statistics(n: int, config: ScaleFreePriorConfig | None = None) -> None:
    batch = sample_scalefree_curves(jax.random.key(123), n, config=config)
    x = np.asarray(batch.x, np.float64)
    length, ctx = np.asarray(batch.length), np.asarray(batch.context_size)
    family = np.asarray(batch.family)
    u_first = np.log10(x[:, 0])
    reach = np.log10(x[np.arange(n), length - 1])
    s0, s1 = end_slopes(batch)
    change = s1 - s0
    onset, max_slope = (np.asarray(a) for a in _onsets_and_rises(batch.curve, u_first, reach))
    breaks = np.asarray(batch.curve.breaks)
    n_breaks = np.asarray(batch.curve.n_breaks)
    used = np.arange(2)[None, :] < n_breaks[:, None]
    break_in_targets = np.any(used & (breaks > 0) & (breaks <= reach[:, None]), axis=1)

    def q(a):
        return " / ".join(f"{v:.2f}" for v in np.quantile(a, [0.1, 0.5, 0.9]))

    print(f"\nShape statistics over {n} curves (quantiles 10% / 50% / 90%)")
    print("| quantity | value |")
    print("|---|---|")
    shares = ", ".join(f"{k} {np.mean(family == i):.3f}" for i, k in enumerate(FAMILY_NAMES))
    print(f"| family shares | {shares} |")
    print(f"| points per curve | {q(length)} |")
    print(f"| context points | {q(ctx)} |")
    print(f"| target points | {q(length - ctx)} |")
    print(f"| span of the context, decades | {q(-u_first)} |")
    print(f"| reach log10(x_last / x_context_end), decades | {q(reach)} |")
    print(f"| x_last / x_context_end | {q(10**reach)} |")
    print(f"| local log-log slope at x = 1 | {q(s0)} |")
    print(f"| local log-log slope at the last point | {q(s1)} |")
    for t in (0.05, 0.1, 0.2):
        share = np.mean(abs(change) > t)
        print(f"| share with abs(slope change beyond the context) > {t} | {share:.3f} |")
    print(f"| share steeper at the last point by > 0.1 | {np.mean(change < -0.1):.3f} |")
    print(f"| share flatter at the last point by > 0.1 | {np.mean(change > 0.1):.3f} |")
    print(
        f"| share with a break among the targets (0 < b <= reach) | {break_in_targets.mean():.3f} |"
    )
    where = {
        "before the first point": onset <= u_first,
        "inside the context": (onset > u_first) & (onset <= 0),
        "among the targets": (onset > 0) & (onset <= reach),
        "beyond the last point": onset > reach,
    }
    for name, sel in where.items():
        print(f"| floor onset {name} | {sel.mean():.3f} |")
    dud = family == 2
    print(
        f"| Down-Up-Down curves that rise somewhere in range | {np.mean(max_slope[dud] > 0):.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed batches per generator")
    parser.add_argument("--n-stats", type=int, default=20000, help="curves for the statistics")
    parser.add_argument("--plot", default=None, help="save the prior-predictive PNG here")
    parser.add_argument("--scalefree", default="", help="JSON object of prior settings")
    parser.add_argument("--stats-only", action="store_true", help="skip the timings")
    args = parser.parse_args()
    config = ScaleFreePriorConfig(**(json.loads(args.scalefree) if args.scalefree else {}))
    if args.stats_only:
        statistics(args.n_stats, config)
        return

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend: {jax.default_backend()}, CPU cores: {os.cpu_count()}, load: {load:.1f}")
    print(f"batch: {BATCH} curves x {POINTS} points, median of {args.repeats} after the first\n")
    nslpfn = PriorConfig(log10_length_range=(1.0, 2.1))
    cases = {
        "scale-free (sample_scalefree_curves)": lambda key: sample_scalefree_curves(
            key, BATCH, n_points=POINTS
        ),
        "NSL-PFN (sample_curves, 10..125 points)": lambda key: sample_curves(
            key, BATCH, max_length=POINTS, config=nslpfn
        ),
    }
    print(
        "| generator | first call s, wall / CPU | ms per batch (wall) | ms per batch (CPU) "
        "| curves/s (wall) | curves/s (CPU) |"
    )
    print("|---|---|---|---|---|---|")
    for name, draw in cases.items():
        first, first_cpu, wall, cpu = measure(draw, args.repeats)
        print(
            f"| {name} | {first:.1f} / {first_cpu:.1f} | {1e3 * wall:.1f} | {1e3 * cpu:.1f} "
            f"| {BATCH / wall:,.0f} | {BATCH / cpu:,.0f} |",
            flush=True,
        )

    statistics(args.n_stats, config)
    if args.plot:
        plot_scalefree_prior(jax.random.key(0), 12, args.plot)
        print(f"\nsaved {args.plot}")


if __name__ == "__main__":
    main()
