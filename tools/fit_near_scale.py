"""Fit ``scalebayes.pfn.NEAR_SCALE``: the split-conformal scale of the shipped near answer.

The shipped models' back-test-weighted mixture (``scalebayes.pfn.predict_stacked``) predicts
every curve of the NSL-PFN protocol's four benchmarks (IC, NLP, Nano, DD: 132 curves, in the
protocol's normalised y, as the studies score them); ``scalebayes.evaluate.conformal_scale``
(90% level, every curve weighing the same) returns the stretch in log y that makes its 90%
intervals cover. Prints the scale and, per dataset, the 90% coverage and mean log density
before and after: in-sample (the scale fitted on all four), and leave one dataset out (the
scale fitted on the other three, worn on it).

    python tools/fit_near_scale.py          # 2-3 minutes on a 2-core CPU
"""

from __future__ import annotations

import time
import warnings

import numpy as np

DATASETS = ("ic", "nlp", "nano", "dd")


def fit(datasets=DATASETS) -> tuple[float, dict]:
    """``(scale, rows)``: the conformal scale and, per dataset, the curves' predictions and
    targets (``rows[name] = (mixtures, ys)``)."""
    from scalebayes.data import load_benchmark
    from scalebayes.evaluate import conformal_scale
    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL, PFN, predict_stacked, protocol_scale

    models = [PFN.load(DEFAULT_MODEL), PFN.load(FAR_MODEL)]
    rows = {}
    for name in datasets:
        curves = load_benchmark(name)
        with warnings.catch_warnings():  # the studies score beyond the windows too
            warnings.simplefilter("ignore")
            preds = predict_stacked(
                models,
                [c.x_context for c in curves],
                [c.y_context for c in curves],
                [c.x_target for c in curves],
                y_scale=[protocol_scale(c.y_context) for c in curves],
            )
        rows[name] = (preds, [c.y_target for c in curves])
    preds = [p for ps, _ in rows.values() for p in ps]
    ys = [y for _, yy in rows.values() for y in yy]
    return conformal_scale(preds, ys, 0.9, weight="curve"), rows


def main() -> None:
    from scalebayes.evaluate import conformal_scale
    from scalebayes.pfn import NEAR_SCALE

    start = time.perf_counter()
    scale, rows = fit()
    print(f"conformal scale: {scale:.4f} (NEAR_SCALE = {NEAR_SCALE})")
    print("\n| fitted on | held-out dataset | curves | scale | cov90 before -> after |", end="")
    print(" LL before -> after |\n|---|---|---|---|---|---|")
    for held in [None, *rows]:  # None: all four, in-sample
        others = [n for n in rows if n != held]
        fitted = scale
        if held is not None:
            fitted = conformal_scale(
                [p for n in others for p in rows[n][0]],
                [y for n in others for y in rows[n][1]],
                0.9,
                weight="curve",
            )
        for name in rows if held is None else [held]:
            _row(rows[name], name, fitted, "all four" if held is None else "the other three")
    print(f"({time.perf_counter() - start:.0f} s)")


def _row(rows, name: str, scale: float, fitted_on: str) -> None:
    """One table row: a dataset's 90% coverage and LL before and after ``scale``."""
    from scalebayes.evaluate import ScaledPredictive, interval_coverage, log_likelihood

    preds, ys = rows
    scaled = [ScaledPredictive(p, scale) for p in preds]
    cov = [
        np.mean([interval_coverage(p, y, 0.9)[0] for p, y in zip(ps, ys, strict=True)])
        for ps in (preds, scaled)
    ]
    ll = [
        np.mean([log_likelihood(p, y) for p, y in zip(ps, ys, strict=True)])
        for ps in (preds, scaled)
    ]
    print(
        f"| {fitted_on} | {name} | {len(ys)} | {scale:.3f} | {cov[0]:.3f} -> {cov[1]:.3f} "
        f"| {ll[0]:.3f} -> {ll[1]:.3f} |"
    )


if __name__ == "__main__":
    main()
