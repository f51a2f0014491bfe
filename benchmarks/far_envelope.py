"""Would a far answer that never climbs be a better one? The far model made non-increasing in
x on falling contexts, scored against the far model as it is.

The far model's median can climb on the way out from a falling curve's runs (`scalebayes
extrapolate` says so in a note). The envelope tried here keeps each query's answer
independent of the other queries: for a query at ``x`` it reads the far model on a log grid
(4 per decade) from ``FAR_SWITCH`` times the largest run up to ``x``, and answers with the
running minimum of every quantile over that grid and ``x`` itself (the CDF is the largest of
the grid points' CDFs at each y, and the density the one of the grid point that holds that
largest CDF). A falling curve's loss is not higher further out unless it has a
double-descent bump, so the envelope is what the model would answer if it knew that. Scored
on every far-split curve (the far model at every target, as the study method ``pfn-far``):
RMSLE of the median, mean log density and 90% coverage, as is and with the envelope.

    python benchmarks/far_envelope.py
"""

from __future__ import annotations

import warnings

import numpy as np
from pfn_eval import FAR_DATASETS, _as_rows, _protocol_scales


def _scores(pfn, row, y_scale, grid_per_decade: int = 4) -> np.ndarray:
    """``(rmsle, ll, cov90)`` of one curve as is (first row) and with the envelope (second)."""
    from scalebayes.pfn import FAR_SWITCH

    xc, yc, xt, yt = row["xc"], row["yc"], row["xt"], row["yt"]
    lo, hi = np.log10(FAR_SWITCH * xc.max() * (1 + 1e-6)), np.log10(xt.max())
    base = np.logspace(lo, hi, max(2, int(np.ceil((hi - lo) * grid_per_decade)) + 1))
    xs = np.unique(np.concatenate([base, xt]))
    on_grid = np.isin(xs, base)
    pred = pfn.predict(xc, yc, xs, y_scale=y_scale)
    median, q05, q95 = pred.median(), pred.quantile(0.05), pred.quantile(0.95)
    falls = yc[np.argmax(xc)] < yc[np.argmin(xc)]
    out = np.zeros((2, 3, xt.size))
    for k, (x, y) in enumerate(zip(xt, yt, strict=True)):
        j = int(np.flatnonzero(xs == x)[0])
        read = np.flatnonzero((on_grid & (xs <= x)) | (xs == x)) if falls else np.array([j])
        cdf, log_density = pred.cdf(np.full(xs.size, y)), pred.log_prob(np.full(xs.size, y))
        held = read[np.argmax(cdf[read])]
        for e, (m, ll, low, high) in enumerate(
            [
                (median[j], log_density[j], q05[j], q95[j]),
                (median[read].min(), log_density[held], q05[read].min(), q95[read].min()),
            ]
        ):
            out[e, :, k] = np.log(m / y) ** 2, ll, low <= y <= high
    return np.stack([np.sqrt(out[:, 0].mean(1)), out[:, 1].mean(1), out[:, 2].mean(1)], axis=1)


def main() -> None:
    from scalebayes.data import load_far_benchmark
    from scalebayes.pfn import FAR_MODEL, PFN

    pfn = PFN.load(FAR_MODEL)
    print(f"{FAR_MODEL} as is -> with the envelope (RMSLE / LL / 90% coverage, means over curves)")
    print("| split, dataset | curves | changed | as is | envelope |\n|---|---|---|---|---|")
    for split, factor in (("far10", 10), ("far100", 100)):
        rows = [r for n in FAR_DATASETS for r in _as_rows(load_far_benchmark(n, factor), n)]
        with warnings.catch_warnings():  # the far model's reach and span notes: not news here
            warnings.simplefilter("ignore")
            scores = np.array(
                [_scores(pfn, r, s) for r, s in zip(rows, _protocol_scales(rows), strict=True)]
            )
        names = np.array([r["dataset"] for r in rows])
        for label in ("all", *dict.fromkeys(names)):
            keep = np.ones(len(rows), bool) if label == "all" else names == label
            a, e = scores[keep].mean(0)
            changed = int(np.sum(np.any(scores[keep, 0] != scores[keep, 1], axis=1)))
            print(
                f"| {split}, {label} | {int(keep.sum())} | {changed} "
                f"| {a[0]:.4f} / {a[1]:.3f} / {a[2]:.2f} "
                f"| {e[0]:.4f} / {e[1]:.3f} / {e[2]:.2f} |"
            )


if __name__ == "__main__":
    main()
