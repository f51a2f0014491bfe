"""Which run next: the expected narrowing of the target's interval per unit cost of a run.

For each candidate x, ``n_fantasies`` outcomes are *fantasised* from the current predictive
at that x, at probabilities spread evenly in the normal score (below), and the target is
predicted again as if each had been observed:

- **PFN** (``method="pfn"``): each fantasy is added to the context and the network predicts
  the target again. All candidates and fantasies go through the network in one batched call,
  with one x mapping (context to target) and one y scale, so every prediction is comparable
  with the current one.
- **MCMC** (``method="mcmc-m4"``, ``"mcmc-bnsl"``, ``"mcmc-m3"``): the posterior draws are
  sampled once; a fantasy reweights them by its likelihood under each draw (importance
  weights, exact Bayes for the fantasised observation given the draws) and the target's
  predictive becomes the reweighted mixture. The candidate's and the target's noise are taken
  as independent given a draw (for the default Ornstein-Uhlenbeck noise, which correlates
  residuals at nearby x, this leaves out what a candidate next to the target says about the
  target's residual, so the gain is a slight underestimate there).

The value of a candidate is the expected reduction of the width of the target's central
``level`` interval (90% by default), in units of the current median:

    gain(c) = (W_now - E_y[W | y at c]) / median_now,     W = upper - lower,

where the expectation over the candidate's outcome y is an integral over its probability
``p``. It is computed by the trapezoid rule in the normal score ``z = Phi^-1(p)``: ``n``
nodes evenly spaced on ``[-4, 4]`` (``p`` from 0.00003 to 0.99997), each weighted by the
standard normal density there; ``n`` is odd (an even request is rounded up), so that a node
lies at the centre. Its error is estimated by the two interleaved rules of twice the step,
on the even nodes (the ends and the centre) and on the odd ones: half their difference,
which estimates the error of the coarser rules and is a heuristic for the rule used (with
an even ``n`` the two halves would be mirror images, and their difference would miss every
error of an integrand symmetric in z, such as widths that grow after an outcome in either
tail). With MCMC, whose reweighted draws make the widths scatter about a smooth curve when a
fantasy's weights fall on a few draws, it adds in quadrature that scatter (from the nodes'
second differences); the draws' own Monte Carlo error is not in it (another key is the
check). Measured by ``benchmarks/suggest_error.py --per-dataset 6`` (the synthetic runs
and the far10 contexts of 30 bundled curves, 3 candidates each, 17 fantasies, against 1001
nodes), the gains' RMSE is 0.0025 with the default model 9x out and with the far model 30x
out (largest errors 0.0085 and 0.0077); the median estimate is 6 and 3 times the median
error, and the error lies within twice the estimate for 97% and 87% of the gains. Why not
equal-mass slices and their midpoints, the rule until 2026-12-07: their outermost node lies
at ``p = 1 / (2 n)``, and the far model's interval widens most after an outcome beyond it,
so that rule overstated the far model's gains by 0.0070 on average (RMSE 0.0084), and the
error it reported, the spread of the fantasies over ``sqrt(n)``, was 4.5-15 times the
median error.

Why the interval width and not the expected reduction of the predictive entropy: the question
is "how sure are we about the big run", which the 90% interval answers in the user's units;
the PFN's predictive is censored at 0 (a point mass), which has no differential entropy; and
the width is what the comparison studies score. Under a coherent joint model the expected
posterior spread never exceeds the current one (law of total variance); a PFN is close to
coherent, so a gain below zero by more than twice its error flags a model at odds with
itself.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from jaxtyping import ArrayLike

from .._checks import beyond_float, is_integer, matches_runs
from .._text import significant
from .._warnings import warn_if_two_runs

if TYPE_CHECKING:
    from ..pfn import PFN

__all__ = [
    "MAX_FANTASIES",
    "MIN_FANTASIES",
    "SUGGEST_METHODS",
    "SuggestResult",
    "Suggestion",
    "suggest_next",
]

SUGGEST_METHODS = ("pfn", "mcmc-m3", "mcmc-m4", "mcmc-bnsl")
"""The models ``suggest_next`` can fantasise with."""

#: The most fantasised outcomes per candidate: the nodes of a quadrature rule, so a few dozen
#: already resolve the predictive; each is a forward pass (or a reweighting) of its own.
MAX_FANTASIES = 1001

#: The fewest: with fewer nodes on [-4, 4] the step is 2 normal scores or more and the rule
#: is off by 14% already for E[Z^2] (7 nodes: 0.07%).
MIN_FANTASIES = 7

#: The fantasies' normal scores run from ``-_Z_SPAN`` to ``_Z_SPAN`` (probabilities 0.00003 to
#: 0.99997; the standard normal's mass beyond is 0.006%). On 31 cases at 17 fantasies
#: (``benchmarks/suggest_error.py --per-dataset 6 --spans 3.5,4``) the gains' RMSE is
#: 0.0025 / 0.0025 (default / far model) with 4 and 0.0012 / 0.0042 with 3.5: 4 for the far
#: model's tails, which a far question needs (at 16 fantasies 3 cut them off: bias +0.0014).
_Z_SPAN = 4.0


@dataclass(frozen=True)
class Suggestion:
    """One candidate run, scored.

    Attributes:
        x: the candidate's x (e.g. parameters or compute of the run).
        gain: expected reduction of the target's interval width, in units of the current
            median (0.1 = the interval narrows by 10% of the predicted value).
        gain_error: the estimated error of ``gain`` as an integral over the candidate's
            outcome (half the gap between the rules on the even and the odd fantasies, with
            MCMC also the reweighted draws' scatter; see the module's docstring): not a
            standard error, but measured on bundled curves the PFN's error lies within
            twice it for 87-97% of the gains.
        cost: the candidate's cost (relative units: the cheapest candidate costs 1 with the
            default cost, proportional to x).
        gain_per_cost: ``gain / cost``, the ranking key.
        width_after: expected interval width after observing the candidate (same units as
            ``gain``).
    """

    x: float
    gain: float
    gain_error: float
    cost: float
    gain_per_cost: float
    width_after: float

    @property
    def gain_se(self) -> float:
        """Deprecated name of ``gain_error`` (it was never a standard error)."""
        warnings.warn(
            "Suggestion.gain_se is deprecated: use gain_error (the gain's estimated error as "
            "an integral, not a standard error)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.gain_error


@dataclass(frozen=True)
class SuggestResult:
    """Candidates ranked by expected gain per cost (best first).

    Attributes:
        target_x: the run the question is about.
        level: the central interval whose width is reduced.
        median_now: the current predicted median at the target.
        lower_now, upper_now: the current interval at the target.
        suggestions: the candidates, best first: those expected to narrow the interval
            (gain > 0) by gain per cost, then the others by gain.
        n_fantasies: fantasised outcomes per candidate (odd: the number used).
        method: the model that fantasised (``"pfn"`` or ``"mcmc-<family>"``).
    """

    target_x: float
    level: float
    median_now: float
    lower_now: float
    upper_now: float
    suggestions: tuple[Suggestion, ...]
    n_fantasies: int
    method: str = "pfn"

    @property
    def width_now(self) -> float:
        """The current interval width in units of the median."""
        return (self.upper_now - self.lower_now) / self.median_now

    @property
    def best(self) -> Suggestion:
        """The top-ranked candidate."""
        return self.suggestions[0]

    def table(self) -> str:
        """The ranking as an aligned text table."""
        pct = f"{100 * self.level:g}%"
        lines = [
            f"target x = {self.target_x:.4g}: median {self.median_now:.4g}, {pct} interval "
            f"[{self.lower_now:.4g}, {self.upper_now:.4g}] (width {self.width_now:.3f} of the "
            "median)",
            "",
            f"{'rank':>4}  {'x':>10}  {'gain':>15}  {'width after':>11}  {'cost':>8}  "
            f"{'gain/cost':>10}",
        ]
        for rank, s in enumerate(self.suggestions, 1):
            gain = f"{s.gain:.4f}+-{s.gain_error:.4f}"
            lines.append(
                f"{rank:>4}  {s.x:>10.4g}  {gain:>15}  {s.width_after:>11.4f}  "
                f"{significant(s.cost, 3):>8}  {significant(s.gain_per_cost, 4):>10}"
            )
        lines.append("")
        lines.append(
            f"gain: expected narrowing of the {pct} interval at the target, in units of its "
            f"median, over {self.n_fantasies} fantasised outcomes per candidate (+- its "
            "estimated error as an integral over the outcome); cost: in units of the "
            "cheapest candidate's when cost is proportional to x (the default), else as given"
        )
        return "\n".join(lines)


def _vector(name: str, value: ArrayLike, minimum: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers; got {type(value).__name__}") from None
    except OverflowError:  # a Python int beyond float64, e.g. 10**400
        raise ValueError(f"{name} must be finite; one is beyond the float64 range") from None
    if array.ndim != 1 or array.size < minimum:
        raise ValueError(f"{name} must be 1-D with at least {minimum} values; got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; got {array.tolist()}")
    return array


def _costs(cost, candidates: np.ndarray) -> np.ndarray:
    if isinstance(cost, str):  # the command line's words
        if cost not in ("x", "equal"):
            raise ValueError(
                f"cost must be 'x' (proportional to x), 'equal', an array with one value per "
                f"candidate or a function of x; got {cost!r}"
            )
        cost = None if cost == "x" else np.ones(candidates.size)
    if cost is None:
        values = candidates / candidates.min()
    elif callable(cost):
        try:
            values = np.array([float(cost(float(x))) for x in candidates])
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"cost(x) must return a number for each candidate; it gave {error}"
            ) from None
    else:
        values = np.asarray(cost, dtype=np.float64)
        if values.shape != candidates.shape:
            raise ValueError(
                f"cost must give one value per candidate ({candidates.size}); got shape "
                f"{values.shape}"
            )
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"every cost must be finite and > 0; got {values.tolist()}")
    if np.any(values < _MIN_COST):  # gain / cost would overflow to inf
        raise ValueError(
            f"every cost must be at least {_MIN_COST:g}; got {values.min():g}: give the costs "
            "in a larger unit (only their ratios matter)"
        )
    return values


_MIN_COST = 1e-300


def suggest_next(
    x_context: ArrayLike,
    y_context: ArrayLike,
    candidates: ArrayLike,
    target_x: float,
    *,
    cost: ArrayLike | Callable[[float], float] | None = None,
    model: str | os.PathLike | PFN | None = None,
    n_fantasies: int = 17,
    level: float = 0.9,
    method: str = "pfn",
    key=None,
) -> SuggestResult:
    """Rank candidate runs by how much they are expected to tell about ``y(target_x)``.

    See the module documentation for the criterion (the expected narrowing of the target's
    central interval, per unit cost) and how it is computed with the PFN.

    Args:
        x_context: x of the runs so far, 1-D, at least 2 distinct, > 0 (with 2, a
            ``UserWarning``: the command line asks for 3); runs repeated at one x (seeds)
            are averaged.
        y_context: their y (loss, error), >= 0.
        candidates: x of the runs you could do next, 1-D, distinct, each below ``target_x``
            and none at a run you have (a repeat at the same x is read as that run: no
            gain); with the PFN, beyond the largest context x unless the model was trained
            for interpolation (MCMC conditions on any x).
        target_x: the run you care about. ``model=None`` is the default model, whose
            reach is 10x the largest run; further out (the usual 10-300x) pass
            ``model=FAR_MODEL``, as ``scalebayes suggest`` does by itself beyond 5x, and
            check the ranking with ``method="mcmc-m4"`` (why: docs/results/next-run.md).
        cost: per-candidate cost: ``None`` or ``"x"`` (proportional to x, as compute is
            for a fixed recipe), ``"equal"``, an array with one value per candidate, or a
            function of x.
        model: PFN checkpoint directory or shipped name, or a loaded
            [`PFN`][scalebayes.pfn.PFN]; ``None`` for the default model (``method="pfn"``
            only).
        n_fantasies: fantasised outcomes per candidate (the nodes of the quadrature rule
            over the outcome's probability, see the module's docstring; ``MIN_FANTASIES`` = 7
            to ``MAX_FANTASIES`` = 1001; an even number is rounded up to the next odd one,
            which ``SuggestResult.n_fantasies`` records).
        level: the central interval whose width is reduced, in (0, 1).
        method: ``"pfn"`` (default: one batched forward pass) or ``"mcmc-m4"``,
            ``"mcmc-bnsl"``, ``"mcmc-m3"`` (NUTS on the context with
            [`sample_posterior`][scalebayes.inference.sample_posterior]'s defaults, then
            importance weights; needs y > 0 and at least 3 runs; the first call compiles the
            sampler, tens of seconds on a CPU).
        key: PRNG key of the MCMC run (default ``jax.random.key(0)``); unused by the PFN.
            ``scalebayes suggest --seed S`` uses ``curve_keys(S, [curve name])`` (see
            [`curve_keys`][scalebayes.inference.curve_keys]), as ``extrapolate`` does: pass
            that key to reproduce the command's numbers.

    Returns:
        A [`SuggestResult`][scalebayes.design.SuggestResult], best candidate first (by gain
        per cost among the candidates with a gain > 0, then the rest by gain).

    Raises:
        ValueError: on bad input, with a message that says what to change.
        TypeError: for a ``target_x`` that is not a number, or arrays that are not numbers.

    Warns:
        scalebayes.pfn.ReachWarning: with the PFN, once, if ``target_x`` lies beyond the
            model's [`reach`][scalebayes.pfn.PFN.reach] (the shipped model: 10x the largest
            run); the ranking is then computed from answers outside what the model learned:
            use the far model (``model=FAR_MODEL``) or check it with ``method="mcmc-m4"``.
        scalebayes.inference.ConvergenceWarning: with MCMC, if the chains did not mix
            ([`check_mixing`][scalebayes.inference.check_mixing]; with a few runs they
            often do not): the ranking then rests on draws that may not be the posterior's.
    """
    from ..evaluate import check_level

    level = check_level(level)
    if method not in SUGGEST_METHODS:
        raise ValueError(f"method must be one of {', '.join(SUGGEST_METHODS)}; got {method!r}")
    if method != "pfn" and model is not None:
        raise ValueError(
            f"model applies only to method='pfn' (command line: --model only with --method "
            f"pfn); method {method!r} fits its own model: leave model out"
        )
    xc = _vector("x_context", x_context, 2)
    yc = _vector("y_context", y_context, 2)
    cand = _vector("candidates", candidates, 1)
    if xc.shape != yc.shape:
        raise ValueError(f"x_context and y_context differ in length: {xc.size} and {yc.size}")
    if np.any(xc <= 0) or np.any(cand <= 0):
        raise ValueError("x_context and candidates must be > 0")
    if np.any(yc < 0):
        raise ValueError("y_context must be >= 0 (a loss or an error rate)")
    if np.ptp(xc) <= 0:
        raise ValueError("x_context must hold at least two distinct x values")
    # runs repeated at one x (seeds) averaged once, here: the PFN reads one run per x and the
    # OU noise of MCMC reads its residuals as one path in x (a repeat would count as an exact
    # observation); each of the fantasies' predictions would otherwise warn again
    from ..data import merge_duplicate_x

    runs = merge_duplicate_x(xc, yc)
    ran = matches_runs(cand, runs.x).any(axis=1)
    if ran.any():  # (a review: NUTS's path of misfits passes through each run, so a repeat's
        # fantasies were that run's loss, and a float floor's noise was ranked as a gain)
        shown = ", ".join(f"{v:g}" for v in cand[ran][:5])
        raise ValueError(
            f"candidates (command line: --candidates) {shown} are runs you have: a repeat at "
            "the same x is read as the same run, so it has no gain to rank; choose new x"
        )
    if runs.x.size < xc.size:
        repeated = ", ".join(f"{v:g}" for v in runs.x[runs.counts > 1][:5])
        warnings.warn(
            f"x_context repeats x = {repeated} (seeds?): their y are averaged, one run per x "
            "(average them first to silence this)",
            UserWarning,
            stacklevel=2,
        )
        xc, yc = runs.x, runs.y
    warn_if_two_runs(xc, "the ranking")  # as scalebayes.pfn.extrapolate
    if np.unique(cand).size != cand.size:
        values, counts = np.unique(cand, return_counts=True)
        repeated = ", ".join(f"{v:g}" for v in values[counts > 1])
        raise ValueError(
            f"candidates (command line: --candidates) must be distinct; repeated: {repeated}"
        )
    if hasattr(target_x, "shape") and np.shape(target_x) == ():
        target_x = target_x.item()  # a 0-d array (NumPy or JAX) is one number
    if isinstance(target_x, bool) or not isinstance(target_x, int | float | np.number):
        raise TypeError(f"target_x must be a number; got {target_x!r}")
    try:
        target_x = float(target_x)
    except OverflowError:
        raise ValueError(f"target_x must be finite; got {beyond_float(target_x)}") from None
    if not (math.isfinite(target_x) and target_x > 0):
        raise ValueError(f"target_x must be finite and > 0; got {target_x}")
    if np.any(cand >= target_x):
        raise ValueError(
            f"every candidate must lie below target_x = {target_x:.4g}; got "
            f"{cand[cand >= target_x].tolist()} (running the target itself answers the "
            "question: compare its cost directly)"
        )
    if not is_integer(n_fantasies) or not MIN_FANTASIES <= n_fantasies <= MAX_FANTASIES:
        raise ValueError(
            f"n_fantasies must be an integer from {MIN_FANTASIES} to {MAX_FANTASIES}; got "
            f"{n_fantasies!r}"
        )
    n_fantasies = int(n_fantasies) | 1  # odd: see the module's docstring
    costs = _costs(cost, cand)
    if method == "pfn":
        now, widths = _fantasise_pfn(xc, yc, cand, target_x, model, n_fantasies, level)
    else:
        if np.any(yc <= 0):
            raise ValueError(f"method {method!r} fits log y: every y_context must be > 0")
        now, widths = _fantasise_mcmc(xc, yc, cand, target_x, method, key, n_fantasies, level)
    median_now, lower_now, upper_now = now
    width_now = (upper_now - lower_now) / median_now
    _, weights = _fantasy_rule(n_fantasies)
    widths_after, errors = _expectation(widths, weights, scattered=method != "pfn")
    gains = width_now - widths_after

    scored = [
        Suggestion(
            x=float(c),
            gain=float(g),
            gain_error=float(e),
            cost=float(k),
            gain_per_cost=float(g / k),
            width_after=float(w),
        )
        for c, g, e, k, w in zip(cand, gains, errors, costs, widths_after, strict=True)
    ]
    # Gains per cost rank the candidates expected to narrow the interval; a gain <= 0 divided
    # by a cost would rank the costlier of two harmful runs first, so those follow by gain.
    scored.sort(key=lambda s: (0, -s.gain_per_cost, s.x) if s.gain > 0 else (1, -s.gain, s.x))
    return SuggestResult(
        target_x=target_x,
        level=level,
        median_now=median_now,
        lower_now=lower_now,
        upper_now=upper_now,
        suggestions=tuple(scored),
        n_fantasies=n_fantasies,
        method=method,
    )


def _check_median(median_now: float) -> None:
    if not median_now > 0:
        raise ValueError(
            f"the predicted median at target_x is {median_now:.3g}: the gain is measured "
            "relative to it, so it must be > 0"
        )


def _fantasy_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities, weights)`` of ``n`` fantasies: the trapezoid rule in the normal score,
    ``n`` nodes evenly spaced on ``[-_Z_SPAN, _Z_SPAN]``, weighted by the standard normal
    density there (normalised to sum to 1). ``suggest_next`` asks for an odd ``n``, which
    `_expectation`'s error estimate needs."""
    from scipy.special import ndtr

    z = np.linspace(-_Z_SPAN, _Z_SPAN, n)
    density = np.exp(-0.5 * z**2)
    return ndtr(z), density / density.sum()


def _expectation(
    widths: np.ndarray, weights: np.ndarray, *, scattered: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, error)`` over the last axis of ``widths`` by the rule's ``weights``.

    The error is the rule's: half the gap between the two rules of twice the step on the
    even and the odd nodes (each with its weights normalised; with an odd number of nodes
    both are symmetric about the centre, with an even number they mirror each other and
    their gap misses every error of an integrand symmetric in the score). With ``scattered`` (widths
    from a finite set of draws reweighted by each fantasy, which scatter about a smooth
    curve when the weights fall on a few draws) it adds in quadrature the scatter's: each
    node's from the second difference centred on it (``6 s^2`` is the variance of a second
    difference of independent scatter ``s``; an end node takes its neighbour's), weighed as
    the mean weighs the nodes, ``sqrt(sum(weights^2 s^2))`` (neighbouring fantasies reweight
    the same draws, so their scatter is correlated and this understates it; it does not
    include the draws' own Monte Carlo error either). Not for a PFN's widths: they
    are a deterministic function of the outcome, whose second differences in the tails are
    its curvature, not scatter (with that term the PFN's median reported error was 10-24
    times its median error on the 11 cases of ``benchmarks/suggest_error.py --scatter``)."""

    def coarse(nodes: slice) -> np.ndarray:
        return widths[..., nodes] @ (weights[nodes] / weights[nodes].sum())

    error = np.abs(coarse(slice(0, None, 2)) - coarse(slice(1, None, 2))) / 2
    if scattered:
        second = np.diff(widths, n=2, axis=-1)
        second = np.concatenate([second[..., :1], second, second[..., -1:]], axis=-1)
        error = np.hypot(error, np.sqrt(np.square(second) @ np.square(weights) / 6))
    return widths @ weights, error


def _fantasise_pfn(xc, yc, cand, target_x, model, n_fantasies, level, probs=None):
    """``((median, lower, upper) now, widths (n_candidates, n_fantasies) / median)``.

    ``probs``: the fantasies' probabilities, ``_fantasy_rule(n_fantasies)``'s by default
    (other rules are measured with it: ``benchmarks/suggest_error.py``)."""
    from ..pfn import DEFAULT_MODEL, FAR_MODEL, PFN, ReachWarning, SpanWarning

    pfn = model if isinstance(model, PFN) else PFN.load(model)
    if not pfn.interpolation and np.any(cand <= xc.max()):
        name = pfn.meta.get("_path", "") if isinstance(model, PFN) else str(model or DEFAULT_MODEL)
        raise ValueError(
            f"candidates {cand[cand <= xc.max()].tolist()} lie inside the observed range "
            f"(x <= {xc.max():.4g}); model {name!r} was trained for "
            "extrapolation only: choose candidates beyond the largest run, or use an MCMC "
            "method (method='mcmc-m4')"
        )

    # One x mapping and one y scale for every call, so that all predictions are comparable.
    # The scale is that of the runs the model reads: the largest y unless the default model
    # reads a window of them (runs spanning more than SPAN_GUARD), whose own largest y the
    # "auto" answer below finds (dividing by an earlier run's y would put the window's runs
    # below what its prior ever showed).
    x_range = (float(min(xc.min(), cand.min())), target_x)
    y_scale = float(yc.max()) if yc.max() > 0 else 1.0
    if pfn.config.input == "nslpfn" and yc.max() > 0:
        y_scale = "auto"
    ratio = target_x / xc.max()
    if not pfn.within_reach(ratio):
        mcmc = "method='mcmc-m4' (command line: --method mcmc-m4)"
        far_model = pfn.further_model(ratio)
        if far_model is not None:
            advice = (
                f"use the far model (model={FAR_MODEL!r}, reach {far_model.reach:g}x; command "
                f"line: --model {FAR_MODEL}) or check it with {mcmc}"
            )
        else:  # no shipped PFN reaches further: only a model of the curve's form does
            advice = f"no shipped PFN reaches further; check it with {mcmc}"
        warnings.warn(
            f"target_x is {ratio:.3g}x the largest run, beyond this PFN's reach "
            f"({pfn.reach:g}x; its training prior rarely asked further), so the ranking rests "
            f"on answers outside what it learned; {advice}",
            ReachWarning,
            stacklevel=3,
        )
    with warnings.catch_warnings():  # said above, in the terms of this question
        warnings.simplefilter("ignore", ReachWarning)
        now = pfn.predict(xc, yc, np.append(cand, target_x), y_scale=y_scale, x_range=x_range)
    y_scale = now.y_scale if y_scale == "auto" else y_scale
    lower_now, upper_now = (float(v[-1]) for v in now.interval(level))
    median_now = float(now.median()[-1])
    _check_median(median_now)

    probs = _fantasy_rule(n_fantasies)[0] if probs is None else np.asarray(probs, np.float64)
    fantasies = now.icdf(probs)[:, :-1]  # (n_fantasies, n_candidates)
    contexts_x, contexts_y = [], []
    for i, c in enumerate(cand):
        order = np.argsort(np.append(xc, c), kind="stable")
        for k in range(n_fantasies):
            contexts_x.append(np.append(xc, c)[order])
            contexts_y.append(np.append(yc, fantasies[k, i])[order])
    with warnings.catch_warnings():  # said above, for the runs before the fantasy
        warnings.simplefilter("ignore", ReachWarning)
        warnings.simplefilter("ignore", SpanWarning)
        after = pfn.predict_many(
            contexts_x,
            contexts_y,
            [np.array([target_x])] * len(contexts_x),
            y_scale=y_scale,
            x_range=x_range,
        )
    # Every fantasy's target in one call: the predictions share the bar, not always the y
    # scale (a scale-free model reads y relative to the runs it reads, which the fantasy
    # changes), so the interval is read in each model's units and scaled by each fantasy's.
    stacked = dataclasses.replace(
        after[0],
        x=np.full(len(after), target_x),
        logits=np.concatenate([p.logits for p in after]),
        y_scale=1.0,
    )
    lower, upper = stacked.interval(level)
    scales = np.array([p.y_scale for p in after])
    widths = ((upper - lower) * scales).reshape(cand.size, n_fantasies) / median_now
    return (median_now, lower_now, upper_now), widths


def _fantasise_mcmc(xc, yc, cand, target_x, method, key, n_fantasies, level):
    """As ``_fantasise_pfn``, from NUTS draws reweighted by each fantasy's likelihood."""
    import jax

    from ..inference import ConvergenceWarning, check_mixing, sample_posterior

    key = jax.random.key(0) if key is None else key
    family = method.split("-", 1)[1]
    # xc holds one run per x: suggest_next averaged the seeds
    result = sample_posterior(key, family, [xc], [yc], names=["context"])
    report = check_mixing(result, warn=False)
    if report.failed:
        warnings.warn(
            f"NUTS on the runs did not mix ({report.reasons['context']}), so the ranking rests "
            "on draws that may not be the posterior's: try another key (command line: --seed) "
            "and compare with method='pfn' (command line: --method pfn)",
            ConvergenceWarning,
            stacklevel=3,
        )
    now = result.predictive([np.append(cand, target_x)])[0]
    return _fantasise_draws(now, n_fantasies, level)


def _fantasise_draws(now, n_fantasies: int, level: float):
    """Expected target interval widths after observing each candidate, from weighted draws.

    Args:
        now: an [`MCMCPredictive`][scalebayes.inference.MCMCPredictive] over the candidates
            followed by the target (its last column).
        n_fantasies: fantasised outcomes per candidate (the nodes of `_fantasy_rule`).
        level: the central interval.

    Returns:
        ``((median, lower, upper) of the target now, widths)``, where ``widths`` is
        ``(n_candidates, n_fantasies)``: the target's interval width after each fantasy,
        in units of the current median.
    """
    from ..inference import MCMCPredictive

    n_cand = now.n_targets - 1
    lower_now, upper_now = (float(v[-1]) for v in now.interval(level))
    median_now = float(now.median()[-1])
    _check_median(median_now)
    # (n_fantasies, n_candidates + 1); the last column unused
    fantasies = now.icdf(_fantasy_rule(n_fantasies)[0])
    loglik = now.draw_log_prob(fantasies)[..., :n_cand]  # (n_fantasies, n_draws, n_cand)
    log_w = loglik - loglik.max(axis=1, keepdims=True)
    weights = np.exp(log_w)  # normalised per column by MCMCPredictive
    # columns ordered (candidate, fantasy)
    weights = weights.transpose(1, 2, 0).reshape(now.n_draws, n_cand * n_fantasies)
    after = MCMCPredictive(
        loc=np.repeat(now.loc[:, -1:], n_cand * n_fantasies, axis=1),
        scale=np.repeat(now.scale[:, -1:], n_cand * n_fantasies, axis=1),
        noise=now.noise,
        df=now.df,
        weights=weights,
    )
    lower, upper = after.interval(level)
    widths = (upper - lower).reshape(n_cand, n_fantasies) / median_now
    return (median_now, lower_now, upper_now), widths
