"""PFN accuracy on the bundled benchmarks (NSL-PFN protocol) beside the published figures.

Scores each PFN checkpoint (``--models``: shipped names or checkpoint directories) and, in
the same run, this project's point fits and optionally MCMC baselines, on IC, NLP+Nano and DD
with [`run_study`][scalebayes.studies.run_study], then prints RMSLE / LL / MSCE next to the
NSL-PFN paper's table and the CPU inference latency of each model (one curve, and batched).

    python benchmarks/pfn_benchmarks.py --models nslpfn-small,nslpfn-base --baselines m4,bnsl
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np

PUBLISHED = {  # method -> dataset -> (RMSLE, LL, MSCE); NSLPFN.md section 5
    "NSL-PFN": {
        "ic": (0.0280, 3.330, 0.0512),
        "nlp+nano": (0.0194, 2.773, 0.1145),
        "dd": (0.0335, 2.565, 0.0826),
    },
    "MCMC (M4)": {
        "ic": (0.0422, 3.024, 0.0381),
        "nlp+nano": (0.0235, 2.216, 0.3732),
        "dd": (None, None, 0.6331),
    },
    "MCMC (BNSL)": {"ic": (0.0645, 2.921, None), "dd": (0.0494, 1.250, None)},
    "LC-PFN": {
        "ic": (0.0428, 2.429, None),
        "nlp+nano": (0.0398, 1.519, None),
        "dd": (0.0706, 1.321, None),
    },
    "M4 (point)": {"ic": (0.0415, None, None)},
    "BNSL (point)": {
        "ic": (0.0406, None, None),
        "nlp+nano": (0.0223, None, None),
        "dd": (0.0468, None, None),
    },
}
DATASETS = ("ic", "nlp+nano", "dd")


def _fmt(value, digits=4):
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def latency(model: str, n_batch: int = 1000) -> tuple[float, float]:
    """Seconds per curve on this machine: one IC-sized curve, and ``n_batch`` curves batched."""
    from scalebayes.pfn import PFN

    pfn = PFN.load(model)
    x = np.geomspace(1e6, 1e8, 40)
    y = 0.2 + 0.8 * (x / 1e6) ** -0.3
    xq = np.geomspace(1.1e8, 2e8, 20)
    pfn.predict(x, y, xq).median()
    t0 = time.perf_counter()
    for _ in range(20):
        pfn.predict(x, y, xq).median()
    one = (time.perf_counter() - t0) / 20
    pfn.predict_many([x] * n_batch, [y] * n_batch, [xq] * n_batch)
    t0 = time.perf_counter()
    preds = pfn.predict_many([x] * n_batch, [y] * n_batch, [xq] * n_batch)
    _ = [p.median() for p in preds[:1]]
    batched = (time.perf_counter() - t0) / n_batch
    return one, batched


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="nslpfn-small,nslpfn-base")
    parser.add_argument("--baselines", default="m4,bnsl", help="other study methods, or ''")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", default="out/pfn_benchmarks")
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args(argv)

    from scalebayes.pfn import pfn_method
    from scalebayes.studies import METHODS, register_method, run_study

    methods = []
    for model in filter(None, args.models.split(",")):
        name = "pfn:" + Path(model).name
        if name not in METHODS:
            register_method(name, pfn_method(model), probabilistic=True)
        methods.append(name)
    methods += [m for m in args.baselines.split(",") if m]
    t0 = time.perf_counter()
    result = run_study(methods, args.datasets, args.out, progress=False)
    wall = time.perf_counter() - t0
    scores = {}
    with open(Path(args.out) / "per_curve.csv") as handle:
        for row in csv.DictReader(handle):
            scores.setdefault((row["method"], row["dataset"]), []).append(row)

    def mean(rows, col):
        vals = [float(r[col]) for r in rows if r[col] not in ("", "nan")]
        return float(np.mean(vals)) if vals else None

    datasets = args.datasets.split(",")
    print(f"\nMeasured (this run, {wall:.0f} s) and published; cells are RMSLE / LL / MSCE")
    header = f"{'method':<22}" + "".join(f"{d:>26}" for d in datasets)
    print(header)
    print("-" * len(header))
    for method in methods:
        cells = []
        for d in datasets:
            rows = scores.get((method, d), [])
            cells.append(
                f"{_fmt(mean(rows, 'rmsle'))} / {_fmt(mean(rows, 'll'), 3)} / "
                f"{_fmt(mean(rows, 'msce'))}"
            )
        print(f"{method:<22}" + "".join(f"{c:>26}" for c in cells))
    for label, table in PUBLISHED.items():
        cells = []
        for d in datasets:
            r, ll, m = table.get(d, (None, None, None))
            cells.append(f"{_fmt(r)} / {_fmt(ll, 3)} / {_fmt(m)}")
        print(f"{label + ' (pub.)':<22}" + "".join(f"{c:>26}" for c in cells))
    print(f"\nper-curve scores and summary in {args.out} ({len(result.scores)} rows)")
    if not args.no_latency:
        print("\nCPU inference latency (40 context points, 20 queries; after compile)")
        for model in filter(None, args.models.split(",")):
            one, batched = latency(model)
            print(
                f"{model:<24} one curve {one * 1e3:7.1f} ms   batched {batched * 1e3:6.2f} ms/curve"
            )
        print("NSL-PFN (pub., GPU): 20 ms per curve")


if __name__ == "__main__":
    main()
