"""Read learning curves from a user's CSV file, with errors that say which line to fix."""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np

from .._checks import is_integer, not_valid_csv, plain_float, shown_cell
from .._text import header_key
from .._warnings import (
    warn_at_caller,
    warn_if_early_rise,
    warn_if_late_rise,
    warn_if_log_x,
    warn_if_rising,
)
from ._curve import _SMALLEST, Curve, CurveDataError
from ._merge import merge_duplicate_x

# Normalised header (stripped, lower case, spaces and hyphens as "_") -> column role.
_ALIASES: dict[str, tuple[str, ...]] = {
    "x": ("x",),
    "y": ("y", "loss"),
    "curve": ("curve", "curve_id", "curve_name", "series"),
    "split": ("split", "default_split"),
    "dataset": ("dataset",),
    "subset": ("subset",),
}
# Read as x or y only when no column has one of the names above: the scale axes and losses
# people log their runs under. Two of them in one file (params and tokens) are not guessed at.
_OTHER_NAMES: dict[str, tuple[str, ...]] = {
    "x": (
        "compute", "flops", "params", "parameters", "n_params", "num_params", "tokens",
        "n_tokens", "num_tokens", "data_size", "dataset_size",
    ),
    "y": (
        "val_loss", "validation_loss", "test_loss", "eval_loss", "error", "test_error",
        "val_error", "perplexity",
    ),
}  # fmt: skip
# Losses on held-out data, which a column named plain "loss" (often the training loss) may
# stand beside: reading "loss" then is said.
_HELD_OUT_LOSSES = ("val_loss", "validation_loss", "test_loss", "eval_loss")
# Columns that tell apart curves sharing an id (the NSL-PFN release's long format has both).
_GROUPS = ("dataset", "subset")
_MAX_NAMES = 50
"""An unread text column with more distinct values than this holds notes, not curve names."""
_SPLIT_LABELS = {"context": True, "train": True, "fit": True, "target": False, "test": False}
_EXPECTED = "x, y, and optionally curve (or curve_id) and split (context/target)"


@dataclass
class _Rows:
    """Raw rows of one curve, in file order."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    ctx: list[bool] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def _map_header(
    header: list[str], where: str, chosen: dict[str, str], warn: bool = True
) -> dict[str, int]:
    """Column index of each role; ``chosen`` names the column of a role (``x``, ``y``) outright,
    in place of its aliases. With ``warn``, a ``UserWarning`` where y is read from a column
    named loss beside one named val_loss (or another held-out loss): often a training loss
    beside the one the user means (a review: `params,loss,val_loss` read `loss` silently)."""
    cells = [h for h in header if h.strip()]  # a trailing comma leaves a blank cell
    if cells and all(_is_plain_number(h) for h in cells):
        raise CurveDataError(
            f"{where}: the first line holds numbers ({', '.join(h.strip() for h in cells)}), "
            "not column names: the file needs a header line, e.g. x,y (else its first run "
            "would be read as the names)"
        )
    names = [header_key(h) for h in header]
    cols: dict[str, int] = {}
    for role, column in chosen.items():
        hits = [i for i, name in enumerate(names) if name == header_key(column)]
        if not hits:
            raise CurveDataError(
                f"{where}: no column {column!r} for {role}; the columns are {header}, "
                "name one of them"
            )
        if len(hits) > 1:
            raise CurveDataError(f"{where}: {len(hits)} columns are named {column!r}; keep one")
        cols[role] = hits[0]

    def named(aliases) -> list[int]:  # the columns of these names that no role has yet
        return [i for i, name in enumerate(names) if name in aliases and i not in cols.values()]

    for role, aliases in _ALIASES.items():
        if role in cols:
            continue
        hits = named(aliases)
        if len(hits) > 1:
            found = ", ".join(repr(header[i]) for i in hits)
            which = f", or name the one to read ({_naming([role])})" if role in ("x", "y") else ""
            raise CurveDataError(f"{where}: columns {found} all mean {role!r}; keep one{which}")
        others = _OTHER_NAMES.get(role, ())
        if not hits and others:  # the usual names of the scale axes and losses, one of them
            hits = named(others)
            if len(hits) > 1:
                found = ", ".join(repr(header[i]) for i in hits)
                raise CurveDataError(
                    f"{where}: no column named {role}, and columns {found} could each be "
                    f"{role}: name the one to read ({_naming([role])})"
                )
        if hits:
            cols[role] = hits[0]
    held_out = named(_HELD_OUT_LOSSES)
    if warn and "y" not in chosen and "y" in cols and names[cols["y"]] == "loss" and held_out:
        warn_at_caller(
            f"{where}: y is read from column {header[cols['y']].strip()!r}; column "
            f"{header[held_out[0]].strip()!r} is there too: to read it instead, "
            f"--y-column {header[held_out[0]].strip()} (Python: y_column=...)",
            UserWarning,
        )
    missing = [role for role in ("x", "y") if role not in cols]
    if missing:
        hint = ""
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            hint = " The header looks like it uses another separator; save the file with commas."
        elif header and header[0].lstrip().startswith("#"):
            hint = (
                " The first line looks like a comment: remove it (the header must be the "
                "first non-blank line)."
            )
        raise CurveDataError(
            f"{where}: no column for {' and '.join(missing)}. Found columns {header}; "
            f"expected {_EXPECTED} (case and surrounding spaces are ignored; x may also be "
            "one column named compute, flops, params or tokens, y one named val_loss, "
            f"test_loss, error or perplexity), or name the columns to use "
            f"({_naming(missing)}).{hint}"
        )
    return cols


def _is_plain_number(cell: str) -> bool:
    """Whether a header cell is a number written plainly (a first line of data, not names)."""
    try:
        plain_float(cell)
    except ValueError:
        return False
    return True


def _naming(roles: list[str]) -> str:
    """How to name the columns of ``roles``, on the command line and in Python."""
    flags = " ".join(f"--{role}-column NAME" for role in roles)
    kwargs = ", ".join(f"{role}_column=NAME" for role in roles)
    return f"command line: {flags}; Python: {kwargs}"


def _number(cell: str, what: str, where: str) -> float:
    text = cell.strip()
    if not text:
        raise CurveDataError(f"{where}: {what} is empty; fill in a number or delete the row")
    try:
        value = plain_float(text)
    except ValueError:
        hint = ""
        head, _, tail = text.lstrip("+-").partition(",")
        point = text.replace(",", ".")
        joined = text.replace(",", "")
        if head.isdigit() and tail.isdigit() and "," not in tail:
            if len(tail) != 3 or head == "0" or len(head) > 3:
                # not a thousands separator (not 3 digits after it, or none before it
                # that one would separate): a decimal comma
                hint = f"; write the decimal point as a point ({point!r})"
            else:  # 2,715: either reading is a number; a wrong guess would be 1000x off
                hint = (
                    f"; if ',' is a decimal comma write {point!r}, if it separates "
                    f"thousands write {joined!r}"
                )
        elif re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
            hint = f"; remove the thousands separators (write {joined!r})"
        elif re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})*,\d+", text):  # 1.234,5: points group
            european = text.replace(".", "").replace(",", ".")
            hint = f"; write it with a decimal point and no separators ({european!r})"
        raise CurveDataError(
            f"{where}: {what} value {shown_cell(text)} is not a number{hint}"
        ) from None
    if not np.isfinite(value):
        raise CurveDataError(
            f"{where}: {what} is {text!r}; only finite numbers are allowed, so remove the row "
            "or fill in a measured value"
        )
    if value <= 0:
        reason = (
            "x is a scale (model size, data or compute) and enters log space"
            if what == "x"
            else "y is a loss and log-space metrics (RMSLE, log-likelihood) need y > 0"
        )
        raise CurveDataError(f"{where}: {what} = {text} must be > 0 ({reason})")
    if value < _SMALLEST:  # as Curve refuses it, but naming the file and line
        raise CurveDataError(
            f"{where}: {what} = {text} is below {_SMALLEST:g}, where ratios of values "
            "overflow; rescale the column (e.g. to other units)"
        )
    return value


def _split(cell: str, where: str) -> bool:
    label = cell.strip().lower()
    if not label:
        raise CurveDataError(
            f"{where}: the split cell is empty; a split column labels every row 'context' or "
            "'target' (put curves without a split in a file without the column; `scalebayes "
            "study` then holds out their last 30% of points by x)"
        )
    if label not in _SPLIT_LABELS:
        raise CurveDataError(
            f"{where}: unknown split label {cell.strip()!r}; use 'context' (fitting point) or "
            "'target' (held-out point); 'train'/'fit' and 'test' are accepted as synonyms"
        )
    return _SPLIT_LABELS[label]


def _lines(lines: np.ndarray) -> str:
    shown = [str(n) for n in lines.tolist()]
    if len(shown) > 6:
        shown = [*shown[:5], "...", shown[-1]]
    return f"{'line' if lines.size == 1 else 'lines'} {', '.join(shown)}"


def _parse(
    path: Path, text: str, chosen: dict[str, str], warn: bool = True
) -> tuple[dict[str, _Rows], bool, dict[str, str], dict[str, dict[str, list[float]] | None]]:
    """The file's curves by name, whether it has a split column, the headers of x and y, and
    the unread columns that hold differing text (names a user may mean as curves), each with
    its texts and the x of their rows (None: too many texts to be names)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = ((row, reader.line_num) for row in reader if any(cell.strip() for cell in row))
    try:
        header, header_line = next(rows, (None, 0))
        if header is None:
            raise CurveDataError(
                f"{path}: the file is empty; expected a header line with {_EXPECTED}"
            )
        cols = _map_header(header, f"{path}: line {header_line} (header)", chosen, warn)
        # text in each unread column and the x of its rows (None: too many texts to be names),
        # where no curve column has said which names the curves
        unread = (
            [] if "curve" in cols else [i for i in range(len(header)) if i not in cols.values()]
        )
        texts: dict[int, dict[str, list[float]] | None] = {i: {} for i in unread}
        keyed: dict[tuple[tuple[str, ...], str], _Rows] = {}
        previous = None  # the key of the row above
        blocks: dict[tuple, list[list[tuple[float, int]]]] = {}  # runs of rows, per curve
        for data_row, (row, line) in enumerate(rows, start=1):
            where = f"{path}: line {line} (data row {data_row})"
            if len(row) < len(header) or any(cell.strip() for cell in row[len(header) :]):
                raise CurveDataError(
                    f"{where}: has {len(row)} fields but the header has {len(header)}; "
                    "check for missing or extra commas"
                )
            curve_id = path.stem
            if "curve" in cols:
                curve_id = row[cols["curve"]].strip()
                if not curve_id:
                    raise CurveDataError(f"{where}: the curve id is empty; name the curve")
            group = tuple(row[cols[g]].strip() for g in _GROUPS if g in cols)
            key = (group, curve_id)
            rec = keyed.setdefault(key, _Rows())
            x_value = _number(row[cols["x"]], "x", where)
            if key != previous:
                blocks.setdefault(key, []).append([])
            blocks[key][-1].append((x_value, line))
            previous = key
            rec.x.append(x_value)
            rec.y.append(_number(row[cols["y"]], "y", where))
            if "split" in cols:
                rec.ctx.append(_split(row[cols["split"]], where))
            rec.lines.append(line)
            for i in unread:
                seen = texts[i]
                if seen is not None and not _is_number(row[i]):
                    seen.setdefault(row[i].strip(), []).append(x_value)
                    if len(seen) > _MAX_NAMES:
                        texts[i] = None
    except csv.Error as e:
        raise CurveDataError(not_valid_csv(f"{path}: line {reader.line_num}", e)) from e
    if not keyed:
        raise CurveDataError(f"{path}: the file has a header but no data rows")
    for (_, curve_id), runs in blocks.items():
        restart = _restart(runs)
        if restart is None:
            continue
        line, before = restart
        warn_at_caller(
            f"{path}: curve {curve_id!r} starts over at line {line}, after other curves' rows "
            f"(its rows up to line {before} reached a larger x): both blocks are read as one "
            "curve; if they are two runs (two files pasted together?), give them different "
            "names",
            UserWarning,
        )
    headers = {f"{role}_column": header[cols[role]].strip() for role in ("x", "y")}
    text_columns = {
        header[i].strip(): texts[i] for i in unread if texts[i] is None or len(texts[i]) > 1
    }
    return _name_curves(path, keyed), "split" in cols, headers, text_columns


def _grouping_column(
    curves: dict[str, _Rows], columns: dict[str, dict[str, list[float]] | None]
) -> str | None:
    """The one unread column of names (2 to `_MAX_NAMES` texts) that tells apart the repeated
    x of a file without a curve column: within each of its names every x is distinct, while
    the file read as one curve repeats some x (a review: `model,params,loss` exported from a
    sweep of four models failed on its repeated x, with no way to name the column). None
    where the file has a curve column, no repeated x, or not exactly one such column."""
    if len(curves) != 1:
        return None
    (rec,) = curves.values()
    if np.unique(rec.x).size == len(rec.x):
        return None
    found = [
        name
        for name, seen in columns.items()
        if seen is not None
        and sum(map(len, seen.values())) == len(rec.x)  # a name on every row
        and all(len(set(xs)) == len(xs) for xs in seen.values())
    ]
    return found[0] if len(found) == 1 else None


def _warn_if_names_unread(path: Path, columns: dict[str, dict[str, list[float]] | None]) -> None:
    """Warn where an unread column sorts the rows into groups (2 to `_MAX_NAMES` texts, each
    on at least 2 rows) whose x ranges overlap, which a file without a curve column reads as
    one curve (a new user's audit: runs of models A and B under a column 'model' were fitted
    as one curve). Groups that follow each other in x (a column 'phase' or 'gpu' that changed
    as the runs grew) are one curve's parts: not named."""
    for name, seen in columns.items():
        if seen is None or min(len(xs) for xs in seen.values()) < 2:
            continue
        spans = sorted((min(xs), max(xs)) for xs in seen.values())
        if all(low >= high for (_, high), (low, _) in pairwise(spans)):
            continue
        shown = ", ".join(f"{text!r} ({len(xs)} rows)" for text, xs in list(seen.items())[:3])
        more = f" and {len(seen) - 3} more" if len(seen) > 3 else ""
        warn_at_caller(
            f"{path}: column {name!r} sorts the rows into {len(seen)} groups ({shown}{more}) "
            "that are read as one curve; if they are different runs, name the column curve "
            "(or curve_id) so that they are read apart",
            UserWarning,
        )
        return


def _restart(blocks: list[list[tuple[float, int]]]) -> tuple[int, int] | None:
    """``(line, line before)`` where one curve's rows start over: a block of its rows (at
    least 2, x increasing) after another such block that reached a larger x, as when two
    files of a curve of the same name are pasted together; None for rows merely unsorted."""
    ordered = [b for b in blocks if len(b) >= 2 and all(p[0] < q[0] for p, q in pairwise(b))]
    for first, second in pairwise(ordered):
        if second[0][0] < first[-1][0]:
            return second[0][1], first[-1][1]
    return None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return not cell.strip()  # a blank cell is no text either
    return True


def _name_curves(path: Path, keyed: dict[tuple[tuple[str, ...], str], _Rows]) -> dict[str, _Rows]:
    """Curves by name: the curve id, or ``dataset|subset|id`` (empty parts left out) for an
    id that the file uses under more than one dataset / subset, so that two families' "410m"
    stay two curves."""
    groups_of: dict[str, set[tuple[str, ...]]] = {}
    for group, curve_id in keyed:
        groups_of.setdefault(curve_id, set()).add(group)
    curves: dict[str, _Rows] = {}
    for (group, curve_id), rec in keyed.items():
        name = curve_id
        if len(groups_of[curve_id]) > 1:
            name = "|".join([*(part for part in group if part), curve_id])
        if name in curves:  # e.g. id "a|b" beside dataset "a", id "b"
            raise CurveDataError(
                f"{path}: curve name {name!r} is used twice (once as an id, once made from the "
                "dataset / subset columns and an id); give every curve a unique id"
            )
        curves[name] = rec
    return curves


def _to_curve(
    path: Path,
    curve_id: str,
    rec: _Rows,
    has_split: bool,
    dedupe: str,
    min_points: int,
    headers: dict[str, str],
    text_columns: tuple[str, ...] = (),
) -> Curve:
    label = f"{path}: curve {curve_id!r}"
    lines = np.asarray(rec.lines)
    m = merge_duplicate_x(np.asarray(rec.x), np.asarray(rec.y), rec.ctx if has_split else None)
    dup = np.flatnonzero(m.counts > 1)
    if dup.size and dedupe == "error":
        k = dup[0]
        named = ""
        if text_columns:  # a column of names under a header that is not read as curve names
            shown = ", ".join(map(repr, text_columns[:3]))
            named = (
                f"; if column {shown} names the curves, call it curve (or curve_id, or name "
                f"it: --curve-column {text_columns[0]}) so that they are read apart"
            )
        raise CurveDataError(
            f"{label}: x = {m.x[k]:.10g} appears on {_lines(lines[m.inverse == k])} "
            f"({dup.size} repeated x in all){named}; remove the repeats, or average their y "
            "with dedupe='mean' (command line: --dedupe mean)"
        )
    if m.split_differs.any():
        k = np.flatnonzero(m.split_differs)[0]
        raise CurveDataError(
            f"{label}: x = {m.x[k]:.10g} on {_lines(lines[m.inverse == k])} is labelled "
            "both context and target; give repeated x the same split label"
        )
    if m.x.size < min_points:
        raise CurveDataError(
            f"{label}: has {m.x.size} distinct x ({_lines(lines)}) but at least "
            f"{min_points} are needed; add points or drop the curve"
        )
    if m.is_context is not None and not m.is_context.any():
        raise CurveDataError(
            f"{label}: every row ({_lines(lines)}) is a target; label at least one "
            "row 'context' to fit on"
        )
    # every point: a command may drop the split
    if not warn_if_rising(m.x, m.y, label, stacklevel=3):
        warn_if_early_rise(m.x, m.y, label, stacklevel=3)
        warn_if_late_rise(m.x, m.y, label, stacklevel=3)
    warn_if_log_x(m.x, m.y, label, stacklevel=3)
    metadata = {
        "source": str(path),
        "lines": (int(lines.min()), int(lines.max())),
        "n_rows": int(lines.size),
        "n_merged_rows": int(lines.size - m.x.size),
        "averaged_x": tuple(m.x[m.y_differs].tolist()),
        **headers,
    }
    return Curve(m.x, m.y, curve_id, path.stem, m.is_context, metadata=metadata)


def read_curves_csv(
    path: str | os.PathLike[str],
    *,
    dedupe: Literal["error", "mean"] = "error",
    min_points: int = 3,
    curve: str | None = None,
    x_column: str | None = None,
    y_column: str | None = None,
    curve_column: str | None = None,
) -> list[Curve]:
    """Read one or more learning curves from a CSV file.

    Columns (header names are matched ignoring case and surrounding spaces): `x` (> 0;
    or the column named by `x_column`; without either, one column named `compute`, `flops`,
    `params`, `parameters`, `n_params`, `num_params`, `tokens`, `n_tokens`, `num_tokens`,
    `data_size` or `dataset_size`), `y` (> 0; alias `loss`, or the column named by
    `y_column`; without either, one column named `val_loss`, `validation_loss`,
    `test_loss`, `eval_loss`, `error`, `test_error`, `val_error` or `perplexity`), optional
    `curve` (aliases `curve_id`, `curve_name`, `series`, or the column named by
    `curve_column`; without one the whole file is one curve named after the file stem,
    unless x repeats and exactly one other column of names, e.g. `model` or `run`, tells the
    repeats apart: its names are then the curves, with a ``UserWarning`` saying so) and
    optional `split`
    with labels `context` / `target` (`train`, `fit` / `test` also accepted; without it
    curves have no split). Optional `dataset` and `subset` columns tell apart curves that
    share an id: an id used under several of them names its curves `dataset|subset|id`.
    Other columns are ignored (a file without a curve column whose other column sorts the
    rows into groups of text that overlap in x, e.g. `model` with A and B on several rows
    each, gets a ``UserWarning`` saying to name it `curve`) and blank lines skipped. Each curve is
    sorted by x. Errors name the file, the line number (1 = the header line) and, for a row,
    its data row number (1 = the first non-blank row after the header).

    Args:
        path: The CSV file (UTF-8, comma-separated).
        dedupe: What to do with rows of one curve that share an x: `"error"` rejects them,
            `"mean"` keeps one point with their mean y (their split labels must agree).
        min_points: Fewest distinct x a curve may have; at least 3.
        curve: Read only the curve of this name (the others are not checked beyond the
            file's format); ``None`` reads every curve.
        x_column: The header of the column that holds x (e.g. ``"compute"``, ``"params"``);
            ``None`` (default) takes the column named `x`.
        y_column: The header of the column that holds y (e.g. ``"val_loss"``); ``None``
            (default) takes the column named `y` or `loss`.
        curve_column: The header of the column that names the curves (e.g. ``"model"``);
            ``None`` (default) takes the column named `curve` (or an alias).

    Returns:
        The curves in order of first appearance, each with `dataset` = the file stem and
        `metadata` recording the source, line range, merged rows and the headers of the x
        and y columns (`x_column`, `y_column`: a plot's axis labels, `Curve.axis_labels`).
        A curve whose y rises at every run or rises with noise (all its rows, whatever
        their split) gets a [`RisingCurveWarning`][scalebayes.data.RisingCurveWarning]: y
        should fall with scale (a loss or an error, not an accuracy); one whose x look like
        log10 of the sizes (at least 3 runs within 2x of each other, all x <= 40, while y
        moves by more than 10%) a ``UserWarning``: x is the size itself.

    Raises:
        CurveDataError: The file's content cannot be turned into valid curves.
    """
    if dedupe not in ("error", "mean"):
        raise ValueError(f"dedupe must be 'error' or 'mean'; got {dedupe!r}")
    if not is_integer(min_points) or min_points < 3:
        raise ValueError(f"min_points must be an integer >= 3; got {min_points!r}")
    chosen = {}
    for role, column in (("x", x_column), ("y", y_column), ("curve", curve_column)):
        if column is not None:
            if not isinstance(column, str) or not header_key(column):
                raise ValueError(f"{role}_column must be a column's header; got {column!r}")
            chosen[role] = column
    if (
        x_column is not None
        and y_column is not None
        and header_key(x_column) == header_key(y_column)
    ):
        raise ValueError(f"x_column and y_column both name {x_column!r}; give two columns")
    if curve_column is not None and header_key(curve_column) in {
        header_key(c) for c in (x_column, y_column) if c is not None
    }:
        raise ValueError(
            f"curve_column {curve_column!r} is also x_column or y_column; give it its own column"
        )
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = e.object[: e.start].count(b"\n") + 1
        raise CurveDataError(
            f"{path}: line {line}: byte {e.object[e.start]:#04x} is not UTF-8 ({e.reason}); "
            "save the file as UTF-8 CSV"
        ) from None
    curves, has_split, headers, text_columns = _parse(path, text, chosen)
    grouping = _grouping_column(curves, text_columns)
    if grouping is not None:  # x repeats, and one column of names tells the repeats apart
        warn_at_caller(
            f"{path}: no column is named curve, and x repeats; column {grouping!r} tells the "
            f"repeats apart, so its {len(text_columns[grouping])} names are read as the curves "
            f"(name it curve, or --curve-column {grouping}, to say so)",
            UserWarning,
        )
        chosen = {**chosen, "curve": grouping}
        curves, has_split, headers, text_columns = _parse(path, text, chosen, warn=False)
    if curve is not None:
        if curve not in curves:
            names = list(curves)
            shown = ", ".join(map(repr, names[:20])) + (", ..." if len(names) > 20 else "")
            raise CurveDataError(f"{path}: no curve {curve!r}; the file has {shown}")
        curves = {curve: curves[curve]}
    short = [name for name, rec in curves.items() if np.unique(rec.x).size < min_points]
    if len(short) > 1:  # all of them at once (one curve gets _to_curve's detailed message)
        shown = ", ".join(map(repr, short[:5])) + (", ..." if len(short) > 5 else "")
        raise CurveDataError(
            f"{path}: {len(short)} curves have fewer than {min_points} distinct x ({shown}); "
            "add points or drop those curves"
        )
    out = [
        _to_curve(path, curve_id, rec, has_split, dedupe, min_points, headers, tuple(text_columns))
        for curve_id, rec in curves.items()
    ]
    _warn_if_names_unread(path, text_columns)
    return out
