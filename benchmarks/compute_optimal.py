"""Compute-optimal planning: Chinchilla replication, posterior allocation, teacher experiment.

Prints, with the published figures beside the measured ones:

1. the Huber fit of Besiroglu et al. on the 240 Chinchilla runs, with bootstrap standard
   errors, beside their estimates and standard errors;
2. the NUTS posterior means (sd) of E, A, B, alpha, beta (Huber and Student-t likelihoods);
3. the compute-optimal N* and D*/N* at C = 5.76e23 with 90% intervals beside 7.24e10 and 18.3;
4. the synthetic teacher-student experiment: excess losses over the (T, n) grid and the
   empirical compute-optimal exponent with its interval beside the bound's and the paper's;
5. seconds per stage.

    python benchmarks/compute_optimal.py [--bootstrap 1000] [--full-grid] [--skip-teacher]
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from scalebayes.compute import (
    BESIROGLU_2024,
    BESIROGLU_2024_ALLOCATION,
    BESIROGLU_2024_SE,
    CHINCHILLA_BUDGET,
    HOFFMANN_2022,
    HOFFMANN_2022_ALLOCATION,
    TeacherConfig,
    chinchilla_runs,
    compare_exponents,
    estimates_table,
    fit_joint_law,
    fit_joint_law_mle,
    run_teacher_experiment,
)

NAMES = ("E", "A", "B", "alpha", "beta")


def section(title: str) -> None:
    print(f"\n{title}\n{'=' * len(title)}")


def interval(draws: np.ndarray, prob: float = 0.9) -> tuple[float, float]:
    tail = (1 - prob) / 2
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))


def huber_fit(runs, n_bootstrap: int, full_grid: bool, timings: dict) -> object:
    section("1. Huber fit (Besiroglu et al.'s estimator) on the 240 Chinchilla runs")
    t0 = time.perf_counter()
    mle = fit_joint_law_mle(runs, n_bootstrap=n_bootstrap, key=jax.random.key(1))
    timings["Huber fit, 64 refined starts + bootstrap"] = time.perf_counter() - t0
    se = mle.standard_errors() if n_bootstrap else None
    rows = [
        ("Hoffmann et al. 2022 (published)", HOFFMANN_2022, None),
        ("Besiroglu et al. 2024 (s.e., 4000 boot.)", BESIROGLU_2024, BESIROGLU_2024_SE),
        (f"scalebayes Huber fit (s.e., {n_bootstrap} boot.)", mle.params, se),
    ]
    if full_grid:
        t0 = time.perf_counter()
        full = fit_joint_law_mle(runs, refine=None)
        timings["Huber fit, all 4500 starts optimised"] = time.perf_counter() - t0
        rows.append(("scalebayes, all 4500 starts optimised", full.params, None))
        gap = max(abs(full.params[k] / mle.params[k] - 1) for k in NAMES)
        print(
            f"all 4500 starts: objective {full.objective:.10g} (refined 64: {mle.objective:.10g}),"
            f" largest relative parameter difference {gap:.1e}"
        )
    print(f"objective (summed Huber, delta 1e-3) {mle.objective:.6g}; {mle.n_converged} of")
    print(f"{mle.n_starts} refined starts within 1e-6 of it\n")
    print(estimates_table(rows))
    return mle


def bayes_fit(runs, timings: dict) -> dict:
    section("2. NUTS posterior (4 chains x 2000 draws, 1000 warm-up), weakly informative priors")
    posteriors = {}
    for likelihood in ("huber", "student_t"):
        t0 = time.perf_counter()
        posteriors[likelihood] = fit_joint_law(
            jax.random.key(0), runs, likelihood=likelihood, num_samples=2000
        )
        timings[f"NUTS, {likelihood} likelihood"] = time.perf_counter() - t0
    header = f"{'param':6}{'Besiroglu (s.e.)':>22}" + "".join(
        f"{f'{lik} mean (sd)':>24}" for lik in posteriors
    )
    print(header)
    print("-" * len(header))
    for name in NAMES:
        row = f"{name:6}{f'{BESIROGLU_2024[name]:.5g} ({BESIROGLU_2024_SE[name]:.3g})':>22}"
        for post in posteriors.values():
            row += f"{f'{post.mean()[name]:.5g} ({post.sd()[name]:.3g})':>24}"
        print(row)
    for likelihood, post in posteriors.items():
        print(f"{likelihood}: {post.diagnostics.line}")
    return posteriors


def allocation_table(mle, posteriors) -> None:
    section("3. Compute-optimal allocation at C = 5.76e23 FLOPs (C = 6 N D)")
    print(f"{'source':40}{'N* [90% interval]':>34}{'D*/N* [90% interval]':>26}")
    print("-" * 100)
    for label, ref in (
        ("Besiroglu et al. 2024 (check value)", BESIROGLU_2024_ALLOCATION),
        ("Hoffmann et al. 2022 (check value)", HOFFMANN_2022_ALLOCATION),
    ):
        print(f"{label:40}{ref['N']:>34.3g}{ref['ratio']:>26.3g}")
    point = mle.allocation(CHINCHILLA_BUDGET)
    n, ratio = float(point.n_params), float(point.n_tokens / point.n_params)
    if mle.bootstrap is not None:
        boot = mle.bootstrap_allocation(CHINCHILLA_BUDGET)
        n_lo, n_hi = interval(boot.n_params)
        r_lo, r_hi = interval(boot.n_tokens / boot.n_params)
        cells = (f"{n:.3g} [{n_lo:.3g}, {n_hi:.3g}]", f"{ratio:.3g} [{r_lo:.3g}, {r_hi:.3g}]")
    else:
        cells = (f"{n:.3g}", f"{ratio:.3g}")
    print(f"{'scalebayes Huber fit (bootstrap)':40}{cells[0]:>34}{cells[1]:>26}")
    for likelihood, post in posteriors.items():
        alloc = post.allocation(CHINCHILLA_BUDGET)
        n_lo, n_hi = alloc.interval("n_params")
        r_lo, r_hi = alloc.interval("ratio")
        cells = (
            f"{alloc.median('n_params')[0]:.3g} [{n_lo[0]:.3g}, {n_hi[0]:.3g}]",
            f"{alloc.median('ratio')[0]:.3g} [{r_lo[0]:.3g}, {r_hi[0]:.3g}]",
        )
        print(f"{f'scalebayes NUTS, {likelihood} (median)':40}{cells[0]:>34}{cells[1]:>26}")
    post = posteriors["huber"]
    exponent = post.allocation(CHINCHILLA_BUDGET).exponent[:, 0]
    lo, hi = interval(exponent)
    print(
        f"\nexponent a of N* ~ C^a (huber posterior): {exponent.mean():.3f} [90%: {lo:.3f}, "
        f"{hi:.3f}]; Besiroglu's point estimate {0.3658 / (0.3478 + 0.3658):.3f}, "
        f"Hoffmann's {0.28 / 0.62:.3f}"
    )


def teacher(timings: dict) -> None:
    cfg = TeacherConfig()
    section(
        f"4. Teacher-student experiment: d = {cfg.input_dim}, K = {cfg.n_classes}, teacher "
        f"width {cfg.teacher_width}, {cfg.n_seeds} seeds, Adam {cfg.steps} steps"
    )
    t0 = time.perf_counter()
    result = run_teacher_experiment(jax.random.key(0), cfg)
    timings["teacher experiment (training)"] = time.perf_counter() - t0
    print(f"teacher Bayes loss per seed (nats): {np.round(result.bayes_loss, 4).tolist()}")
    print("mean excess test loss KL(teacher || student) at the early-stopping step:\n")
    print(result.table())
    t0 = time.perf_counter()
    post = fit_joint_law(jax.random.key(1), result.runs())
    timings["teacher joint-law NUTS"] = time.perf_counter() - t0
    print(f"\njoint law excess(p, T) = E + A p^-alpha + B T^-beta, NUTS: {post.diagnostics.line}")
    print(post.summary())
    comparison = compare_exponents(post, result)
    lo, hi = comparison.compute_range
    print(f"\ncompute-optimal exponent (C = p T, over C in [{lo:.3g}, {hi:.3g}]):")
    print(comparison.table())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument(
        "--full-grid", action="store_true", help="also optimise all 4,500 starts (~2 min)"
    )
    parser.add_argument("--skip-teacher", action="store_true", help="skip the experiment")
    args = parser.parse_args()
    print(f"CPU cores: {os.cpu_count()}; JAX {jax.__version__} on {jax.default_backend()}")
    timings: dict[str, float] = {}
    runs = chinchilla_runs()
    mle = huber_fit(runs, args.bootstrap, args.full_grid, timings)
    posteriors = bayes_fit(runs, timings)
    allocation_table(mle, posteriors)
    if not args.skip_teacher:
        teacher(timings)
    section("5. Seconds per stage (including compilation)")
    for name, seconds in timings.items():
        print(f"{name:45}{seconds:8.1f}")


if __name__ == "__main__":
    main()
