"""Training runs ``(N, D, loss)`` for joint scaling laws: validation, CSV files, Chinchilla.

A joint law ``L(N, D)`` is fitted to final losses of runs at several model sizes ``N``
(parameters) and data sizes ``D`` (tokens). Everything that enters a fit passes
[`validate_runs`][scalebayes.compute.validate_runs], which says which run (or which line of a
file) to fix.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import (
    UNCLOSED_QUOTE,
    beyond_float,
    check_integer,
    holds_numbers,
    is_finite_real,
    is_integer,
    not_valid_csv,
    plain_float,
    shown_cell,
)
from .._text import header_key

MIN_DISTINCT = 3
"""The fewest distinct ``N`` (and ``D``) values that identify an exponent and its offset."""
_CSV_COLUMNS = "N, D and loss (or N, C and loss with C = 6 N D in FLOPs)"


def _read_only(values: np.ndarray) -> np.ndarray:
    values.setflags(write=False)
    return values


@dataclass(frozen=True, eq=False)
class Runs:
    """Final losses of training runs, one entry per run (read-only float64 arrays).

    Build it with [`validate_runs`][scalebayes.compute.validate_runs],
    [`read_runs_csv`][scalebayes.compute.read_runs_csv] or
    [`chinchilla_runs`][scalebayes.compute.chinchilla_runs].

    Attributes:
        N: parameter counts, shape ``(n_runs,)``.
        D: training tokens, shape ``(n_runs,)``.
        loss: final losses (> 0), shape ``(n_runs,)``.
        source: where the runs came from (a file name or a description).
        flops_per_param_token: ``k`` in ``C = k N D``, the convention the runs were read
            with (a ``C`` column becomes ``D = C / (k N)``); what
            [`compute`][scalebayes.compute.Runs.compute] and a posterior's
            [`allocation`][scalebayes.compute.JointLawPosterior.allocation] use unless told
            otherwise.
    """

    N: np.ndarray
    D: np.ndarray
    loss: np.ndarray
    source: str = "runs"
    flops_per_param_token: float = 6.0

    def __post_init__(self) -> None:
        """Runs built directly (not by `validate_runs`) are checked too: a NaN or a
        non-positive loss would otherwise reach a fit and come back as a NaN answer."""
        hint = "build runs with validate_runs(N, D, loss), which names the run at fault"
        shapes = set()
        for name in ("N", "D", "loss"):
            try:
                value = np.asarray(getattr(self, name), dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"Runs.{name} must be numbers; {hint}") from None
            if value.ndim != 1 or value.size == 0 or not np.all(np.isfinite(value) & (value > 0)):
                raise ValueError(f"Runs.{name} must be a 1-D array of finite numbers > 0; {hint}")
            if value.flags.writeable:  # a caller's array: a read-only copy of it
                value = _read_only(value.copy())
            object.__setattr__(self, name, value)
            shapes.add(value.shape)
        if len(shapes) > 1:
            raise ValueError(f"Runs.N, D and loss must have the same length; {hint}")
        k = self.flops_per_param_token
        if not (is_finite_real(k) and k > 0):
            raise ValueError(f"Runs.flops_per_param_token must be finite and > 0, got {k!r}")
        object.__setattr__(self, "flops_per_param_token", float(k))
        _check_design(
            np.log(self.D / self.N), np.log(self.N) + np.log(self.D), self.source, float(k)
        )

    def __len__(self) -> int:
        return int(self.N.shape[0])

    def compute(self, flops_per_param_token: float | None = None) -> np.ndarray:
        """Training compute ``C = k N D`` of each run in FLOPs, with ``k`` the runs' own
        [`flops_per_param_token`][scalebayes.compute.Runs] unless given."""
        k = self.flops_per_param_token if flops_per_param_token is None else flops_per_param_token
        return k * self.N * self.D

    def __repr__(self) -> str:
        return (
            f"Runs({len(self)} runs from {self.source}: N {self.N.min():.3g}..{self.N.max():.3g}, "
            f"D {self.D.min():.3g}..{self.D.max():.3g}, "
            f"loss {self.loss.min():.4g}..{self.loss.max():.4g})"
        )


def _distinct(values: np.ndarray) -> np.ndarray:
    """Distinct values, treating values equal to 12 significant digits as one."""
    return np.unique(np.array([float(f"{v:.12g}") for v in values]))


def _check_distinct(name: str, values: np.ndarray, source: str, min_distinct: int) -> None:
    distinct = _distinct(values)
    if distinct.size < min_distinct:
        shown = ", ".join(f"{v:.4g}" for v in distinct)
        raise ValueError(
            f"{source}: only {distinct.size} distinct {name} value(s) ({shown}); the joint law "
            f"needs at least {min_distinct} distinct {name} to identify its {name} exponent and "
            f"coefficient; add runs at other {'model' if name == 'N' else 'data'} sizes"
        )


def validate_runs(
    N,
    D,
    loss,
    *,
    source: str = "runs",
    min_distinct: int = MIN_DISTINCT,
    flops_per_param_token: float = 6.0,
) -> Runs:
    """Check runs and return them as [`Runs`][scalebayes.compute.Runs].

    Args:
        N: parameter counts (1-D, finite, > 0).
        D: training tokens (same length, finite, > 0).
        loss: final losses (same length, finite, > 0; the likelihood is on ``log loss``).
        source: a name for messages (e.g. the file name).
        min_distinct: the fewest distinct ``N`` and distinct ``D`` values accepted.
        flops_per_param_token: ``k`` in ``C = k N D``, recorded with the runs (their
            [`compute`][scalebayes.compute.Runs.compute] and a posterior's allocation use it).

    Returns:
        The validated runs.

    Raises:
        ValueError: naming the offending run (by index) and what to fix; also when every
            run has the same tokens-per-parameter ratio ``D / N`` (within 10%), with which a
            joint law cannot tell what parameters buy from what tokens buy, or the same
            compute ``6ND`` (within 10%), with which it cannot tell how the optimum moves.

    Warns:
        UserWarning: when the ratios ``D / N`` span less than a factor of 2: the law then
            tells N's terms from D's only weakly (wide intervals on the allocation, slow
            chains); when N and D look like other units (a median D/N outside 0.01-1e5
            tokens per parameter); when the loss rises with compute.
    """
    min_distinct = check_integer("min_distinct", min_distinct, 1)
    k = flops_per_param_token
    if not (is_finite_real(k) and k > 0):
        raise ValueError(f"flops_per_param_token must be finite and > 0, got {k!r}")
    return _validate(N, D, loss, source, min_distinct, lambda i: f"run {i}", float(k))


def _validate(N, D, loss, source: str, min_distinct: int, where, k: float = 6.0) -> Runs:
    arrays = {}
    for name, values in (("N", N), ("D", D), ("loss", loss)):
        raw = np.asarray(values)
        if not holds_numbers(raw):  # Python ints beyond int64 are numbers, text is not
            raise ValueError(f"{source}: {name} must be numbers, got {values!r}")
        try:
            array = raw.astype(np.float64)
        except OverflowError:  # Python ints beyond float64, e.g. 10**400
            big = next(v for v in raw.flat if abs(v) > sys.float_info.max)
            raise ValueError(f"{source}: {name} must be finite; got {beyond_float(big)}") from None
        if array.ndim != 1:
            raise ValueError(f"{source}: {name} must be 1-D, got shape {array.shape}")
        arrays[name] = array
    sizes = {name: a.size for name, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"{source}: N, D and loss must have the same length, got {sizes}")
    for name, array in arrays.items():
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{source}, {where(i)}: {name} = {array[i]} is not a finite number; "
                f"every {name} must be a finite number"
            )
        bad = np.flatnonzero(array <= 0)
        if bad.size:
            i = int(bad[0])
            what = {"N": "a parameter count", "D": "a token count", "loss": "log loss is fitted"}
            raise ValueError(
                f"{source}, {where(i)}: {name} = {array[i]:.6g} must be > 0 ({what[name]})"
            )
    if sizes["N"] == 0:
        raise ValueError(f"{source}: no runs")
    with np.errstate(over="ignore"):
        compute = k * arrays["N"] * arrays["D"]
    bad = np.flatnonzero(~np.isfinite(compute))
    if bad.size:  # the allocation reads the runs' compute
        i = int(bad[0])
        raise ValueError(
            f"{source}, {where(i)}: its compute {k:g} N D (N = {arrays['N'][i]:.6g}, D = "
            f"{arrays['D'][i]:.6g}) is beyond float64; are N and D counts of parameters and "
            "tokens?"
        )
    for name in ("N", "D"):
        _check_distinct(name, arrays[name], source, min_distinct)
    # the design checks (one D/N, one budget) run in Runs.__post_init__, before any warning
    runs = Runs(*(_read_only(arrays[n]) for n in ("N", "D", "loss")), source, k)
    ratio = np.log(arrays["D"] / arrays["N"])
    _warn_on_units(arrays["N"], arrays["D"], ratio, source)
    _warn_on_repeats(arrays["N"], arrays["D"], arrays["loss"], source, where)
    rho = _loss_rises_with_compute(arrays["N"] * arrays["D"], arrays["loss"])
    if rho is not None and rho > _RISING:
        warnings.warn(
            f"{source}: the loss rises with compute across the runs (rank correlation "
            f"{rho:.2f}), while a joint law falls with both N and D: is the loss column a loss "
            "(not an accuracy), and are N and D the runs' own?",
            UserWarning,
            stacklevel=3,
        )
    if np.ptp(ratio) < math.log(_FEW_RATIOS):
        low, high = np.exp(ratio.min()), np.exp(ratio.max())
        warnings.warn(
            f"{source}: the runs' D/N spans only {low:.3g} to {high:.3g} ({high / low:.2g}x), "
            "so a joint law tells what parameters buy from what tokens buy only weakly: "
            "expect wide intervals on N*, D* and D*/N* and chains that mix slowly (more "
            "samples will not fix that); add runs at other tokens-per-parameter ratios",
            UserWarning,
            stacklevel=3,
        )
    return runs


def _check_design(log_ratio: np.ndarray, log_nd: np.ndarray, source: str, k: float) -> None:
    """Refuse designs a joint law cannot be fitted to: one tokens-per-parameter ratio, or
    one compute budget (each within 10%)."""
    if log_ratio.size > 1 and np.ptp(log_ratio) < math.log(1.1):
        raise ValueError(
            f"{source}: every run has D/N = {math.exp(np.median(log_ratio)):.3g} (within 10%), "
            "so a joint law cannot tell what parameters buy from what tokens buy; add runs at "
            "other tokens-per-parameter ratios (e.g. an isoFLOP sweep: several N at one "
            "budget)"
        )
    if log_nd.size > 1 and np.ptp(log_nd) < math.log(1.1):
        raise ValueError(
            f"{source}: every run has compute {k:g}ND = {k * math.exp(np.median(log_nd)):.3g} "
            "FLOPs (within 10%): along one budget the law's N and D terms are told apart "
            "only through one curve, so the fit is ill-posed (a review's sweep: R-hat 1.75) "
            "and the optimum at another budget rests on the prior; add runs at other budgets "
            "(isoFLOP sweeps at two or more budgets)"
        )


def _warn_on_repeats(n, d, loss, source: str, where) -> None:
    """Warn where rows repeat a run exactly (N, D and loss): each counts as a run of its own,
    so copied rows narrow the intervals falsely (a review: a file with every row twice was
    fitted to "20 runs"). Seeds, one (N, D) with losses of their own, are runs."""
    _, inverse, counts = np.unique(
        np.stack([n, d, loss], axis=1), axis=0, return_inverse=True, return_counts=True
    )
    repeated = np.flatnonzero(counts > 1)
    if repeated.size:
        rows = np.flatnonzero(inverse.ravel() == int(repeated[0]))
        first = ", ".join(where(int(i)) for i in rows[:3])
        warnings.warn(
            f"{source}: {int(counts[repeated].sum() - repeated.size)} of {n.size} runs copy "
            f"another row exactly (N, D and loss; first: {first}); "
            "each counts as a run, so remove the copies or the intervals are too narrow",
            UserWarning,
            stacklevel=4,
        )


_PLAUSIBLE_RATIO = (1e-2, 1e5)
"""Median tokens per parameter outside this range look like other units (Chinchilla's
optimum is about 20, heavily over-trained LLMs reach a few thousand; toy networks are not
excluded by their size)."""


def _warn_on_units(n: np.ndarray, d: np.ndarray, log_ratio: np.ndarray, source: str) -> None:
    """Warn where D/N looks like other units (N in millions beside D in tokens, or the
    reverse): a median D/N outside ``_PLAUSIBLE_RATIO`` tokens per parameter. Both columns in
    other units alike (millions and billions) move D/N by 1e-3 only and pass that test, so
    also warn where a run has fewer than one parameter or token: not a count."""
    if n.min() < 1 or d.min() < 1:
        counts = [f"N = {n.min():.3g} parameters"] if n.min() < 1 else []
        counts += [f"D = {d.min():.3g} tokens"] if d.min() < 1 else []
        warnings.warn(
            f"{source}: a run has {' and '.join(counts)}, fewer than one: are N and D in "
            "millions or billions? Give plain counts; a law "
            "fitted in other units answers in them, 6ND is then not the compute in FLOPs, and "
            "an allocation keeps at least one parameter and one token",
            UserWarning,
            stacklevel=4,
        )
        return
    ratio = math.exp(float(np.median(log_ratio)))
    low, high = _PLAUSIBLE_RATIO
    if not low <= ratio <= high:
        warnings.warn(
            f"{source}: N goes up to {n.max():.3g} and the median D/N is {ratio:.3g} tokens "
            "per parameter; are N and D plain counts (parameters and tokens, not millions or "
            "billions of them; or does D count samples, not tokens)? A law fitted in other "
            "units answers in those units, and 6ND is then not the compute in FLOPs",
            UserWarning,
            stacklevel=4,
        )


_RISING = 0.3
"""Runs whose loss rises with compute (Spearman rank correlation above this, over runs whose
compute spans at least ``_RISING_SPAN``) get a warning."""
_RISING_SPAN = 3.0


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1, equal values sharing their average rank."""
    _, inverse = np.unique(values, return_inverse=True)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size)
    ranks[order] = np.arange(values.size)
    return (np.bincount(inverse, weights=ranks) / np.bincount(inverse))[inverse]


def _loss_rises_with_compute(compute: np.ndarray, loss: np.ndarray) -> float | None:
    """Spearman's rank correlation of loss with compute (compute within 1% counted as one
    budget, an isoFLOP sweep's), or None where the runs span less than ``_RISING_SPAN`` in
    compute or hold one loss: nothing to tell."""
    log_c = np.log(compute)
    if log_c.size < 3 or np.ptp(log_c) < math.log(_RISING_SPAN) or np.ptp(loss) == 0:
        return None
    rc = _average_ranks(np.round(log_c / math.log(1.01)))
    rl = _average_ranks(loss)
    return float(np.corrcoef(rc, rl)[0, 1])


_FEW_RATIOS = 2.0
"""Runs whose tokens-per-parameter ratios span less than this factor get a warning: the
joint law's N and D terms hardly move apart (a review: six Chinchilla runs at D/N 17-24 gave
D*/N* [4.7e-7, 6.8e13] and R-hat 1.6 whatever the chain length)."""


def _parse_cell(text: str, column: str, line: int, source: str) -> float:
    try:
        value = plain_float(text)
    except ValueError:
        shown = shown_cell(text) if text.strip() else "an empty cell"
        raise ValueError(
            f"{source}, line {line}, column {column!r}: {shown} is not a number; write a plain "
            "number such as 7e10"
        ) from None
    if not math.isfinite(value):
        raise ValueError(
            f"{source}, line {line}, column {column!r}: {text.strip()!r} is not a finite number; "
            "remove the run or give its value"
        )
    return value


_ROLES = ("n", "d", "c", "loss")
# The usual names of each role, read when no column has the role's own name (N, D, C, loss)
# and exactly one column has one of these (compared in lower case, spaces and hyphens as _).
_USUAL_NAMES: dict[str, tuple[str, ...]] = {
    "n": ("params", "parameters", "n_params", "num_params", "model_size"),
    "d": ("tokens", "n_tokens", "num_tokens", "training_tokens", "data_size", "dataset_size"),
    "c": ("compute", "flops", "training_flops", "training_flop"),
    "loss": ("val_loss", "validation_loss", "eval_loss", "test_loss", "train_loss"),
}


def _renamed_columns(columns: Mapping[str, str] | None) -> dict[str, str]:
    """``columns`` ({"N": "params", ...}) as the file's lower-case name -> our key."""
    if not columns:
        return {}
    out: dict[str, str] = {}
    for role, name in columns.items():
        key = str(role).strip().lower()
        if key not in _ROLES:
            raise ValueError(f"columns: unknown key {role!r}; use N, D, C or loss")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"columns[{role!r}] must be a column name, got {name!r}")
        first = out.get(name.strip().lower())
        if first is not None and first != key:  # (a review: "missing column N" said before)
            roles = [r for r in columns if str(r).strip().lower() in (first, key)]
            raise ValueError(
                f"columns: {name!r} is named for two roles, {roles[0]} and {roles[1]}; each "
                "needs a column of its own"
            )
        out[name.strip().lower()] = key
    return out


def read_runs_csv(
    path: str | os.PathLike[str],
    *,
    flops_per_param_token: float = 6.0,
    min_distinct: int = MIN_DISTINCT,
    columns: Mapping[str, str] | None = None,
    drop_highest: int = 0,
) -> Runs:
    """Read runs from a CSV file with columns ``N``, ``D`` and ``loss`` (in any case).

    Where no column has a role's own name, one column with a usual name of it is read:
    ``params``, ``parameters``, ``n_params``, ``num_params`` or ``model_size`` as ``N``;
    ``tokens``, ``n_tokens``, ``num_tokens``, ``training_tokens``, ``data_size`` or
    ``dataset_size`` as ``D``; ``compute``, ``flops``, ``training_flops`` or
    ``training_flop`` as ``C``;
    ``val_loss``, ``validation_loss``, ``eval_loss``, ``test_loss`` or ``train_loss`` as
    ``loss`` (two such columns for one role are an error that asks which).

    A column ``C`` (training FLOPs) may replace ``D``: then ``D = C / (k N)``. If both are
    present, ``D`` is read and ``C`` only checked: a warning names the runs where ``C`` is not
    ``k N D`` within a factor of 2. Other columns are ignored; blank lines are skipped.

    Args:
        path: the CSV file.
        flops_per_param_token: ``k`` in ``C = k N D`` (used only with a ``C`` column).
        min_distinct: the fewest distinct ``N`` and ``D`` values accepted.
        columns: the file's own names for some of the columns, e.g. ``{"N": "params",
            "D": "tokens", "loss": "val_loss"}`` (keys ``"N"``, ``"D"``, ``"C"``,
            ``"loss"``; names case-insensitive); the others keep their default names.
        drop_highest: how many of the highest-loss runs to leave out (as
            [`chinchilla_runs`][scalebayes.compute.chinchilla_runs] does); the check of a
            ``C`` column covers every run of the file, the rest the runs kept.

    Returns:
        The validated [`Runs`][scalebayes.compute.Runs].

    Raises:
        ValueError: for a missing or duplicated column, a row with the wrong number of cells,
            a value that is not a finite number, a non-positive ``N``, ``D``, ``C`` or loss,
            or fewer than ``min_distinct`` distinct ``N`` or ``D`` (among the runs kept); the
            message names the file, the line and the column; or ``drop_highest`` outside
            ``[0, runs - 1]``.
        OSError: if the file cannot be read.
    """
    k = float(flops_per_param_token)
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"flops_per_param_token must be finite and > 0, got {k!r}")
    path = Path(path)
    source = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{source}: not a UTF-8 text file ({error.reason} at byte {error.start}); "
            "save it as CSV text"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        raise ValueError(f"{source}: the file is empty; expected a header with {_CSV_COLUMNS}")
    header_line = reader.line_num
    renamed = _renamed_columns(columns)  # the file's name (lower case) -> our key
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = cell.strip().lower()
        # a renamed role's default name (a column literally called "N" beside --n-column
        # params) is an ordinary column then
        key = renamed.get(key, "" if key in set(renamed.values()) else key)
        if key in columns and key in _ROLES:
            raise ValueError(f"{source}, line {header_line}: column {cell.strip()!r} appears twice")
        columns.setdefault(key, index)
    for role, usual in _USUAL_NAMES.items():
        if role in columns or role in renamed.values():
            continue
        claimed = {columns[key] for key in _ROLES if key in columns}
        hits = [
            i for i, cell in enumerate(header) if header_key(cell) in usual and i not in claimed
        ]
        if len(hits) > 1:
            label = {"n": "N", "d": "D", "c": "C"}.get(role, role)
            found = ", ".join(repr(header[i].strip()) for i in hits)
            raise ValueError(
                f"{source}: no column named {label}, and columns {found} could each be it: name "
                f"the one to read (--{role}-column NAME; in Python "
                f"read_runs_csv(columns={{{label!r}: NAME}}))"
            )
        if hits:
            columns[role] = hits[0]
    for name, role in renamed.items():
        if role not in columns:
            found = ", ".join(repr(c.strip()) for c in header)
            label = {"n": "N", "d": "D", "c": "C"}.get(role, role)
            raise ValueError(
                f"{source}: no column {name!r} (given as the {label} column); the header has "
                f"{found}"
            )
    missing = [
        label
        for label, present in (
            ("N", "n" in columns),
            ("D (or C)", "d" in columns or "c" in columns),
            ("loss", "loss" in columns),
        )
        if not present
    ]
    if missing:
        found = ", ".join(repr(c.strip()) for c in header)
        hint = ""
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            hint = "; the header looks like it uses another separator: save the file with commas"
        raise ValueError(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"the header has {found} but {_CSV_COLUMNS} are needed (names are case-insensitive; "
            "or name yours (`read_runs_csv(columns=...)`; command line: --n-column, --d-column, "
            f"--c-column, --loss-column)){hint}"
        )
    use_c = "d" not in columns
    names = {"n": header[columns["n"]].strip(), "loss": header[columns["loss"]].strip()}
    names["x"] = header[columns["c" if use_c else "d"]].strip()
    wanted = {"n": columns["n"], "x": columns["c" if use_c else "d"], "loss": columns["loss"]}
    if not use_c and "c" in columns:  # both D and C: D is read, C checked against 6 N D
        wanted["c"] = columns["c"]
        names["c"] = header[columns["c"]].strip()
    values: dict[str, list[float]] = {key: [] for key in wanted}
    lines: list[int] = []
    last = header_line
    try:
        for cells in reader:
            line, last = last + 1, reader.line_num  # where the row starts (a cell may span)
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                spans = any("\n" in cell or "\r" in cell for cell in cells)
                raise ValueError(
                    f"{source}, line {line}: {len(cells)} cells but the header has "
                    f"{len(header)} columns; fix the row ("
                    + (f"{UNCLOSED_QUOTE}?" if spans else "a missing or extra comma?")
                    + ")"
                )
            for key, index in wanted.items():
                values[key].append(_parse_cell(cells[index], names[key], line, source))
            lines.append(line)
    except csv.Error as error:  # e.g. a quote left open swallowing the rest of the file
        raise ValueError(not_valid_csv(f"{source}, line {reader.line_num}", error)) from None
    if not lines:
        raise ValueError(f"{source}: the file has a header but no runs")
    N = np.array(values["n"])
    x = np.array(values["x"])

    def where(i: int) -> str:
        return f"line {lines[i]}"

    if use_c:
        bad = np.flatnonzero(x <= 0)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{source}, {where(i)}: {names['x']} = {x[i]:.6g} must be > 0 (training FLOPs)"
            )
        bad = np.flatnonzero(N <= 0)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{source}, {where(i)}: {names['n']} = {N[i]:.6g} must be > 0 (a parameter count)"
            )
        with np.errstate(over="ignore", under="ignore"):
            x = x / (k * N)
        bad = np.flatnonzero(~np.isfinite(x) | (x <= 0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{source}, {where(i)}: D = {names['x']} / ({k:g} {names['n']}) = {x[i]:.6g} "
                "is not a usable token count; check the row's units"
            )
    if "c" in values:  # about the file's columns: every run
        _warn_on_compute_column(np.array(values["c"]), k, N * x, names, source, where)
    loss = np.array(values["loss"])
    if isinstance(drop_highest, bool) or not is_integer(drop_highest):
        raise TypeError(f"drop_highest must be an int, got {type(drop_highest).__name__}")
    if not 0 <= drop_highest < len(lines):
        raise ValueError(
            f"drop_highest must be in [0, {len(lines) - 1}] for {len(lines)} runs, "
            f"got {drop_highest}"
        )
    if not drop_highest:
        return _validate(N, x, loss, source, min_distinct, where, k)
    keep = np.sort(np.argsort(loss, kind="stable")[: len(lines) - int(drop_highest)])
    lines = [lines[i] for i in keep]  # ``where`` names the kept runs' lines
    try:
        return _validate(N[keep], x[keep], loss[keep], source, min_distinct, where, k)
    except ValueError as error:
        raise ValueError(
            f"after dropping the {drop_highest} highest-loss runs: {error} (or drop fewer runs)"
        ) from None


def _warn_on_compute_column(c, k: float, nd, names, source: str, where) -> None:
    """A file with both D and C: D is read; warn where C is not k N D within a factor of 2
    (attention and embeddings add tens of percent, not 2x: C counts something else, or D
    does)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = c / (k * nd)
    off = np.flatnonzero(~((ratio >= 0.5) & (ratio <= 2.0)))
    if off.size:
        i = int(off[np.argmax(np.abs(np.log(np.abs(ratio[off]) + 1e-300)))])
        warnings.warn(
            f"{source}: {names['c']} is not {k:g} {names['n']} {names['x']} on {off.size} of "
            f"{c.size} runs (up to {ratio[i]:.3g}x, {where(i)}); "
            + (f"D ({names['x']})" if names["x"] != "D" else "D")
            + " is read and C only checked, so check which column has other units",
            UserWarning,
            stacklevel=3,
        )


def chinchilla_runs(*, drop_highest: int = 5) -> Runs:
    """The 245 Chinchilla runs digitised by Besiroglu et al. (2024) from Hoffmann's Figure 4.

    Read from the bundled, checksum-verified ``svg_extracted_data.csv`` (columns
    ``Model Size``, ``Training FLOP``, ``loss``), with ``D = C / (6 N)``. Besiroglu et al.
    dropped the 5 highest-loss runs, leaving 240.

    Args:
        drop_highest: how many of the highest-loss runs to drop (0 keeps all 245).

    Returns:
        The runs, in file order.
    """
    from ..data import bundled_table

    rows = bundled_table("svg_extracted_data.csv")
    if not is_integer(drop_highest):
        raise TypeError(f"drop_highest must be an int, got {type(drop_highest).__name__}")
    drop_highest = int(drop_highest)
    if not 0 <= drop_highest < len(rows):
        raise ValueError(f"drop_highest must be in [0, {len(rows) - 1}], got {drop_highest}")
    N = np.array([float(r["Model Size"]) for r in rows])
    C = np.array([float(r["Training FLOP"]) for r in rows])
    loss = np.array([float(r["loss"]) for r in rows])
    keep = np.sort(np.argsort(loss, kind="stable")[: len(rows) - drop_highest])
    source = f"Chinchilla (Besiroglu et al. 2024), {keep.size} of {len(rows)} runs"
    return validate_runs(N[keep], C[keep] / (6.0 * N[keep]), loss[keep], source=source)
