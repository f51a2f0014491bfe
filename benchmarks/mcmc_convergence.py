"""Do the MCMC baselines' chains mix? A per-curve convergence census of `sample_posterior`.

For each bundled dataset asked (NSL-PFN split, or a far split), NUTS runs on every curve's
context points with the study method's keys (``curve_keys(0, names)``, so the draws are those
``scalebayes study --methods mcmc-<family>[-irw]`` scores) and the given sampler settings;
every curve gets its split R-hat, bulk and tail ESS and divergences (``check_mixing``'s
report) beside its scores. The table counts, per dataset and per number of context points,
the curves that fail ``check_mixing`` (``scalebayes extrapolate --method mcmc-*`` warns on
them: R-hat above 1.05, bulk or tail ESS below 100, more than 1% divergent draws) and the
stricter R-hat 1.01.

    python benchmarks/mcmc_convergence.py --datasets nlp,chinchilla,nano,dd --split far10
    python benchmarks/mcmc_convergence.py --datasets ic --noise ou_irw --set max_tree_depth=10

``--json FILE`` keeps the per-curve rows (rewritten after every batch of 8 curves);
``--table FILE`` prints the table of rows kept that way without sampling again.

How much of a benchmark figure is the sampler's: ``--seed S`` runs the same census with the
keys ``curve_keys(S, names)`` (the study uses seed 0), and ``--compare A.json,B.json,...``
prints, per dataset, each file's mean scores and curves mixed, and their mean and standard
deviation over the files (e.g. one file per seed):

    python benchmarks/mcmc_convergence.py --datasets ic --split nsl --noise ou_irw --seed 1 \
        --json ic_irw_seed1.json
    python benchmarks/mcmc_convergence.py --compare ic_irw_seed0.json,ic_irw_seed1.json
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import time
from collections import defaultdict

import numpy as np


def census(datasets, split, family, noise, settings, json_path=None, seed=0) -> list[dict]:
    """Per-curve rows: dataset, name, context points, scores and diagnostics."""
    from scalebayes.data import FAR_SPLITS, load_benchmark, load_far_benchmark
    from scalebayes.evaluate import score_curve
    from scalebayes.inference import check_mixing, curve_keys, sample_posterior

    rows = []
    for dataset in datasets:
        if split == "nsl":
            curves = load_benchmark(dataset)
        else:
            curves = load_far_benchmark(dataset, FAR_SPLITS[split])
        for start in range(0, len(curves), 8):
            batch = curves[start : start + 8]
            names = [c.name for c in batch]
            result = sample_posterior(
                curve_keys(seed, names),
                family,
                [c.x_context for c in batch],
                [c.y_context for c in batch],
                names=names,
                noise=noise,
                **settings,
            )
            preds = result.predictive([c.x_target for c in batch])
            report = check_mixing(result, warn=False)
            for i, curve in enumerate(batch):
                scores = score_curve(preds[i], curve.y_target)
                rows.append(
                    {
                        "dataset": dataset,
                        "name": curve.name,
                        "n_context": int(curve.n_context),
                        **{k: scores[k] for k in ("rmsle", "ll", "msce", "cov90")},
                        "seed": seed,
                        "r_hat": float(report.r_hat[i]),
                        "ess_bulk": float(report.ess_bulk[i]),
                        "ess_tail": float(report.ess_tail[i]),
                        "divergences": int(report.divergences[i]),
                        "unmixed": curve.name in report.failed,
                    }
                )
            if json_path:
                tmp = f"{json_path}.tmp"
                with open(tmp, "w") as f:
                    json.dump(rows, f)
                os.replace(tmp, json_path)
            print(f"  {dataset}: {start + len(batch)}/{len(curves)} curves", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: per dataset, then per number of context points over all datasets, then all;
    the curves that fail each check, and the mean scores."""
    lines = [
        "| dataset | context points | curves | fail the CLI rule | R-hat > 1.01 | any divergence "
        "| median R-hat | median min bulk ESS | RMSLE | MSCE | cov90 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["dataset"], "all")].append(row)
    for row in sorted(rows, key=lambda r: r["n_context"]):
        groups[("all", str(row["n_context"]))].append(row)
    groups[("all", "all")] = list(rows)
    for (dataset, n), group in groups.items():
        cells = [
            dataset,
            n,
            str(len(group)),
            str(sum(r["unmixed"] for r in group)),
            str(sum(r["r_hat"] > 1.01 for r in group)),
            str(sum(r["divergences"] > 0 for r in group)),
            f"{np.median([r['r_hat'] for r in group]):.3f}",
            f"{np.median([r['ess_bulk'] for r in group]):.0f}",
            *(f"{np.mean([r[k] for r in group]):.4g}" for k in ("rmsle", "msce", "cov90")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare(paths: list[str]) -> str:
    """Markdown: per dataset and file, curves, curves mixed and mean scores; then the mean and
    standard deviation (ddof 1) of each over the files."""
    runs = []
    for path in paths:
        with open(path) as f:
            runs.append((path, json.load(f)))
    metrics = ("rmsle", "ll", "msce", "cov90")
    lines = [
        "| dataset | run | curves | mixed | RMSLE | LL | MSCE | cov90 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    datasets = list(dict.fromkeys(r["dataset"] for _, rows in runs for r in rows))
    for dataset in datasets:
        values = []
        for path, rows in runs:
            group = [r for r in rows if r["dataset"] == dataset]
            if not group:
                continue
            mixed = sum(not r["unmixed"] for r in group)
            means = [float(np.mean([r[k] for r in group])) for k in metrics]
            values.append([mixed, *means])
            cells = [str(len(group)), str(mixed), *(f"{m:.4g}" for m in means)]
            lines.append(f"| {dataset} | {os.path.basename(path)} | " + " | ".join(cells) + " |")
        if len(values) > 1:
            array = np.asarray(values)
            mean, sd = array.mean(axis=0), array.std(axis=0, ddof=1)
            cells = [f"{mean[0]:.1f} ± {sd[0]:.1f}"]
            cells += [f"{m:.4g} ± {d:.2g}" for m, d in zip(mean[1:], sd[1:], strict=True)]
            lines.append(
                f"| {dataset} | mean ± sd over {len(values)} | | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines)


def _setting(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    if not name or not value:
        raise argparse.ArgumentTypeError(f"--set takes NAME=VALUE, got {text!r}")
    return name, ast.literal_eval(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="nlp,chinchilla,nano,dd")
    parser.add_argument("--split", default="far10", choices=("nsl", "far10", "far100"))
    parser.add_argument("--family", default="m4")
    parser.add_argument("--noise", default="ou")
    parser.add_argument("--set", type=_setting, action="append", default=[], dest="settings")
    parser.add_argument("--json", default=None)
    parser.add_argument("--table", default=None, help="print the table of a --json file")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the curves' keys")
    parser.add_argument(
        "--compare", default=None, help="comma-separated --json files: scores side by side"
    )
    args = parser.parse_args()
    if args.table:
        with open(args.table) as f:
            print(table(json.load(f)))
        return
    if args.compare:
        print(compare(args.compare.split(",")))
        return
    settings = dict(args.settings)
    start = time.perf_counter()
    rows = census(
        args.datasets.split(","),
        args.split,
        args.family,
        args.noise,
        settings,
        args.json,
        args.seed,
    )
    print(
        f"\nMCMC({args.family.upper()}), noise {args.noise!r}, split {args.split}, seed "
        f"{args.seed}, settings "
        f"{settings or 'default'}: {time.perf_counter() - start:.0f} s\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
