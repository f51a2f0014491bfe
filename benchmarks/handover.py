"""The shipped answer's step at ``FAR_SWITCH``, and what a gradual hand-over would cost.

The shipped answer (``scalebayes extrapolate``, ``scalebayes.pfn.extrapolate``, the study
method ``pfn``) answers a query within ``FAR_SWITCH`` = 5x of the largest run with both
PFNs stacked by a back-test and stretched by ``NEAR_SCALE``, and a query beyond it with the
far model alone, so its answer can step at 5x. The script measures:

1. the step: every curve of the bundled NSL-PFN datasets (and Chinchilla's) asked just below
   and just above ``FAR_SWITCH`` times its largest context run (x 0.999 and x 1.001): the
   mean and largest ``|log(median above / median below)|`` and the median ratio of the 90%
   intervals' widths in log y;
2. a hand-over band: between ``--band`` R0 and ``FAR_SWITCH`` times the largest run, the
   answer the mixture of the near answer (weight ``1 - t``) and the far model's (weight
   ``t``), ``t = log(r / R0) / log(FAR_SWITCH / R0)`` rising linearly in log x from 0 to 1,
   so that the answer is continuous in x; scored (RMSLE / LL / 90% coverage, means over
   curves) against the shipped answer on every set with targets in the band: DD on the
   NSL-PFN protocol, the far10 split, and the bundled curves re-split at F = 3 and 5 as
   ``far_switch.py`` does. The band's quantiles are roots of the mixture CDF (bisection in
   log y), its density the mixture's.

    python benchmarks/handover.py [--band 2.5]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

DATASETS = ("ic", "nlp", "nano", "dd", "chinchilla")


def step_at_switch(curves) -> tuple[float, float, float]:
    """Mean and largest |log jump| of the median across ``FAR_SWITCH``, and the median ratio
    of the 90% widths (in log y) above over below."""
    from scalebayes.pfn import FAR_SWITCH, predict_shipped

    queries = [c.x_context.max() * FAR_SWITCH * np.array([0.999, 1.001]) for c in curves]
    preds = predict_shipped([c.x_context for c in curves], [c.y_context for c in curves], queries)
    jumps, widths = [], []
    for pred in preds:
        median = pred.median()
        lo, hi = pred.interval(0.9)
        jumps.append(abs(math.log(median[1] / median[0])))
        widths.append(math.log(hi[1] / lo[1]) / math.log(hi[0] / lo[0]))
    return float(np.mean(jumps)), float(np.max(jumps)), float(np.median(widths))


def _mixture_quantile(cdfs, t, q, lo, hi, iterations: int = 60) -> np.ndarray:
    """Per target, the ``q`` quantile of ``(1 - t) F_near + t F_far`` by bisection in log y
    between ``lo`` and ``hi`` (which bracket it)."""
    near, far = cdfs
    a, b = np.log(lo), np.log(hi)
    for _ in range(iterations):
        mid = 0.5 * (a + b)
        below = (1 - t) * near(np.exp(mid)) + t * far(np.exp(mid)) < q
        a, b = np.where(below, mid, a), np.where(below, b, mid)
    return np.exp(0.5 * (a + b))


def score_curve(row: dict, band_start: float, far_model) -> dict[str, tuple[float, float, float]]:
    """RMSLE / LL / 90% coverage of one curve's targets, shipped and with the hand-over."""
    from scalebayes.evaluate import JoinedPredictive, rmsle
    from scalebayes.pfn import FAR_SWITCH, predict_shipped

    xc, yc, xt, yt = row["xc"], row["yc"], row["xt"], row["yt"]
    ratio = xt / xc.max()
    shipped = predict_shipped([xc], [yc], [xt])[0]
    median, (lo, hi), lp = shipped.median(), shipped.interval(0.9), shipped.log_prob(yt)
    out = {"shipped": (median, lo, hi, lp)}
    band = (ratio > band_start) & (ratio <= FAR_SWITCH)
    median, lo, hi, lp = (np.array(a, np.float64) for a in (median, lo, hi, lp))
    if band.any():
        # the shipped near answer, as asked (all the targets within FAR_SWITCH together)
        if isinstance(shipped, JoinedPredictive):  # parts: near, far
            near, inside = shipped.parts[0], shipped.index[0]
        else:
            near, inside = shipped, np.arange(xt.size)
        far = far_model.predict(xc, yc, xt[band])
        at = np.searchsorted(inside, np.flatnonzero(band))  # the band within ``near``
        filler = near.median()

        def near_cdf(y):
            full = filler.copy()
            full[at] = y
            return near.cdf(full)[at]

        def near_density(y):
            full = filler.copy()
            full[at] = y
            return np.exp(near.log_prob(full)[at])

        t = np.log(ratio[band] / band_start) / np.log(FAR_SWITCH / band_start)
        low = np.minimum(near.quantile(0.001)[at], far.quantile(0.001))
        high = np.maximum(near.quantile(0.999)[at], far.quantile(0.999))
        low, high = np.maximum(low / 2, 1e-300), high * 2
        for q, target in ((0.5, median), (0.05, lo), (0.95, hi)):
            target[band] = _mixture_quantile((near_cdf, far.cdf), t, q, low, high)
        with np.errstate(divide="ignore"):
            lp[band] = np.log((1 - t) * near_density(yt[band]) + t * np.exp(far.log_prob(yt[band])))
    out["hand-over"] = (median, lo, hi, lp)
    return {
        key: (
            rmsle(m, yt),
            float(np.mean(p)),
            float(np.mean((yt >= a) & (yt <= b))),
        )
        for key, (m, a, b, p) in out.items()
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--band", type=float, default=2.5, help="where the hand-over starts, times the largest run"
    )
    args = parser.parse_args(argv)

    import far_switch
    from pfn_eval import _as_rows

    from scalebayes.data import load_benchmark, load_far_benchmark
    from scalebayes.pfn import FAR_MODEL, FAR_SWITCH, PFN

    if not (math.isfinite(args.band) and 1 < args.band < FAR_SWITCH):
        parser.error(f"--band must lie between 1 and FAR_SWITCH ({FAR_SWITCH:g}), got {args.band}")
    warnings.simplefilter("ignore")  # reach notes: the benchmark's own questions
    start = time.time()

    print(f"The step at FAR_SWITCH = {FAR_SWITCH:g}x (x 0.999 against x 1.001):\n")
    print(
        "| dataset (curves) | mean abs log jump of the median | largest | 90% width above / below |"
    )
    print("|---|---|---|---|")
    for name in DATASETS:
        curves = load_benchmark(name)
        mean, largest, width = step_at_switch(curves)
        print(f"| {name} ({len(curves)}) | {mean:.4f} | {largest:.4f} | {width:.2f} |", flush=True)

    far_model = PFN.load(FAR_MODEL)
    sets = {"NSL-PFN protocol, dd": _as_rows(load_benchmark("dd"))}
    for name in ("ic", "nlp", "dd", "chinchilla"):  # Nano's far10 targets all lie beyond 5x
        sets[f"far10, {name}"] = _as_rows(load_far_benchmark(name, 10))
    for factor in (3.0, 5.0):
        for name in DATASETS:
            sets[f"F = {factor:g}, {name}"] = far_switch.split_rows(name, factor, 8)
    print(
        f"\nShipped against a hand-over from {args.band:g}x to {FAR_SWITCH:g}x "
        "(RMSLE / LL / 90% coverage):\n"
    )
    print("| set (curves) | targets in the band | shipped | hand-over |")
    print("|---|---|---|---|")
    for label, rows in sets.items():
        in_band = sum(
            int(
                np.sum(
                    (r["xt"] / r["xc"].max() > args.band) & (r["xt"] / r["xc"].max() <= FAR_SWITCH)
                )
            )
            for r in rows
        )
        scores = [score_curve(r, args.band, far_model) for r in rows]
        cells = [
            " / ".join(
                f"{v:.4f}" if i == 0 else f"{v:.3f}" if i == 1 else f"{v:.2f}"
                for i, v in enumerate(np.mean([s[key] for s in scores], axis=0))
            )
            for key in ("shipped", "hand-over")
        ]
        print(f"| {label} ({len(rows)}) | {in_band} | {cells[0]} | {cells[1]} |", flush=True)
    print(f"\n{time.time() - start:.0f} s in all")


if __name__ == "__main__":
    main()
