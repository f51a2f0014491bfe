r"""The weighted mixture of several predictives of the same targets (model averaging).

[`MixturePredictive`][scalebayes.evaluate.MixturePredictive] answers with

$$p_j(y) = \sum_k w_k\, p_{kj}(y), \qquad F_j(y) = \sum_k w_k\, F_{kj}(y),$$

the predictive of a forecaster who picks member ``k`` with probability ``w_k``: an equal-weight
mixture of two methods whose errors differ (a PFN and NUTS, say) is never worse in log
density than the members' average and often better than the best of them. Its quantiles are
roots of the mixture CDF, which lie between the members' quantiles at the same level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from jaxtyping import ArrayLike

from .._checks import check_key
from .._random import draw_choice
from ._predictive import Predictive, check_probabilities, x_of

__all__ = ["MixturePredictive"]

_MAX_ITER = 200
_F_TOL = 1e-9  # stop once the mixture CDF is this close to the level
_X_TOL = 1e-8  # or the bracket this narrow, relative to its magnitude


class MixturePredictive(Predictive):
    """The mixture of ``members`` with ``weights`` (equal by default); see the module.

    Quantiles are found per target and level inside the bracket of the members' quantiles
    (the mixture CDF is below the level at the smallest of them and above it at the
    largest), by regula falsi with the Illinois modification, until the CDF is within
    ``1e-9`` of the level (times ``2 min(q, 1 - q)`` in the tails, so that a level of 1e-9
    is met to its own size) or the bracket is narrower than ``1e-8`` of its magnitude; solved
    levels are kept. Sampling picks a
    member per draw (a whole row from one member, so the targets keep that member's joint
    draws).

    Args:
        members: two or more [`Predictive`][scalebayes.evaluate.Predictive] objects over the
            same targets (any with a ``cdf``: every predictive the package ships).
        weights: non-negative weights, one per member, not all 0 (normalised to sum to 1);
            ``None`` for equal weights.

    Raises:
        TypeError: for a member that is not a ``Predictive``.
        ValueError: for fewer than two members, members over different numbers of targets,
            or bad weights.
    """

    def __init__(self, members: Sequence[Predictive], weights: ArrayLike | None = None):
        members = tuple(members)
        if len(members) < 2:
            raise ValueError(f"a mixture needs at least two members, got {len(members)}")
        for member in members:
            if not isinstance(member, Predictive):
                raise TypeError(
                    f"mixture members must be Predictive objects, got {type(member).__name__}"
                )
        sizes = sorted({member.n_targets for member in members})
        if len(sizes) > 1:
            raise ValueError(f"mixture members predict different numbers of targets: {sizes}")
        try:
            w = np.full(len(members), 1.0) if weights is None else np.asarray(weights, np.float64)
        except (TypeError, ValueError):
            w = np.full(len(members) + 1, np.nan)  # reported below
        if w.shape != (len(members),) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(
                f"weights must be {len(members)} finite numbers >= 0, one per member; "
                f"got {weights!r}"
            )
        if w.max() <= 0:
            raise ValueError("weights must not all be 0")
        w = w / w.max()  # first by the largest, so that the sum cannot overflow
        w = w / w.sum()
        w.setflags(write=False)
        self.members = members
        self.weights = w
        self._cache: dict[float, np.ndarray] = {}

    @property
    def x(self) -> np.ndarray:
        """The targets' x, where the members know them (PFN answers do): the first
        member's."""
        return x_of(self.members[0], type(self).__name__)

    @property
    def n_targets(self) -> int:
        """The number of targets (every member's)."""
        return int(self.members[0].n_targets)

    @property
    def finite_mean(self) -> bool:
        """Whether every member with weight has a finite mean."""
        return all(m.finite_mean for m, w in zip(self.members, self.weights, strict=True) if w > 0)

    def _head(self, k: int) -> "MixturePredictive":
        return MixturePredictive([m._head(k) for m in self.members], self.weights)

    def cdf(self, y: ArrayLike) -> np.ndarray:
        """``sum_k w_k F_k(y)`` per target; ``y`` is ``(n_targets,)`` or ``(m, n_targets)``."""
        values, squeeze = self._cdf_values(y)
        out = sum(
            w * np.asarray(m.cdf(values), np.float64)
            for w, m in zip(self.weights, self.members, strict=True)
        )
        out = np.clip(out, 0.0, 1.0)
        return out[0] if squeeze else out

    def mean(self) -> np.ndarray:
        """``sum_k w_k mean_k`` per target, for members that know their mean (a ``mean()``
        method, as the package's predictives have).

        Raises:
            TypeError: if a member does not (samples only: estimate the mixture's mean from
                ``sample(key, n).mean(0)``).
        """
        total = np.zeros(self.n_targets)
        for w, member in zip(self.weights, self.members, strict=True):
            if w == 0:  # a member with no weight adds nothing, whatever its tails
                continue
            mean = getattr(member, "mean", None)
            if not callable(mean):
                raise TypeError(
                    f"a {type(member).__name__} member has no mean; estimate it from "
                    "sample(key, n).mean(0)"
                )
            total = total + w * np.asarray(mean(), np.float64)
        return total

    def log_prob(self, y: ArrayLike) -> np.ndarray:
        """``log sum_k w_k p_k(y)`` per target (``-inf`` where every member's density is 0)."""
        y = self._targets(y)
        with np.errstate(divide="ignore"):
            terms = np.stack(
                [
                    math.log(w) + np.asarray(m.log_prob(y), np.float64)
                    if w > 0
                    else np.full(self.n_targets, -np.inf)
                    for w, m in zip(self.weights, self.members, strict=True)
                ]
            )
        peak = terms.max(axis=0)
        safe = np.where(np.isfinite(peak), peak, 0.0)
        with np.errstate(divide="ignore"):
            return np.where(
                np.isfinite(peak), safe + np.log(np.exp(terms - safe).sum(axis=0)), -np.inf
            )

    def icdf(self, q: float | ArrayLike) -> np.ndarray:
        """Per-target quantiles: ``(n_targets,)`` for a scalar ``q``, else ``(len(q), n)``."""
        qs = check_probabilities(q)
        flat = np.atleast_1d(qs).tolist()
        missing = list(dict.fromkeys(p for p in flat if p not in self._cache))
        if missing:
            for p, row in zip(missing, self._solve(np.asarray(missing)), strict=True):
                row.setflags(write=False)
                self._cache[p] = row
        out = np.stack([self._cache[p] for p in flat])
        return out[0].copy() if qs.ndim == 0 else out

    def _solve(self, q: np.ndarray) -> np.ndarray:
        """The mixture's quantiles at levels ``q`` (Q,), shape ``(Q, n_targets)``."""
        members = np.stack(
            [np.atleast_2d(np.asarray(m.icdf(q), np.float64)) for m in self.members]
        )  # (K, Q, T)
        lo, hi = members.min(axis=0), members.max(axis=0)
        target = np.broadcast_to(q[:, None], lo.shape)
        # the CDF's tolerance, relative to the nearer tail's mass below q = 0.5 (a level of
        # 1e-9 is not met by any y whose CDF is below 1e-9)
        f_tol = _F_TOL * np.minimum(1.0, 2.0 * np.minimum(q, 1.0 - q))[:, None]
        f_lo, f_hi = self.cdf(lo) - target, self.cdf(hi) - target
        # the quantile is the smallest y with F(y) >= q: the bracket's low end if F is already
        # there (a member's point mass, or members that agree)
        done = (f_lo >= 0) | (hi <= lo)
        result = lo.copy()
        side = np.zeros(lo.shape, np.int8)  # which end the last step moved: -1 low, 1 high
        for _ in range(_MAX_ITER):
            rows = np.flatnonzero(~done.all(axis=1))  # levels with a target left to solve
            if rows.size == 0:
                break
            lo_r, hi_r, flo, fhi = lo[rows], hi[rows], f_lo[rows], f_hi[rows]
            denom = np.where(fhi - flo > 0, fhi - flo, 1.0)
            t = lo_r - flo * (hi_r - lo_r) / denom
            t = np.where((t > lo_r) & (t < hi_r), t, 0.5 * (lo_r + hi_r))
            f_t = self.cdf(t) - target[rows]
            below = f_t < 0
            # Illinois: when the same end moves twice running, halve the other end's residual
            s_r = side[rows]
            f_lo[rows] = np.where(below, f_t, np.where(s_r == 1, 0.5 * flo, flo))
            f_hi[rows] = np.where(below, np.where(s_r == -1, 0.5 * fhi, fhi), f_t)
            side[rows] = np.where(below, -1, 1)
            live = ~done[rows]
            lo[rows] = np.where(live & below, t, lo_r)
            hi[rows] = np.where(live & ~below, t, hi_r)
            hit = live & (np.abs(f_t) <= f_tol[rows])
            narrow = live & (
                hi[rows] - lo[rows] <= _X_TOL * np.maximum(np.abs(hi[rows]), np.abs(lo[rows]))
            )
            result[rows] = np.where(hit, t, np.where(narrow, hi[rows], result[rows]))
            done[rows] = done[rows] | hit | narrow
        return np.where(done, result, hi)

    def sample(self, key, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Draws ``(*sample_shape, n_targets)``: each row from one member, picked by weight."""
        import jax

        keys = jax.random.split(check_key(key), len(self.members) + 1)
        shape = self._sample_shape(sample_shape)
        pick = draw_choice(keys[0], len(self.members), shape, np.asarray(self.weights))
        out = np.zeros((*shape, self.n_targets))
        for k, member in enumerate(self.members):
            if np.any(pick == k):
                draws = np.asarray(member.sample(keys[k + 1], shape), np.float64)
                out[pick == k] = draws[pick == k]
        return out
