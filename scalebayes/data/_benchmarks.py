"""The bundled benchmarks (IC, NLP, DD, Nano, BNSL, Chinchilla) with the NSL-PFN protocol."""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
import types
from collections.abc import Callable, Iterable, Mapping
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
    "chinchilla": ("chinchilla",),
}
BENCHMARKS: tuple[str, ...] = tuple(_PARTS)

BENCHMARK_SPLITS: Mapping[str, str] = types.MappingProxyType(
    {
        "ic": "the file's Training column (NSL-PFN protocol)",
        "nmt": "the file's Training column (NSL-PFN protocol)",
        "lm": "the file's Training column (NSL-PFN protocol)",
        "bb": "the file's Training column (NSL-PFN protocol)",
        "nlp": "the file's Training column (NSL-PFN protocol)",
        "nano": "6 context points, 1 target (NSL-PFN protocol)",
        "dd": "the first half of the points as context (NSL-PFN protocol)",
        "nlp+nano": (
            "NLP: the Training column; Nano: 6 context points, 1 target (NSL-PFN protocol)"
        ),
        "bnsl_addition": "the BNSL release's 14 train / 3 test points",
        "chinchilla": "the last 30% of each curve's points by x",
    }
)
"""How [`load_benchmark`][scalebayes.data.load_benchmark] splits each bundled benchmark into
context and targets, in words (a study's summary names it)."""

Row = dict[str, str]


def bundled_table(filename: str) -> tuple[Row, ...]:
    """Rows of a bundled CSV as dicts of strings, after checking the file's SHA-256.

    Args:
        filename: A file bundled in `scalebayes/data/_bundled/` (its checksum is checked).

    Returns:
        One dict per data row, keyed by the header: fresh copies of the checked rows, so
        changing one changes nothing for later reads.
    """
    return tuple(dict(row) for row in _checked_rows(filename))


@functools.cache
def _checked_rows(filename: str) -> tuple[Mapping[str, str], ...]:
    """The rows of a bundled file, read and checked once per process (read-only)."""
    if filename not in _SHA256:
        raise ValueError(f"no bundled file {filename!r}; choose one of {sorted(_SHA256)}")
    data = resources.files("scalebayes.data").joinpath("_bundled", filename).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != _SHA256[filename]:
        raise CurveDataError(
            f"bundled {filename}: SHA-256 {digest} differs from the recorded "
            f"{_SHA256[filename]}; the file was altered, reinstall scalebayes"
        )
    rows = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    return tuple(types.MappingProxyType(row) for row in rows)


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
    rows = [r for r in _checked_rows(filename) if r["Domain"] == domain]
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
    groups = _groups(_checked_rows(filename), lambda r: r["curve_id"])
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
    groups = _groups(_checked_rows(filename), lambda r: r["curve_id"])
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


# Chinchilla derivation (see `_chinchilla`): window half-widths in decades and thresholds.
_BUDGET_HALF_WIDTH = 0.025  # an isoFLOP budget: runs within +-0.025 decades of log10 C
_BUDGET_MIN_RUNS = 8  # ... and at least 8 of them (finds the paper's nine budgets)
_SIZE_HALF_WIDTH = 0.01  # one model size or token count: within +-0.01 decades
_RATIO_BANDS = ((5.0, 50.0),)  # D/N bands of the loss-vs-N curves
_MIN_POINTS, _MIN_DECADES = 6, 2.0  # a loss-vs-D curve needs this many points and span


def _window_groups(v: np.ndarray, half_width: float, min_size: int = 1) -> list[np.ndarray]:
    """Group values greedily by density: the densest window first, no chaining.

    Repeatedly take the ungrouped value with the most ungrouped values within
    `+-half_width` (ties: the smallest value) and make those values one group; stop when
    that count is below `min_size`. Groups are disjoint intervals, returned in order.

    Args:
        v: Values, shape `(n,)` (here log10 of C, N or D).
        half_width: Half-width of a window, in the units of `v`.
        min_size: Fewest members a group needs.

    Returns:
        Index arrays into `v`, one per group, sorted by value.
    """
    free = np.ones(v.size, dtype=bool)
    near = np.abs(v[:, None] - v[None, :]) <= half_width
    groups = []
    while free.any():
        counts = np.where(free, (near & free[None, :]).sum(axis=1), -1)
        densest = np.flatnonzero(counts == counts.max())
        best = densest[np.argmin(v[densest])]
        if counts[best] < min_size:
            break
        members = np.flatnonzero(near[best] & free)
        groups.append(members)
        free[members] = False
    return sorted(groups, key=lambda g: v[g].min())


def _lowest_per_group(
    log_x: np.ndarray, loss: np.ndarray, groups: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per group: x = 10**median(log_x), y = the lowest loss."""
    x = np.array([10.0 ** np.median(log_x[g]) for g in groups])
    return x, np.array([loss[g].min() for g in groups])


def _chinchilla() -> tuple[Curve, ...]:
    """Curves derived from the 245 digitised Chinchilla runs, without any model fitting.

    Each run has parameters N, compute C (FLOPs) and final loss (read from the dot's
    colour, so quantised in steps of about 0.01); its tokens are D = C / (6N).

    - `compute_frontier`: loss against C. IsoFLOP budgets are found by
      `_window_groups(log10 C, 0.025, 8)` (windows 0.05 decades wide holding >= 8
      runs; the digitised C scatter around nine budgets, 6e18 to 3e21 as in the paper,
      with the single runs of other experiments between them); one point per budget:
      x = its median C, y = its lowest loss.
    - `loss_vs_N|D/N=5-50`: loss against N over the runs with 5 <= D/N <= 50 (around the
      compute-optimal ~20 tokens per parameter; no narrower or second disjoint band spans
      2 decades of N). Model sizes are grouped by `_window_groups(log10 N, 0.01)`;
      x = a size's median N, y = its lowest loss in the band.
    - `loss_vs_D|N=<N>`: loss against D for each model size whose runs, grouped by
      `_window_groups(log10 D, 0.01)` (x = median D, y = lowest loss), give >= 6 points
      spanning >= 2 decades of D.

    Each curve gets the default split (last 30% of points by x as targets) and y is
    divided by max(y_context), as for DD and Nano.
    """
    filename = "svg_extracted_data.csv"
    rows = _checked_rows(filename)
    n_params = np.array([float(r["Model Size"]) for r in rows])
    flops = np.array([float(r["Training FLOP"]) for r in rows])
    loss = np.array([float(r["loss"]) for r in rows])
    tokens = flops / (6.0 * n_params)
    log_n, log_c, log_d = np.log10(n_params), np.log10(flops), np.log10(tokens)
    derived: list[tuple[str, np.ndarray, np.ndarray, dict]] = []

    budgets = _window_groups(log_c, _BUDGET_HALF_WIDTH, _BUDGET_MIN_RUNS)
    x, y = _lowest_per_group(log_c, loss, budgets)
    meta = {"x_name": "compute C (FLOPs)", "n_runs": sum(g.size for g in budgets)}
    derived.append(("compute_frontier", x, y, meta))

    sizes = _window_groups(log_n, _SIZE_HALF_WIDTH)
    for lo, hi in _RATIO_BANDS:
        in_band = (tokens >= lo * n_params) & (tokens <= hi * n_params)
        groups = [g[in_band[g]] for g in sizes if in_band[g].any()]
        x, y = _lowest_per_group(log_n, loss, groups)
        meta = {
            "x_name": "parameters N",
            "tokens_per_param": (lo, hi),
            "n_runs": int(in_band.sum()),
        }
        derived.append((f"loss_vs_N|D/N={lo:g}-{hi:g}", x, y, meta))

    for g in sizes:
        groups = [g[k] for k in _window_groups(log_d[g], _SIZE_HALF_WIDTH)]
        x, y = _lowest_per_group(log_d, loss, groups)
        if x.size >= _MIN_POINTS and np.log10(x[-1] / x[0]) >= _MIN_DECADES:
            n_mid = 10.0 ** np.median(log_n[g])
            meta = {"x_name": "tokens D = C/(6N)", "params_N": float(n_mid), "n_runs": g.size}
            derived.append((f"loss_vs_D|N={n_mid:.3g}", x, y, meta))

    curves = []
    for name, x, y, meta in derived:
        split = Curve(x, y, name).with_default_split(0.3)
        y_scale = float(split.y_context.max())
        metadata = {**meta, "source": filename, "y_name": "final training loss"}
        curves.append(
            Curve(x, y / y_scale, name, "Chinchilla", split.is_context, y_scale, metadata)
        )
    return tuple(curves)


@functools.cache
def _load_part(part: str) -> tuple[Curve, ...]:
    if part == "ic":
        return _revisiting("benchmark.vision.csv", "IC")
    if part in ("nmt", "lm", "bb"):
        return _revisiting("benchmark.lang.csv", part.upper())
    if part in ("dd", "nano"):
        return _nslpfn(f"{part}.csv")
    if part == "chinchilla":
        return _chinchilla()
    return _bnsl_addition()


def benchmark_parts(name: str) -> tuple[str, ...]:
    """The atomic benchmarks a bundled benchmark concatenates (`"nlp"` -> NMT, LM, BB).

    Two benchmark lists share curves exactly when their parts overlap.

    Args:
        name: One of `BENCHMARKS` (case-insensitive).

    Returns:
        The parts in order; an atomic benchmark is its own only part.
    """
    if not isinstance(name, str):
        raise TypeError(f"benchmark name must be a string; got {type(name).__name__}")
    key = name.strip().lower()
    if key not in _PARTS:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    return _PARTS[key]


def load_benchmark(name: str) -> list[Curve]:
    """Load a bundled benchmark with the NSL-PFN default split and y normalisation applied.

    Splits: IC and NLP use the file's `Training` column; DD the first
    `max(3, min(int(0.5 n + 0.5), n - 1))` points; Nano 6 context and 1 target; BNSL
    addition its 14 `train` / 3 `test` points; Chinchilla (curves derived from the
    digitised runs, see `_chinchilla`) the last 30% of points by x as targets. IC, NLP and
    BNSL keep `y_scale = 1`; DD, Nano and Chinchilla are divided by `max(y_context)`
    (recorded in `y_scale`). Rows repeating an x are
    merged (exact repeats kept once, differing y averaged and listed in
    `metadata["averaged_x"]`) and points are sorted by x.

    Args:
        name: One of `BENCHMARKS` (case-insensitive): `"ic"` (72 curves), `"nmt"` (5),
            `"lm"` (5), `"bb"` (10), `"nlp"` (NMT + LM + BB, 20), `"nano"` (24), `"dd"`
            (16), `"nlp+nano"` (44), `"bnsl_addition"` (1), `"chinchilla"` (11).

    Returns:
        The curves in file order, with unique names (`"{Task}|{Model}"` for IC and NLP,
        the release's `curve_id` for DD, Nano and BNSL; for Chinchilla
        `"compute_frontier"`, `"loss_vs_N|D/N=5-50"` and `"loss_vs_D|N=<N>"`).
    """
    if not isinstance(name, str):
        raise TypeError(f"benchmark name must be a string; got {type(name).__name__}")
    key = name.strip().lower()
    if key not in _PARTS:
        raise ValueError(f"unknown benchmark {name!r}; valid names: {', '.join(BENCHMARKS)}")
    # Fresh metadata dicts so that callers cannot alter the cached curves.
    return [dataclasses.replace(c) for part in _PARTS[key] for c in _load_part(part)]
