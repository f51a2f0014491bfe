"""Tried for issue 16: a slope walk that starts where the data stop, its size from the prior.

MCMC(M4) with OU residuals (the study's ``mcmc-m4``: same keys, same draws), scored as is and
with one change to its predictive: beyond the last context point the log-log slope wanders
as a random walk, so a target at a distance ``h`` (in the curve's normalised ``v``, units of
the context's sd of log x) gets ``tau^2 h^3 / 3`` more variance in log y, with ``log tau``
drawn from the drift prior of ``ou_irw`` (N(-3.5, 1.5)) once per posterior draw, keyed by the
curve's name. Inside the context nothing changes, so the posterior (and how well its chains
mix) is the OU model's; unlike ``ou_irw`` no data inform ``tau`` and the walk cannot trade
places with the family's own bend.

    python benchmarks/beyond_context_walk.py --datasets ic,nlp,nano,dd --split nsl
    python benchmarks/beyond_context_walk.py --datasets ic,nlp,nano,dd,chinchilla --split far10

Prints per dataset RMSLE / LL / MSCE / 90% coverage (means over curves) of ``ou`` and of
``ou`` with the walk.
"""

from __future__ import annotations

import argparse
import time
import zlib

import numpy as np

_METRICS = ("rmsle", "ll", "msce", "cov90")


def with_walk(pred, curve):
    """``pred`` (an ``MCMCPredictive`` of ``curve``'s targets) with the slope walk's variance
    added beyond the context, ``log tau ~ N(-3.5, 1.5)`` per draw from a generator seeded by
    the curve's name."""
    from scalebayes.inference import MCMCPredictive, curve_data
    from scalebayes.inference._bayes_base import _DRIFT_PRIOR  # ou_irw's prior on log tau

    data = curve_data(curve.x_context, curve.y_context)  # the sampler's normalised v
    v = (np.log(curve.x_target) - data.u0) / data.s
    h = np.maximum(v - data.v.max(), 0.0)
    rng = np.random.default_rng(zlib.crc32(curve.name.encode()))
    tau = np.exp(rng.normal(*_DRIFT_PRIOR, size=pred.n_draws))
    scale = np.sqrt(pred.scale**2 + tau[:, None] ** 2 * h[None, :] ** 3 / 3.0)
    return MCMCPredictive(pred.loc, scale)


def run(dataset: str, split: str) -> dict[str, list[dict]]:
    from scalebayes.data import FAR_SPLITS, load_benchmark, load_far_benchmark
    from scalebayes.evaluate import score_curve
    from scalebayes.inference import curve_keys, sample_posterior

    curves = (
        load_benchmark(dataset)
        if split == "nsl"
        else load_far_benchmark(dataset, FAR_SPLITS[split])
    )
    out: dict[str, list[dict]] = {"ou": [], "ou + walk": []}
    for start in range(0, len(curves), 8):
        batch = curves[start : start + 8]
        names = [c.name for c in batch]
        result = sample_posterior(
            curve_keys(0, names),
            "m4",
            [c.x_context for c in batch],
            [c.y_context for c in batch],
            names=names,
            noise="ou",
        )
        for curve, pred in zip(batch, result.predictive([c.x_target for c in batch]), strict=True):
            walk = with_walk(pred, curve)
            out["ou"].append(score_curve(pred, curve.y_target))
            out["ou + walk"].append(score_curve(walk, curve.y_target))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ic,nlp,nano,dd")
    parser.add_argument("--split", default="nsl", choices=("nsl", "far10", "far100"))
    args = parser.parse_args()
    print("| dataset | curves | predictive | RMSLE | LL | MSCE | cov90 |")
    print("|---|---|---|---|---|---|---|")
    for dataset in args.datasets.split(","):
        tic = time.perf_counter()
        scores = run(dataset, args.split)
        for label, rows in scores.items():
            means = [float(np.mean([r[k] for r in rows])) for k in _METRICS]
            cells = " | ".join(f"{m:.4f}" for m in means)
            print(f"| {dataset} ({args.split}) | {len(rows)} | {label} | {cells} |", flush=True)
        print(f"<!-- {dataset}: {time.perf_counter() - tic:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
