"""How far `suggest_next`'s gain and its "+-" are from the gain itself (docs/results/next-run.md).

Five runs of ``y = 1.7 + 30 x^-0.25``, each 4x larger than the last; candidates 2x, 4x and 8x
beyond the largest; the question 9x beyond; equal cost. The reference is the gain from 4000
midpoint fantasies. For 16 and 64 fantasies, per model (the default and the far model):

- the shipped rule, the midpoints of equal-mass slices: its error, the "+-" it reports (the
  fantasies' spread over sqrt(n)) and the paired-slice (collapsed-strata) error;
- one random draw per slice (unbiased) over ``--seeds`` seeds: mean error, RMSE, mean
  paired-slice error, and the share of seeds whose error lies within two of it.

    python benchmarks/suggest_error.py [--seeds 20]     # about 2 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

X = 1e7 * 4.0 ** np.arange(5)
Y = 1.7 + 30.0 * X**-0.25
CANDIDATES = X[-1] * np.array([2.0, 4.0, 8.0])
TARGET = 9 * X[-1]
REFERENCE_FANTASIES = 4000


def paired_se(values: np.ndarray) -> np.ndarray:
    """Standard error of the mean over the last axis, one value per equal-mass slice in order:
    adjacent slices paired (the last three together when their number is odd), a group of
    ``g`` values adding ``g / (g - 1) * sum((v - mean(v))**2)`` to the variance of the sum."""
    n = values.shape[-1]
    cut = n - 3 if n % 2 else n
    pairs = values[..., :cut].reshape(*values.shape[:-1], cut // 2, 2)
    total = np.sum(np.square(pairs[..., 0] - pairs[..., 1]), axis=-1)
    if n % 2:
        last = values[..., cut:]
        total = total + 1.5 * np.sum(np.square(last - last.mean(-1, keepdims=True)), axis=-1)
    return np.sqrt(total) / n


def gains(model, n: int, probs=None) -> tuple[np.ndarray, np.ndarray]:
    """The candidates' gains and the widths behind them, ``(n_candidates, n)``."""
    from scalebayes.design._suggest import _fantasise_pfn

    (median, lower, upper), widths = _fantasise_pfn(
        X, Y, CANDIDATES, TARGET, model, n, 0.9, probs=probs
    )
    return (upper - lower) / median - widths.mean(axis=1), widths


def _row(*cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _signed(values) -> str:
    return ", ".join(f"{v:+.4f}" for v in values)


def _plain(values) -> str:
    return ", ".join(f"{v:.4f}" for v in values)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds of the random rule")
    parser.add_argument("--fantasies", default="16,64", help="comma-separated counts")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.fantasies.split(",")]
    from scalebayes.pfn import FAR_MODEL

    with warnings.catch_warnings():  # 9x is within both models' reach; nothing to say here
        warnings.simplefilter("ignore")
        for model in (None, FAR_MODEL):
            ref, _ = gains(model, REFERENCE_FANTASIES)
            name = model or "default model"
            print(f"\n## {name}: gains at 2x, 4x, 8x from {REFERENCE_FANTASIES} midpoints")
            print(f"\nreference {_plain(ref)}\n")
            print(
                _row("rule", "n", "error", "rmse", "reported +-", "paired-slice error", "within 2")
            )
            print(_row(*["---"] * 7))
            for n in counts:
                g, widths = gains(model, n)
                spread = widths.std(axis=1, ddof=1) / np.sqrt(n)
                print(
                    _row(
                        "midpoints",
                        str(n),
                        _signed(g - ref),
                        _plain(np.abs(g - ref)),
                        _plain(spread),
                        _plain(paired_se(widths)),
                        _plain((np.abs(g - ref) <= 2 * spread).astype(float)),
                    )
                )
                errors, ses = [], []
                for seed in range(args.seeds):
                    u = np.random.default_rng(seed).uniform(size=n)
                    g, widths = gains(model, n, probs=(np.arange(n) + u) / n)
                    errors.append(g - ref)
                    ses.append(paired_se(widths))
                errors, ses = np.array(errors), np.array(ses)
                print(
                    _row(
                        f"one random draw per slice ({args.seeds} seeds)",
                        str(n),
                        _signed(errors.mean(axis=0)),
                        _plain(np.sqrt(np.mean(errors**2, axis=0))),
                        "-",
                        _plain(ses.mean(axis=0)),
                        _plain(np.mean(np.abs(errors) <= 2 * ses, axis=0)),
                    )
                )


if __name__ == "__main__":
    main()
