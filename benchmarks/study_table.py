"""A compact method x dataset table from a study's ``per_curve.csv`` (for the README).

Each cell is RMSLE for a point method and RMSLE / LL / MSCE / 90% coverage for a
probabilistic one, means over the curves scored (a cell says how many when some were not;
an infinite LL counts, as in the study's summary.md) (the latest row of each method and curve: a
study rerun on changed data keeps its stale rows in the file, and the study's own summary.md
is authoritative where its settings went back to an older row's); the methods ``--names`` labels
first, in its order, then the others in the order the study wrote them.

    python benchmarks/study_table.py STUDY_DIR [--names m4="M4 point fit",pfn="PFN"]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path


def _mean(values: list[str]) -> float | None:
    """The mean of a column over the scored curves: an infinite score (LL -inf) counts, as
    in the study's summary.md, a missing one (empty or NaN) does not."""
    numbers = [float(v) for v in values if v != ""]
    numbers = [v for v in numbers if not math.isnan(v)]
    return sum(numbers) / len(numbers) if numbers else None


def _scored(row: dict) -> bool:
    return row["rmsle"] != "" and math.isfinite(float(row["rmsle"]))


def table(
    study: Path, names: dict[str, str], groups: dict[str, tuple[str, ...]] | None = None
) -> str:
    """The markdown table; ``groups`` (column label -> datasets pooled over their curves)
    defaults to one column per dataset, in the study's order."""
    with (study / "per_curve.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    # a rerun on changed data appends a recomputed row and keeps the stale one; the study
    # picks the row whose fingerprint matches its data and settings, which this script cannot
    # recompute: it reads the latest row and says when a curve had several
    latest = {(r["method"], r["dataset"], r["curve"]): r for r in rows}
    if len(latest) < len(rows):
        print(
            f"note: {len(rows) - len(latest)} older row(s) of a recomputed curve are left out "
            "(the latest row of each method and curve is read; the study's summary.md is "
            "authoritative if its settings went back to an older row's)",
            file=sys.stderr,
        )
    rows = list(latest.values())
    methods = list(dict.fromkeys(r["method"] for r in rows))
    order = list(names)  # the methods ``names`` labels first, in its order
    methods.sort(key=lambda m: order.index(m) if m in order else len(order))
    if groups is None:
        groups = {d: (d,) for d in dict.fromkeys(r["dataset"] for r in rows)}
    counts = {
        g: len({(r["dataset"], r["curve"]) for r in rows if r["dataset"] in ds})
        for g, ds in groups.items()
    }
    lines = [
        "| method | " + " | ".join(f"{g} ({counts[g]})" for g in groups) + " |",
        "|---" * (len(groups) + 1) + "|",
    ]
    for method in methods:
        cells = []
        for datasets in groups.values():
            cell = [r for r in rows if r["method"] == method and r["dataset"] in datasets]
            scored = [r for r in cell if _scored(r)]
            rmsle, ll, msce, cov90 = (
                _mean([r[c] for r in scored]) for c in ("rmsle", "ll", "msce", "cov90")
            )
            if rmsle is None:
                cells.append("–")
                continue
            if ll is None:
                text = f"{rmsle:.4f}"
            else:
                text = f"{rmsle:.4f} / {ll:.2f} / {msce:.3f} / {cov90:.2f}"
            if len(scored) < len(cell):  # the header counts every curve
                text += f" ({len(scored)} of {len(cell)} scored)"
            cells.append(text)
        lines.append(f"| {names.get(method, method)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path, help="a study's output directory")
    parser.add_argument("--names", default="", help='method="label" pairs, comma-separated')
    args = parser.parse_args()
    names = dict(pair.split("=", 1) for pair in args.names.split(",") if "=" in pair)
    print(table(args.study, {k: v.strip('"') for k, v in names.items()}))


if __name__ == "__main__":
    main()
