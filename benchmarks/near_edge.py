"""Just beyond the last run: does a fan chart start where the runs end?

The synthetic LLM-like curves of ``benchmarks/far_synthetic.py`` (3-8 runs 2-10x apart,
``y = E + B x^-a`` with the floor 30-85% of the last run's loss, 0.2-2% noise), each asked
alone at 1.01, 1.1, 1.5, 2 and 5 times its largest run, where the truth is within a few
percent of the last run's loss. Per answer and distance: the mean ``log(median / truth)``
(positive: the answer lies above the truth, a fan chart that jumps up after the runs), the
RMSLE and the share of curves whose median lies more than 2% above the truth. Answers: the
shipped one (``scalebayes.pfn.extrapolate``, as ``scalebayes extrapolate`` gives it), the
default and the far PFN alone, and an M4 point fit.

    python benchmarks/near_edge.py [--curves 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from far_synthetic import draw

DISTANCES = (1.01, 1.1, 1.5, 2.0, 5.0)


def near_edge(n_curves: int, seed: int) -> dict[str, np.ndarray]:
    """``log(median / truth)``, shape ``(curves, distances)``, per answer."""
    from scalebayes.inference import fit_curves, predict_fits
    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL, PFN, extrapolate

    xs, ys, xq, yq = draw(n_curves, seed, DISTANCES)
    truth = np.stack(yq)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the answers as given; notes are not measured here
        shipped = np.array(
            [
                [extrapolate(x, y, q[j : j + 1]).median()[0] for j in range(q.size)]
                for x, y, q in zip(xs, ys, xq, strict=True)
            ]
        )
        out["shipped answer (extrapolate)"] = shipped
        for name in (DEFAULT_MODEL, FAR_MODEL):
            pfn = PFN.load(name)
            medians = np.empty_like(truth)
            for j in range(len(DISTANCES)):  # one question at a time, as a user asks it
                preds = pfn.predict_many(xs, ys, [q[j : j + 1] for q in xq])
                medians[:, j] = [p.median()[0] for p in preds]
            out[f"PFN {name} alone"] = medians
        out["M4 point fit"] = np.stack(predict_fits(fit_curves("m4", xs, ys), xq))
    return {name: np.log(np.maximum(m, 1e-12) / truth) for name, m in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    errors = near_edge(args.curves, args.seed)
    print(
        f"{args.curves} curves, seed {args.seed}; cells: mean log(median / truth) / RMSLE / "
        "share more than 2% above the truth"
    )
    print("| answer | " + " | ".join(f"{d:g}x" for d in DISTANCES) + " |")
    print("|---" * (len(DISTANCES) + 1) + "|")
    for name, logr in errors.items():
        cells = [
            f"{logr[:, j].mean():+.3f} / {np.abs(logr[:, j]).mean():.3f} / "
            f"{np.mean(logr[:, j] > np.log(1.02)):.2f}"
            for j in range(len(DISTANCES))
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
