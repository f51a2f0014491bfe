"""Argument checks shared by the packages (internal: the bottom layer, like ``_io``)."""

from __future__ import annotations

import numbers


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_integer(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an ``int`` after checking that it is an integer ``>= minimum``.

    Raises:
        ValueError: naming ``name``, if it is not an integer (a bool is not) or is too small.
    """
    if not is_integer(value) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
