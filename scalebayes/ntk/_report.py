"""The whole NTK study of one dataset: infinite width, its finite-time twins, finite widths.

[`run_ntk_study`][scalebayes.ntk.run_ntk_study] is what ``scalebayes ntk-study`` and
``benchmarks/ntk_study.py`` run; [`NTKStudy`][scalebayes.ntk.NTKStudy] prints the tables and
draws the log-log plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import jax

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
    """

    dataset: str
    config: MLPConfig
    n_test: int
    curves: tuple[ScalingCurve, ...]
    rtol: float = 0.1

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
        rows = []
        for c in self.curves:
            try:
                plateau = str(c.plateau(self.rtol))
            except ValueError:  # fewer than 2 sizes, or an eps_L of 0
                plateau = "-"
            try:
                fits = c.power_laws(n_boot=n_boot, level=level)
            except ValueError:  # fewer than 3 sizes, or a sigma of 0
                fits = None
            if fits is None:
                rows.append([c.label, "-", "-", "-", plateau])
                continue
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

        from .._io import write_figure

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
        for ax, name in zip(axes, ("$\\mu_L$", "$\\sigma_L$", "$\\epsilon_L$"), strict=True):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("training-set size N")
            ax.set_title(name)
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

    Returns:
        The [`NTKStudy`][scalebayes.ntk.NTKStudy].
    """
    if widths and not learning_rates:
        raise ValueError("finite widths need at least one learning rate")
    pool, test = dataset.split(n_test, seed=seed)
    curves = [infinite_width_study(config, pool, test, sizes, n_draws=n_draws, seed=seed)]
    sizes = curves[0].sizes
    finite_sizes = sizes if finite_max_size is None else sizes[sizes <= finite_max_size]
    if widths and finite_sizes.size == 0:
        raise ValueError(
            f"no size is <= finite_max_size = {finite_max_size} (--finite-max-size); raise it "
            "or lower the sizes"
        )
    for lr in learning_rates if widths else ():
        twin = infinite_width_study(
            config, pool, test, finite_sizes, t=float(steps), learning_rate=lr
        )
        curves.append(replace(twin, label=f"infinite, lr {lr:.3g}, t = {steps}"))
    key = jax.random.key(seed)
    for width in widths:
        for lr in learning_rates:
            key, sub = jax.random.split(key)
            curves.append(
                finite_width_study(
                    sub,
                    config,
                    width,
                    pool,
                    test,
                    finite_sizes,
                    learning_rate=lr,
                    steps=steps,
                    n_members=n_members,
                )
            )
    return NTKStudy(dataset.name, config, n_test, tuple(curves), rtol)
