"""How far `suggest_next`'s gains and their "+-" are from the gains themselves (next-run.md).

A gain is an expectation over the candidate's outcome, an integral over its probability that
`suggest_next` computes from ``n`` fantasised outcomes. The cases: five runs of
``y = 1.7 + 30 x^-0.25``, each 4x larger than the last, and the far10 contexts (at most 8
log-spaced runs) of the first ``--per-dataset`` curves of each bundled dataset; candidates
2x, 4x and 8x beyond the largest run; the question 9x beyond it with the default model and
30x beyond it with the far model. The reference is the shipped rule with 1001 nodes on
[-6.5, 6.5]. Per rule, over every case and candidate: the gains' error (RMSE, largest, mean
and median size), the median of the error each rule reports, and the share of gains whose
error lies within twice the reported one.

- ``midpoints``: equal-mass slices and their midpoints, the rule until 2026-12-07; it
  reported the fantasies' spread over ``sqrt(n)``;
- ``normal score, span S``: the trapezoid rule in the normal score on ``[-S, S]`` (shipped:
  S = 4), reporting half the gap between its rules on the even and the odd nodes (for MCMC
  `suggest_next` adds the nodes' scatter, which ``--scatter`` adds here to show what it
  would make of a PFN's error).

    python benchmarks/suggest_error.py [--fantasies 17] [--per-dataset 2]   # ~3 min, 2 CPUs
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

SYNTHETIC_X = 1e7 * 4.0 ** np.arange(5)
SYNTHETIC_Y = 1.7 + 30.0 * SYNTHETIC_X**-0.25
CANDIDATE_FACTORS = np.array([2.0, 4.0, 8.0])
DATASETS = ("ic", "nlp", "nano", "dd", "chinchilla")
REFERENCE = (6.5, 1001)


def cases(per_dataset: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, x, y)`` of the synthetic runs and the far10 contexts of bundled curves."""
    from scalebayes.data import load_far_benchmark

    out = [("synthetic", SYNTHETIC_X, SYNTHETIC_Y)]
    for name in DATASETS:
        for curve in load_far_benchmark(name, 10)[:per_dataset]:
            out.append((f"{name}:{curve.name}", curve.x_context, curve.y_context))
    return out


def normal_score_rule(span: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The trapezoid rule in the normal score on ``[-span, span]``: written out here, an
    independent check of `_fantasy_rule` (the test compares them at the shipped span)."""
    from scipy.stats import norm

    z = np.linspace(-span, span, n)
    return norm.cdf(z), norm.pdf(z) / norm.pdf(z).sum()


def rule_error(values: np.ndarray, weights: np.ndarray, scattered: bool = False) -> np.ndarray:
    """The error `suggest_next` reports, written out (last axis): half the gap between the
    rules on the even and the odd nodes; with ``scattered`` (MCMC), in quadrature with the
    nodes' scatter about a smooth curve (each node's squared second difference over 6, an end
    node's its neighbour's, weighted by its squared weight)."""
    even = values[..., ::2] @ (weights[::2] / weights[::2].sum())
    odd = values[..., 1::2] @ (weights[1::2] / weights[1::2].sum())
    n = values.shape[-1]
    total = np.zeros(values.shape[:-1])
    for i in range(n if scattered else 0):
        c = min(max(i, 1), n - 2)  # the second difference centred on node c
        d = values[..., c - 1] - 2 * values[..., c] + values[..., c + 1]
        total = total + weights[i] ** 2 * d**2 / 6
    return np.sqrt((even - odd) ** 2 / 4 + total)


def widths(model, x, y, target_factor: float, probs: np.ndarray) -> np.ndarray:
    """The target's interval width after each fantasy, ``(n_candidates, n)``."""
    from scalebayes.design._suggest import _fantasise_pfn

    cand = x.max() * CANDIDATE_FACTORS
    return _fantasise_pfn(x, y, cand, target_factor * x.max(), model, probs.size, 0.9, probs)[1]


def _row(*cells) -> str:
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fantasies", type=int, default=17, help="nodes per rule")
    parser.add_argument("--per-dataset", type=int, default=2, help="far10 curves per dataset")
    parser.add_argument("--spans", default="3.5,4", help="normal-score spans to compare")
    parser.add_argument(
        "--scatter", action="store_true", help="add the MCMC path's scatter term to the +-"
    )
    args = parser.parse_args(argv)
    n = args.fantasies
    from scalebayes.pfn import FAR_MODEL, PFN

    runs = cases(args.per_dataset)
    mids = (np.arange(n) + 0.5) / n
    rules = {"midpoints": None} | {
        f"normal score, span {s:g}": normal_score_rule(s, n)
        for s in (float(v) for v in args.spans.split(","))
    }
    with warnings.catch_warnings():  # the reach warnings: 9x and 30x are within reach
        warnings.simplefilter("ignore")
        for name, factor in ((None, 9.0), (FAR_MODEL, 30.0)):
            model = PFN.load(name)
            errors = {rule: [] for rule in rules}
            reported = {rule: [] for rule in rules}
            for _, x, y in runs:
                probs, weights = normal_score_rule(*REFERENCE)
                reference = widths(model, x, y, factor, probs) @ weights
                for rule, spec in rules.items():
                    if spec is None:
                        w = widths(model, x, y, factor, mids)
                        errors[rule].append(reference - w.mean(axis=1))  # gain's error
                        reported[rule].append(w.std(axis=1, ddof=1) / np.sqrt(n))
                    else:
                        w = widths(model, x, y, factor, spec[0])
                        errors[rule].append(reference - w @ spec[1])
                        reported[rule].append(rule_error(w, spec[1], args.scatter))
            label = name or "default model"
            print(
                f"\n## {label}, target {factor:g}x: {len(runs)} cases x "
                f"{CANDIDATE_FACTORS.size} candidates, {n} fantasies\n"
            )
            print(
                _row(
                    "rule",
                    "RMSE",
                    "largest error",
                    "mean error",
                    "median error size",
                    "median reported +-",
                    "within twice the +-",
                )
            )
            print(_row(*["---"] * 7))
            for rule in rules:
                e, r = np.concatenate(errors[rule]), np.concatenate(reported[rule])
                print(
                    _row(
                        rule,
                        f"{np.sqrt(np.mean(e**2)):.4f}",
                        f"{np.abs(e).max():.4f}",
                        f"{e.mean():+.4f}",
                        f"{np.median(np.abs(e)):.4f}",
                        f"{np.median(r):.4f}",
                        f"{np.mean(np.abs(e) <= 2 * r):.2f}",
                    )
                )


if __name__ == "__main__":
    main()
