"""Which way is an answer off? The sign of each method's error on the far splits (and the
NSL-PFN protocol's).

For every split asked (``far10``, ``far100``; ``nsl``: the NSL-PFN protocol's own splits of
IC, NLP, Nano and DD, in its y-space, with NLP's NMT, LM and BB apart) and bundled dataset
that spans it, and for every PFN given (shipped name or checkpoint; ``shipped``: the answer
``scalebayes extrapolate`` gives, as the study method ``pfn``) and an M4 point fit: the share
of curves whose predicted median lies below the real loss at the targets (an optimistic
answer: the next run looks better than it turns out), and the median over curves of the
mean log ratio ``log(median / real)`` (negative: optimistic). Curves of one dataset are
correlated (the same models on several tasks), so read the shares per dataset, not as
independent trials.

    python benchmarks/far_bias.py --models mixture-tiny,nslpfn-base
    python benchmarks/far_bias.py --models shipped --splits nsl
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


NSL_DATASETS = ("ic", "nlp", "nano", "dd")
SPLITS = ("far10", "far100", "nsl")


def _sets(split: str):
    """``(label, curves)`` of one split: each far dataset that spans it, or the NSL-PFN
    protocol's datasets with NLP's NMT, LM and BB apart."""
    from scalebayes.data import FAR_SPLITS, load_benchmark, load_far_benchmark

    if split != "nsl":
        for dataset in FAR_DATASETS:
            curves = load_far_benchmark(dataset, FAR_SPLITS[split])
            if curves:
                yield dataset, curves
        return
    for dataset in NSL_DATASETS:
        curves = load_benchmark(dataset)
        for part in dict.fromkeys(c.dataset for c in curves):
            label = dataset if part.lower() == dataset else f"{dataset} {part}"
            yield label, [c for c in curves if c.dataset == part]


def far_bias(models: list[str], splits=("far10", "far100")) -> list[dict]:
    """One row per split, dataset and method: ``below`` share and ``median`` log ratio."""
    from scalebayes.inference import fit_curves, predict_fits
    from scalebayes.pfn import PFN, pfn_method, protocol_scale

    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; choose from {', '.join(SPLITS)}")
    pfns = {name: pfn_method() if name == "shipped" else PFN.load(name) for name in models}
    rows = []
    for split in splits:
        for dataset, curves in _sets(split):
            xc = [c.x_context for c in curves]
            yc = [c.y_context for c in curves]
            xt = [c.x_target for c in curves]
            # the far splits are in units of the largest context y; the NSL-PFN protocol's
            # IC and NLP in their own units, as a study reads them
            scales = [1.0 if split != "nsl" else protocol_scale(y) for y in yc]
            answers = {}
            for name, pfn in pfns.items():
                if name == "shipped":
                    preds = pfn(curves)
                else:
                    preds = pfn.predict_many(xc, yc, xt, y_scale=scales)
                answers[name] = [p.median() for p in preds]
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
    parser.add_argument(
        "--models",
        default="mixture-tiny,nslpfn-base",
        help="comma-separated PFNs (shipped names or checkpoints; 'shipped': the shipped answer)",
    )
    parser.add_argument(
        "--splits", default="far10,far100", help=f"comma-separated, of {', '.join(SPLITS)}"
    )
    args = parser.parse_args(argv)
    splits = [s for s in args.splits.split(",") if s]
    if not splits or any(s not in SPLITS for s in splits):
        parser.error(f"--splits takes a comma-separated list of {', '.join(SPLITS)}")
    from scalebayes.pfn import ReachWarning

    # a model asked beyond its reach is what this measures; its warning would repeat per set
    warnings.simplefilter("ignore", ReachWarning)
    rows = far_bias([m for m in args.models.split(",") if m], splits)
    print("| split, dataset (curves) | method | median below the real loss | median log ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['split']} {r['dataset']} ({r['curves']}) | {r['method']} | "
            f"{r['below']:.2f} | {r['median']:+.3f} |"
        )


if __name__ == "__main__":
    main()
