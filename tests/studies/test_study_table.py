"""``benchmarks/study_table.py``: the README's compact table from a study's per_curve.csv."""

import csv
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("study_table", ROOT / "benchmarks/study_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_recomputed_row_replaces_the_stale_one(tmp_path):
    # a review: a rerun on changed data keeps the stale row in the file; the table averaged 7
    # rows for 6 curves
    rows = [("m2", "runs.csv", f"c{i}", 0.01 * (i + 1)) for i in range(3)]
    rows.append(("m2", "runs.csv", "c0", 0.07))  # c0 recomputed after its data changed
    with (tmp_path / "per_curve.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "dataset", "curve", "rmsle", "ll", "msce", "cov90"])
        writer.writerows([*row, "", "", ""] for row in rows)
    text = _module().table(tmp_path, {"m2": "M2"})
    assert text.splitlines()[0] == "| method | runs.csv (3) |"
    assert text.splitlines()[2] == f"| M2 | {(0.07 + 0.02 + 0.03) / 3:.4f} |"


def test_unscored_curves_are_said_and_an_infinite_ll_counts(tmp_path):
    """A review: the table dropped an unscored curve and an LL of -inf column by column,
    showing one curve's LL as the mean over three under the header's count of three."""
    rows = [
        ("pfn", "ic", "a", "0.02", "3.0", "0.05", "0.9"),
        ("pfn", "ic", "b", "0.04", "-inf", "0.10", "0.8"),
        ("pfn", "ic", "c", "nan", "nan", "nan", "nan"),  # not scored
    ]
    with (tmp_path / "per_curve.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "dataset", "curve", "rmsle", "ll", "msce", "cov90"])
        writer.writerows(rows)
    text = _module().table(tmp_path, {"pfn": "PFN"})
    assert text.splitlines()[0] == "| method | ic (3) |"
    assert text.splitlines()[2] == "| PFN | 0.0300 / -inf / 0.075 / 0.85 (2 of 3 scored) |"
