"""The user's question on synthetic LLM-like curves: a few log-spaced runs of a power law
bending to a floor, and a run 10-300x beyond the largest.

FAR.md: "a floor that has not started to show in the fitted runs is the main source of error
far out". This draws such curves, ``y = E + B x^-a`` with the floor ``E`` a fraction ``f ~
U(0.3, 0.85)`` of the last run's loss (normalised to 1; ``--floors 0.85,0.97`` asks of runs
already near their floor), ``a ~ U(0.05, 0.5)``, 3-8 runs whose
consecutive sizes differ by ``10^U(log10 2, 1)`` (2-10x), multiplicative noise ``sigma ~
10^U(-2.7, -1.7)`` (0.2-2%), and asks about runs 10, 30, 100 and 300x beyond the largest.
Per distance and method (each question asked alone): the RMSLE of the median (one target per
curve, so ``|log(median / truth)|``) averaged over curves, the mean log ratio
``log(median / truth)`` (negative: the far run looks better than it turns out), the share of
curves answered optimistically, and the 90% interval's coverage (PFNs only).

These curves are the M2 family, so the M2 and M4 point fits fit the true form: read their rows
as the floor of what the data allow, and the PFN rows for which way and how far a PFN leans.

    python benchmarks/far_synthetic.py [--curves 300] [--seed 0] [--models mixture-tiny,nslpfn-base]
        [--fits m2,m4] [--floors 0.3,0.85]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

DISTANCES = (10.0, 30.0, 100.0, 300.0)
FLOORS = (0.3, 0.85)


def draw(n_curves: int, seed: int, distances=DISTANCES, floors=FLOORS):
    """``(runs x, runs y, question x, true y at the questions)`` per curve, asked at
    ``distances`` times the largest run (the runs do not depend on them), the floor a
    fraction ``U(*floors)`` of the last run's loss."""
    rng = np.random.default_rng(seed)
    xs, ys, xq, yq = [], [], [], []
    for _ in range(n_curves):
        n = int(rng.integers(3, 9))
        steps = 10.0 ** rng.uniform(np.log10(2.0), 1.0, n - 1)
        x = 1e18 * np.concatenate([[1.0], np.cumprod(steps)])
        f, a = rng.uniform(*floors), rng.uniform(0.05, 0.5)
        b = (1.0 - f) * x[-1] ** a  # y(x_last) = 1

        def law(v, f=f, a=a, b=b):
            return f + b * v**-a

        sigma = 10.0 ** rng.uniform(-2.7, -1.7)
        xs.append(x)
        ys.append(law(x) * np.exp(sigma * rng.standard_normal(n)))
        xq.append(x[-1] * np.asarray(distances, np.float64))
        yq.append(law(xq[-1]))
    return xs, ys, xq, yq


def _row(name, medians, truth, lo=None, hi=None):
    logr = np.log(np.maximum(medians, 1e-12) / truth)  # (curves, distances)
    out = {"method": name}
    for j, d in enumerate(DISTANCES):
        cell = (
            f"{np.mean(np.abs(logr[:, j])):.3f} / {np.mean(logr[:, j]):+.3f} / "
            f"{np.mean(logr[:, j] < 0):.2f}"
        )
        if lo is not None:
            cell += f" / {np.mean((lo[:, j] <= truth[:, j]) & (truth[:, j] <= hi[:, j])):.2f}"
        out[f"{d:g}x"] = cell
    return out


def far_synthetic(
    n_curves: int,
    seed: int,
    models: list[str],
    fits: tuple[str, ...] = ("m2", "m4"),
    floors: tuple[float, float] = FLOORS,
) -> list[dict]:
    """One row per method (PFNs given by name or path, then the point fits ``fits``)."""
    from scalebayes.inference import fit_curves, predict_fits
    from scalebayes.pfn import PFN, ReachWarning, SpanWarning

    xs, ys, xq, yq = draw(n_curves, seed, floors=floors)
    truth = np.stack(yq)
    rows = []
    for name in models:
        pfn = PFN.load(name)
        medians, lo, hi = (np.empty_like(truth) for _ in range(3))
        for j in range(len(DISTANCES)):  # one question at a time, as a user asks it (the
            # NSL-PFN input maps x over context and queries: a 300x query moves a 10x answer)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ReachWarning)  # beyond reach on purpose
                warnings.simplefilter("ignore", SpanWarning)  # the windows are measured here
                preds = pfn.predict_many(xs, ys, [q[j : j + 1] for q in xq])
            medians[:, j] = [p.median()[0] for p in preds]
            bounds = [p.interval(0.9) for p in preds]
            lo[:, j] = [b[0][0] for b in bounds]
            hi[:, j] = [b[1][0] for b in bounds]
        rows.append(_row(f"PFN {name}", medians, truth, lo, hi))
    for family in fits:
        medians = np.stack(predict_fits(fit_curves(family, xs, ys), xq))
        rows.append(_row(f"{family.upper()} point fit", medians, truth))
    return rows


def write_csv(path: str, n_curves: int, seed: int, floors=FLOORS) -> int:
    """The drawn curves as a study CSV (the runs as context, the questions as targets with
    their true y), for ``scalebayes study --csv PATH``; returns the number of rows."""
    from scalebayes._io import atomic_write_text

    xs, ys, xq, yq = draw(n_curves, seed, floors=floors)
    lines = ["curve,x,y,split"]
    for i, (x, y, q, t) in enumerate(zip(xs, ys, xq, yq, strict=True)):
        lines += [f"llm{i:03d},{a:.17g},{b:.17g},context" for a, b in zip(x, y, strict=True)]
        lines += [f"llm{i:03d},{a:.17g},{b:.17g},target" for a, b in zip(q, t, strict=True)]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return len(lines) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="mixture-tiny,nslpfn-base")
    parser.add_argument(
        "--fits", default="m2,m4", help="point-fit families to add ('' for none, e.g. on a GPU)"
    )
    parser.add_argument(
        "--csv",
        default=None,
        help="write the curves as a study CSV here instead (scalebayes study --csv FILE)",
    )
    parser.add_argument(
        "--floors",
        default="0.3,0.85",
        help="the floor's range as fractions of the last run's loss, LO,HI in [0, 1)",
    )
    args = parser.parse_args()
    try:
        floors = tuple(float(v) for v in args.floors.split(","))
    except ValueError:
        floors = ()
    if len(floors) != 2 or not 0 <= floors[0] <= floors[1] < 1:
        parser.error(f"--floors must be LO,HI with 0 <= LO <= HI < 1, got {args.floors!r}")
    if args.csv:
        rows = write_csv(args.csv, args.curves, args.seed, floors)
        print(f"wrote {args.csv}: {args.curves} curves, {rows} rows, seed {args.seed}")
        return
    start = time.perf_counter()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    fits = tuple(f.strip() for f in args.fits.split(",") if f.strip())
    rows = far_synthetic(args.curves, args.seed, models, fits, floors)
    header = ["method", *(f"{d:g}x" for d in DISTANCES)]
    print(
        f"{args.curves} curves, seed {args.seed}, floors {floors[0]:g}-{floors[1]:g} of the last "
        "run's loss; cells: RMSLE / mean log(median / truth) / "
        "share optimistic [/ 90% coverage]"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row[h] for h in header) + " |")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
