"""Comparison studies and the demonstration: the application built on the library.

- [`run_study`][scalebayes.studies.run_study] scores registered methods
  ([`METHODS`][scalebayes.studies.METHODS], extended with
  [`register_method`][scalebayes.studies.register_method]) on bundled benchmarks and CSV
  files, writing tidy, resumable results (``per_curve.csv``, one fingerprinted row per
  curve, ``summary.md`` and ``calibration.png``, the reliability diagrams and PIT
  histograms of the probabilistic methods); the point fits ``m1``-``m4``, ``bnsl``, the
  MCMC baselines ``mcmc-m3``, ``mcmc-m4``, ``mcmc-bnsl`` and the shipped ``pfn`` are built
  in (a constant table made on first use, not a registry filled at import).
- [`calibrated`][scalebayes.studies.calibrated] wears any probabilistic method with one
  split-conformal scale on log y, fitted on reference curves (e.g. the other datasets).
- [`mixture`][scalebayes.studies.mixture] averages probabilistic methods' predictives (a
  study builds it from names joined with ``+``, e.g. ``pfn-far+mcmc-m4-irw``).
- [`run_demo`][scalebayes.studies.run_demo] extrapolates a bundled curve with the shipped PFN,
  M4 and BNSL, scores and plots it (``scalebayes demo``).

This package sits above the library packages (``inference``, ``pfn``, ``compute``, ``ntk``)
and below the command line; nothing in the library imports it.
"""

from .._io import LockedError
from ._calibrated import CALIBRATION_WEIGHTS, calibrated
from ._demo import DEMO_FAMILIES, FAR_PLOT_NAME, PLOT_NAME, run_demo
from ._methods import DEFAULT_BATCH_SIZE, METHODS, Method, MethodTable, mixture, register_method
from ._rows import PER_CURVE_COLUMNS, CurveScore
from ._runner import CALIBRATION_PLOT, StudyResult, run_study

__all__ = [
    "CALIBRATION_PLOT",
    "CALIBRATION_WEIGHTS",
    "DEFAULT_BATCH_SIZE",
    "DEMO_FAMILIES",
    "FAR_PLOT_NAME",
    "METHODS",
    "PER_CURVE_COLUMNS",
    "PLOT_NAME",
    "CurveScore",
    "LockedError",
    "Method",
    "MethodTable",
    "StudyResult",
    "calibrated",
    "mixture",
    "register_method",
    "run_demo",
    "run_study",
]
