"""The rows of a study: `CurveScore`, the columns of ``per_curve.csv``, their fingerprints,
and reading them back (checked, upgraded in place)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import read_csv_header, read_csv_rows, write_csv_atomically
from ..evaluate import PIT_BINS
from ._methods import Prediction

if TYPE_CHECKING:
    from ..data import Curve

__all__ = ["PER_CURVE_COLUMNS", "CurveScore"]

PER_CURVE_COLUMNS: tuple[str, ...] = (
    "method",
    "dataset",
    "curve",
    "rmsle",
    "ll",
    "msce",
    "seconds",
    "fingerprint",
    "cov50",
    "cov90",
    "width50",
    "width90",
    "crps",
    "pit",
    "r_hat",
    "ess_bulk",
    "ess_tail",
    "divergences",
    "mixed",
    "msce_null",
    "msce_null95",
)
"""Columns of ``per_curve.csv``, in order. ``fingerprint`` identifies the curve's data and the
method's settings a row was computed from: 16 hex digits of a SHA-256 over the method name,
its settings string and the exact float64 bytes of the curve's x, y, split and y_scale. The
interval columns after it (empty for point methods; see
[`score_curve`][scalebayes.evaluate.score_curve]) were appended later, so readers of the
older columns keep working; so was ``pit``, the PIT counts
([`pit_histogram`][scalebayes.evaluate.pit_histogram]) as integers joined by ``;``. A file with
the older columns only is upgraded in place (atomically, its rows kept; their ``pit`` stays
empty). So were the chain columns of the MCMC methods, empty for others: the largest R-hat,
smallest bulk and tail ESS over the latents, divergent transitions, and ``mixed`` (``1`` if
the chains pass [`check_mixing`][scalebayes.inference.check_mixing], else ``0``), from the
prediction's ``mixing``; and the null columns ``msce_null`` and ``msce_null95``, the mean and
95th percentile of the MSCE the prediction scores against its own joint paths (its
``msce_null``; the MCMC methods set it), empty for others."""


_INTERVAL_COLUMNS = ("cov50", "cov90", "width50", "width90", "crps")


# per_curve.csv's shares (in [0, 1]) and its other scores that are finite when not NaN (CRPS
# may be inf, as the interval widths may: a predictive whose outer quantile overflows)
_UNIT_COLUMNS = ("msce", "cov50", "cov90", "msce_null", "msce_null95")


_FINITE_COLUMNS = ("rmsle",)


_FINGERPRINT_HEX = 16


_FINGERPRINT_VERSION = b"scalebayes-study-fingerprint-v1"


@dataclass(frozen=True)
class CurveScore:
    """One row of ``per_curve.csv``: a method's scores on one curve.

    Attributes:
        method: Method name.
        dataset: Dataset name (a benchmark name or a CSV file's name).
        curve: Curve name.
        rmsle: RMSLE of the (median) prediction; ``nan`` if the prediction could not be
            scored (e.g. a non-positive or non-finite prediction).
        ll: Mean log predictive density of the targets, or None for a point method.
        msce: Mean squared calibration error, or None for a point method.
        seconds: Wall seconds spent predicting this curve (a batch's time divided by its
            size, JIT compilation included).
        fingerprint: The fingerprint of the curve and method the row was computed from.
        cov50, cov90: Fraction of the targets inside their 50% / 90% central interval (None
            for a point method).
        width50, width90: Mean width of those intervals, in normalised y (None likewise).
        crps: Mean CRPS over the targets, in normalised y (None likewise).
        pit: PIT counts over the targets
            ([`pit_histogram`][scalebayes.evaluate.pit_histogram]; None likewise, and for
            rows written before the column existed).
        r_hat, ess_bulk, ess_tail, divergences, mixed: The chains' diagnostics and whether
            they mixed (the prediction's ``mixing``, see
            [`CurveCheck`][scalebayes.inference.CurveCheck]); None for a method without
            chains and for rows written before the columns existed.
        msce_null, msce_null95: The mean and 95th percentile of the MSCE the prediction
            scores against its own joint paths (its ``msce_null``, see
            [`calibrated_msce`][scalebayes.evaluate.calibrated_msce]): what it would score
            if it were right; None for a method without joint paths and for older rows.
    """

    method: str
    dataset: str
    curve: str
    rmsle: float
    ll: float | None
    msce: float | None
    seconds: float
    fingerprint: str = ""
    cov50: float | None = None
    cov90: float | None = None
    width50: float | None = None
    width90: float | None = None
    crps: float | None = None
    pit: tuple[int, ...] | None = None
    r_hat: float | None = None
    ess_bulk: float | None = None
    ess_tail: float | None = None
    divergences: int | None = None
    mixed: bool | None = None
    msce_null: float | None = None
    msce_null95: float | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """``(method, dataset, curve)``, the row's identity."""
        return (self.method, self.dataset, self.curve)

    def row(self) -> tuple[object, ...]:
        """The row's cells in `PER_CURVE_COLUMNS` order (None for an empty cell)."""
        return (
            self.method,
            self.dataset,
            self.curve,
            repr(float(self.rmsle)),
            None if self.ll is None else repr(float(self.ll)),
            None if self.msce is None else repr(float(self.msce)),
            repr(float(self.seconds)),
            self.fingerprint,
            *(
                None if (value := getattr(self, name)) is None else repr(float(value))
                for name in _INTERVAL_COLUMNS
            ),
            None if self.pit is None else ";".join(str(int(c)) for c in self.pit),
            *(
                None if (value := getattr(self, name)) is None else repr(float(value))
                for name in ("r_hat", "ess_bulk", "ess_tail")
            ),
            None if self.divergences is None else str(int(self.divergences)),
            None if self.mixed is None else str(int(self.mixed)),
            *(
                None if (value := getattr(self, name)) is None else repr(float(value))
                for name in ("msce_null", "msce_null95")
            ),
        )

    @classmethod
    def from_row(cls, row: Mapping[str, str], where: str) -> CurveScore:
        """Parse a row read from ``per_curve.csv``.

        Args:
            row: ``{column: cell}`` with the `PER_CURVE_COLUMNS`.
            where: File and row, for error messages.

        Raises:
            ValueError: If a numeric cell does not parse.
        """

        # what a score can be: NaN (a curve the method could not score) or RMSLE finite and
        # >= 0, coverage and MSCE in [0, 1], widths and CRPS >= 0 (inf too), LL finite or -inf;
        # seconds finite and >= 0; R-hat and ESS >= 0 or NaN (a failed diagnostic)
        def number(column: str, optional: bool) -> float | None:
            cell = row[column].strip()
            if optional and not cell:
                return None
            try:
                value = float(cell)
            except ValueError:
                value = None
            if value is not None:
                if column == "seconds":
                    ok = math.isfinite(value) and value >= 0
                elif math.isnan(value):
                    ok = True
                elif column == "ll":
                    ok = value < math.inf
                elif column in _UNIT_COLUMNS:
                    ok = 0 <= value <= 1
                elif column in _FINITE_COLUMNS:
                    ok = 0 <= value < math.inf
                else:
                    ok = value >= 0
                value = value if ok else None
            if value is None:
                raise ValueError(
                    f"{where}: column {column!r} holds {cell!r}, not a valid value; fix or "
                    "delete the row (it will be recomputed)"
                ) from None
            return value

        rmsle, ll, msce = number("rmsle", False), number("ll", True), number("msce", True)
        intervals = {name: number(name, True) for name in _INTERVAL_COLUMNS}
        # as written: a point method's row leaves LL, MSCE and the intervals empty, a
        # probabilistic one fills them all, and only a curve it could not score (RMSLE NaN)
        # has a NaN LL or MSCE
        given = [value is not None for value in (ll, msce, *intervals.values())]
        if any(given) and not all(given):
            empty = [c for c, g in zip(("ll", "msce", *intervals), given, strict=True) if not g]
            raise ValueError(
                f"{where}: column(s) {', '.join(map(repr, empty))} are empty while the row's "
                "other scores are given; fix or delete the row (it will be recomputed)"
            )
        if not math.isnan(rmsle) and any(v is not None and math.isnan(v) for v in (ll, msce)):
            raise ValueError(
                f"{where}: a NaN LL or MSCE beside the RMSLE {rmsle!r}; fix or delete the row "
                "(it will be recomputed)"
            )
        return cls(
            method=row["method"],
            dataset=row["dataset"],
            curve=row["curve"],
            rmsle=rmsle,
            ll=ll,
            msce=msce,
            seconds=number("seconds", False),
            fingerprint=row["fingerprint"].strip(),
            **intervals,
            pit=_pit_cell(row.get("pit", ""), where),
            **{name: number(name, True) for name in ("r_hat", "ess_bulk", "ess_tail")},
            divergences=_count_cell(row, "divergences", where),
            mixed=None if (m := _count_cell(row, "mixed", where, most=1)) is None else bool(m),
            **{name: number(name, True) for name in ("msce_null", "msce_null95")},
        )


def _pit_cell(cell: str, where: str) -> tuple[int, ...] | None:
    cell = cell.strip()
    if not cell:
        return None
    try:
        counts = tuple(int(c) for c in cell.split(";"))
    except ValueError:
        counts = ()
    # as written: PIT_BINS counts >= 0 (a row binned otherwise would drop out of the
    # pooled picture), at least one target
    if len(counts) != PIT_BINS or any(c < 0 for c in counts) or sum(counts) == 0:
        raise ValueError(
            f"{where}: column 'pit' holds {cell!r}, not {PIT_BINS} counts joined by ';'; fix "
            "or delete the row (it will be recomputed)"
        )
    return counts


def _count_cell(row: Mapping[str, str], column: str, where: str, most: int | None = None):
    """An integer cell >= 0 (and <= ``most``), or None where empty."""
    cell = row[column].strip()
    if not cell:
        return None
    try:
        value = int(cell)
    except ValueError:
        value = -1
    if value < 0 or (most is not None and value > most):
        raise ValueError(
            f"{where}: column {column!r} holds {cell!r}, not a valid value; fix or delete the "
            "row (it will be recomputed)"
        )
    return value


def _mixing(prediction: Prediction) -> dict[str, Any]:
    """The chain columns of a prediction: its ``mixing`` (a ``CurveCheck``), or that of the
    prediction it wraps (``base``, e.g. a recalibrated one); all None without chains."""
    check = getattr(prediction, "mixing", None)
    if check is None and (base := getattr(prediction, "base", None)) is not None:
        check = getattr(base, "mixing", None)
    if check is None:
        return {}
    return {
        "r_hat": check.r_hat,
        "ess_bulk": check.ess_bulk,
        "ess_tail": check.ess_tail,
        "divergences": check.divergences,
        "mixed": check.passed,
    }


def _null(prediction: Prediction) -> dict[str, Any]:
    """The null-MSCE columns of a prediction from its own ``msce_null`` (a wrapper such as a
    recalibrated prediction has none: its base's null is not its own)."""
    null = getattr(prediction, "msce_null", None)
    if null is None:
        return {}
    null = np.asarray(null, np.float64)
    return {"msce_null": float(np.mean(null)), "msce_null95": float(np.quantile(null, 0.95))}


def _fingerprint(method: str, settings: str, curve: Curve) -> str:
    """A short hash of what a study row was computed from: the method and the curve's data.

    SHA-256 over the method name, its settings string (see `Method.settings`) and the exact
    float64 bytes of the curve's x, y, context mask and ``y_scale``, truncated to 16 hex
    digits. Any change to the data (even in the last bit) or the settings changes it.

    Args:
        method: Method name.
        settings: The method's settings string.
        curve: A curve with a context/target split.

    Returns:
        16 lowercase hex digits.
    """
    digest = hashlib.sha256(_FINGERPRINT_VERSION)
    for text in (method, settings):
        encoded = text.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    digest.update(curve.n.to_bytes(8, "little"))
    for array in (curve.x, curve.y):
        digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
    digest.update(np.asarray(curve.is_context, dtype=np.uint8).tobytes())
    digest.update(np.asarray(curve.y_scale, dtype="<f8").tobytes())
    return digest.hexdigest()[:_FINGERPRINT_HEX]


def _add_empty_columns(path: Path, header: Sequence[str], columns: Sequence[str]) -> None:
    """Rewrite ``path`` (whose header is the prefix ``header`` of ``columns``) atomically with
    ``columns`` as its header, the old rows kept and the new trailing cells empty."""
    rows = read_csv_rows(path, header)
    write_csv_atomically(path, columns, ([row.get(c, "") for c in columns] for row in rows))


def _read_rows(path: Path) -> dict[tuple[tuple[str, str, str], str], CurveScore]:
    """The rows of ``per_curve.csv`` by (key, fingerprint); a later row supersedes an earlier.

    Raises:
        ValueError: For a file without the fingerprint column (written by an older version),
            another header, or a malformed row.
    """
    header = read_csv_header(path)
    old = PER_CURVE_COLUMNS[: PER_CURVE_COLUMNS.index("fingerprint")]
    if header == old:
        raise ValueError(
            f"{path} has no fingerprint column (written by an older scalebayes), so its rows "
            "cannot be matched to the data they scored; give a fresh --out directory (or move "
            "per_curve.csv away to recompute everything)"
        )
    # before the pit column, the chain columns or the null columns: upgrade in place
    upgradable = ("pit", "r_hat", "msce_null")
    if header in (PER_CURVE_COLUMNS[: PER_CURVE_COLUMNS.index(c)] for c in upgradable):
        _add_empty_columns(path, header, PER_CURVE_COLUMNS)
    if header == (*old, "fingerprint"):
        raise ValueError(
            f"{path} has no interval columns ({', '.join(_INTERVAL_COLUMNS)}; written by an "
            "older scalebayes), so new rows cannot be appended to it; give a fresh --out "
            "directory (or move per_curve.csv away to recompute everything)"
        )
    rows: dict[tuple[tuple[str, str, str], str], CurveScore] = {}
    for line, row in enumerate(read_csv_rows(path, PER_CURVE_COLUMNS), start=2):
        score = CurveScore.from_row(row, f"{path}, line {line}")
        rows[(score.key, score.fingerprint)] = score
    return rows
