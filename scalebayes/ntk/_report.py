"""The whole NTK study of one dataset: infinite width, its finite-time twins, finite widths.

[`run_ntk_study`][scalebayes.ntk.run_ntk_study] is what ``scalebayes ntk-study`` and
``benchmarks/ntk_study.py`` run; [`NTKStudy`][scalebayes.ntk.NTKStudy] prints the tables and
draws the log-log plot.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import jax
import numpy as np

from .._checks import is_integer, is_real
from .._io import atomic_write_text
from ..evaluate import check_level
from ._data import Dataset
from ._kernels import MLPConfig
from ._study import ScalingCurve, finite_width_study, infinite_width_study

__all__ = ["NTKStudy", "run_ntk_study"]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True))
        for row in [header, ["-" * w for w in widths], *rows]
    )


def _g(x: float, se: float | None = None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.4g}" if not se else f"{x:.4g} +- {se:.2g}"


@dataclass(frozen=True)
class NTKStudy:
    """The curves of one study and how they were made.

    Attributes:
        dataset: the dataset's name.
        config: the architecture.
        n_test: number of test points.
        curves: ``"infinite"`` first, then the infinite width at ``t = steps`` for each
            learning rate, then each finite width and learning rate.
        rtol: tolerance of the ``eps_L`` plateau.
        n_resumed: how many of ``curves`` were read back from ``run_ntk_study``'s
            ``out_dir`` (finished by an earlier run with the same settings) instead of
            computed.
    """

    dataset: str
    config: MLPConfig
    n_test: int
    curves: tuple[ScalingCurve, ...]
    rtol: float = 0.1
    n_resumed: int = 0

    def table(self) -> str:
        """``mu_L``, ``sigma_L``, ``eps_L`` against ``N`` for every curve, one row per size."""
        rows = []
        for c in self.curves:
            for i, n in enumerate(c.sizes):
                rows.append(
                    [
                        c.label,
                        str(n),
                        _g(c.mu[i], c.mu_se[i]),
                        _g(c.sigma[i], c.sigma_se[i]),
                        _g(c.eps[i], c.eps_se[i]),
                        _g(c.train_mse[i]) if c.train_mse is not None else "-",
                    ]
                )
        return _table(["network", "N", "mu_L", "sigma_L", "eps_L", "train MSE"], rows)

    def fits_table(self, *, n_boot: int = 200, level: float = 0.9) -> str:
        """Fitted exponents of ``mu_L`` and ``sigma_L`` and the ``eps_L`` plateau per curve
        ("-" where there is nothing to fit: fewer than 3 sizes, fewer than 2 for the plateau,
        or a statistic that is 0 at some size, which no power law reaches)."""
        level = check_level(level)
        if not is_integer(n_boot) or n_boot < 2:
            raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
        rows = []
        for c in self.curves:
            eps_ok = c.sizes.size >= 2 and bool(np.all(np.isfinite(c.eps) & (c.eps > 0)))
            plateau = str(c.plateau(self.rtol)) if eps_ok else "-"
            fittable = np.unique(c.sizes).size >= 3 and all(
                bool(np.all(np.isfinite(v) & (v > 0))) for v in (c.mu, c.sigma)
            )
            if not fittable:  # fewer than 3 sizes, or a statistic of 0 (no power law)
                rows.append([c.label, "-", "-", "-", plateau])
                continue
            fits = c.power_laws(n_boot=n_boot, level=level)
            mu, sig = fits["mu"], fits["sigma"]
            rows.append(
                [
                    c.label,
                    f"{mu.alpha:.3f} [{mu.alpha_lo:.3f}, {mu.alpha_hi:.3f}]",
                    f"{sig.alpha:.3f} [{sig.alpha_lo:.3f}, {sig.alpha_hi:.3f}]",
                    f"{mu.alpha - sig.alpha:+.3f}",
                    plateau,
                ]
            )
        pct = f"{100 * level:g}%"
        return _table(
            ["network", f"alpha_mu [{pct}]", f"alpha_sigma [{pct}]", "eps slope", "eps_L plateau"],
            rows,
        )

    def timing_table(self) -> str:
        """Wall time of each curve."""
        rows = [[c.label, str(c.n_members), f"{c.seconds:.1f}"] for c in self.curves]
        return _table(["network", "members/draws", "seconds"], rows)

    def plot(self, path: str | Path) -> None:
        """Log-log plot of ``mu_L``, ``sigma_L`` and ``eps_L`` against ``N`` (.png, .pdf or
        .svg, by the extension)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import NullFormatter

        from .._io import plain_log_ticks, write_figure

        fig = Figure(figsize=(13, 4), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, 3)
        for i, c in enumerate(self.curves):
            style = "-" if c.width is None else "--"
            marker = "o" if c.width is None else "s"
            for ax, name in zip(axes, ("mu", "sigma", "eps"), strict=True):
                y, se = getattr(c, name), getattr(c, f"{name}_se")
                ax.errorbar(
                    c.sizes, y, yerr=se, fmt=marker + style, ms=3, color=f"C{i % 10}", label=c.label
                )
        sizes = sorted({int(n) for c in self.curves for n in c.sizes})
        for ax, name in zip(axes, ("$\\mu_L$", "$\\sigma_L$", "$\\epsilon_L$"), strict=True):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("training-set size N")
            ax.set_title(name)
            # plain numbers: the default minor labels of a short log axis overprint each other;
            # N is marked at the sizes measured while they are few enough to read
            plain_log_ticks(ax.yaxis)
            if len(sizes) <= 10:
                ax.set_xticks(sizes, _spaced_labels(sizes))
                ax.xaxis.set_minor_formatter(NullFormatter())
            else:
                plain_log_ticks(ax.xaxis)
        axes[2].legend(fontsize="x-small")
        fig.suptitle(
            f"{self.dataset}: depth {self.config.depth}, W_std {self.config.W_std:.3g}, "
            f"b_std {self.config.b_std:.3g}, {self.config.activation}, {self.n_test} test points"
        )
        write_figure(fig, path, dpi=110)


def run_ntk_study(
    config: MLPConfig,
    dataset: Dataset,
    sizes,
    *,
    n_test: int = 500,
    widths: Sequence[int] = (),
    learning_rates: Sequence[float] = (),
    steps: int = 1000,
    n_members: int = 32,
    finite_max_size: int | None = None,
    n_draws: int = 1,
    seed: int = 0,
    rtol: float = 0.1,
    out_dir: str | Path | None = None,
    progress: bool = False,
) -> NTKStudy:
    """Run the infinite-width study and, optionally, finite-width ensembles on one dataset.

    Args:
        config: the architecture.
        dataset: the data; ``n_test`` random points are held out as the test set.
        sizes: increasing training-set sizes.
        n_test: test-set size.
        widths: finite hidden widths to train (none: infinite width only).
        learning_rates: GD learning rates of the finite ensembles; for each, the infinite
            width is also evaluated at ``t = steps`` (the exact twin of the finite runs).
        steps: GD steps of the finite ensembles.
        n_members: finite ensemble size.
        finite_max_size: train finite ensembles only at sizes up to this (None: all).
        n_draws: training-subset draws per size for the infinite width (law of total
            variance when > 1).
        seed: seed of the split, the subset draws and the initialisations.
        rtol: tolerance of the ``eps_L`` plateau.
        out_dir: if given, each curve is written there as it finishes (``curve-<key>.json``,
            atomically, keyed by a fingerprint of the data and every setting that makes it),
            and a rerun with the same arguments reads the curves already there instead of
            computing them again: an interrupted study resumes where it stopped.
        progress: show a progress bar of the study's curves on stderr, naming the one being
            computed (hidden when stderr is not a terminal).

    Returns:
        The [`NTKStudy`][scalebayes.ntk.NTKStudy].
    """
    if widths and not learning_rates:
        raise ValueError("finite widths need at least one learning rate")
    if not (is_real(rtol) and math.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol (--rtol) must be a finite number > 0, got {rtol!r}")
    store = None if out_dir is None else _CurveStore(Path(out_dir), dataset, config, n_test, seed)
    pool, test = dataset.split(n_test, seed=seed)

    n_curves = 1 + (len(learning_rates) * (1 + len(widths)) if widths else 0)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_curves, desc="ntk-study", unit="curve", leave=False, disable=None)

    def curve(spec: dict, compute) -> ScalingCurve:  # from the store, else computed and stored
        if bar is not None:
            what = {"infinite": "infinite width", "twin": f"infinite width, lr {spec.get('lr')}"}
            label = what.get(spec["kind"], f"width {spec.get('width')}, lr {spec.get('lr')}")
            bar.set_postfix_str(f"{label}, {len(spec['sizes'])} sizes", refresh=True)
        made = compute() if store is None else store.get_or_make(spec, compute)
        if bar is not None:
            bar.update()
        return made

    try:
        curves: list[ScalingCurve] = []
        spec = {"kind": "infinite", "sizes": np.asarray(sizes).tolist(), "n_draws": int(n_draws)}
        curves.append(
            curve(
                spec,
                lambda: infinite_width_study(config, pool, test, sizes, n_draws=n_draws, seed=seed),
            )
        )
        sizes = curves[0].sizes
        finite_sizes = sizes if finite_max_size is None else sizes[sizes <= finite_max_size]
        if widths and finite_sizes.size == 0:
            raise ValueError(
                f"no size is <= finite_max_size = {finite_max_size} (--finite-max-size); raise it "
                "or lower the sizes"
            )
        finite_list = finite_sizes.tolist()
        for lr in learning_rates if widths else ():
            spec = {"kind": "twin", "sizes": finite_list, "lr": float(lr), "steps": int(steps)}
            curves.append(
                curve(
                    spec,
                    lambda lr=lr: replace(
                        infinite_width_study(
                            config, pool, test, finite_sizes, t=float(steps), learning_rate=lr
                        ),
                        label=f"infinite, lr {lr:.3g}, t = {steps}",
                    ),
                )
            )
        key = jax.random.key(seed)
        for width in widths:
            for lr in learning_rates:
                key, sub = jax.random.split(key)  # split whether or not the curve is stored
                spec = {
                    "kind": "finite",
                    "sizes": finite_list,
                    "width": int(width),
                    "lr": float(lr),
                    "steps": int(steps),
                    "members": int(n_members),
                    "key": np.asarray(jax.random.key_data(sub)).tolist(),
                }
                curves.append(
                    curve(
                        spec,
                        lambda sub=sub, width=width, lr=lr: finite_width_study(
                            sub,
                            config,
                            width,
                            pool,
                            test,
                            finite_sizes,
                            learning_rate=lr,
                            steps=steps,
                            n_members=n_members,
                        ),
                    )
                )
    finally:
        if bar is not None:
            bar.close()
    n_resumed = 0 if store is None else store.n_read
    return NTKStudy(dataset.name, config, n_test, tuple(curves), rtol, n_resumed)


class _CurveStore:
    """The curves of one study on disk, one JSON file each, keyed by a fingerprint of the
    data and the settings that make the curve (see ``run_ntk_study``'s ``out_dir``)."""

    _ARRAYS = ("sizes", "mu", "sigma", "eps", "mu_se", "sigma_se", "eps_se")
    _OPTIONAL = ("sigma_init", "train_mse")

    def __init__(self, directory: Path, dataset: Dataset, config: MLPConfig, n_test, seed):
        if directory.exists() and not directory.is_dir():
            raise ValueError(f"{directory} is a file; give a directory for the study")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.n_read = 0  # curves read back rather than made
        data = hashlib.sha256()
        for array in (dataset.x, dataset.y):
            data.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
        self.base = {
            "dataset": dataset.name,
            "data_sha256": data.hexdigest(),
            "config": {
                "depth": int(config.depth),
                "W_std": float(config.W_std),
                "b_std": float(config.b_std),
                "activation": str(config.activation),
            },
            "n_test": int(n_test),
            "seed": int(seed),
        }

    def get_or_make(self, spec: dict, make) -> ScalingCurve:
        text = json.dumps({**self.base, **spec}, sort_keys=True)
        fingerprint = hashlib.sha256(text.encode()).hexdigest()
        path = self.directory / f"curve-{fingerprint[:16]}.json"  # by what makes it
        if path.is_file():
            try:
                stored = json.loads(path.read_text())
                if stored.get("fingerprint") == fingerprint:
                    curve = self._curve(stored["curve"], spec.get("sizes"))
                    self.n_read += 1
                    return curve
            except (OSError, ValueError, KeyError, TypeError):  # unreadable: made again
                pass
        made = make()
        record = {
            "fingerprint": fingerprint,
            "settings": json.loads(text),
            "curve": self._dict(made),
        }
        atomic_write_text(path, json.dumps(record, indent=1) + "\n")
        return made

    def _dict(self, c: ScalingCurve) -> dict:
        out = {name: np.asarray(getattr(c, name), np.float64).tolist() for name in self._ARRAYS}
        for name in self._OPTIONAL:
            value = getattr(c, name)
            out[name] = None if value is None else np.asarray(value, np.float64).tolist()
        out.update(
            label=c.label,
            width=None if c.width is None else int(c.width),
            learning_rate=None if c.learning_rate is None else float(c.learning_rate),
            t=None if c.t is None else float(c.t),
            seconds=c.seconds if math.isfinite(c.seconds) else None,
            n_members=int(c.n_members),
        )
        return out

    def _curve(self, d: dict, sizes=None) -> ScalingCurve:
        """The stored curve, checked as a result must be (a file edited or damaged by hand
        raises ValueError, and the curve is made again): every array one value per size,
        the sizes those asked, the loss statistics finite and >= 0 (standard errors may be
        NaN, where one draw has none)."""
        arrays = {name: np.asarray(d[name], np.float64) for name in self._ARRAYS}
        optional = {
            name: None if d[name] is None else np.asarray(d[name], np.float64)
            for name in self._OPTIONAL
        }
        n = arrays["sizes"].shape
        present = {**arrays, **{k: v for k, v in optional.items() if v is not None}}
        if len(n) != 1 or n[0] == 0 or any(v.shape != n for v in present.values()):
            raise ValueError("arrays of different lengths")
        if sizes is not None and arrays["sizes"].tolist() != [float(v) for v in sizes]:
            raise ValueError("other sizes than asked")
        for name, v in present.items():
            ok = np.isfinite(v) | (np.isnan(v) & name.endswith("_se"))
            if not np.all(ok & ~(v < 0)):
                raise ValueError(f"{name} is not finite and >= 0")
        # eps_L is sigma_L / mu_L as computed (a review: an edited mu_L was printed beside the
        # old eps_L); stored through JSON's shortest repr, it agrees to the last bits
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = arrays["sigma"] / arrays["mu"]
        if not np.allclose(arrays["eps"], ratio, rtol=1e-12, atol=0.0, equal_nan=True):
            raise ValueError("eps is not sigma / mu")
        arrays["sizes"] = arrays["sizes"].astype(np.int64)
        return ScalingCurve(
            label=d["label"],
            width=d["width"],
            learning_rate=d["learning_rate"],
            t=d["t"],
            seconds=math.nan if d["seconds"] is None else d["seconds"],
            n_members=d["n_members"],
            **arrays,
            **optional,
        )


def _spaced_labels(sizes: list[int], min_ratio: float = 1.5) -> list[str]:
    """Tick labels for ``sizes`` (increasing), blank where a size lies within ``min_ratio``
    of a larger labelled one (e.g. 1024 beside a pool capped at 1297), so that none
    overprint; the largest is always labelled."""
    labels, last = [""] * len(sizes), None
    for i in range(len(sizes) - 1, -1, -1):
        if last is None or last / sizes[i] >= min_ratio:
            labels[i], last = f"{sizes[i]:g}", sizes[i]
    return labels
