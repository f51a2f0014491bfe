"""Learning-curve data: the `Curve` type, the bundled benchmarks and the CSV loader."""

from .._warnings import EarlyRiseWarning, RisingCurveWarning, rises_throughout
from ._benchmarks import (
    BENCHMARK_SPLITS,
    BENCHMARKS,
    benchmark_parts,
    bundled_table,
    load_benchmark,
)
from ._csv import read_curves_csv
from ._curve import Curve, CurveDataError, nslpfn_normalise_x
from ._far import FAR_SPLITS, far_split, load_far_benchmark, parse_split
from ._merge import Merged, merge_duplicate_x

__all__ = [
    "BENCHMARKS",
    "BENCHMARK_SPLITS",
    "FAR_SPLITS",
    "Curve",
    "CurveDataError",
    "EarlyRiseWarning",
    "Merged",
    "RisingCurveWarning",
    "benchmark_parts",
    "bundled_table",
    "far_split",
    "load_benchmark",
    "load_far_benchmark",
    "merge_duplicate_x",
    "nslpfn_normalise_x",
    "parse_split",
    "read_curves_csv",
    "rises_throughout",
]
