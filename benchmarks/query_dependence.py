"""How much the NSL-PFN-input model's answers depend on the other queries asked with them.

A model with ``input="nslpfn"`` (the shipped default ``nslpfn-base``) maps x into [0.01, 1]
by the min and max of the context AND query x, as NSL-PFN's protocol does, so the answer at
one x moves with the furthest x asked beside it. Scored here on the NSL-PFN benchmarks
(normalised y, as the study scores them), each curve's targets asked together (the
protocol, what the study does) and each target asked alone (its own forward pass, so that
no answer depends on another query). RMSLE / LL / 90% coverage, means over curves.

    python benchmarks/query_dependence.py [--model nslpfn-base]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

DATASETS = ("ic", "nlp", "nano", "dd")


def _score(preds, ys) -> tuple[float, float, float]:
    """Per curve RMSLE, mean log density and 90% coverage over its targets, then means."""
    rows = []
    for pred, y in zip(preds, ys, strict=True):
        median, lp = np.asarray(pred[0]), np.asarray(pred[1])
        lo, hi = np.asarray(pred[2]), np.asarray(pred[3])
        rows.append(
            (
                np.sqrt(np.mean(np.log(median / y) ** 2)),
                np.mean(lp),
                np.mean((y >= lo) & (y <= hi)),
            )
        )
    return tuple(np.mean(rows, axis=0).tolist())


def _summary(pred, y) -> tuple[np.ndarray, ...]:
    lo, hi = pred.interval(0.9)
    return pred.median(), pred.log_prob(y), lo, hi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="nslpfn-base")
    args = parser.parse_args()
    from scalebayes.data import load_benchmark
    from scalebayes.pfn import PFN

    warnings.simplefilter("ignore")  # SpanWarning etc.: the study silences them too
    pfn = PFN.load(args.model)
    print(f"model {args.model} (input {pfn.config.input})\n")
    print("| dataset | curves | targets asked together | each target asked alone | s |")
    print("|---|---|---|---|---|")
    for name in DATASETS:
        start = time.perf_counter()
        curves = load_benchmark(name)
        xc, yc = [c.x_context for c in curves], [c.y_context for c in curves]
        together = pfn.predict_many(xc, yc, [c.x_target for c in curves], y_scale=1.0)
        together = [_summary(p, c.y_target) for p, c in zip(together, curves, strict=True)]
        jobs = [(i, k) for i, c in enumerate(curves) for k in range(c.x_target.size)]
        alone = pfn.predict_many(
            [xc[i] for i, _ in jobs],
            [yc[i] for i, _ in jobs],
            [curves[i].x_target[k : k + 1] for i, k in jobs],
            y_scale=1.0,
        )
        per_curve: list[list] = [[] for _ in curves]
        for (i, k), pred in zip(jobs, alone, strict=True):
            per_curve[i].append(_summary(pred, curves[i].y_target[k : k + 1]))
        alone = [
            tuple(np.concatenate(parts) for parts in zip(*rows, strict=True)) for rows in per_curve
        ]
        ys = [c.y_target for c in curves]
        cells = [
            " / ".join(f"{v:.4f}" if j == 0 else f"{v:.3f}" for j, v in enumerate(_score(p, ys)))
            for p in (together, alone)
        ]
        print(
            f"| {name} | {len(curves)} | {cells[0]} | {cells[1]} | "
            f"{time.perf_counter() - start:.0f} |"
        )


if __name__ == "__main__":
    main()
