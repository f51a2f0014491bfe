"""What MSCE would a calibrated forecaster score? MCMC's observed MSCE against its own null.

A curve's targets are correlated, so their coverage of an interval is one random share, not
the interval's level, and MSCE is not zero for a calibrated forecaster (issue 16). For each
curve this runs NUTS with the study method's keys (``curve_keys(seed, names)``, so the
predictive is the one ``scalebayes study --methods mcmc-m4[-irw]`` scores), draws
``--paths`` joint paths of the targets from the posterior predictive
(``MCMCResult.sample_paths``) and scores the predictive against each of them
(``evaluate.calibrated_msce``): the MSCE this model would score if it were right.

Printed per noise model and dataset:
- the observed mean MSCE beside the null's mean and the 5-95% band of the dataset mean under
  the null (one path per curve, 4,000 resamples), and the share of curves whose observed MSCE
  lies above their own null's 95th percentile (5% if the model is calibrated);
- the observed MSCE, LL and 50% / 90% coverage with every interval stretched by ``s`` in log
  y around the median (``evaluate.ScaledPredictive``): MSCE keeps falling past the scale
  that calibrates the coverage, while LL, a proper score, peaks.

    python benchmarks/msce_null.py --datasets ic --noise ou,ou_irw --json runs/msce_null.json
    python benchmarks/msce_null.py --datasets ic,nlp,nano,dd,chinchilla --split far10

``--json FILE`` keeps the per-curve rows (rewritten atomically after every batch) and a
rerun with the same file resumes after the curves it holds; ``--table FILE`` prints the
tables of a kept file without sampling.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict

import numpy as np

SCALES = (0.5, 0.65, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0)


def _load(path: str | None) -> list[dict]:
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return []


def _save(path: str | None, rows: list[dict]) -> None:
    if path:
        from scalebayes._io import atomic_write_text

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write_text(path, json.dumps(rows))


def run(
    datasets, noises, n_paths: int, seed: int, json_path: str | None, split: str = "nsl"
) -> list[dict]:
    """Per-curve rows: observed scores at each scale, and the null MSCE of every path."""
    import jax

    from scalebayes.data import FAR_SPLITS, load_benchmark, load_far_benchmark
    from scalebayes.evaluate import (
        ScaledPredictive,
        calibrated_msce,
        interval_coverage,
        log_likelihood,
        msce,
    )
    from scalebayes.inference import curve_keys, sample_posterior

    rows = _load(json_path)
    done = {(r["noise"], r["dataset"], r["name"]) for r in rows}
    for noise in noises:
        for name in datasets:
            if split == "nsl":
                dataset, all_curves = name, load_benchmark(name)
            else:
                dataset = f"{name}:{split}"
                all_curves = load_far_benchmark(name, FAR_SPLITS[split])
            curves = [c for c in all_curves if (noise, dataset, c.name) not in done]
            tic = time.perf_counter()
            for start in range(0, len(curves), 8):
                batch = curves[start : start + 8]
                names = [c.name for c in batch]
                result = sample_posterior(
                    curve_keys(seed, names),
                    "m4",
                    [c.x_context for c in batch],
                    [c.y_context for c in batch],
                    names=names,
                    noise=noise,
                )
                targets = [c.x_target for c in batch]
                preds = result.predictive(targets)
                paths = result.sample_paths(jax.random.key(seed + 1), targets, n_paths=n_paths)
                drift = result.samples.get("log_drift")
                for i, (curve, pred, path) in enumerate(zip(batch, preds, paths, strict=True)):
                    y = curve.y_target
                    scaled = {s: ScaledPredictive(pred, s) for s in SCALES}
                    rows.append(
                        {
                            "noise": noise,
                            "dataset": dataset,
                            "name": curve.name,
                            "n_targets": int(y.size),
                            "scales": {
                                str(s): {
                                    "msce": msce(p, y),
                                    "ll": log_likelihood(p, y),
                                    "cov50": interval_coverage(p, y, 0.5)[0],
                                    "cov90": interval_coverage(p, y, 0.9)[0],
                                }
                                for s, p in scaled.items()
                            },
                            "null": [round(float(v), 6) for v in calibrated_msce(pred, path)],
                            # the slope walk's log tau: posterior mean and sd (prior N(-3.5, 1.5))
                            "log_drift": None
                            if drift is None
                            else [float(np.mean(drift[i])), float(np.std(drift[i]))],
                        }
                    )
                _save(json_path, rows)
                print(
                    f"  {noise} {dataset}: {start + len(batch)}/{len(curves)} curves, "
                    f"{time.perf_counter() - tic:.0f} s",
                    flush=True,
                )
    return rows


def tables(rows: list[dict], seed: int = 0) -> str:
    """Markdown: the null table, then the scale table."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["noise"], row["dataset"])].append(row)
    lines = [
        "| noise | dataset | curves | observed MSCE | null MSCE (mean) | null 5-95% band "
        "| curves above their null's 95th pct. |",
        "|---|---|---|---|---|---|---|",
    ]
    for (noise, dataset), group in groups.items():
        observed = np.array([r["scales"]["1.0"]["msce"] for r in group])
        null = np.array([r["null"] for r in group])  # (curves, paths)
        pick = rng.integers(0, null.shape[1], size=(4000, null.shape[0]))
        means = null[np.arange(null.shape[0]), pick].mean(axis=1)
        lo, hi = np.quantile(means, [0.05, 0.95])
        above = np.mean(observed > np.quantile(null, 0.95, axis=1))
        lines.append(
            f"| {noise} | {dataset} | {len(group)} | {observed.mean():.4f} | "
            f"{null.mean():.4f} | {lo:.4f}-{hi:.4f} | {above:.2f} |"
        )
    drift_rows = [
        (noise, dataset, np.array([r["log_drift"] for r in group]))
        for (noise, dataset), group in groups.items()
        if all(r.get("log_drift") for r in group)
    ]
    if drift_rows:
        lines += [
            "",
            "| noise | dataset | log tau: median posterior mean | median posterior sd "
            "(prior sd 1.5) |",
            "|---|---|---|---|",
        ]
        for noise, dataset, d in drift_rows:
            lines.append(
                f"| {noise} | {dataset} | {np.median(d[:, 0]):.2f} | {np.median(d[:, 1]):.2f} |"
            )
    lines += [
        "",
        "| noise | dataset | scale s | MSCE | LL | cov50 | cov90 |",
        "|---|---|---|---|---|---|---|",
    ]
    for (noise, dataset), group in groups.items():
        for s in [s for s in SCALES if all(str(s) in r["scales"] for r in group)]:
            cells = [
                np.mean([r["scales"][str(s)][k] for r in group])
                for k in ("msce", "ll", "cov50", "cov90")
            ]
            lines.append(
                f"| {noise} | {dataset} | {s:g} | {cells[0]:.4f} | {cells[1]:.3f} | "
                f"{cells[2]:.3f} | {cells[3]:.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ic")
    parser.add_argument("--split", default="nsl", help="nsl (default), far10 or far100")
    parser.add_argument("--noise", default="ou,ou_irw")
    parser.add_argument("--paths", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--table", default=None, help="print the tables of a kept JSON file")
    args = parser.parse_args()
    if args.table:
        print(tables(_load(args.table)))
        return
    tic = time.perf_counter()
    rows = run(
        [d for d in args.datasets.split(",") if d],
        [n for n in args.noise.split(",") if n],
        args.paths,
        args.seed,
        args.json,
        args.split,
    )
    print(tables(rows))
    print(f"<!-- {time.perf_counter() - tic:.0f} s -->")


if __name__ == "__main__":
    main()
