"""What would picking each curve's best method reach? The far RMSLE of an oracle (issue 12).

Reads studies' ``per_curve.csv`` and prints, per study, each method's mean RMSLE over all its
curves and the RMSLE of the *oracle*: for each curve, the method that did best on that
curve's targets, chosen after seeing them. No method that answers before seeing the targets
can beat the oracle of the methods it chooses among, so its figure bounds what picking one
of these methods per curve, by any rule, can reach (not what a new model, or an average of
these methods' answers, can reach). Also the oracle over the point fits alone and over the
single PFNs alone, and how often each method is the curve's best. A curve whose RMSLE a
method could not compute (``nan`` in ``per_curve.csv``) never has that method as its best.

    M=m1,m2,m3,m4,bnsl,pfn-default,pfn-far,mcmc-m4,mcmc-m4-irw,pfn-far+mcmc-m4-irw
    scalebayes study --methods $M --datasets ic,nlp,nano,dd,chinchilla --split far10 --out OUT10
    scalebayes study --methods $M --datasets ic,nlp,chinchilla --split far100 --out OUT100
    python benchmarks/far_oracle.py OUT10 OUT100
"""

from __future__ import annotations

import argparse
import collections
import csv
from pathlib import Path

import numpy as np

POINT_FITS = ("m1", "m2", "m3", "m4", "bnsl")


def rmsle_table(study: Path) -> tuple[list[str], list[tuple[str, str]], np.ndarray]:
    """(methods, curves as (dataset, name), RMSLE per curve and method) of the curves every
    method scored; the latest row of a method and curve (as ``study_table.py`` reads)."""
    with (study / "per_curve.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    latest = {(r["method"], r["dataset"], r["curve"]): float(r["rmsle"]) for r in rows}
    methods = list(dict.fromkeys(r["method"] for r in rows))
    curves = list(dict.fromkeys((r["dataset"], r["curve"]) for r in rows))
    curves = [c for c in curves if all((m, *c) in latest for m in methods)]
    values = np.array([[latest[(m, *c)] for m in methods] for c in curves])
    return methods, curves, values


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("studies", nargs="+", type=Path, help="study output directories")
    args = parser.parse_args(argv)
    for study in args.studies:
        if not (study / "per_curve.csv").is_file():
            parser.error(f"{study} has no per_curve.csv: run the study first (see --help)")
        methods, curves, values = rmsle_table(study)
        if not curves:
            parser.error(f"{study}: no curve was scored by every method ({', '.join(methods)})")
        failed = ~np.isfinite(values)
        values = np.where(failed, np.inf, values)  # a failed answer is never a curve's best
        answered = ~failed.all(axis=1)  # a curve every method failed has no best: left out
        splits = sorted({d.split(":", 1)[-1] for d, _ in curves})
        print(f"\n{study} ({', '.join(splits)}): {len(curves)} curves scored by every method")
        if not answered.all():
            print(f"({(~answered).sum()} of them failed by every method: left out of the oracle)")
        print("| method | mean RMSLE | best on (curves) |")
        print("|---|---|---|")
        wins = collections.Counter(methods[i] for i in values[answered].argmin(axis=1))
        for j, method in enumerate(methods):
            ok = ~failed[:, j]
            note = "" if ok.all() else f" (over {ok.sum()}; {(~ok).sum()} failed)"
            mean = values[ok, j].mean() if ok.any() else float("nan")
            print(f"| {method} | {mean:.4f}{note} | {wins[method]} |")
        groups = {
            "every method": methods,
            "point fits": [m for m in methods if m in POINT_FITS],
            "single PFNs": [m for m in methods if m.startswith("pfn") and "+" not in m],
        }
        for label, members in groups.items():
            if members:
                best = values[:, [methods.index(m) for m in members]].min(axis=1)
                mean = best[np.isfinite(best)].mean() if np.isfinite(best).any() else np.nan
                print(f"| oracle over {label} | {mean:.4f} | |")
        datasets = list(dict.fromkeys(d for d, _ in curves))
        cells = []
        for dataset in datasets:
            rows = [i for i, (d, _) in enumerate(curves) if d == dataset and answered[i]]
            best = f"{values[rows].min(axis=1).mean():.4f}" if rows else "-"
            cells.append(f"{dataset} ({len(rows)}) {best}")
        print("oracle over every method, by dataset: " + "; ".join(cells))


if __name__ == "__main__":
    main()
