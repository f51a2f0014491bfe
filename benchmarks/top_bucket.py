"""Where a PFN's upper quantiles fall into its top output bucket (a known limit, measured).

The bar distribution's last bucket runs from the second-highest border to the largest prior
sample the borders were made from, with a half-normal tail of scale ``width / 0.6745``
beyond (``scalebayes.pfn.BarDistribution``). For the far model ``mixture-tiny`` that bucket
spans 0.986 to 3.84 times the context's largest y, so whenever the model puts more than 5%
of its mass near the context's largest y (a flat or barely falling curve) its 95% quantile
lands several times above any run.

Printed: (1) one curve, five runs 4x apart falling as ``x^-a``, asked 10x beyond the last
run, for a few slopes ``a``: the 5/50/95% quantiles in units of the first run's y; (2) per
evaluation set of ``benchmarks/pfn_eval.py`` (the NSL-PFN splits, the far splits), the share
of targets whose 95% quantile lies in the top bucket, per model.

    python benchmarks/top_bucket.py [--models mixture-tiny,nslpfn-base]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="mixture-tiny,nslpfn-base")
    args = parser.parse_args()
    from pfn_eval import BENCH, eval_sets

    from scalebayes.pfn import PFN

    warnings.simplefilter("ignore")  # beyond a model's reach is part of what is measured
    x = 1e8 * 4.0 ** np.arange(5)
    sets = {k: v for k, v in eval_sets().items() if k in (*BENCH, "far10", "far100")}
    for name in [m for m in args.models.split(",") if m]:
        pfn = PFN.load(name)
        top = float(pfn.bar.borders[-2])
        print(
            f"\n{name}: top bucket from {top:.4g} to {float(pfn.bar.borders[-1]):.4g} "
            "times the context's largest y"
        )
        print("| slope a | last run's y | q05 / q50 / q95 at 10x |")
        print("|---|---|---|")
        for slope in (0.0, 0.005, 0.02, 0.05):
            y = (x / x[0]) ** -slope
            q = np.asarray(pfn.predict(x, y, [10 * x[-1]]).quantile([0.05, 0.5, 0.95])).ravel()
            print(f"| {slope:g} | {y[-1]:.3f} | {' / '.join(f'{v:.3f}' for v in q)} |")
        print("| set | curves | share of targets with q95 in the top bucket |")
        print("|---|---|---|")
        for label, rows in sets.items():
            preds = pfn.predict_many(
                [r["xc"] for r in rows],
                [r["yc"] for r in rows],
                [r["xt"] for r in rows],
                y_scale=1.0,
            )
            shares = [
                np.mean(np.asarray(p.quantile(0.95)) / r["yc"].max() > top)
                for p, r in zip(preds, rows, strict=True)
            ]
            print(f"| {label} | {len(rows)} | {np.mean(shares):.3f} |")


if __name__ == "__main__":
    main()
