"""Which run next, measured: acquisition policies on the bundled curves (issue 15).

For every curve of a dataset, its context points are thinned to at most ``--max-runs``
log-spaced runs (the points nearest to a geometric grid over the context), the way a scaling
study grows. The first ``k = 3`` runs are done; the rest are the pool. One run at a time is
acquired, always a run *larger* than every run done so far (the next run of a study; the
shipped PFN extrapolates and cannot fantasise inside the observed range), by:

- ``eig/cost``: the largest expected narrowing of the 90% interval at the curve's largest
  target x per unit cost (``scalebayes.design.suggest_next``, cost proportional to x);
- ``random``: a uniformly random eligible run (``--seeds`` repetitions, averaged);
- ``largest``: the largest eligible run (one jump: nothing larger is left after it);
- ``cheapest``: the smallest eligible run (walks up the pool).

After each acquisition the PFN predicts the curve's benchmark targets from the runs done, and
the target RMSLE and LL are recorded against the cumulative cost (sum of the acquired x, in
units of the largest initial run). Per curve, a policy's score at budget ``B`` is its score
after the last acquisition it could afford (a policy that stopped keeps its last value). The
tables give, averaged over curves:

- AUC: the mean score over a log-spaced budget grid from the cheapest pool run to the whole
  pool's cost (lower RMSLE, higher LL is better);
- cost to reach a target RMSLE: the smallest budget at which the RMSLE is within 10% of what
  the whole pool gives (median over curves of the budget in units of the whole pool's cost;
  a policy that never reaches it counts as 1).

Rows are written per dataset to ``--out`` (CSV, atomically, resumed by dataset) and the plot
to ``docs/img/active_learning.png``.

    python benchmarks/active_learning.py [--datasets ic,nlp,nano,dd] [--max-runs 10]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

POLICIES = ("eig/cost", "random", "largest", "cheapest")
K_INITIAL = 3
TARGET_SLACK = 1.10  # "reaches the target": RMSLE within 10% of the whole pool's


def _thin(x: np.ndarray, max_runs: int) -> np.ndarray:
    """Indices of at most ``max_runs`` context points nearest to a geometric grid."""
    if x.size <= max_runs:
        return np.arange(x.size)
    grid = np.geomspace(x.min(), x.max(), max_runs)
    idx = sorted({int(np.argmin(np.abs(np.log(x) - np.log(g)))) for g in grid})
    return np.asarray(idx)


def _score(pfn, xc, yc, curve):
    from scalebayes.evaluate import log_likelihood, rmsle

    pred = pfn.predict(xc, yc, curve.x_target)
    return rmsle(pred.median(), curve.y_target), log_likelihood(pred, curve.y_target)


def _run_policy(policy, pfn, curve, runs, rng, target_x):
    """``[(cumulative cost, rmsle, ll)]`` after 0, 1, ... acquisitions."""
    from scalebayes.design import suggest_next

    x, y = curve.x_context[runs], curve.y_context[runs]
    done = list(range(K_INITIAL))
    pool = list(range(K_INITIAL, x.size))
    unit = x[K_INITIAL - 1]
    cost = 0.0
    trace = [(cost, *_score(pfn, x[done], y[done], curve))]
    while True:
        eligible = [i for i in pool if x[i] > x[done].max()]
        if not eligible:
            return trace
        if policy == "random":
            pick = int(rng.choice(eligible))
        elif policy == "largest":
            pick = max(eligible, key=lambda i: x[i])
        elif policy == "cheapest":
            pick = min(eligible, key=lambda i: x[i])
        else:
            result = suggest_next(
                x[done], y[done], x[eligible], target_x, model=None, n_fantasies=17
            )
            pick = eligible[int(np.flatnonzero(x[eligible] == result.best.x)[0])]
        done.append(pick)
        pool.remove(pick)
        cost += x[pick] / unit
        order = np.argsort(x[done])
        trace.append((cost, *_score(pfn, x[done][order], y[done][order], curve)))


def _at_budget(trace, budgets):
    """Scores after the last acquisition affordable at each budget."""
    costs = np.array([t[0] for t in trace])
    pos = np.searchsorted(costs, budgets, side="right") - 1
    return np.array([t[1] for t in trace])[pos], np.array([t[2] for t in trace])[pos]


def run_dataset(name: str, pfn, max_runs: int, seeds: int) -> list[dict]:
    from scalebayes.data import load_benchmark

    rows = []
    for number, curve in enumerate(load_benchmark(name)):
        runs = _thin(curve.x_context, max_runs)
        if runs.size <= K_INITIAL + 1:
            continue
        target_x = float(curve.x_target.max())
        for policy in POLICIES:
            for seed in range(seeds if policy == "random" else 1):
                rng = np.random.default_rng([seed, number])  # its own stream per curve
                tic = time.perf_counter()
                trace = _run_policy(policy, pfn, curve, runs, rng, target_x)
                rows.append(
                    {
                        "dataset": name,
                        "curve": curve.name,
                        "policy": policy,
                        "seed": seed,
                        "n_runs": int(runs.size),
                        "costs": ";".join(f"{t[0]:.6g}" for t in trace),
                        "rmsle": ";".join(f"{t[1]:.6g}" for t in trace),
                        "ll": ";".join(f"{t[2]:.6g}" for t in trace),
                        "seconds": round(time.perf_counter() - tic, 3),
                    }
                )
    return rows


def _trace(row) -> list[tuple[float, float, float]]:
    cols = [[float(v) for v in row[k].split(";")] for k in ("costs", "rmsle", "ll")]
    return list(zip(*cols, strict=True))


def summarise(rows: list[dict]):
    """Per dataset and policy: AUC of RMSLE and LL, median cost share to the target RMSLE,
    and the mean curves on a common budget grid (for the plot)."""
    table, curves = {}, {}
    grid_share = np.geomspace(1e-3, 1.0, 60)  # budget as a share of the whole pool's cost
    by_curve: dict[tuple[str, str], dict[str, list]] = {}
    for row in rows:
        by_curve.setdefault((row["dataset"], row["curve"]), {}).setdefault(
            row["policy"], []
        ).append(_trace(row))
    per = {}
    for (dataset, _), policies in by_curve.items():
        total = max(t[-1][0] for traces in policies.values() for t in traces)
        cheapest = min(t[1][0] for traces in policies.values() for t in traces if len(t) > 1)
        budgets = np.geomspace(cheapest, total, 40)
        best_full = policies["cheapest"][0][-1][1]  # every pool run done
        for policy, traces in policies.items():
            r_auc, l_auc, reach, r_grid, l_grid = [], [], [], [], []
            for trace in traces:
                r, ll = _at_budget(trace, budgets)
                r_auc.append(r.mean())
                l_auc.append(ll.mean())
                ok = [c for c, rm, _ in trace if rm <= TARGET_SLACK * best_full]
                reach.append(min(ok) / total if ok else 1.0)
                rg, lg = _at_budget(trace, grid_share * total)
                r_grid.append(rg)
                l_grid.append(lg)
            entry = per.setdefault((dataset, policy), {"r": [], "l": [], "reach": [], "g": []})
            entry["r"].append(np.mean(r_auc))
            entry["l"].append(np.mean(l_auc))
            entry["reach"].append(np.mean(reach))
            entry["g"].append((np.mean(r_grid, 0), np.mean(l_grid, 0)))
    for (dataset, policy), e in per.items():
        table[(dataset, policy)] = (
            float(np.mean(e["r"])),
            float(np.mean(e["l"])),
            float(np.median(e["reach"])),
            len(e["r"]),
        )
        curves[(dataset, policy)] = (
            grid_share,
            np.mean([g[0] for g in e["g"]], 0),
            np.mean([g[1] for g in e["g"]], 0),
        )
    return table, curves


def plot(curves, datasets, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(datasets), figsize=(3.6 * len(datasets), 6), squeeze=False)
    for j, dataset in enumerate(datasets):
        for policy in POLICIES:
            if (dataset, policy) not in curves:
                continue
            share, r, ll = curves[(dataset, policy)]
            axes[0, j].plot(share, r, label=policy)
            axes[1, j].plot(share, ll, label=policy)
        axes[0, j].set_title(dataset)
        for ax in axes[:, j]:
            ax.set_xscale("log")
            ax.set_xlabel("budget spent (share of the whole pool's cost)")
        axes[0, j].set_ylabel("target RMSLE (mean over curves)")
        axes[1, j].set_ylabel("target LL (mean over curves)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Which run next: score at the targets against the cost of the runs acquired")
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def _write(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ic,nlp,nano,dd")
    parser.add_argument("--max-runs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3, help="repetitions of 'random'")
    parser.add_argument("--out", type=Path, default=Path("active_learning.csv"))
    parser.add_argument("--plot", type=Path, default=Path("docs/img/active_learning.png"))
    args = parser.parse_args()
    from scalebayes.pfn import PFN

    pfn = PFN.load()
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    rows = []
    if args.out.exists():
        with open(args.out, newline="") as handle:
            rows = list(csv.DictReader(handle))
    for dataset in datasets:
        if any(r["dataset"] == dataset for r in rows):
            print(f"{dataset}: resumed from {args.out}")
            continue
        tic = time.perf_counter()
        rows += run_dataset(dataset, pfn, args.max_runs, args.seeds)
        _write(args.out, rows)
        print(f"{dataset}: {time.perf_counter() - tic:.0f} s", flush=True)
    rows = [r for r in rows if r["dataset"] in datasets]
    table, curves = summarise(rows)
    print(
        f"\nshipped PFN, k = {K_INITIAL} initial runs, at most {args.max_runs} runs per curve, "
        "cost proportional to x\n"
    )
    print(
        "| dataset | policy | curves | AUC RMSLE (lower better) | AUC LL (higher better) | "
        "cost share to reach 1.1x full-pool RMSLE (median) |"
    )
    print("|---|---|---|---|---|---|")
    for dataset in datasets:
        for policy in POLICIES:
            if (dataset, policy) in table:
                r, ll, reach, n = table[(dataset, policy)]
                print(f"| {dataset} | {policy} | {n} | {r:.4f} | {ll:.3f} | {reach:.3f} |")
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    plot(curves, datasets, args.plot)
    print(f"\nwrote {args.out} and {args.plot}")
    seconds = [float(r["seconds"]) for r in rows if r["policy"] == "eig/cost"]
    if seconds:
        print(f"eig/cost: {np.mean(seconds):.2f} s per curve (all its acquisitions)")


if __name__ == "__main__":
    main()
