"""Padded sizes, so that compiled programs see few distinct shapes."""

from __future__ import annotations

__all__ = ["bucket"]


def bucket(n: int, smallest: int) -> int:
    """The power of two at or above ``n``, and at least ``smallest``: the size ``n`` items are
    padded to (or drawn as), so that sizes between two powers of two share one compiled
    program."""
    return max(smallest, 1 << max(int(n) - 1, 0).bit_length())
