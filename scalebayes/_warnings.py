"""Warning classes shared across subpackages (re-exported where they are used), and the
checks that raise them from more than one layer."""

import os
import warnings

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first frame outside this package: the user's line,
    however many of the package's own calls lie between (``extrapolate`` -> ``predict`` ->
    ``predict_many``, or ``suggest_next`` -> ...), where a fixed ``stacklevel`` fits one path."""
    warnings.warn(message, category, stacklevel=2, skip_file_prefixes=(_PACKAGE_DIR,))


__all__ = [
    "ConvergenceWarning",
    "EarlyRiseWarning",
    "FlatCurveWarning",
    "RisingCurveWarning",
    "ends_rising",
    "rises",
    "rises_throughout",
    "units_hint",
    "warn_at_caller",
    "warn_if_early_rise",
    "warn_if_flat",
    "warn_if_late_rise",
    "warn_if_log_x",
    "warn_if_rising",
    "warn_if_two_runs",
]

EARLY_RISE = 0.01
"""How far (relative) y must climb above its first run's for `EarlyRiseWarning`."""

UNITS_HINT = 1e5
"""A query this many times beyond the largest run more likely mixes units than asks (the
furthest scaling studies ask about 3000x: ../reference FAR.md), so `units_hint` says so."""

LATE_RISE = 0.05
"""How far (relative) the largest run's y must lie above the lowest y of a smaller run, the
runs ending rising (see `LATE_GIVE_BACK` too), for the late-rise case of `RisingCurveWarning`
(1 of the 16 DD contexts of the NSL-PFN protocol, which ends on the rising side of a
double-descent bump, and none of the other 127 bundled contexts). 5%, not less: eight runs
at a floor with 1% noise end 2% above their lowest a quarter of the time (a review's
simulation), 5% above it rarely."""

LATE_GIVE_BACK = 0.1
"""The share of the runs' fall (from the highest earlier y to the lowest) a late rise must
give back to be named (a noisy floor's last run lies above its lowest by chance)."""

RISING_TAU = 0.6
"""`RisingCurveWarning` for a curve that rises with noise: Kendall's tau of y against x at
least this (and the last run more than `RISING_GAIN` above the first, over at least 4 runs).
Runs in random order reach it 1 time in 6 with 4 runs, 1 in 15 with 6, 1 in 64 with 8, so
the gain is what keeps a noisy loss at its floor out: it would have to climb 5% as well."""

RISING_GAIN = 0.05
"""How far (relative) the last run must lie above the first for the noisy case of
`RisingCurveWarning`."""

LOG_X_MAX = 40.0
"""`warn_if_log_x`: x at most this (log10 of a size up to 1e40) can be an exponent."""

LOG_X_MOVE = 0.1
"""`warn_if_log_x`: how far y must move (share of its largest value) over runs within 2x."""

FLAT = 0.005
"""`FlatCurveWarning` when y's range over the runs is below this share of its largest value
(on the bundled benchmarks only the far split's flat Nano contexts, 7 of 24, are below it)."""


class ConvergenceWarning(UserWarning):
    """MCMC diagnostics failed a check: r-hat too large, ESS too small or divergences.

    Raised by the joint-law posteriors of ``scalebayes.compute`` and by
    [`check_convergence`][scalebayes.inference.check_convergence] for the per-curve MCMC
    baselines, where the message names the curves that fail.
    """


class RisingCurveWarning(UserWarning):
    """A curve's y rises at every one of its runs, or rises with noise (Kendall's tau of y
    against x at least `RISING_TAU` over at least 4 runs, the last more than `RISING_GAIN`
    above the first), or its runs end rising, the largest run's y more than `LATE_RISE` above
    a smaller run's (a late rise: a double-descent bump, or a largest run that went wrong).

    scalebayes reads y as a loss or an error that falls with scale (its priors and families
    are Down, Down-Down and Down-Up-Down curves), so it answers a rising curve as the rising
    side of a double-descent bump. A curve that rises throughout is more often an accuracy
    or a score given by mistake: give ``1 - accuracy`` or the loss instead. Warned by
    [`read_curves_csv`][scalebayes.data.read_curves_csv] (so by every command that reads a
    CSV) and by [`extrapolate`][scalebayes.pfn.extrapolate]; a curve that rises throughout
    or with noise by [`fit_curves`][scalebayes.inference.fit_curves] too, once per call
    (the point-fit families are not made for it).
    """


class EarlyRiseWarning(UserWarning):
    """A curve's y climbs from its first run before it falls below it: a warm-up (training
    losses often rise over the first steps) or a double-descent bump.

    Every family and PFN reads such runs as part of the curve, so a warm-up bump at the
    start bends a fitted law and moves a far extrapolation. Drop the runs before the loss
    starts to fall if they are a warm-up; keep them if the bump is real. Warned by
    [`read_curves_csv`][scalebayes.data.read_curves_csv] (so by every command that reads a
    CSV) and by [`extrapolate`][scalebayes.pfn.extrapolate].
    """


class FlatCurveWarning(UserWarning):
    """A curve's y barely changes over its runs (by less than `FLAT`, 0.5%, of its largest
    value): runs that have not started to improve, or have stopped.

    The PFNs were trained on curves that fall with scale; on a flat context their answer is
    wide and its median can lie above the runs, so compare with a point fit (``scalebayes
    fit``) or NUTS (``--method mcmc-m4``). Warned, when no model is named, by
    [`extrapolate`][scalebayes.pfn.extrapolate] and the command lines that answer with the
    shipped PFNs (``extrapolate``, ``suggest``).
    """


def warn_if_flat(x: np.ndarray, y: np.ndarray, label: str, stacklevel: int = 2) -> bool:
    """Warn (`FlatCurveWarning`) if ``y``'s range is below `FLAT` of its largest value;
    ``label`` and ``stacklevel`` as in `warn_if_rising`. Returns whether it warned."""
    _, y = _by_x(x, y)
    top = float(np.max(y)) if y.size else 0.0
    if y.size < 2 or not top > 0:
        return False
    change = (top - float(np.min(y))) / top
    if change >= FLAT:
        return False
    how = f"changes by only {100 * change:.2g}%" if change > 0 else "does not change"
    warnings.warn(
        f"{label}: y {how} across its {y.size} runs, a flat curve "
        "(runs that have not started to improve, or have stopped); the PFNs learned curves "
        "that fall, so their answer here is wide and its median can lie above the runs: "
        "compare with a point fit (scalebayes fit) or NUTS (--method mcmc-m4)",
        FlatCurveWarning,
        stacklevel=stacklevel + 1,
    )
    return True


def warn_if_two_runs(x: np.ndarray, what: str, stacklevel: int = 2) -> bool:
    """Warn (``UserWarning``) if ``x`` holds exactly two distinct runs: ``what`` (e.g. "the
    answer") then leans on the model's prior. Returns whether it warned."""
    if np.unique(np.asarray(x, np.float64)).size != 2:
        return False
    warnings.warn(
        f"x_context has 2 distinct x: two runs fix a slope, not a curve, so {what} leans on "
        "the model's prior (the command line asks for at least 3 runs)",
        UserWarning,
        stacklevel=stacklevel + 1,
    )
    return True


def _by_x(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float64 vectors ordered by ``x``."""
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    if x.size != y.size:
        raise ValueError(f"x and y must have the same size, got {x.size} and {y.size}")
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def _rising(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """``y`` ordered by ``x`` if it rises at every step (at least 3 points), else None."""
    _, y = _by_x(x, y)
    return y if y.size >= 3 and np.all(np.diff(y) > 0) else None


def rises_throughout(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether ``y``, ordered by ``x``, rises at every step (at least 3 points): an accuracy
    or a score rather than a loss, or the rising side of a double-descent bump.

    Raises:
        ValueError: if ``x`` and ``y`` differ in size.
    """
    return _rising(x, y) is not None


def rises(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether `warn_if_rising` would warn: ``y`` rises at every run, or with noise."""
    return _rising(x, y) is not None or _trending_up(x, y) is not None


def _trending_up(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """``y`` ordered by ``x`` if it rises with noise: at least 4 points, Kendall's tau of y
    against x at least `RISING_TAU` and the last run more than `RISING_GAIN` (relative)
    above the first; else None. A noisy accuracy rises so (0.31, 0.38, 0.37, 0.45, 0.52:
    tau 0.8), a double-descent bump that falls back does not (2.0, 2.5, 2.9, 2.2: 0.33),
    nor a noisy loss at its floor (tau near 0, no 5% gain)."""
    _, y = _by_x(x, y)
    if y.size < 4:
        return None
    # Kendall's tau (ties count 0) row by row: time n^2 / 2 but memory n, where the n x n
    # sign matrix took 2 GB for a 10,000-run file (a training log) and minutes beyond
    n = y.size
    concordance = sum(int(np.sign(y[i + 1 :] - y[i]).sum()) for i in range(n - 1))
    tau = concordance / (n * (n - 1) / 2)
    gain = y[-1] - y[0] > RISING_GAIN * abs(y[0])
    return y if tau >= RISING_TAU and gain else None


def warn_if_rising(
    x: np.ndarray,
    y: np.ndarray,
    label: str,
    stacklevel: int | None = 2,
    reading: str = "read as the rising side of a double-descent bump",
) -> bool:
    """Warn (`RisingCurveWarning`) if ``y`` rises at every run (see `rises_throughout`) or
    rises with noise (Kendall's tau at least `RISING_TAU` over at least 4 runs, the last more
    than `RISING_GAIN` above the first).

    ``label`` names the curve; ``stacklevel`` counts from the caller of this function (1:
    that caller, 2: its caller, as for ``warnings.warn`` called there), and ``None``
    attributes the warning to the first frame outside the package (`warn_at_caller`).
    ``reading`` says what the caller's model makes of such a curve. Returns whether it
    warned.
    """
    y_all = _rising(x, y)
    if y_all is not None:
        how = f"rises at every one of its {y_all.size} runs"
    else:
        y_all = _trending_up(x, y)
        if y_all is None:
            return False
        ups = int(np.sum(np.diff(y_all) > 0))
        how = f"rises over its {y_all.size} runs, up at {ups} of {y_all.size - 1} steps"
    y = y_all
    message = (
        f"{label}: y {how} ({y[0]:.4g} -> {y[-1]:.4g}), {reading}; "
        "scalebayes models a loss or error "
        "that falls with scale, so if y is an accuracy or a score give 1 - accuracy or the "
        "loss instead"
    )
    if stacklevel is None:
        warn_at_caller(message, RisingCurveWarning)
    else:
        warnings.warn(message, RisingCurveWarning, stacklevel=stacklevel + 1)
    return True


def ends_rising(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the runs end rising, as `warn_if_late_rise` says it (at least 3 runs)."""
    x, y = _by_x(x, y)
    if y.size < 3:
        return False
    low = int(np.argmin(y[:-1]))
    with np.errstate(all="ignore"):
        rise = y[-1] - y[low]
        return bool(
            y[-1] > y[-2]
            and y[low] > 0
            and rise > LATE_RISE * y[low]
            and rise > LATE_GIVE_BACK * (np.max(y[:-1]) - y[low])
        )


def warn_if_late_rise(x: np.ndarray, y: np.ndarray, label: str, stacklevel: int = 2) -> bool:
    """Warn (`RisingCurveWarning`) if the runs end rising (at least 3 runs): the largest
    run's ``y`` above the run's before it, more than `LATE_RISE` (relative) above the lowest
    ``y`` of a smaller run, and giving back more than `LATE_GIVE_BACK` of the fall from the
    highest earlier ``y`` to that lowest (so that a noisy floor's last draw is not named).
    ``label`` and ``stacklevel`` as in `warn_if_rising`. Returns whether it warned."""
    if not ends_rising(x, y):
        return False
    x, y = _by_x(x, y)
    low = int(np.argmin(y[:-1]))
    with np.errstate(all="ignore"):
        share = f" ({y[-1] / y[low] - 1:+.1%})" if np.isfinite(y[-1] / y[low]) else ""
    warnings.warn(
        f"{label}: y rises from {y[low]:.4g} at x = {x[low]:.4g} to {y[-1]:.4g} at its "
        f"largest run (x = {x[-1]:.4g}){share}; every model reads that as the rising side of "
        "a double-descent bump, which moves a far answer: if the largest run went wrong "
        "(diverged or stopped early), fix or drop it; if y is an accuracy, give 1 - accuracy",
        RisingCurveWarning,
        stacklevel=stacklevel + 1,
    )
    return True


def units_hint(ratio: float) -> str:
    """The question a query ``ratio`` times beyond the largest run raises, if beyond
    `UNITS_HINT` (else "")."""
    if not ratio > UNITS_HINT:
        return ""
    return (
        f"a query {ratio:.3g}x beyond the runs: are the runs' x and the queries in the same "
        "units (e.g. parameters, not millions of them)?"
    )


def warn_if_log_x(x: np.ndarray, y: np.ndarray, label: str, stacklevel: int = 2) -> bool:
    """Warn (``UserWarning``) if ``x`` looks like log10 of the run sizes: at least 3 runs, all
    x in (0, `LOG_X_MAX`], the largest under twice the smallest, while y moves by more than
    `LOG_X_MOVE` of its largest value (scaling runs grow 2-10x each, so such x are exponents
    more often than sizes). ``label`` and ``stacklevel`` as in `warn_if_rising`. Returns
    whether it warned."""
    x, y = _by_x(x, y)
    if x.size < 3 or not (x[0] > 0 and x[-1] <= LOG_X_MAX and x[-1] < 2 * x[0]):
        return False
    top = np.max(np.abs(y))
    if not (top > 0 and np.ptp(y) > LOG_X_MOVE * top):
        return False
    warnings.warn(
        f"{label}: x spans only {x[-1] / x[0]:.3g}x ({x[0]:.4g} to {x[-1]:.4g}) while y moves "
        f"by {np.ptp(y) / top:.0%}; every model reads x as the run size itself, so if x holds "
        "log10 of the sizes give the sizes (10**x), and ask at sizes, not exponents",
        UserWarning,
        stacklevel=stacklevel + 1,
    )
    return True


def warn_if_early_rise(x: np.ndarray, y: np.ndarray, label: str, stacklevel: int = 2) -> bool:
    """Warn (`EarlyRiseWarning`) if ``y``, ordered by ``x``, climbs more than `EARLY_RISE`
    above its first run's value before it ends below it; ``label`` and ``stacklevel`` as in
    `warn_if_rising`. Returns whether it warned."""
    x, y = _by_x(x, y)
    if y.size < 3:
        return False
    peak = int(np.argmax(y))
    if not (peak > 0 and y[peak] > (1 + EARLY_RISE) * y[0] and y[-1] < y[0]):
        return False
    warnings.warn(
        f"{label}: y climbs from {y[0]:.4g} at its first run to {y[peak]:.4g} at x = "
        f"{x[peak]:.4g} ({peak + 1} runs) before it falls; every law reads those runs as part "
        "of the curve, so if they are a warm-up rather than a real bump (double descent), "
        f"drop the runs up to x = {x[peak]:.4g}",
        EarlyRiseWarning,
        stacklevel=stacklevel + 1,
    )
    return True
