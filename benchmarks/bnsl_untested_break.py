"""What BNSL's untested break costs far out: the default choice against no break.

``fit_curves("bnsl", ...)`` chooses 0-3 breaks by held-out error, and a curve too short to
test any break on held-out points gets the published one-break form (six parameters) when it
has at least six points. On the far splits (contexts of at most 8 runs) and on Nano's
NSL-PFN split (6 context points) that is every curve. This script refits every curve of the
bundled benchmarks with that rule and with no break for such curves, and prints the mean and
median RMSLE of each, with how many curves took each number of breaks.

    python benchmarks/bnsl_untested_break.py

About 70 s on a 2-core CPU.
"""

from __future__ import annotations

import warnings

import numpy as np

from scalebayes.data import load_benchmark, load_far_benchmark
from scalebayes.inference import fit_curves

SETS = [
    ("ic", "nsl"),
    ("ic", "far10"),
    ("ic", "far100"),
    ("nlp", "nsl"),
    ("nlp", "far10"),
    ("nlp", "far100"),
    ("nano", "nsl"),
    ("nano", "far10"),
    ("dd", "nsl"),
    ("dd", "far10"),
    ("chinchilla", "far10"),
]


def _rmsle(fit, curve) -> float:
    t = ~curve.is_context
    return float(np.sqrt(np.mean(np.log(fit.predict(curve.x[t]) / curve.y[t]) ** 2)))


def main() -> None:
    print("| set | curves | default: mean / median RMSLE, breaks 0/1/2/3 | no untested break |")
    print("|---|---|---|---|")
    for name, split in SETS:
        curves = (
            load_benchmark(name) if split == "nsl" else load_far_benchmark(name, int(split[3:]))
        )
        xs = [c.x_context for c in curves]
        ys = [c.y_context for c in curves]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chosen = fit_curves("bnsl", xs, ys)
            none = fit_curves("bnsl", xs, ys, n_breaks=0)
        untested = [not np.isfinite(f.heldout_errors[1:]).any() for f in chosen]
        alt = [n if u else f for f, n, u in zip(chosen, none, untested, strict=True)]
        cells = []
        for fits in (chosen, alt):
            r = [_rmsle(f, c) for f, c in zip(fits, curves, strict=True)]
            counts = "/".join(str(v) for v in np.bincount([f.n_breaks for f in fits], minlength=4))
            cells.append(f"{np.mean(r):.4f} / {np.median(r):.4f}, {counts}")
        print(f"| {name} {split} | {len(curves)} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
