"""The hyperparameters of the NSL-PFN curve prior, as one frozen, validated configuration."""

from __future__ import annotations

import math

import equinox as eqx
import numpy as np


def _numbers(name: str, size: int, kind=float, owner: str = "PriorConfig"):
    """A converter to a tuple of ``size`` finite numbers that names the field on failure."""

    def convert(value):
        try:
            out = tuple(kind(v) for v in value)
        except (TypeError, ValueError):
            raise TypeError(f"{owner}.{name} must be {size} numbers, got {value!r}") from None
        if len(out) != size or not all(math.isfinite(v) for v in out):
            count = "a finite number" if size == 1 else f"{size} finite numbers"
            raise ValueError(f"{owner}.{name} must be {count}, got {value!r}")
        if kind is int and any(v != w for v, w in zip(out, value, strict=True)):
            raise ValueError(f"{owner}.{name} must be integers, got {value!r}")
        return out

    return convert


def _number(name: str, kind=float, owner: str = "PriorConfig"):
    def convert(value):
        try:
            (out,) = _numbers(name, 1, kind, owner)((value,))
        except (TypeError, ValueError) as error:  # say the value given, not a 1-tuple of it
            raise type(error)(str(error).replace(f"got {(value,)!r}", f"got {value!r}")) from None
        return out

    return convert


def _field(name: str, default, size: int | None = 2, kind=float, owner: str = "PriorConfig"):
    """A static, validated configuration field (``size=None``: one number)."""
    convert = _number(name, kind, owner) if size is None else _numbers(name, size, kind, owner)
    return eqx.field(default=default, static=True, converter=convert)


_UP_LOG_B_MAX = 5.0
"""The largest upper end of ``PriorConfig.up_log_b`` accepted."""


def _check(ok: bool, name: str, rule: str, value, owner: str = "PriorConfig") -> None:
    if not ok:
        raise ValueError(f"{owner}.{name} must {rule}, got {value!r}")


class PriorConfig(eqx.Module):
    """Hyperparameters of the NSL-PFN prior; the defaults are the release's values.

    A frozen, hashable configuration (all fields static, so it passes through ``jax.jit`` as
    part of the compiled program: a new configuration compiles once). Every distribution is
    written as in the NSL-PFN release; ``LogNormal(mu, s)`` means ``exp(N(mu, s^2))``.

    Attributes:
        family_probs: probabilities of Down, Down-Down and Down-Up-Down, summing to 1.
        x_range: the normalised x-interval ``(x_min, x_max)``; both ends are grid points.
        log10_length_range: ``L`` is drawn uniformly from ``logspace(a, b, n_length_values)``
            cast to ``int`` (``(1.7, 2.7)`` gives 50..501 points).
        n_length_values: number of entries of that logspace table.
        context_fraction: ``(p, q)``: the context size is
            ``max(min_context, randint(int(p L), int(q L) + 1))``.
        min_context: the smallest context size.
        m4_prob: probability that an M3/M4 segment is M4 (else M3).
        m3_beta: ``(mu, s)`` of the LogNormal of M3's ``beta`` (it cancels in the Norm).
        m3_c: ``(mu, s)`` of the LogNormal of M3's exponent ``c``.
        m3_gamma: ``(mu, s)`` of the LogNormal of M3's ``gamma``.
        m4_alpha: ``(mu, s)`` of the LogNormal of M4's ``alpha``.
        m4_beta: ``(mu, s)`` of the LogNormal of M4's ``beta``.
        m4_minus_c: ``(mu, s)`` of the LogNormal of ``-c`` for M4 (``c < 0``).
        y0_range: the Norm's start value ``y0 ~ U(a, b)``; the end value is ``y1 ~ U(0, y0)``.
        dd_breaks: smallest and largest number of breaks of a Down-Down curve (drawn uniformly).
        piece_max: upper end of the segment-length draw ``U(min(max(cutoff - margin, 0),
            piece_min_cap), piece_max)``.
        piece_min_cap: cap on the lower end of that draw.
        cutoff_margin: breaks are rescaled to lie at most ``cutoff - cutoff_margin``.
        up_log_b: ``log b ~ U(a, b)`` for the Up segment's ``BetaCDF(.; b, b)``.
        up_g: ``(mu, s)`` of the LogNormal of the Up segment's exponent ``g``.
        up_slope: ``slope ~ U(a, b)``; the Up segment rises by ``slope * dx``.
        noise_log_sigma: ``(mu, s)``: the noise standard deviation is ``exp(N(mu, s^2))``.
    """

    family_probs: tuple[float, float, float] = _field("family_probs", (0.7, 0.2, 0.1), 3)
    x_range: tuple[float, float] = _field("x_range", (0.01, 1.0))
    log10_length_range: tuple[float, float] = _field("log10_length_range", (1.7, 2.7))
    n_length_values: int = _field("n_length_values", 1000, None, int)
    context_fraction: tuple[float, float] = _field("context_fraction", (0.1, 0.9))
    min_context: int = _field("min_context", 2, None, int)
    m4_prob: float = _field("m4_prob", 0.5, None)
    m3_beta: tuple[float, float] = _field("m3_beta", (-1.0, 0.5))
    m3_c: tuple[float, float] = _field("m3_c", (-2.0, 1.0))
    m3_gamma: tuple[float, float] = _field("m3_gamma", (0.0, 1.0))
    m4_alpha: tuple[float, float] = _field("m4_alpha", (0.0, 0.5))
    m4_beta: tuple[float, float] = _field("m4_beta", (-1.0, 0.5))
    m4_minus_c: tuple[float, float] = _field("m4_minus_c", (0.0, 0.5))
    y0_range: tuple[float, float] = _field("y0_range", (0.2, 1.2))
    dd_breaks: tuple[int, int] = _field("dd_breaks", (1, 2), 2, int)
    piece_max: float = _field("piece_max", 0.4, None)
    piece_min_cap: float = _field("piece_min_cap", 0.2, None)
    cutoff_margin: float = _field("cutoff_margin", 0.05, None)
    up_log_b: tuple[float, float] = _field("up_log_b", (0.5, 1.0))
    up_g: tuple[float, float] = _field("up_g", (0.0, 0.1))
    up_slope: tuple[float, float] = _field("up_slope", (0.01, 0.7))
    noise_log_sigma: tuple[float, float] = _field("noise_log_sigma", (-4.0, 1.0))

    def __check_init__(self):
        probs = self.family_probs
        _check(
            min(probs) >= 0 and abs(sum(probs) - 1) <= 1e-6,
            "family_probs",
            "be three probabilities summing to 1",
            probs,
        )
        lo, hi = self.x_range
        _check(0 < lo < hi, "x_range", "be (x_min, x_max) with 0 < x_min < x_max", self.x_range)
        a, b = self.log10_length_range
        _check(
            math.log10(3) <= a <= b,
            "log10_length_range",
            "be (a, b) with log10(3) <= a <= b (at least 3 points)",
            self.log10_length_range,
        )
        _check(self.n_length_values >= 1, "n_length_values", "be >= 1", self.n_length_values)
        p, q = self.context_fraction
        _check(
            0 <= p <= q < 1,
            "context_fraction",
            "be (p, q) with 0 <= p <= q < 1",
            self.context_fraction,
        )
        _check(self.min_context >= 1, "min_context", "be >= 1", self.min_context)
        _check(0 <= self.m4_prob <= 1, "m4_prob", "lie in [0, 1]", self.m4_prob)
        for name in (
            "m3_beta",
            "m3_c",
            "m3_gamma",
            "m4_alpha",
            "m4_beta",
            "m4_minus_c",
            "up_g",
            "noise_log_sigma",
        ):
            value = getattr(self, name)
            _check(value[1] > 0, name, "be (mu, s) with s > 0", value)
        lo, hi = self.y0_range
        _check(0 <= lo < hi, "y0_range", "be (a, b) with 0 <= a < b", self.y0_range)
        lo, hi = self.dd_breaks
        _check(
            1 <= lo <= hi <= 8,
            "dd_breaks",
            "be ints (lo, hi) with 1 <= lo <= hi <= 8",
            self.dd_breaks,
        )
        _check(0 < self.piece_max <= 1, "piece_max", "lie in (0, 1]", self.piece_max)
        _check(
            0 < self.piece_min_cap < self.piece_max,
            "piece_min_cap",
            f"lie in (0, piece_max = {self.piece_max})",
            self.piece_min_cap,
        )
        _check(0 <= self.cutoff_margin < 1, "cutoff_margin", "lie in [0, 1)", self.cutoff_margin)
        for name in ("up_log_b", "up_slope"):
            value = getattr(self, name)
            _check(value[0] < value[1], name, "be an interval (a, b) with a < b", value)
        _check(self.up_slope[0] >= 0, "up_slope", "be non-negative", self.up_slope)
        # the BetaCDF series unrolls more terms as b grows (32 at the default e^1, 124 at
        # e^5); beyond e^5 the program grows without bound and near e^10 its bound overflows
        _check(
            self.up_log_b[1] <= _UP_LOG_B_MAX,
            "up_log_b",
            f"end at most {_UP_LOG_B_MAX:g} (b = e^{_UP_LOG_B_MAX:g}; the default is (0.5, 1.0))",
            self.up_log_b,
        )

    def length_values(self) -> np.ndarray:
        """The table the curve length is drawn from: ``logspace(a, b, n).astype(int)``."""
        a, b = self.log10_length_range
        return np.logspace(a, b, self.n_length_values).astype(np.int64)

    @property
    def max_length(self) -> int:
        """The longest curve the length rule draws."""
        return int(self.length_values().max())
