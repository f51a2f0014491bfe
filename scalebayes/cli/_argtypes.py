"""Argument types shared by the command-line subcommands (argparse ``type=`` callables).

Each raises ``argparse.ArgumentTypeError`` with a message that says what was expected, which
argparse reports in one line with exit status 2. The path types check files and directories
when the arguments are parsed, so that a bad path fails before any work is done:
``readable_file`` for inputs, ``figure_file`` for ``--plot`` and ``output_dir`` for ``--out``.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._checks import plain_float, plain_int
from .._io import FIGURE_FORMATS


def positive(kind: type = int) -> Callable[[str], int | float]:
    """A parser of a finite number of type ``kind`` that is > 0."""
    name = "integer" if kind is int else "number"

    def parse(text: str):
        try:  # a number as written plainly: 2_5 and full-width digits are typos, not numbers
            value = plain_float(text) if kind is float else plain_int(text)
        except ValueError:
            value = 0
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"expected a positive {name}, got {text!r}")
        return value

    return parse


def x_text(x: float) -> str:
    """An x for a result table: 6 significant digits, more where those would not tell it
    from its neighbours (a run at 1e10 and a question at 1.0000001e10 both read 1e+10)."""
    for digits in range(6, 18):
        text = f"{x:.{digits}g}"
        if float(text) == x:
            return text
    return repr(float(x))


def non_negative_int(text: str) -> int:
    """A parser of an integer >= 0."""
    try:
        value = plain_int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


SEED_MAX = 2**63 - 1


def seed(text: str) -> int:
    """A parser of a PRNG seed: an integer in [0, 2**63 - 1] (what a JAX key takes)."""
    try:
        value = plain_int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**63 - 1], got {text!r}")
    return value


def probability(text: str) -> float:
    """A parser of a probability strictly between 0 and 1."""
    try:
        value = plain_float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1), got {text!r}")
    return value


class Once(argparse.Action):
    """Store an option's value, refusing a second one: a repeated single-valued option
    would otherwise keep its last value and drop the others without a word."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = vars(namespace).setdefault("_given_once", set())  # a default is not "given"
        if self.dest in given:
            earlier = getattr(namespace, self.dest)
            shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (earlier, values)]
            raise argparse.ArgumentError(
                self, f"given twice ({shown[0]} and {shown[1]}); give it once"
            )
        given.add(self.dest)
        setattr(namespace, self.dest, values)


def _comma_list(text: str, read: Callable[[str], object], refused: str, example: str) -> list:
    """``read`` of each comma-separated item of ``text``; an item it cannot read (ValueError)
    is named with ``refused`` (what it is not, and what to give) and ``example``; ``read``
    raises ``argparse.ArgumentTypeError`` itself for a value it reads but refuses."""
    values = []
    for item in text.split(","):
        try:
            values.append(read(item))
        except ValueError:  # (argparse.ArgumentTypeError is no ValueError: it passes)
            raise argparse.ArgumentTypeError(
                f"{item.strip()!r} in {text!r} is {refused} such as {example}"
            ) from None
    return values


def positive_floats(what: str, example: str, symbol: str = "x") -> Callable[[str], list[float]]:
    """A parser of comma-separated finite positive numbers, e.g. ``"1e10,1e11"``.

    Args:
        what: what the numbers are, for messages (e.g. "x values", "budgets in FLOPs").
        example: an example to show (e.g. "1e10,1e11").
        symbol: the name of one value in messages (``"x = 0 must be finite and > 0"``).
    """

    def read(item: str) -> float:
        value = plain_float(item)
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{symbol} = {item.strip()} must be finite and > 0")
        return value

    def parse(text: str) -> list[float]:
        return _comma_list(text, read, f"not a number; give comma-separated {what}", example)

    return parse


@dataclass(frozen=True)
class Times:
    """An x asked as a multiple of each curve's largest run (``--to 10x``): ``factor`` times
    the largest x of the curve it is asked of."""

    factor: float

    def __str__(self) -> str:
        return f"{self.factor:g}x"


_TIMES_SIGNS = ("x", "X", "\N{MULTIPLICATION SIGN}")


def read_x(word: str) -> float | Times:
    """One x as written: a number (``1e21``) or a multiple of the largest run (``10x``).

    Raises:
        ValueError: where ``word`` is neither.
    """
    word = word.strip()
    times = word.endswith(_TIMES_SIGNS)
    value = plain_float(word[:-1].strip() if times else word)
    return Times(value) if times else value


def _positive_x(value: float | Times, word: str) -> float | Times:
    """``value`` (read from ``word``) if finite and > 0, else the argparse error saying so."""
    number = value.factor if isinstance(value, Times) else value
    if not (math.isfinite(number) and number > 0):
        raise argparse.ArgumentTypeError(
            f"{'the multiple in ' if isinstance(value, Times) else 'x = '}{word.strip()} must be "
            "finite and > 0"
        )
    return value


def one_x(example: str) -> Callable[[str], float | Times]:
    """A parser of one x: a finite positive number, or a multiple of the largest run (``100x``);
    ``example`` shows both (e.g. ``"1e12 or 100x"``)."""

    def parse(text: str) -> float | Times:
        try:
            value = read_x(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected one positive number, or a multiple of the largest run (e.g. "
                f"{example}), got {text!r}"
            ) from None
        return _positive_x(value, text)

    return parse


def x_values(what: str, example: str) -> Callable[[str], list[float | Times]]:
    """A parser of comma-separated x to ask about: finite positive numbers (``1e21``) or
    multiples of each curve's largest run (``10x``, ``100x``), e.g. ``"10x,1e22"``; resolve
    them for a curve with `resolve_x`."""

    def parse(text: str) -> list[float | Times]:
        refused = (
            f"neither a number nor a multiple of the largest run such as 10x; give "
            f"comma-separated {what}"
        )
        return _comma_list(text, lambda item: _positive_x(read_x(item), item), refused, example)

    return parse


def resolve_x(asked: list[float | Times], top: float, flag: str = "--to") -> list[float]:
    """The x ``asked`` (numbers, or `Times` multiples of ``top``, a curve's largest run) as
    sorted distinct numbers: a repeated x is one question.

    Raises:
        ValueError: for a multiple whose x is not a finite number (``1e300x``), naming
            ``flag``.
    """
    out = set()
    for v in asked:
        x = top * v.factor if isinstance(v, Times) else float(v)
        if not (math.isfinite(x) and x > 0):
            raise ValueError(
                f"{flag} {v}: {v.factor:g} times the largest run ({top:g}) is not a finite "
                "number; ask a smaller multiple"
                if isinstance(v, Times)
                else f"{flag}: x = {v:g} must be finite and > 0"
            )
        out.add(x)
    return sorted(out)


def from_multiple(x: float, top: float, asked: list[float | Times]) -> bool:
    """Whether ``x`` was asked as a multiple of ``top`` (and so in the runs' own units)."""
    return any(isinstance(v, Times) and top * v.factor == x for v in asked)


def asked_text(x: float, top: float, asked: list[float | Times]) -> str:
    """``x`` as a message names it: with the multiple it was asked as, where it was."""
    for v in asked:
        if isinstance(v, Times) and top * v.factor == x:
            return f"{x:g} ({v} the largest run)"
    return f"{x:g}"


def check_readable(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` is a file this process can open for reading.

    Args:
        path: The input file.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: ``"cannot read PATH: <reason>"`` for a missing file, a directory or a
            file without read permission.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"cannot read {path}: {os.strerror(errno.EISDIR)}; give a file")
    try:  # O_NONBLOCK: a FIFO does not block the check
        os.close(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)))
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    return path


def readable_file(text: str) -> Path:
    """A parser of an input file that exists and can be read (see `check_readable`)."""
    try:
        return check_readable(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _check_writable_dir(directory: Path) -> None:
    """Raise ``ArgumentTypeError`` unless files can be created in ``directory``.

    Permission bits do not tell (root ignores them; read-only mounts do not show in them),
    so this creates and removes an unnamed temporary file there.
    """
    if not directory.exists():
        raise argparse.ArgumentTypeError(f"directory {directory} does not exist; create it first")
    if not directory.is_dir():
        raise argparse.ArgumentTypeError(f"{directory} is a file, not a directory")
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise argparse.ArgumentTypeError(
            f"cannot write in {directory}: {error.strerror or error}"
        ) from None


def figure_file(*suffixes: str) -> Callable[[str], Path]:
    """A parser of a figure file to write (``--plot``), checked before any work is done.

    The directory must exist or be creatable (the writer creates it, as ``--out`` does, so
    ``--out OUT --plot OUT/fan.png`` works), the path must not be a directory, and the
    extension must name a format the plot writer supports (it writes the format the
    extension names).

    Args:
        suffixes: The accepted extensions, lower case with the dot; default all of
            ``FIGURE_FORMATS`` (``.png``, ``.pdf``, ``.svg``).
    """
    accepted = suffixes or FIGURE_FORMATS
    unknown = set(accepted) - set(FIGURE_FORMATS)
    if unknown:
        raise ValueError(f"figure_file: {sorted(unknown)} are not in {FIGURE_FORMATS}")
    names = " or ".join(", ".join(accepted).rsplit(", ", 1))

    def parse(text: str) -> Path:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"empty; give a file name such as plot{accepted[0]}")
        path = Path(text)
        if path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{text} is a directory; give a file name such as {path / 'plot'}{accepted[0]}"
            )
        if path.suffix.lower() not in accepted:
            raise argparse.ArgumentTypeError(
                f"cannot write {text}: name a {names} file (the format follows the extension)"
            )
        _check_creatable_dir(path.parent, text, "give another file name")
        return path

    return parse


def output_dir(text: str) -> Path:
    """A parser of an output directory: an existing one, or one that can be created.

    Raises ``ArgumentTypeError`` if the path (or a parent of it) is a file, or if the
    nearest existing directory on the path is not writable. Creates nothing.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory name, got an empty string")
    path = Path(text)
    if path.is_symlink() and not path.exists():
        raise argparse.ArgumentTypeError(
            f"{text} is a link to {os.readlink(path)}, which does not exist; give a directory "
            "(or create the one it points to)"
        )
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; give a directory")
    _check_creatable_dir(path, text, "give a directory")
    return path


def _check_creatable_dir(directory: Path, text: str, fix: str) -> None:
    """Raise ``ArgumentTypeError`` unless ``directory`` exists or can be created, writable.

    The nearest existing directory on the path must be a writable directory; ``text`` is the
    argument as given and ``fix`` what to do instead, for the message.
    """
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(
            f"{existing} is a file, so {text} cannot be created; {fix}"
        )
    _check_writable_dir(existing)


def _column_name(text: str) -> str:
    """A CSV column's name as an option gives it: not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"expected a column's name from the CSV header, got {text!r}"
        )
    return text


def add_csv_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of reading a CSV file: ``--dedupe {error,mean}`` (what to do with
    repeated x within a curve), ``--x-column`` / ``--y-column`` (which columns hold x and y,
    when they are not named x and y) and ``--curve-column`` (which names the curves)."""
    parser.add_argument(
        "--dedupe",
        choices=("error", "mean"),
        default="error",
        help="repeated x within a CSV curve: reject (error, default) or average their y (mean)",
    )
    parser.add_argument(
        "--x-column",
        metavar="NAME",
        type=_column_name,
        default=None,
        help="the CSV column that holds x, e.g. tokens (default: the column named x, else "
        "the one named compute, flops, params or tokens)",
    )
    parser.add_argument(
        "--y-column",
        metavar="NAME",
        type=_column_name,
        default=None,
        help="the CSV column that holds y, e.g. dev_loss (default: the column named y or "
        "loss, else the one named val_loss, test_loss, error or perplexity)",
    )
    parser.add_argument(
        "--curve-column",
        metavar="NAME",
        type=_column_name,
        default=None,
        help="the CSV column that names the curves, e.g. model (default: the column named "
        "curve; else, where x repeats, the one column of names that tells the repeats apart)",
    )


def csv_options(args: argparse.Namespace) -> dict[str, str | None]:
    """``read_curves_csv``'s keyword arguments from the options of `add_csv_options`."""
    x, y = args.x_column, args.y_column
    if x is not None and y is not None and x.strip().lower() == y.strip().lower():
        raise ValueError(f"--x-column and --y-column both name {x!r}; give two columns")
    names = {"dedupe": args.dedupe, "x_column": x, "y_column": y}
    curve = getattr(args, "curve_column", None)
    if curve is not None:
        if curve.strip().lower() in {c.strip().lower() for c in (x, y) if c is not None}:
            raise ValueError(f"--curve-column {curve!r} also holds x or y; give its own column")
        names["curve_column"] = curve
    return names
