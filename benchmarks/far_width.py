"""Where MCMC's far intervals get their width: the parameters, or the noise model's process.

MCMC's predictive of log y at a target is a mixture over posterior draws ``d`` of Gaussians
``N(loc_d, scale_d^2)``; its variance is ``Var_d(loc_d)`` (the family's parameters, and for
the correlated noise models the conditioned residual's mean) plus ``E_d(scale_d^2)`` (the
noise process beyond the context: the OU part saturates at ``sigma^2``, the slope walk of
``ou_irw`` grows without bound). Per curve, averaged over its targets:

- ``process share``: ``E_d(scale^2) / (Var_d(loc) + E_d(scale^2))``;
- ``OU ceiling share``: ``E_d(sigma^2)`` over the same total (``sigma`` the OU part's
  stationary sd), so the walk's part is at least the difference for ``ou_irw``;
- ``IQR ratio``: the interquartile range of log y of the whole predictive over that of the
  draws' locations alone (the parameters' spread): a robust ratio, since a few extreme draws
  dominate a mixture's variance.
- ``cov50``: the share of the targets inside the whole predictive's central 50% interval
  (0.5 if calibrated).

Medians over the curves of a dataset (cov50: the mean). Same NUTS keys as the study
(``curve_keys``).

    python benchmarks/far_width.py --datasets ic,nlp --split far10 --noise ou_irw,ou
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _weighted_quantiles(values, weights, levels=(0.25, 0.75)):
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return np.interp(levels, cum - 0.5 * weights[order], values[order])


def run(datasets, noises, split: str, seed: int) -> list[dict]:
    """One row per (noise, dataset, curve): the three ratios above."""
    from scalebayes.data import FAR_SPLITS, load_benchmark, load_far_benchmark
    from scalebayes.inference import curve_keys, sample_posterior

    rows = []
    for noise in noises:
        for name in datasets:
            curves = (
                load_benchmark(name)
                if split == "nsl"
                else load_far_benchmark(name, FAR_SPLITS[split])
            )
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
                preds = result.predictive([c.x_target for c in batch])
                # the OU part's stationary sd per draw, (curves, chains, draws)
                sigma2 = np.asarray(result.model.noise_scale(result.samples)) ** 2
                for i, (curve, pred) in enumerate(zip(batch, preds, strict=True)):
                    w = pred._weight()  # (draws, targets), columns sum to 1
                    mean = np.sum(w * pred.loc, axis=0)
                    between = np.sum(w * (pred.loc - mean) ** 2, axis=0)
                    within = np.sum(w * pred.scale**2, axis=0)
                    total = between + within
                    ou = np.mean(sigma2[i])
                    lo, hi = np.log(pred.icdf([0.25, 0.75]))
                    loc_iqr = np.array(
                        [
                            np.diff(_weighted_quantiles(pred.loc[:, j], w[:, j]))
                            for j in range(pred.n_targets)
                        ]
                    )[:, 0]
                    y = curve.y_target
                    inside = (np.log(y) >= lo) & (np.log(y) <= hi)
                    rows.append(
                        {
                            "noise": noise,
                            "dataset": name,
                            "process": float(np.mean(within / total)),
                            "ou": float(np.mean(np.minimum(ou / total, 1.0))),
                            "iqr": float(np.mean((hi - lo) / loc_iqr)),
                            "cov50": float(np.mean(inside)),
                        }
                    )
                print(
                    f"  {noise} {name}: {start + len(batch)}/{len(curves)} curves, "
                    f"{time.perf_counter() - tic:.0f} s",
                    flush=True,
                )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| noise | dataset | curves | process share | OU ceiling share | IQR ratio | cov50 |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((r["noise"], r["dataset"]) for r in rows))
    for noise, dataset in keys:
        group = [r for r in rows if (r["noise"], r["dataset"]) == (noise, dataset)]
        med = {k: np.median([r[k] for r in group]) for k in ("process", "ou", "iqr")}
        cov50 = np.mean([r["cov50"] for r in group])
        lines.append(
            f"| {noise} | {dataset} | {len(group)} | {med['process']:.2f} | {med['ou']:.2f} | "
            f"{med['iqr']:.2f} | {cov50:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ic,nlp")
    parser.add_argument("--split", default="far10", help="nsl, far10 or far100")
    parser.add_argument("--noise", default="ou_irw,ou")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = run(args.datasets.split(","), args.noise.split(","), args.split, args.seed)
    print(table(rows))


if __name__ == "__main__":
    main()
