"""The worked example of docs/results/next-run.md: which run next, by both shipped PFNs.

Five runs, each 4x larger than the last, of ``y = 1.7 + 30 x^-0.25``; the question is a run
100x beyond the largest. Prints `suggest_next`'s ranking of runs 2x, 4x, 16x and 50x beyond
the largest, at equal cost and at cost proportional to x, for the default model and the far
model (17 and 65 fantasised outcomes), and the time of a call once compiled.

    python benchmarks/suggest_example.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np

X = 1e7 * 4.0 ** np.arange(5)
Y = 1.7 + 30.0 * X**-0.25
TARGET = 100 * X[-1]
CANDIDATES = X[-1] * np.array([2.0, 4.0, 16.0, 50.0])


def main() -> None:
    from scalebayes.design import suggest_next
    from scalebayes.pfn import FAR_MODEL

    cases = [
        ("default model, equal cost", dict(cost="equal")),
        ("default model, cost proportional to x", dict(cost="x")),
        (f"far model {FAR_MODEL}, equal cost", dict(cost="equal", model=FAR_MODEL)),
        (
            f"far model {FAR_MODEL}, equal cost, 65 fantasies",
            dict(cost="equal", model=FAR_MODEL, n_fantasies=65),
        ),
    ]
    with warnings.catch_warnings():  # 100x is beyond the default model's reach: said here
        warnings.simplefilter("ignore")
        for title, kwargs in cases:
            start = time.perf_counter()
            suggest_next(X, Y, CANDIDATES, TARGET, **kwargs)  # compiles
            first = time.perf_counter() - start
            start = time.perf_counter()
            result = suggest_next(X, Y, CANDIDATES, TARGET, **kwargs)
            again = time.perf_counter() - start
            print(f"## {title} (first call {first:.2f} s, again {again:.2f} s)\n")
            print(result.table())
            print()
    print("(the default model's reach is 10x: its answers 100x out are beyond what it learned)")


if __name__ == "__main__":
    main()
