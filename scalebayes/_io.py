"""Crash-safe file writes: atomic replacement and fsync'd CSV appends.

Everything the package writes for a user (study tables, summaries, plots) goes through these
helpers, so an interrupted run never leaves a half-written file behind:

- ``atomic_write_text`` / ``atomic_write_bytes`` write a temporary file in the target's
  directory, fsync it and ``os.replace`` it over the target (readers see the old file or the
  new one, never a mixture);
- ``append_csv_rows`` / ``append_csv_row`` append complete rows and fsync them, so a study can
  resume from the rows already on disk; ``read_csv_rows`` reads them back;
- ``exclusive_lock`` keeps two processes from appending to the same directory at once.
- ``write_figure`` renders a matplotlib figure in the format its extension names (``.png``,
  ``.pdf``, ``.svg``) and writes it atomically.

Only text and bytes are stored; nothing here pickles.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

__all__ = [
    "FIGURE_FORMATS",
    "LockedError",
    "append_csv_row",
    "append_csv_rows",
    "atomic_write_bytes",
    "atomic_write_text",
    "exclusive_lock",
    "figure_format",
    "fsync_dir",
    "read_csv_rows",
    "write_figure",
]

_TAIL_CHUNK = 65536


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry (the rename) to disk where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically.

    The bytes go to a new temporary file in the same directory (created with the process
    umask, like ``open``), which is fsync'd and then moved over ``path`` with ``os.replace``.
    On any error the temporary file is removed and ``path`` is left as it was.

    Args:
        path: Destination file; its directory must exist.
        data: The complete new content.

    Raises:
        TypeError: If ``data`` is not bytes-like.
        FileNotFoundError: If the destination directory does not exist.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    path = Path(path)
    directory = path.parent
    while True:
        tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as error:  # name the file being written, not the hidden temporary one
            raise OSError(error.errno, error.strerror, str(path)) from error
        break
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.errno is not None and error.filename is None:
            # e.g. a full disk: say which file could not be written
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise
    fsync_dir(directory)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (see `atomic_write_bytes`).

    Args:
        path: Destination file; its directory must exist.
        text: The complete new content, written as is (no newline translation).
        encoding: Text encoding.

    Raises:
        TypeError: If ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    atomic_write_bytes(path, text.encode(encoding))


def _csv_line(fields: Sequence[object]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue().encode("utf-8")


def write_csv_atomically(
    path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """Write a whole CSV file (header, then rows) atomically: all of it or, after a crash,
    the file as it was. Values are written with ``str`` (``None`` as an empty cell)."""
    data = _csv_line(list(header)) + b"".join(
        _csv_line(["" if v is None else str(v) for v in row]) for row in rows
    )
    atomic_write_bytes(path, data)


def _parse_line(line: bytes, path: Path | None = None) -> list[str]:
    """The cells of one CSV line; a line that is not UTF-8 is a damaged file (naming
    ``path``, line 1: only header lines are parsed one by one)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        where = "" if path is None else f"{path}, line 1: "
        raise ValueError(
            f"{where}not UTF-8 text ({error.reason}); the file is damaged: fix or delete that "
            "line (or the file, to start over)"
        ) from None
    return next(csv.reader([text.rstrip("\r\n")]), [])


def _complete_length(f: io.BufferedRandom) -> int:
    """Byte length of ``f`` up to and including its last newline."""
    end = f.seek(0, os.SEEK_END)
    pos = end
    while pos > 0:
        start = max(0, pos - _TAIL_CHUNK)
        f.seek(start)
        chunk = f.read(pos - start)
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            return start + nl + 1
        pos = start
    return 0


def open_for_lines(path: str | os.PathLike[str]) -> io.BufferedRandom:
    """Open a line-per-record file (a JSON-lines log) for appending, dropping a last line
    that a crash cut short (no newline), so that the next record starts on a line of its own.
    Creates the file if missing; the caller closes it."""
    f = open(path, "a+b")  # returned to the caller, who closes it
    complete = _complete_length(f)
    if complete != f.seek(0, os.SEEK_END):
        f.truncate(complete)
    return f


def _without_bom(cells: list[str]) -> list[str]:
    """A header's cells without the byte-order mark a spreadsheet's "CSV UTF-8" puts first."""
    return [cells[0].removeprefix("\ufeff"), *cells[1:]] if cells else cells


def _check_header(path: Path, found: list[str], header: tuple[str, ...]) -> None:
    found = _without_bom(found)
    if tuple(found) != header:
        raise ValueError(
            f"{path}: the CSV header is {','.join(found)!r} but {','.join(header)!r} was "
            "expected; write to a new file or move this one away"
        )


def append_csv_rows(
    path: str | os.PathLike[str],
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    sync: bool = True,
) -> None:
    """Append complete rows to a CSV file and fsync them (``sync=False``: written, so a
    process that dies keeps them, but not forced to disk; a later synced append forces
    them too).

    Creates the file with ``header`` as its first line if it does not exist (or is empty).
    A trailing line without a newline can only be a row cut short by a crash; it is dropped
    before appending (`read_csv_rows` ignores it too), so the file stays well formed.

    Args:
        path: The CSV file; its directory must exist.
        header: Column names; an existing file's header must equal it exactly.
        rows: Rows of values, each with one value per column; values are written with
            ``str`` (``None`` as an empty cell).

    Raises:
        ValueError: If the existing header differs from ``header`` or a row has the wrong
            number of values.
    """
    path = Path(path)
    header = tuple(header)
    lines = []
    for row in rows:
        row = list(row)
        if len(row) != len(header):
            raise ValueError(
                f"{path}: a row has {len(row)} values but the header has {len(header)} "
                f"columns ({','.join(header)}): {row!r}"
            )
        cells = ["" if v is None else str(v) for v in row]
        if any("\n" in c or "\r" in c for c in cells):
            raise ValueError(f"{path}: CSV values must not contain line breaks: {row!r}")
        lines.append(_csv_line(cells))
    try:
        with open(path, "a+b") as f:
            f.seek(0)
            first = f.readline()
            if not first.endswith(b"\n"):  # new, empty, or header cut short by a crash
                _check_cut_header(path, first, header)
                f.truncate(0)
                f.write(_csv_line(header))
            else:
                _check_header(path, _parse_line(first, path), header)
                complete = _complete_length(f)
                if complete != f.seek(0, os.SEEK_END):
                    f.truncate(complete)
            f.write(b"".join(lines))
            f.flush()
            if sync:
                os.fsync(f.fileno())
    except OSError as error:
        if error.errno is not None and error.filename is None:
            # e.g. a full disk: say which file could not be written, as atomic writes do
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


def append_csv_row(
    path: str | os.PathLike[str], header: Sequence[str], row: Sequence[object]
) -> None:
    """Append one row to a CSV file and fsync it (see `append_csv_rows`).

    Args:
        path: The CSV file; its directory must exist.
        header: Column names, written when the file is created; an existing file's header
            must equal it exactly.
        row: One value per column (``None`` becomes an empty cell).

    Raises:
        ValueError: If the existing header differs from ``header`` or the row has the wrong
            number of values.
    """
    append_csv_rows(path, header, [row])


def _check_cut_header(path: Path, first: bytes, header: Sequence[str]) -> None:
    """A file whose only line has no newline is a header cut short by a crash, to be
    rewritten, only if that line begins ``header``'s; anything else is not this table's.

    Raises:
        ValueError: Naming the file and what it begins with.
    """
    if first and not _csv_line(tuple(header)).startswith(first):
        shown = first[:40].decode("utf-8", "replace")
        raise ValueError(
            f"{path} is not a table this program wrote (it begins {shown!r}, not the header "
            f"{','.join(header)}); move it away or choose another directory"
        )


def read_csv_rows(path: str | os.PathLike[str], header: Sequence[str]) -> list[dict[str, str]]:
    """Read the rows of a CSV file written by `append_csv_rows`.

    Args:
        path: The CSV file; a missing or empty file has no rows.
        header: The expected column names.

    Returns:
        One ``{column: cell}`` dict per complete row, in file order; a trailing line without
        a newline (a row cut short by a crash) is ignored.

    Raises:
        ValueError: If the header differs from ``header`` or a row has the wrong number of
            cells (naming the line).
    """
    path = Path(path)
    header = tuple(header)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    complete = data[: data.rfind(b"\n") + 1]
    if not complete:
        _check_cut_header(path, data, header)
        return []
    try:
        text = complete.decode("utf-8")
    except UnicodeDecodeError as error:
        line = complete[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path}, line {line}: not UTF-8 text ({error.reason}); the file is damaged: fix or "
            "delete that line (or the file, to start over)"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    _check_header(path, next(reader), header)
    rows = []
    last = reader.line_num
    for cells in reader:
        start, last = last + 1, reader.line_num  # where the row starts (a quote may span)
        if len(cells) != len(header):
            spans = f" (a quote opened there runs on to line {last})" if last > start else ""
            raise ValueError(
                f"{path}, line {start}: expected {len(header)} cells "
                f"({','.join(header)}), found {len(cells)}{spans}; fix or delete that line"
            )
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


class LockedError(OSError):
    """Another process holds the lock of a directory (see `exclusive_lock`)."""


@contextlib.contextmanager
def exclusive_lock(directory: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an advisory exclusive lock on a directory for the duration of the block.

    Uses ``flock`` on the directory itself (no lock file is left behind); the lock is
    released when the block exits or the process dies. Where ``fcntl`` is unavailable
    (Windows) the block runs unlocked.

    Args:
        directory: An existing directory.

    Raises:
        LockedError: If another process (or another open of the directory) holds the lock.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(
                f"{directory} is in use by another scalebayes process; wait for it to finish "
                "or choose another output directory"
            ) from None
        yield
    finally:
        os.close(fd)


def read_csv_header(path: str | os.PathLike[str]) -> tuple[str, ...] | None:
    """The column names of a CSV file written by `append_csv_rows`.

    Args:
        path: The CSV file.

    Returns:
        The header's cells, or None if the file is missing or has no complete first line.

    Raises:
        ValueError: If the first line is not UTF-8 text (naming the file).
    """
    try:
        with open(path, "rb") as f:
            first = f.readline()
    except FileNotFoundError:
        return None
    if not first.endswith(b"\n"):
        return None
    return tuple(_without_bom(_parse_line(first, Path(path))))


FIGURE_FORMATS = (".png", ".pdf", ".svg")
"""File extensions `write_figure` accepts; the figure is written in the format each names."""


def figure_format(path: str | os.PathLike[str]) -> str:
    """The matplotlib format a figure file's extension names: ``"png"``, ``"pdf"`` or ``"svg"``.

    Args:
        path: The figure file.

    Raises:
        ValueError: If the extension is not one of `FIGURE_FORMATS`.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise ValueError(
            f"cannot write {path}: name a .png, .pdf or .svg file (the format follows the "
            "extension)"
        )
    return suffix[1:]


def plain_log_ticks(axis, ratio: float | None = None) -> None:
    """Plain-number labels (``2.5``, not ``2.5×10^0``) on a log-scaled matplotlib axis.

    Below 1.5 decades (``ratio`` = largest / smallest value shown under 30) the ticks are also
    placed at round linear values, since a log axis that spans less than a decade has at most
    one major tick. ``ratio`` defaults to the axis's current view limits.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    if ratio is None:
        lo, hi = axis.get_view_interval()
        ratio = hi / lo if lo > 0 else float("inf")
    if ratio < 30:
        axis.set_major_locator(MaxNLocator(nbins=4))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    axis.set_minor_formatter(NullFormatter())


def write_figure(fig, path: str | os.PathLike[str], *, dpi: float = 100) -> Path:
    """Render a matplotlib figure in the format its extension names and write it atomically.

    Args:
        fig: A ``matplotlib.figure.Figure`` with a canvas (e.g. ``FigureCanvasAgg``).
        path: Destination ``.png``, ``.pdf`` or ``.svg`` file; missing parent directories
            are created.
        dpi: Resolution of the PNG (and of raster parts of a PDF or SVG).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: If the extension is not one of `FIGURE_FORMATS`.
    """
    fmt = figure_format(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)
