"""Argument types shared by the command-line subcommands (argparse ``type=`` callables).

Each raises ``argparse.ArgumentTypeError`` with a message that says what was expected, which
argparse reports in one line with exit status 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive(kind: type = int) -> Callable[[str], int | float]:
    """A parser of a finite number of type ``kind`` that is > 0."""
    name = "integer" if kind is int else "number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"expected a positive {name}, got {text!r}")
        return value

    return parse


def non_negative_int(text: str) -> int:
    """A parser of an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def probability(text: str) -> float:
    """A parser of a probability strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1), got {text!r}")
    return value


def positive_floats(what: str, example: str, symbol: str = "x") -> Callable[[str], list[float]]:
    """A parser of comma-separated finite positive numbers, e.g. ``"1e10,1e11"``.

    Args:
        what: what the numbers are, for messages (e.g. "x values", "budgets in FLOPs").
        example: an example to show (e.g. "1e10,1e11").
        symbol: the name of one value in messages (``"x = 0 must be finite and > 0"``).
    """

    def parse(text: str) -> list[float]:
        values = []
        for item in text.split(","):
            try:
                value = float(item)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{item.strip()!r} in {text!r} is not a number; give comma-separated "
                    f"{what} such as {example}"
                ) from None
            if not (math.isfinite(value) and value > 0):
                raise argparse.ArgumentTypeError(
                    f"{symbol} = {item.strip()} must be finite and > 0"
                )
            values.append(value)
        return values

    return parse
