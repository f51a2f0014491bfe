"""Argument checks shared by the packages (internal: the bottom layer, like ``_io``)."""

from __future__ import annotations

import math
import numbers
import re


class MissingDependencyError(ImportError):
    """A dependency (optional, or one that does not suit the installed JAX) is missing or of
    the wrong version; the message says what to install (the command line prints it in one
    line, exit 2)."""


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number (Python or NumPy, or a concrete 0-d NumPy or JAX
    array of one, as ``x.min()`` gives), not a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):
        return True
    dtype = getattr(value, "dtype", None)
    if getattr(value, "shape", None) == () and getattr(dtype, "kind", "") in ("i", "u", "f"):
        try:  # a traced value (under jit) has no number yet
            float(value)
        except Exception:
            return False
        return True
    return False


def is_finite_real(value: object) -> bool:
    """Whether ``value`` is a finite real number (Python or NumPy), not a bool; a Python int
    beyond the float64 range (``10**400``) is not finite here, where it reaches a float."""
    try:
        return is_real(value) and math.isfinite(value)
    except OverflowError:
        return False


_PLAIN_NUMBER = re.compile(
    r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)", re.I | re.A
)


def _plain(text: str, pattern: re.Pattern, what: str) -> str:
    """``text`` stripped, after checking that ``pattern`` matches all of it."""
    text = text.strip()
    if not pattern.fullmatch(text):
        raise ValueError(f"not a plain {what}: {text!r}")
    return text


def plain_float(text: str) -> float:
    """``float(text)`` for a number written plainly (ASCII digits, an optional point and
    exponent; ``inf`` and ``nan`` are left to the caller's finiteness check).

    Python's ``float`` also reads ``2_5`` as 25 and full-width digits as digits, which in a
    data file are typos, not numbers.

    Raises:
        ValueError: if ``text`` (stripped) is not such a number.
    """
    return float(_plain(text, _PLAIN_NUMBER, "number"))


_PLAIN_INTEGER = re.compile(r"[+-]?\d+", re.A)


def plain_int(text: str) -> int:
    """``int(text)`` for an integer written plainly in ASCII digits (``int`` also reads
    ``1_6`` as 16 and full-width digits as digits: typos on a command line, not numbers).

    Raises:
        ValueError: if ``text`` (stripped) is not such an integer.
    """
    return int(_plain(text, _PLAIN_INTEGER, "integer"))


UNCLOSED_QUOTE = 'a quote (") left unclosed'
"""The likeliest cause of a CSV cell across lines or a ``csv.Error``, for messages."""


def not_valid_csv(where: str, error: Exception) -> str:
    """The message for a ``csv.Error`` at ``where`` (a file and its line)."""
    return f"{where}: not valid CSV ({error}); is {UNCLOSED_QUOTE}?"


def shown_cell(text: str, limit: int = 40) -> str:
    """A data file's cell for an error message: its ``repr``, cut to ``limit`` characters,
    and a hint where it holds a line break (a quote left open swallows the lines after it
    into one cell, which the message would otherwise print whole)."""
    text = text.strip()
    shown = repr(text if len(text) <= limit else text[:limit] + "...")
    if "\n" in text or "\r" in text:
        shown += f" (a cell across lines: is {UNCLOSED_QUOTE} there?)"
    return shown


def holds_numbers(array) -> bool:
    """Whether a NumPy array holds real numbers: an integer or float dtype, or objects that are
    each a real number (Python ints beyond int64, e.g. FLOPs written as ``10**21``)."""
    kind = array.dtype.kind
    return kind in "iuf" or (kind == "O" and all(is_real(v) for v in array.flat))


def check_integer(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an ``int`` after checking that it is an integer ``>= minimum``.

    Raises:
        ValueError: naming ``name``, if it is not an integer (a bool is not) or is too small.
    """
    if not is_integer(value) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_key(key: object, name: str = "key"):
    """``key`` after checking that it is a JAX PRNG key (``jax.random.key(0)`` or the older
    ``jax.random.PRNGKey(0)``), so that a plain integer gets an error that says what to pass.

    Raises:
        TypeError: naming ``name``, for anything else.
    """
    import jax
    import numpy as np

    if isinstance(key, jax.Array | np.ndarray):
        dtype = key.dtype
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            return key
        if dtype == np.uint32 and key.shape[-1:] == (2,):  # a raw key of the default PRNG
            return key
    raise TypeError(
        f"{name} must be a JAX PRNG key such as jax.random.key(0); got {type(key).__name__} "
        f"{key!r}"[:200]
    )


def beyond_float(value: object) -> str:
    """How to name a number too large for a float in a message (a Python int such as
    ``10**400`` is one; its 401 digits are not worth printing)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"an integer of {len(str(abs(value)))} digits, beyond the float64 range (1.8e308)"
    return "a number beyond the float64 range (1.8e308)"


def is_one_flat_array(value) -> bool:
    """Whether ``value``, asked for as one array per curve, is one curve's flat numbers: its
    first entry a single number (Python, NumPy or 0-d array). Read as curves, each number
    would be a curve of one point."""
    try:
        first = value[0] if len(value) else None
    except (TypeError, KeyError):  # unsized or unindexable: the caller's checks say what
        return False
    return is_real(first) or getattr(first, "shape", None) == ()


def matches_runs(values, runs):
    """``(len(values), len(runs))``, True where a value is one of the runs' x (within 1e-9
    relative): a question about a run the user already has, which the models with a misfit
    path through every run (NUTS's OU noise) answer with that run's loss and no width."""
    import numpy as np  # here: the command line imports this module before NumPy

    values, runs = (np.asarray(v, np.float64).ravel() for v in (values, runs))
    return np.isclose(values[:, None], runs[None, :], rtol=1e-9, atol=0)
