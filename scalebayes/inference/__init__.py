"""Inference: fast multi-start point fits of the scaling-law families."""

from ._lm import LMState, levenberg_marquardt
from ._point import DEFAULT_RIDGE, MAX_BREAKS, POINT_FAMILIES, PointFit, fit_curve, fit_curves

__all__ = [
    "DEFAULT_RIDGE",
    "MAX_BREAKS",
    "POINT_FAMILIES",
    "LMState",
    "PointFit",
    "fit_curve",
    "fit_curves",
    "levenberg_marquardt",
]
