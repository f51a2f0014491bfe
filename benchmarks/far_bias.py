"""Which way is a far answer off? The sign of each method's error on the far splits.

For every far split (``far10``, ``far100``) and bundled dataset that spans it, and for every
PFN given (shipped name or checkpoint) and an M4 point fit: the share of curves whose
predicted median lies below the real loss at the targets (an optimistic answer: the next
run looks better than it turns out), and the median over curves of the mean log ratio
``log(median / real)`` (negative: optimistic). Curves of one dataset are correlated (the same
models on several tasks), so read the shares per dataset, not as independent trials.

    python benchmarks/far_bias.py --models mixture-tiny,nslpfn-base
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from pfn_eval import FAR_DATASETS


def _log_ratios(medians, curves) -> np.ndarray:
    """Per curve, the mean over its targets of ``log(median / real)``."""
    return np.array(
        [
            np.mean(np.log(np.maximum(m, 1e-12) / c.y_target))
            for m, c in zip(medians, curves, strict=True)
        ]
    )


def far_bias(models: list[str], splits=("far10", "far100")) -> list[dict]:
    """One row per split, dataset and method: ``below`` share and ``median`` log ratio."""
    from scalebayes.data import FAR_SPLITS, load_far_benchmark
    from scalebayes.inference import fit_curves, predict_fits
    from scalebayes.pfn import PFN

    pfns = {name: PFN.load(name) for name in models}
    rows = []
    for split in splits:
        for dataset in FAR_DATASETS:
            curves = load_far_benchmark(dataset, FAR_SPLITS[split])
            if not curves:
                continue
            xc = [c.x_context for c in curves]
            yc = [c.y_context for c in curves]
            xt = [c.x_target for c in curves]
            answers = {
                name: [p.median() for p in pfn.predict_many(xc, yc, xt, y_scale=1.0)]
                for name, pfn in pfns.items()
            }
            answers["M4 point fit"] = predict_fits(fit_curves("m4", xc, yc), xt)
            for method, medians in answers.items():
                ratio = _log_ratios(medians, curves)
                rows.append(
                    {
                        "split": split,
                        "dataset": dataset,
                        "curves": len(curves),
                        "method": method,
                        "below": float(np.mean(ratio < 0)),
                        "median": float(np.median(ratio)),
                    }
                )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mixture-tiny,nslpfn-base", help="comma-separated PFNs")
    args = parser.parse_args(argv)
    from scalebayes.pfn import ReachWarning

    # a model asked beyond its reach is what this measures; its warning would repeat per set
    warnings.simplefilter("ignore", ReachWarning)
    rows = far_bias([m for m in args.models.split(",") if m])
    print("| split, dataset (curves) | method | median below the real loss | median log ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['split']} {r['dataset']} ({r['curves']}) | {r['method']} | "
            f"{r['below']:.2f} | {r['median']:+.3f} |"
        )


if __name__ == "__main__":
    main()
