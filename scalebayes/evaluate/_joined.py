"""One curve's targets answered in parts: each target by the predictive of its part.

A curve's answer can come from different models at different targets (the shipped PFN
answer: both PFNs within ``FAR_SWITCH`` times the largest run, the far model beyond, each
target by the model measured the more accurate at its distance).
[`JoinedPredictive`][scalebayes.evaluate.JoinedPredictive] puts such parts together into one
predictive over all the targets, in the order they were asked: every per-target question
(quantiles, density, CDF) is the part's, and a draw of the targets is a draw of each part
(the parts independent of each other).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxtyping import ArrayLike

from .._checks import check_key
from ._predictive import Predictive, x_of

__all__ = ["JoinedPredictive"]


class JoinedPredictive(Predictive):
    """Targets answered by parts: target ``index[k][j]`` is target ``j`` of ``parts[k]``.

    Args:
        parts: the [`Predictive`][scalebayes.evaluate.Predictive] s, at least one.
        index: for each part, the positions (in the joined answer) of its targets, as many
            as the part has; together they cover ``0 .. n_targets - 1`` once each.

    Raises:
        TypeError: if a part is not a ``Predictive``.
        ValueError: if the positions do not match the parts or do not cover the targets
            exactly once.
    """

    def __init__(self, parts: Sequence[Predictive], index: Sequence[ArrayLike]):
        parts, index = list(parts), [np.asarray(ix) for ix in index]
        if not parts:
            raise ValueError("JoinedPredictive needs at least one part")
        for part in parts:
            if not isinstance(part, Predictive):
                raise TypeError(f"parts must be Predictives, got {type(part).__name__}")
        if len(index) != len(parts):
            raise ValueError(f"give one index per part: {len(parts)} parts, {len(index)} indices")
        for k, (part, ix) in enumerate(zip(parts, index, strict=True)):
            if ix.dtype.kind not in "iu":
                raise ValueError(f"index {k} must hold integers, got {ix.dtype}")
            if ix.ndim != 1 or ix.size != part.n_targets:
                raise ValueError(
                    f"each index must be 1-D integers, one per target of its part; got "
                    f"{ix.size} positions for a part of {part.n_targets} targets"
                )
        every = np.concatenate(index).astype(np.int64)
        if not np.array_equal(np.sort(every), np.arange(every.size)):
            raise ValueError("the indices must cover the targets 0 .. n - 1, each once")
        self.parts = tuple(parts)
        self.index = tuple(ix.astype(np.int64) for ix in index)
        self._n = int(every.size)

    @property
    def x(self) -> np.ndarray:
        """The targets' x in the joined order, where every part knows its own (PFN answers
        do)."""
        return self._join([x_of(part, type(self).__name__) for part in self.parts])

    @property
    def n_targets(self) -> int:
        """The number of targets, over all parts."""
        return self._n

    def _join(self, pieces: list[np.ndarray]) -> np.ndarray:
        """The parts' arrays (targets last) placed at their targets' positions."""
        lead = np.shape(pieces[0])[:-1]
        out = np.zeros((*lead, self._n))
        for ix, piece in zip(self.index, pieces, strict=True):
            out[..., ix] = piece
        return out

    def icdf(self, q: float | ArrayLike) -> np.ndarray:
        """Quantiles ``(n_targets,)`` for a scalar ``q``, else ``(len(q), n_targets)``: each
        target's from the part that answers it."""
        return self._join([np.asarray(part.icdf(q), np.float64) for part in self.parts])

    def log_prob(self, y: ArrayLike) -> np.ndarray:
        """Log density per target, each from the part that answers it."""
        y = self._targets(y)
        pairs = zip(self.parts, self.index, strict=True)
        return self._join([np.asarray(p.log_prob(y[ix]), np.float64) for p, ix in pairs])

    def cdf(self, y: ArrayLike) -> np.ndarray:
        """CDF per target (``y`` is ``(n_targets,)`` or ``(m, n_targets)``), each from the part
        that answers it."""
        y, squeeze = self._cdf_values(y)
        out = self._join(
            [
                np.atleast_2d(np.asarray(p.cdf(y[:, ix]), np.float64))
                for p, ix in zip(self.parts, self.index, strict=True)
            ]
        )
        return out[0] if squeeze else out

    def sample(self, key, sample_shape: int | tuple[int, ...] = ()) -> np.ndarray:
        """Draws ``(*sample_shape, n_targets)``, each part from a key of its own."""
        import jax

        keys = jax.random.split(check_key(key), len(self.parts))
        shape = self._sample_shape(sample_shape)
        return self._join(
            [
                np.asarray(part.sample(k, shape), np.float64).reshape(*shape, part.n_targets)
                for part, k in zip(self.parts, keys, strict=True)
            ]
        )

    @property
    def finite_mean(self) -> bool:
        """Whether every part has a finite mean."""
        return all(part.finite_mean for part in self.parts)

    def mean(self) -> np.ndarray:
        """Per-target means, each its part's (every part must have a ``mean()``)."""
        means = [getattr(part, "mean", None) for part in self.parts]
        missing = [
            type(p).__name__ for p, m in zip(self.parts, means, strict=True) if not callable(m)
        ]
        if missing:
            raise TypeError(
                f"a part has no mean ({', '.join(missing)}); use median() or quantile()"
            )
        return self._join([np.asarray(m(), np.float64) for m in means])
