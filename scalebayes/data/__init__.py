"""Learning-curve data: the `Curve` type, the bundled benchmarks and the CSV loader."""

from ._benchmarks import BENCHMARKS, load_benchmark
from ._csv import read_curves_csv
from ._curve import Curve, CurveDataError, nslpfn_normalise_x

__all__ = [
    "BENCHMARKS",
    "Curve",
    "CurveDataError",
    "load_benchmark",
    "nslpfn_normalise_x",
    "read_curves_csv",
]
