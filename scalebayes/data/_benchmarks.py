"""The bundled benchmarks (IC, NLP, DD, Nano, BNSL addition) with the NSL-PFN protocol applied."""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
from collections.abc import Callable, Iterable
from importlib import resources

import numpy as np

from ._curve import Curve, CurveDataError
from ._merge import merge_duplicate_x

# SHA-256 of each bundled file, checked before parsing (see _bundled/README.md).
_SHA256 = {
    "benchmark.vision.csv": "23b00692d71e58aa5a2a941e831d57688e0977fdcf5f5125ff7b64283b5d9e83",
    "benchmark.lang.csv": "63c346db00a66b692e1ea9a0f71a2f2b267e55f74be5b863a92e199dffbf0983",
    "dd.csv": "0f5bbd90fd9aa93416d54231c04a445bc07235ac36b62c5328a05e7e838c5300",
    "nano.csv": "e907ee49d291d701146efdb4bd190c1e405b8f3a14f658a2677ef2c761c1a523",
    "bnsl_4digit_addition_long.csv": (
        "b6edb6999c9648dbf5286a6f872aef836460ae10de3c1954bc1aa0eaffb58aed"
    ),
    "epoch_chinchilla_long.csv": "c2c5240ebbf565ef0caa23848763d96f16f26d7c05bc30893f58fc26c4be9ca8",
    "svg_extracted_data.csv": "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30",
}

# Benchmark name -> the atomic parts it concatenates, in order.
_PARTS: dict[str, tuple[str, ...]] = {
    "ic": ("ic",),
    "nmt": ("nmt",),
    "lm": ("lm",),
    "bb": ("bb",),
    "nlp": ("nmt", "lm", "bb"),
    "nano": ("nano",),
    "dd": ("dd",),
    "nlp+nano": ("nmt", "lm", "bb", "nano"),
    "bnsl_addition": ("bnsl_addition",),
}
BENCHMARKS: tuple[str, ...] = tuple(_PARTS)

Row = dict[str, str]


@functools.cache
def bundled_table(filename: str) -> tuple[Row, ...]:
    """Rows of a bundled CSV as dicts of strings, after checking the file's SHA-256.

    Args:
        filename: A file name in `scalebayes/data/_bundled/` (a key of `_SHA256`).

    Returns:
        One dict per data row, keyed by the header; treat as read-only (it is cached).
    """
    if filename not in _SHA256:
        raise ValueError(f"no bundled file {filename!r}; choose one of {sorted(_SHA256)}")
    data = resources.files("scalebayes.data").joinpath("_bundled", filename).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != _SHA256[filename]:
        raise CurveDataError(
            f"bundled {filename}: SHA-256 {digest} differs from the recorded "
            f"{_SHA256[filename]}; the file was altered, reinstall scalebayes"
        )
    return tuple(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def _groups(rows: Iterable[Row], key: Callable[[Row], str]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return out


def _flag(value: str, labels: dict[str, bool], filename: str) -> bool:
    if value not in labels:
        raise CurveDataError(f"bundled {filename}: unexpected split label {value!r}")
    return labels[value]


def _curve(
    rows: list[Row],
    *,
    name: str,
    dataset: str,
    filename: str,
    columns: tuple[str, str, str],
    labels: dict[str, bool],
    normalise: bool,
    metadata: dict,
) -> Curve:
    """Build one benchmark curve: merge repeated x, apply the split and y normalisation."""
    xcol, ycol, scol = columns
    m = merge_duplicate_x(
        np.array([float(r[xcol]) for r in rows]),
        np.array([float(r[ycol]) for r in rows]),
        np.array([_flag(r[scol], labels, filename) for r in rows]),
    )
    if m.split_differs.any():
        raise CurveDataError(f"bundled {filename}: curve {name!r} labels one x both ways")
    y_scale = float(m.y[m.is_context].max()) if normalise else 1.0
    metadata = {
        **metadata,
        "source": filename,
        "n_rows": len(rows),
        "n_merged_rows": len(rows) - m.x.size,
        "averaged_x": tuple(m.x[m.y_differs].tolist()),
    }
    return Curve(m.x, m.y / y_scale, name, dataset, m.is_context, y_scale, metadata)


def _revisiting(filename: str, domain: str) -> tuple[Curve, ...]:
    """Curves of one domain of Alabdulmohsin et al.'s benchmark (`Training` 1 = context)."""
    rows = [r for r in bundled_table(filename) if r["Domain"] == domain]
    groups = _groups(rows, lambda r: f"{r['Task']}|{r['Model']}")
    return tuple(
        _curve(
            rs,
            name=name,
            dataset=domain,
            filename=filename,
            columns=("Seen Examples", "Loss", "Training"),
            labels={"1": True, "0": False},
            normalise=False,
            metadata={"domain": domain, "task": rs[0]["Task"], "model": rs[0]["Model"]},
        )
        for name, rs in groups.items()
    )


def _nslpfn(filename: str) -> tuple[Curve, ...]:
    """DD or Nano curves of the NSL-PFN release; y divided by max(y_context)."""
    groups = _groups(bundled_table(filename), lambda r: r["curve_id"])
    keep = ("subset", "x_label", "y_label", "source_file")
    return tuple(
        _curve(
            rs,
            name=name,
            dataset=rs[0]["dataset"],
            filename=filename,
            columns=("x", "y", "default_split"),
            labels={"context": True, "target": False},
            normalise=True,
            metadata={k: rs[0][k] for k in keep},
        )
        for name, rs in groups.items()
    )


def _bnsl_addition() -> tuple[Curve, ...]:
    """The 4-digit addition curve of Caballero et al. (14 train / 3 test points)."""
    filename = "bnsl_4digit_addition_long.csv"
    groups = _groups(bundled_table(filename), lambda r: r["curve_id"])
    return tuple(
        _curve(
            rs,
            name=name,
            dataset="bnsl_addition",
            filename=filename,
            columns=("x", "y", "split"),
            labels={"train": True, "test": False},
            normalise=False,
            metadata={k: rs[0][k] for k in ("task", "model", "x_name", "y_name")},
        )
        for name, rs in groups.items()
    )


@functools.cache
def _load_part(part: str) -> tuple[Curve, ...]:
    if part == "ic":
        return _revisiting("benchmark.vision.csv", "IC")
    if part in ("nmt", "lm", "bb"):
        return _revisiting("benchmark.lang.csv", part.upper())
    if part in ("dd", "nano"):
        return _nslpfn(f"{part}.csv")
    return _bnsl_addition()


def load_benchmark(name: str) -> list[Curve]:
    """Load a bundled benchmark with the NSL-PFN default split and y normalisation applied.

    Splits: IC and NLP use the file's `Training` column; DD the first
    `max(3, min(int(0.5 n + 0.5), n - 1))` points; Nano 6 context and 1 target; BNSL
    addition its 14 `train` / 3 `test` points. IC, NLP and BNSL keep `y_scale = 1`; DD and
    Nano are divided by `max(y_context)` (recorded in `y_scale`). Rows repeating an x are
    merged (exact repeats kept once, differing y averaged and listed in
    `metadata["averaged_x"]`) and points are sorted by x.

    Args:
        name: One of `BENCHMARKS` (case-insensitive): `"ic"` (72 curves), `"nmt"` (5),
            `"lm"` (5), `"bb"` (10), `"nlp"` (NMT + LM + BB, 20), `"nano"` (24), `"dd"`
            (16), `"nlp+nano"` (44), `"bnsl_addition"` (1).

    Returns:
        The curves in file order, with unique names (`"{Task}|{Model}"` for IC and NLP,
        the release's `curve_id` for DD, Nano and BNSL).
    """
    if not isinstance(name, str):
        raise TypeError(f"benchmark name must be a string; got {type(name).__name__}")
    key = name.strip().lower()
    if key not in _PARTS:
        raise ValueError(f"unknown benchmark {name!r}; valid names: {', '.join(BENCHMARKS)}")
    # Fresh metadata dicts so that callers cannot alter the cached curves.
    return [dataclasses.replace(c) for part in _PARTS[key] for c in _load_part(part)]
